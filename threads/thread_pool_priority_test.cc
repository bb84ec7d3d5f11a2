// ThreadPool::Execute(task, priority): high before normal before low, the
// aging rule that keeps low work from starving, and what shutdown does to
// prioritised work.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "base/log_capture.h"
#include "base/stress.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "threads/internal/injection_queue.h"
#include "threads/latch.h"
#include "threads/notification.h"
#include "threads/priority.h"
#include "threads/thread.h"
#include "threads/thread_pool.h"

namespace troupe {
namespace {

// Holds a one-worker pool's only worker until Release(), so that the test
// can queue work behind it and then watch the order it runs in.
class Gate {
 public:
  explicit Gate(ThreadPool& pool) {
    pool.Execute([this] {
      entered_.Notify();
      released_.WaitForNotification();
    });
    entered_.WaitForNotification();
  }
  void Release() { released_.Notify(); }

 private:
  Notification entered_;
  Notification released_;
};

TEST(ThreadPoolPriorityTest, HighRunsFirstAndLowLast) {
  ThreadPool pool(1);
  std::vector<std::string> order;  // touched by the one worker only, read after Shutdown
  Gate gate(pool);
  pool.Execute([&] { order.push_back("low 1"); }, Priority::kLow);
  pool.Execute([&] { order.push_back("normal 1"); });
  pool.Execute([&] { order.push_back("high 1"); }, Priority::kHigh);
  pool.Execute([&] { order.push_back("normal 2"); }, Priority::kNormal);
  pool.Execute([&] { order.push_back("low 2"); }, Priority::kLow);
  pool.Execute([&] { order.push_back("high 2"); }, Priority::kHigh);
  gate.Release();
  pool.Shutdown();
  EXPECT_EQ(order, (std::vector<std::string>{"high 1", "high 2", "normal 1", "normal 2", "low 1",
                                             "low 2"}));
}

// From inside a task: a high task goes ahead even of the worker's LIFO slot
// and of its own deque, which otherwise come first.
TEST(ThreadPoolPriorityTest, HighGoesAheadOfTheLifoSlotAndTheDeque) {
  ThreadPool pool(1);
  std::vector<std::string> order;  // touched by the one worker only, read after Shutdown
  pool.Execute([&] {
    pool.Execute([&] { order.push_back("deque"); });
    pool.ExecuteNext([&] { order.push_back("next"); });
    pool.Execute([&] { order.push_back("low"); }, Priority::kLow);
    pool.Execute([&] { order.push_back("high"); }, Priority::kHigh);
    order.push_back("current");
  });
  // Not Shutdown() at once: it closes the priority queues, and a task that
  // a draining pool's own task queues at a priority goes to its deque.
  Notification last;
  pool.Execute([&] { last.Notify(); }, Priority::kLow);  // behind "low"
  ASSERT_TRUE(last.WaitForNotificationFor(absl::Seconds(30)));
  pool.Shutdown();
  EXPECT_EQ(order, (std::vector<std::string>{"current", "high", "next", "deque", "low"}));
}

// A flood that refills itself forever, at `priority`, on a one-worker pool.
// Each of its tasks counts itself in `ran`. Ending it shuts the pool down,
// so that no flood task runs after it is gone.
class Flood {
 public:
  Flood(ThreadPool& pool, Priority priority) : pool_(pool), priority_(priority) {
    next_ = [this] {
      ran_.fetch_add(1, std::memory_order_relaxed);
      if (!stop_.load(std::memory_order_relaxed)) pool_.Execute(next_, priority_);
    };
    pool_.Execute(next_, priority_);
    while (ran_.load() < 1000) std::this_thread::yield();  // the flood is on
  }
  ~Flood() {
    stop_.store(true);
    pool_.Shutdown();  // drains the last flood task while this still lives
  }
  int64_t ran() const { return ran_.load(std::memory_order_relaxed); }

