#include "async/go.h"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "async/block_on.h"
#include "async/leak_check_test_base.h"
#include "async/sleep.h"
#include "async/task.h"
#include "async/throws_on_move.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "testing/virtual_clock.h"
#include "threads/notification.h"
#include "threads/thread.h"
#include "threads/thread_pool.h"

namespace troupe {
namespace {

using async_internal::ThrowsOnMove;
using testkit::Eventually;
using testkit::VirtualClock;

class GoTest : public async_internal::LeakCheckedTest {};

// Sets a flag when destroyed: shows that a frame unwound.
struct Unwinds {
  std::atomic<bool>* flag;
  ~Unwinds() { flag->store(true); }
};

TEST_F(GoTest, RunsAPlainFunctionOnThePool) {
  ThreadPool pool(2);
  JoinHandle<int> handle = Go(
      pool, [](int a, int b) { return a + b; }, 40, 2);
  EXPECT_EQ(handle.Get().value(), 42);
  EXPECT_FALSE(handle.valid());
}

TEST_F(GoTest, RunsACoroutineThatSleeps) {
  ThreadPool pool(2);
  JoinHandle<std::string> handle = Go(
      pool,
      [](std::string name) -> Task<std::string> {
        absl::Status slept = co_await Sleep(absl::Milliseconds(1));
        if (!slept.ok()) co_return slept;
        co_return absl::StrCat("hello, ", name);
      },
      std::string("world"));
  EXPECT_EQ(handle.Get().value(), "hello, world");
}

// The lambda and its arguments live in the task's frame: captures and
// reference parameters stay valid across suspensions, even after the
// caller's copies are gone.
TEST_F(GoTest, CapturesAndArgumentsLiveAsLongAsTheTask) {
  ThreadPool pool(2);
  JoinHandle<std::string> handle;
  {
    std::string captured = "captured-" + std::string(40, 'x');  // not in SSO
    auto owned = std::make_unique<int>(7);
    handle = Go(
        pool,
        [captured](const std::string& by_ref, std::unique_ptr<int> moved) -> Task<std::string> {
          if (absl::Status s = co_await Sleep(absl::Milliseconds(2)); !s.ok()) co_return s;
          if (absl::Status s = co_await Yield(); !s.ok()) co_return s;
          co_return absl::StrCat(captured, "/", by_ref, "/", *moved);
        },
        std::string("by-reference-" + std::string(40, 'y')), std::move(owned));
  }  // the caller's copies die here, while the task sleeps
  EXPECT_EQ(handle.Get().value(),
            "captured-" + std::string(40, 'x') + "/by-reference-" + std::string(40, 'y') + "/7");
}

TEST_F(GoTest, ATaskAwaitsAnotherTasksHandle) {
  ThreadPool pool(2);
  JoinHandle<int> outer = Go(pool, [&pool]() -> Task<int> {
    JoinHandle<int> inner = Go(pool, []() -> Task<int> {
      if (absl::Status s = co_await Sleep(absl::Milliseconds(1)); !s.ok()) co_return s;
      co_return 20;
    });
    absl::StatusOr<int> got = co_await std::move(inner);
    if (!got.ok()) co_return got.status();
    co_return *got + 22;
  });
  EXPECT_EQ(outer.Get().value(), 42);
}

TEST_F(GoTest, AwaitingAFinishedTaskReturnsAtOnce) {
  ThreadPool pool(2);
  JoinHandle<int> done = Go(pool, [] { return 5; });
  ASSERT_TRUE(Eventually([&] { return done.finished(); }, absl::Seconds(10)));
  absl::StatusOr<int> got = BlockOn(
      [](JoinHandle<int> h) -> Task<int> { co_return co_await std::move(h); }(std::move(done)));
  EXPECT_EQ(got.value(), 5);
}

TEST_F(GoTest, ADetachedTaskRunsToItsEnd) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) {
    Go(pool, [&ran]() -> Task<void> {
      EXPECT_TRUE((co_await Yield()).ok());
      ran.fetch_add(1);
    }).Detach();
  }
  EXPECT_TRUE(Eventually([&] { return ran.load() == 100; }, absl::Seconds(10)));
}

TEST_F(GoTest, CancelEndsASleepWithCancelledAndUnwinds) {
  ThreadPool pool(2);
  std::atomic<bool> unwound{false};
  Notification sleeping;
  JoinHandle<void> handle = Go(pool, [&]() -> Task<void> {
    Unwinds guard{&unwound};
    sleeping.Notify();
    absl::Status slept = co_await Sleep(absl::Hours(1));
    EXPECT_EQ(slept.code(), absl::StatusCode::kCancelled);
    // Cancelled for good: the next wait fails at once too.
    EXPECT_EQ((co_await Sleep(absl::Hours(1))).code(), absl::StatusCode::kCancelled);
    EXPECT_EQ((co_await Yield()).code(), absl::StatusCode::kCancelled);
  });
  sleeping.WaitForNotification();
  handle.Cancel();
  EXPECT_TRUE(handle.Get().ok());  // the body returned normally after the cancelled sleep
  EXPECT_TRUE(unwound.load());
}

