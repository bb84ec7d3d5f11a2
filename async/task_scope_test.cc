#include "async/task_scope.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "async/block_on.h"
#include "async/go.h"
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

class TaskScopeTest : public async_internal::LeakCheckedTest {};

// Counts the children that unwound (their destructors ran).
struct Unwinds {
  std::atomic<int>* count;
  ~Unwinds() { count->fetch_add(1); }
};

Task<absl::Status> SleepThen(absl::Duration delay, absl::Status result, std::atomic<int>* unwound) {
  Unwinds guard{unwound};
  if (absl::Status slept = co_await Sleep(delay); !slept.ok()) co_return slept;
  co_return result;
}

TEST_F(TaskScopeTest, JoinWaitsForEveryChild) {
  ThreadPool pool(2);
  std::atomic<int> done{0};
  absl::Status got = Go(pool, [&]() -> Task<absl::Status> {
                       TaskScope scope(pool);
                       for (int i = 0; i < 50; ++i) {
                         scope.Go(
                             [&done](int spins) -> Task<absl::Status> {
                               for (int k = 0; k < spins; ++k) {
                                 if (absl::Status s = co_await Yield(); !s.ok()) co_return s;
                               }
                               done.fetch_add(1);
                               co_return absl::OkStatus();
                             },
                             i % 4);
                       }
                       absl::Status joined = co_await scope.Join();
                       EXPECT_EQ(done.load(), 50);
                       EXPECT_EQ(scope.running(), 0);
                       co_return joined;
                     }).Get();
  EXPECT_TRUE(got.ok()) << got;
}

TEST_F(TaskScopeTest, TheFirstErrorCancelsTheRestAndIsReported) {
  VirtualClock clock;
  ThreadPool pool(2);
  std::atomic<int> unwound{0};
  JoinHandle<absl::Status> handle = Go(pool, clock, [&]() -> Task<absl::Status> {
    TaskScope scope(pool, clock);
    scope.Go(SleepThen, absl::Hours(1), absl::OkStatus(), &unwound);
    scope.Go(SleepThen, absl::Seconds(1), absl::NotFoundError("lost"), &unwound);
    scope.Go(SleepThen, absl::Hours(2), absl::OkStatus(), &unwound);
    absl::Status joined = co_await scope.Join();
    EXPECT_EQ(unwound.load(), 3);
    co_return joined;
  });
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 3; }, absl::Seconds(10)));
  clock.Advance(absl::Seconds(1));
  absl::Status got = handle.Get();
  EXPECT_EQ(got.code(), absl::StatusCode::kNotFound) << got;
  EXPECT_EQ(clock.pending_timers(), 0);
}

TEST_F(TaskScopeTest, CancellingTheJoinerCancelsTheChildren) {
  VirtualClock clock;
  ThreadPool pool(2);
  std::atomic<int> unwound{0};
  JoinHandle<absl::Status> handle = Go(pool, clock, [&]() -> Task<absl::Status> {
    TaskScope scope(pool, clock);
    for (int i = 0; i < 3; ++i) scope.Go(SleepThen, absl::Hours(1), absl::OkStatus(), &unwound);
    co_return co_await scope.Join();
  });
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 3; }, absl::Seconds(10)));
  handle.Cancel();
  EXPECT_EQ(handle.Get().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(unwound.load(), 3);
}

// The safety net: a scope that goes out of scope with children running
// cancels them and waits until they have unwound.
TEST_F(TaskScopeTest, DestroyingTheScopeCancelsAndWaits) {
  VirtualClock clock;
  ThreadPool pool(2);
  std::atomic<int> unwound{0};
  {
    TaskScope scope(pool, clock);
    for (int i = 0; i < 4; ++i) scope.Go(SleepThen, absl::Hours(1), absl::OkStatus(), &unwound);
    ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 4; }, absl::Seconds(10)));
  }
  EXPECT_EQ(unwound.load(), 4);
  EXPECT_EQ(clock.pending_timers(), 0);
}

// Destroyed on the only worker of a pool: the children's cancelled
// resumptions need that worker, which the destructor's wait lends them.
TEST_F(TaskScopeTest, DestroyingTheScopeOnTheOnlyWorkerDoesNotDeadlock) {
  VirtualClock clock;
  ThreadPool pool(1);
  std::atomic<int> unwound{0};
  Notification started;
  JoinHandle<void> handle = Go(pool, clock, [&] {
    TaskScope scope(pool, clock);
    for (int i = 0; i < 3; ++i) scope.Go(SleepThen, absl::Hours(1), absl::OkStatus(), &unwound);
    started.Notify();
  });  // ~TaskScope on the worker
  started.WaitForNotification();
  EXPECT_TRUE(handle.Get().ok());
  EXPECT_EQ(unwound.load(), 3);
}

