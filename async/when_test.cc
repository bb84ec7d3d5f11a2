#include "async/when.h"

#include <atomic>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "async/block_on.h"
#include "async/go.h"
#include "async/leak_check_test_base.h"
#include "async/sleep.h"
#include "async/task.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "testing/virtual_clock.h"
#include "threads/thread_pool.h"

namespace troupe {
namespace {

using testkit::Eventually;
using testkit::VirtualClock;

class WhenTest : public async_internal::LeakCheckedTest {};

Task<int> After(absl::Duration delay, int value) {
  if (absl::Status slept = co_await Sleep(delay); !slept.ok()) co_return slept;
  co_return value;
}

// Records that its frame unwound (a loser's destructors ran).
Task<int> Guarded(absl::Duration delay, int value, std::atomic<int>* unwound) {
  struct Count {
    std::atomic<int>* n;
    ~Count() { n->fetch_add(1); }
  } count{unwound};
  co_return co_await After(delay, value);
}

// Advances `clock` until `handle` finishes, a step at a time (the tasks
// register their timers on pool threads, so a single Advance could run
// ahead of a timer not yet scheduled).
template <typename T>
void AdvanceUntilDone(VirtualClock& clock, const JoinHandle<T>& handle) {
  ASSERT_TRUE(Eventually(
      [&] {
        clock.Advance(absl::Milliseconds(1));
        return handle.finished();
      },
      absl::Seconds(10)));
}

TEST_F(WhenTest, WhenAllGivesEveryResultInOrder) {
  VirtualClock clock;
  ThreadPool pool(2);
  JoinHandle<std::vector<int>> handle = Go(pool, clock, []() -> Task<std::vector<int>> {
    std::vector<Task<int>> tasks;
    tasks.push_back(After(absl::Milliseconds(30), 1));
    tasks.push_back(After(absl::Milliseconds(10), 2));
    tasks.push_back(After(absl::Milliseconds(20), 3));
    std::vector<absl::StatusOr<int>> results = co_await WhenAll(std::move(tasks));
    std::vector<int> values;
    for (absl::StatusOr<int>& r : results) values.push_back(r.value());
    co_return values;
  });
  AdvanceUntilDone(clock, handle);
  EXPECT_EQ(handle.Get().value(), (std::vector<int>{1, 2, 3}));
}

TEST_F(WhenTest, AnErrorDoesNotStopTheOthers) {
  absl::StatusOr<std::vector<absl::StatusOr<int>>> got =
      BlockOn([]() -> Task<std::vector<absl::StatusOr<int>>> {
        std::vector<Task<int>> tasks;
        tasks.push_back([]() -> Task<int> { co_return absl::NotFoundError("no such item"); }());
        tasks.push_back(After(absl::Milliseconds(1), 7));
        co_return co_await WhenAll(std::move(tasks));
      }());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)[0].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*got)[1].value(), 7);
}

TEST_F(WhenTest, WhenAllOfDifferentTypesGivesATuple) {
  absl::StatusOr<std::string> got = BlockOn([]() -> Task<std::string> {
    auto [number, text, done] = co_await WhenAll(
        After(absl::Milliseconds(2), 40),
        []() -> Task<std::string> { co_return std::string("two"); }(),
        []() -> Task<void> { co_return; }());
    if (!number.ok() || !text.ok() || !done.ok()) co_return absl::InternalError("a task failed");
    co_return std::to_string(*number) + "+" + *text;
  }());
  EXPECT_EQ(got.value(), "40+two");
}

TEST_F(WhenTest, EmptyFanOuts) {
  absl::Status got = BlockOn([]() -> Task<absl::Status> {
    std::vector<absl::StatusOr<int>> all = co_await WhenAll(std::vector<Task<int>>());
    EXPECT_TRUE(all.empty());
    WhenAnyResult<int> any = co_await WhenAny(std::vector<Task<int>>());
    EXPECT_EQ(any.result.status().code(), absl::StatusCode::kInvalidArgument);
    co_return absl::OkStatus();
  }());
  EXPECT_TRUE(got.ok());
}