TEST_F(GoTest, DroppingAHandleCancelsTheTask) {
  ThreadPool pool(2);
  std::atomic<bool> unwound{false};
  Notification sleeping;
  {
    JoinHandle<absl::Status> handle = Go(pool, [&]() -> Task<absl::Status> {
      Unwinds guard{&unwound};
      sleeping.Notify();
      co_return co_await Sleep(absl::Hours(1));
    });
    sleeping.WaitForNotification();
  }
  EXPECT_TRUE(Eventually([&] { return unwound.load(); }, absl::Seconds(10)));
}

TEST_F(GoTest, CancellingTheAwaiterCancelsTheTaskItAwaits) {
  ThreadPool pool(2);
  std::atomic<bool> inner_unwound{false};
  Notification inner_sleeping;
  JoinHandle<absl::Status> outer = Go(pool, [&]() -> Task<absl::Status> {
    JoinHandle<absl::Status> inner = Go(pool, [&]() -> Task<absl::Status> {
      Unwinds guard{&inner_unwound};
      inner_sleeping.Notify();
      co_return co_await Sleep(absl::Hours(1));
    });
    absl::Status got = co_await std::move(inner);
    // The await lasted until the inner task had unwound.
    EXPECT_TRUE(inner_unwound.load());
    co_return got;
  });
  inner_sleeping.WaitForNotification();
  outer.Cancel();
  EXPECT_EQ(outer.Get().code(), absl::StatusCode::kCancelled);
}