TEST_F(TaskScopeTest, ChildrenStartedAfterCancelStartCancelled) {
  ThreadPool pool(2);
  std::atomic<int> unwound{0};
  absl::Status got = Go(pool, [&]() -> Task<absl::Status> {
                       TaskScope scope(pool);
                       scope.Cancel();
                       scope.Go(SleepThen, absl::Hours(1), absl::OkStatus(), &unwound);
                       absl::Status first = co_await scope.Join();
                       EXPECT_EQ(first.code(), absl::StatusCode::kCancelled);
                       // Fresh after the Join: this one runs normally.
                       scope.Go(SleepThen, absl::Milliseconds(1), absl::OkStatus(), &unwound);
                       co_return co_await scope.Join();
                     }).Get();
  EXPECT_TRUE(got.ok()) << got;
  EXPECT_EQ(unwound.load(), 2);
}

TEST_F(TaskScopeTest, ChildrenOfAShutDownPoolAreAbandoned) {
  VirtualClock clock;
  ThreadPool pool(1);
  std::atomic<int> unwound{0};
  absl::Status got;
  Thread<void> joiner("joiner", [&] {
    got = BlockOn(
        [&]() -> Task<absl::Status> {
          TaskScope scope(pool, clock);
          scope.Go(SleepThen, absl::Seconds(1), absl::OkStatus(), &unwound);
          co_return co_await scope.Join();
        }(),
        clock);
  });
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 1; }, absl::Seconds(10)));
  pool.Shutdown();
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(joiner.Join().ok());
  EXPECT_EQ(got.code(), absl::StatusCode::kCancelled) << got;
  EXPECT_EQ(unwound.load(), 1);
}

// A child whose argument throws on its way into the child's frame ends at
// once with that error, which cancels its siblings as any first error does.
TEST_F(TaskScopeTest, AChildWhoseArgumentThrowsEndsWithTheError) {
  VirtualClock clock;
  ThreadPool pool(2);
  std::atomic<int> unwound{0};
  absl::Status got =
      Go(pool, clock, [&]() -> Task<absl::Status> {
        TaskScope scope(pool, clock);
        scope.Go(SleepThen, absl::Hours(1), absl::OkStatus(), &unwound);
        scope.Go([](ThrowsOnMove) -> Task<absl::Status> { co_return absl::OkStatus(); },
                 ThrowsOnMove(1));
        scope.Go([](ThrowsOnMove) {}, ThrowsOnMove(1));
        absl::Status joined = co_await scope.Join();
        EXPECT_EQ(scope.running(), 0);
        co_return joined;
      }).Get();
  EXPECT_EQ(got.code(), absl::StatusCode::kInternal);
  EXPECT_NE(got.message().find("an argument's move threw"), std::string::npos) << got;
  EXPECT_EQ(unwound.load(), 1);  // the sleeping sibling was cancelled
}

// Children start grandchildren in the same scope while outside threads
// start more and others fail: Join() counts every one started before the
// last ended, the first error wins, and nothing leaks.
TEST_F(TaskScopeTest, StressChildrenSpawnIntoTheirScope) {
  ThreadPool pool(4);
  for (int round = 0; round < 20; ++round) {
    std::atomic<int> ran{0};
    const bool fail = round % 2 == 1;
    absl::Status got = Go(pool, [&]() -> Task<absl::Status> {
                         TaskScope scope(pool);
                         for (int i = 0; i < 20; ++i) {
                           scope.Go(
                               [&, i](TaskScope* scope) -> Task<absl::Status> {
                                 ran.fetch_add(1);
                                 for (int k = 0; k < 3; ++k) {
                                   scope->Go([&ran]() -> Task<absl::Status> {
                                     ran.fetch_add(1);
                                     co_return co_await Yield();
                                   });
                                 }
                                 if (fail && i == 7) co_return absl::AbortedError("child 7 failed");
                                 co_return co_await Yield();
                               },
                               &scope);
                         }
                         co_return co_await scope.Join();
                       }).Get();
    if (fail) {
      EXPECT_EQ(got.code(), absl::StatusCode::kAborted) << got;
    } else {
      EXPECT_TRUE(got.ok()) << got;
      EXPECT_EQ(ran.load(), 80);
    }
  }
}

}  // namespace
}  // namespace troupe