// The first to end wins; the losers are cancelled and have unwound by the
// time the await returns.
TEST_F(WhenTest, WhenAnyGivesTheFirstAndCancelsTheRest) {
  VirtualClock clock;
  ThreadPool pool(2);
  std::atomic<int> unwound{0};
  JoinHandle<WhenAnyResult<int>> handle = Go(pool, clock, [&]() -> Task<WhenAnyResult<int>> {
    std::vector<Task<int>> tasks;
    tasks.push_back(Guarded(absl::Hours(1), 1, &unwound));
    tasks.push_back(Guarded(absl::Milliseconds(5), 2, &unwound));
    tasks.push_back(Guarded(absl::Hours(2), 3, &unwound));
    WhenAnyResult<int> first = co_await WhenAny(std::move(tasks));
    EXPECT_EQ(unwound.load(), 3);  // every child's frame is gone
    co_return first;
  });
  AdvanceUntilDone(clock, handle);
  absl::StatusOr<WhenAnyResult<int>> got = handle.Get();
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->index, 1u);
  EXPECT_EQ(got->result.value(), 2);
  EXPECT_EQ(clock.pending_timers(), 0);  // the losers' sleeps left the clock
}

TEST_F(WhenTest, CancellingTheAwaiterCancelsEveryChild) {
  VirtualClock clock;
  ThreadPool pool(2);
  std::atomic<int> unwound{0};
  JoinHandle<std::vector<absl::StatusOr<int>>> handle =
      Go(pool, clock, [&]() -> Task<std::vector<absl::StatusOr<int>>> {
        std::vector<Task<int>> tasks;
        for (int i = 0; i < 3; ++i) tasks.push_back(Guarded(absl::Hours(1), i, &unwound));
        co_return co_await WhenAll(std::move(tasks));
      });
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 3; }, absl::Seconds(10)));
  handle.Cancel();
  absl::StatusOr<std::vector<absl::StatusOr<int>>> got = handle.Get();
  ASSERT_TRUE(got.ok());
  for (const absl::StatusOr<int>& r : *got) {
    EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  }
  EXPECT_EQ(unwound.load(), 3);
  EXPECT_EQ(clock.pending_timers(), 0);
}

// In a BlockOn strand (no executor) the children are resumed inline, by the
// real clock's thread.
TEST_F(WhenTest, RunsInABlockOnStrand) {
  absl::StatusOr<WhenAnyResult<int>> got = BlockOn([]() -> Task<WhenAnyResult<int>> {
    std::vector<Task<int>> tasks;
    tasks.push_back(After(absl::Hours(1), 1));
    tasks.push_back(After(absl::Milliseconds(1), 2));
    co_return co_await WhenAny(std::move(tasks));
  }());
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->index, 1u);
}

// Children suspended when the pool shuts down: their dropped resumptions
// abandon them (kCancelled), and then the parent's.
TEST_F(WhenTest, ChildrenOfAShutDownPoolAreAbandoned) {
  VirtualClock clock;
  ThreadPool pool(1);
  std::atomic<int> unwound{0};
  JoinHandle<std::vector<absl::StatusOr<int>>> handle =
      Go(pool, clock, [&]() -> Task<std::vector<absl::StatusOr<int>>> {
        std::vector<Task<int>> tasks;
        tasks.push_back(Guarded(absl::Seconds(1), 1, &unwound));
        tasks.push_back(Guarded(absl::Seconds(2), 2, &unwound));
        co_return co_await WhenAll(std::move(tasks));
      });
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 2; }, absl::Seconds(10)));
  pool.Shutdown();
  clock.Advance(absl::Seconds(2));
  EXPECT_EQ(handle.Get().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(unwound.load(), 2);
}

// Children that end at nearly the same moment on different workers race
// for the win and for the last count: exactly one wins, the parent resumes
// once, nothing leaks.
TEST_F(WhenTest, StressWhenAnyRaces) {
  ThreadPool pool(4);
  for (int round = 0; round < 300; ++round) {
    JoinHandle<WhenAnyResult<int>> handle = Go(pool, [round]() -> Task<WhenAnyResult<int>> {
      std::vector<Task<int>> tasks;
      for (int i = 0; i < 4; ++i) {
        tasks.push_back([](int spins, int value) -> Task<int> {
          for (int k = 0; k < spins; ++k) {
            if (absl::Status s = co_await Yield(); !s.ok()) co_return s;
          }
          co_return value;
        }((round + i) % 3, i));
      }
      co_return co_await WhenAny(std::move(tasks));
    });
    absl::StatusOr<WhenAnyResult<int>> got = handle.Get();
    ASSERT_TRUE(got.ok());
    ASSERT_LT(got->index, 4u);
    EXPECT_EQ(got->result.value(), static_cast<int>(got->index));
  }
}

}  // namespace
}  // namespace troupe