TEST_F(GoTest, GetOnAPoolWorkerIsAnErrorNotADeadlock) {
  ThreadPool pool(1);
  JoinHandle<absl::Status> outer = Go(pool, [&pool]() -> absl::Status {
    JoinHandle<int> inner = Go(pool, [] { return 1; });
    absl::StatusOr<int> got = inner.Get();  // would wait for this very worker
    EXPECT_TRUE(inner.valid());             // still held: it can be awaited
    return got.status();
  });
  absl::Status got = outer.Get();
  EXPECT_EQ(got.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(got.message().find("co_await"), std::string::npos) << got;
}

TEST_F(GoTest, AnExceptionBecomesAnInternalError) {
  ThreadPool pool(2);
  JoinHandle<int> plain = Go(pool, []() -> int { throw std::runtime_error("plain boom"); });
  JoinHandle<int> coroutine = Go(pool, []() -> Task<int> {
    EXPECT_TRUE((co_await Yield()).ok());
    throw std::runtime_error("coroutine boom");
  });
  absl::StatusOr<int> a = plain.Get();
  absl::StatusOr<int> b = coroutine.Get();
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(a.status().message().find("plain boom"), std::string::npos) << a.status();
  EXPECT_EQ(b.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(b.status().message().find("coroutine boom"), std::string::npos) << b.status();
}

// An argument whose move into the task throws (after Go() has taken it)
// ends the task with that error, for a coroutine and a plain function
// alike: Go() itself does not throw, and nothing leaks (the fixture).
TEST_F(GoTest, AnArgumentThatThrowsOnItsWayInEndsTheTaskWithTheError) {
  ThreadPool pool(2);
  std::atomic<bool> ran{false};
  JoinHandle<int> coroutine = Go(
      pool,
      [&ran](ThrowsOnMove) -> Task<int> {
        ran = true;
        co_return 1;
      },
      ThrowsOnMove(1));
  JoinHandle<int> plain = Go(
      pool,
      [&ran](ThrowsOnMove) {
        ran = true;
        return 1;
      },
      ThrowsOnMove(1));
  for (JoinHandle<int>* handle : {&coroutine, &plain}) {
    absl::StatusOr<int> got = handle->Get();
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal);
    EXPECT_NE(got.status().message().find("an argument's move threw"), std::string::npos)
        << got.status();
  }
  EXPECT_FALSE(ran.load());
}

// An argument whose move into the task's state throws: Go() throws it, and
// nothing is left behind (the fixture counts the states and frames).
TEST_F(GoTest, AnArgumentThatCannotBeStoredThrowsFromGo) {
  ThreadPool pool(1);
  std::atomic<bool> ran{false};
  auto go = [&] {
    JoinHandle<int> handle = Go(
        pool,
        [&ran](ThrowsOnMove) -> Task<int> {
          ran = true;
          co_return 1;
        },
        ThrowsOnMove(0));
  };
  EXPECT_THROW(go(), std::runtime_error);
  EXPECT_FALSE(ran.load());
}

TEST_F(GoTest, ATaskOnAShutDownPoolEndsCancelled) {
  ThreadPool pool(1);
  pool.Shutdown();
  std::atomic<bool> ran{false};
  JoinHandle<void> handle = Go(pool, [&ran] { ran = true; });
  EXPECT_EQ(handle.Get().code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(ran.load());
}

// A task suspended when its pool shuts down: the resumption the pool drops
// destroys its frames (destructors run) and ends it with kCancelled. (The
// pool object itself must outlive its tasks, as go.h says.)
TEST_F(GoTest, ATaskWhosePoolShutsDownWhileItSleepsIsAbandoned) {
  VirtualClock clock;
  ThreadPool pool(1);
  std::atomic<bool> unwound{false};
  Notification sleeping;
  JoinHandle<absl::Status> handle = Go(pool, clock, [&]() -> Task<absl::Status> {
    Unwinds guard{&unwound};
    sleeping.Notify();
    co_return co_await Sleep(absl::Seconds(5));
  });
  sleeping.WaitForNotification();
  pool.Shutdown();  // the task still asleep
  EXPECT_FALSE(handle.finished());
  clock.Advance(absl::Seconds(5));  // the wake-up finds the pool shut
  absl::Status got = handle.Get();
  EXPECT_EQ(got.code(), absl::StatusCode::kCancelled);
  EXPECT_NE(got.message().find("executor shut down"), std::string::npos) << got;
  EXPECT_TRUE(unwound.load());
}

Task<absl::Status> SleepTask(absl::Duration delay) { co_return co_await Sleep(delay); }

// A strand's clock is not stored in every task's state (bench K3): each kind
// finds it where it is kept. Go without a clock sleeps on the default clock;
// Go with one, and BlockOn with one, on theirs.
TEST_F(GoTest, EachStrandSleepsOnTheClockItWasGiven) {
  VirtualClock clock;
  ThreadPool pool(1);
  EXPECT_TRUE(Go(pool, SleepTask, absl::Milliseconds(1)).Get().ok());
  EXPECT_EQ(clock.pending_timers(), 0);

  JoinHandle<absl::Status> on_virtual = Go(pool, clock, SleepTask, absl::Hours(1));
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 1; }, absl::Seconds(10)));
  EXPECT_FALSE(on_virtual.finished());
  clock.Advance(absl::Hours(1));
  EXPECT_TRUE(on_virtual.Get().ok());

  std::atomic<bool> woke{false};
  Thread<void> blocked("block_on", [&] {
    EXPECT_TRUE(BlockOn(SleepTask(absl::Hours(2)), clock).ok());
    woke.store(true);
  });
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 1; }, absl::Seconds(10)));
  EXPECT_FALSE(woke.load());
  clock.Advance(absl::Hours(2));
  EXPECT_TRUE(blocked.Join().ok());
  EXPECT_TRUE(woke.load());
}

// Reads a task's captures and arguments as its frame unwinds, and reports
// what it read.
struct ReadsOnUnwind {
  const std::string& captured;
  const std::string& argument;
  std::string* read;
  Notification* unwound;
  ~ReadsOnUnwind() {
    *read = captured + "/" + argument;
    unwound->Notify();
  }
};

// The task keeps its callable and arguments until its frame is gone, however
// it ends: a detached task's frame still reads them as it unwinds, at its end
// and when its pool, shut down, abandons it (freed first, this is a use
// after free under ASAN).
TEST_F(GoTest, ADetachedTaskUnwindsWithItsCapturesAndArgumentsAlive) {
  const std::string captured(40, 'c');  // not in SSO
  const std::string argument(40, 'a');
  for (const bool abandoned : {false, true}) {
    VirtualClock clock;
    ThreadPool pool(1);
    Notification unwound;
    std::string read;
    Go(
        pool, clock,
        [captured, &unwound, &read](const std::string& argument) -> Task<absl::Status> {
          const ReadsOnUnwind reads{captured, argument, &read, &unwound};
          co_return co_await Sleep(absl::Seconds(5));
        },
        argument)
        .Detach();
    ASSERT_TRUE(Eventually([&clock] { return clock.pending_timers() == 1; }));  // asleep
    if (abandoned) pool.Shutdown();  // the wake-up finds the pool shut
    clock.Advance(absl::Seconds(5));
    unwound.WaitForNotification();
    EXPECT_EQ(read, captured + "/" + argument) << (abandoned ? "abandoned" : "ended");
  }
}