 private:
  ThreadPool& pool_;
  const Priority priority_;
  std::function<void()> next_;
  std::atomic<int64_t> ran_{0};
  std::atomic<bool> stop_{false};
};

// Queues a task at `priority` into the flood and returns how many flood
// tasks started between the push and that task. The count at the push is
// read after it returns (possibly late, never early), so the result is an
// upper bound; -1 if the task never ran.
int64_t FloodTasksBefore(ThreadPool& pool, const Flood& flood, Priority priority) {
  struct Probe {
    std::atomic<int64_t> ran_at{-1};
    Notification done;
  };
  // Shared: a task that runs after a timeout must not touch a dead frame.
  auto probe = std::make_shared<Probe>();
  pool.Execute(
      [probe, &flood] {
        probe->ran_at.store(flood.ran());
        probe->done.Notify();
      },
      priority);
  const int64_t queued_by = flood.ran();
  if (!probe->done.WaitForNotificationFor(absl::Seconds(60))) return -1;
  return probe->ran_at.load() - queued_by;
}

// The aging bound of priority.h, under a flood of normal or of high work:
// the low task starts after at most kLowPriorityAgingInterval flood tasks
// (plus the one running when it was queued). A bound in tasks, so it holds
// on a loaded machine too.
class LowPriorityAgingTest : public testing::TestWithParam<Priority> {};

TEST_P(LowPriorityAgingTest, LowWorkRunsWithinTheAgingBound) {
  ThreadPool pool(1);
  Flood flood(pool, GetParam());
  for (int round = 0; round < 20; ++round) {
    const int64_t waited = FloodTasksBefore(pool, flood, Priority::kLow);
    ASSERT_NE(waited, -1) << "round " << round << ": the low task never ran";
    EXPECT_LE(waited, int64_t{kLowPriorityAgingInterval} + 1) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(UnderAFloodOf, LowPriorityAgingTest,
                         testing::Values(Priority::kNormal, Priority::kHigh),
                         [](const testing::TestParamInfo<Priority>& info) {
                           return std::string(PriorityName(info.param));
                         });

// High work submitted into a flood of normal work starts after at most the
// flood task that was running.
TEST(ThreadPoolPriorityTest, HighWorkOvertakesAFloodOfNormalWork) {
  ThreadPool pool(1);
  Flood flood(pool, Priority::kNormal);
  for (int round = 0; round < 20; ++round) {
    const int64_t waited = FloodTasksBefore(pool, flood, Priority::kHigh);
    ASSERT_NE(waited, -1) << "round " << round << ": the high task never ran";
    EXPECT_LE(waited, 1) << "round " << round;
  }
}

TEST(ThreadPoolPriorityTest, ShutdownRunsQueuedHighAndLowWork) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) {
    pool.Execute([&] { ran.fetch_add(1); }, Priority::kHigh);
    pool.Execute([&] { ran.fetch_add(1); }, Priority::kLow);
  }
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 200);
  // After shutdown, as Execute(): rejected, counted, never run.
  pool.Execute([&] { ran.fetch_add(1); }, Priority::kHigh);
  pool.Execute([&] { ran.fetch_add(1); }, Priority::kLow);
  EXPECT_EQ(pool.stats().rejected, 2);
  EXPECT_EQ(ran.load(), 200);
}

TEST(ThreadPoolPriorityTest, ShutdownNowCancelsQueuedHighAndLowWork) {
  ThreadPool pool(1);
  std::atomic<int> ran{0};
  Gate gate(pool);
  for (int i = 0; i < 10; ++i) {
    pool.Execute([&] { ran.fetch_add(1); }, Priority::kHigh);
    pool.Execute([&] { ran.fetch_add(1); }, Priority::kLow);
  }
  Thread<void> stopper("stopper", [&] { pool.ShutdownNow(); });
  // ShutdownNow() sets its flags before it joins; the gate keeps the
  // worker from running anything meanwhile.
  absl::SleepFor(absl::Milliseconds(50));
  gate.Release();
  ASSERT_TRUE(stopper.Join().ok());
  EXPECT_EQ(ran.load() + pool.stats().cancelled, 20);
}

// Shutdown() drains high work that fills the high queue's first block
// exactly. The queue's emptiness test once counted the block's "installing"
// offset as a value (injection_queue.h): the worker, reading the high queue
// only while its counter said work was queued, saw visible work it never
// took and spun in its drain; Shutdown() never returned (the flood test
// above hit it about once in 60 runs). Without the fix this test hangs.
TEST(ThreadPoolPriorityTest, ShutdownDrainsHighWorkThatEndsAtABlocksEnd) {
  constexpr int kBlock = threads_internal::InjectionQueue<Closure>::kBlockSize;
  ThreadPool pool(1);
  std::atomic<int> ran{0};
  Gate gate(pool);
  for (int i = 0; i < kBlock; ++i) pool.Execute([&] { ran.fetch_add(1); }, Priority::kHigh);
  Thread<void> stopper("stopper", [&] { pool.Shutdown(); });
  // The drain must start after Shutdown() set its flags (as above): the
  // worker's search, which runs before, would step past the offset.
  absl::SleepFor(absl::Milliseconds(50));
  gate.Release();
  ASSERT_TRUE(stopper.Join().ok());
  EXPECT_EQ(ran.load(), kBlock);
}

TEST(ThreadPoolPriorityTest, AnInvalidPriorityIsLoggedAndRunsAsNormal) {
  LogCapture capture;
  ThreadPool pool(1);
  Notification ran;
  pool.Execute([&] { ran.Notify(); }, static_cast<Priority>(7));
  EXPECT_TRUE(ran.WaitForNotificationFor(absl::Seconds(30)));
  EXPECT_THAT(capture.Output(), testing::HasSubstr("invalid priority 7"));
}

// Many submitters at every priority, from outside and from inside the
// pool: every task runs exactly once (run under TSAN and ASAN too).
TEST(ThreadPoolPriorityStressTest, MixedPrioritiesExactCount) {
  ThreadPool pool(4);
  constexpr int kThreads = 4;
  const int per_thread = static_cast<int>(ScaledCount(20000));
  std::atomic<int64_t> ran{0};
  Latch done(kThreads * per_thread * 2);
  {
    std::vector<Thread<void>> submitters;
    for (int t = 0; t < kThreads; ++t) {
      submitters.emplace_back("submitter", [&, t] {
        for (int i = 0; i < per_thread; ++i) {
          const auto priority = static_cast<Priority>((t + i) % 3);
          pool.Execute(
              [&, priority] {
                ran.fetch_add(1, std::memory_order_relaxed);
                done.CountDown();
                // A child at another priority, from a worker.
                pool.Execute(
                    [&] {
                      ran.fetch_add(1, std::memory_order_relaxed);
                      done.CountDown();
                    },
                    static_cast<Priority>((static_cast<int>(priority) + 1) % 3));
              },
              priority);
        }
      });
    }
  }
  ASSERT_TRUE(done.WaitFor(absl::Seconds(120)));
  pool.Shutdown();
  EXPECT_EQ(ran.load(), int64_t{kThreads} * per_thread * 2);
}

}  // namespace
}  // namespace troupe