TEST_F(GoTest, SleepsRunOnTheGivenClock) {
  VirtualClock clock;
  ThreadPool pool(2);
  Notification sleeping;
  JoinHandle<absl::Status> handle = Go(pool, clock, [&]() -> Task<absl::Status> {
    sleeping.Notify();
    co_return co_await Sleep(absl::Seconds(30));
  });
  sleeping.WaitForNotification();
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 1; }, absl::Seconds(10)));
  clock.Advance(absl::Seconds(29));
  EXPECT_FALSE(handle.finished());
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(handle.Get().ok());
}

TEST_F(GoTest, ACancelledSleepLeavesTheClock) {
  VirtualClock clock;
  ThreadPool pool(2);
  Notification sleeping;
  JoinHandle<absl::Status> handle = Go(pool, clock, [&]() -> Task<absl::Status> {
    sleeping.Notify();
    co_return co_await SleepUntil(absl::UnixEpoch() + absl::Hours(2));
  });
  sleeping.WaitForNotification();
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 1; }, absl::Seconds(10)));
  handle.Cancel();
  EXPECT_EQ(handle.Get().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(clock.pending_timers(), 0);
}

TEST_F(GoTest, ASleepWhoseClockShutsDownEndsCancelled) {
  VirtualClock clock;
  ThreadPool pool(2);
  Notification sleeping;
  JoinHandle<absl::Status> handle = Go(pool, clock, [&]() -> Task<absl::Status> {
    sleeping.Notify();
    co_return co_await Sleep(absl::Seconds(1));
  });
  sleeping.WaitForNotification();
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 1; }, absl::Seconds(10)));
  clock.Shutdown();
  EXPECT_EQ(handle.Get().code(), absl::StatusCode::kCancelled);
}

TEST_F(GoTest, ASleepThatIsDueAlreadyDoesNotSuspend) {
  VirtualClock clock;
  absl::Status got = BlockOn(
      []() -> Task<absl::Status> {
        absl::Status a = co_await Sleep(absl::ZeroDuration());
        if (!a.ok()) co_return a;
        co_return co_await SleepUntil(absl::UnixEpoch());
      }(),
      clock);
  EXPECT_TRUE(got.ok()) << got;
  EXPECT_EQ(clock.pending_timers(), 0);
}

// Cancels race completion: tasks that yield a few times and sleep briefly
// are cancelled at all points of their life, from several threads at once.
// Each ends exactly once (OK or kCancelled), nothing hangs, nothing leaks
// (the fixture counts the frames), TSAN sees no race.
TEST_F(GoTest, StressCancelRacesCompletion) {
  ThreadPool pool(4);
  constexpr int kThreads = 4;
  constexpr int kTasksPerThread = 400;
  std::atomic<int> ok{0};
  std::atomic<int> cancelled{0};
  std::vector<Thread<void>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back("canceller", [&, t] {
      for (int i = 0; i < kTasksPerThread; ++i) {
        JoinHandle<absl::Status> handle = Go(
            pool,
            [](int spins) -> Task<absl::Status> {
              for (int k = 0; k < spins; ++k) {
                if (absl::Status s = co_await Yield(); !s.ok()) co_return s;
              }
              co_return co_await Sleep(absl::Microseconds(50));
            },
            i % 5);
        if ((i + t) % 3 != 0) handle.Cancel();
        absl::Status got = handle.Get();
        if (got.ok()) {
          ok.fetch_add(1);
        } else {
          EXPECT_EQ(got.code(), absl::StatusCode::kCancelled) << got;
          cancelled.fetch_add(1);
        }
      }
    });
  }
  for (Thread<void>& thread : threads) EXPECT_TRUE(thread.Join().ok());
  EXPECT_EQ(ok.load() + cancelled.load(), kThreads * kTasksPerThread);
  EXPECT_GT(ok.load(), 0);
}

// Handles dropped (cancel + release) and detached while the tasks run or
// end: the join word's two "second one frees" paths race the task's end.
TEST_F(GoTest, StressDropAndDetachRaceTheEnd) {
  ThreadPool pool(4);
  std::atomic<int> ended{0};
  for (int i = 0; i < 4000; ++i) {
    JoinHandle<void> handle = Go(pool, [&ended]() -> Task<void> {
      struct Count {
        std::atomic<int>* n;
        ~Count() { n->fetch_add(1); }
      } count{&ended};
      absl::Status yielded = co_await Yield();  // kCancelled for the dropped ones
      static_cast<void>(yielded);
    });
    if (i % 2 == 0) handle.Detach();
  }  // odd ones are dropped: cancelled
  EXPECT_TRUE(Eventually([&] { return ended.load() == 4000; }, absl::Seconds(30)));
}

}  // namespace
}  // namespace troupe
