#include "threads/clock.h"

#include <atomic>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "threads/latch.h"
#include "threads/mutex.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(RealClockTest, RunsCallbacksInDeadlineOrder) {
  std::unique_ptr<Clock> clock = MakeRealClock();
  Mutex mu;
  std::vector<int> order;
  Latch done(3);
  const absl::Time now = clock->Now();
  for (int i : {3, 1, 2}) {
    EXPECT_NE(clock->ScheduleAt(now + absl::Milliseconds(10 * i),
                                [&, i] {
                                  {
                                    MutexLock lock(mu);
                                    order.push_back(i);
                                  }
                                  done.CountDown();
                                }),
              0u);
  }
  ASSERT_TRUE(done.WaitFor(absl::Seconds(30)));
  MutexLock lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(clock->Now() - now, absl::Milliseconds(30));
}

TEST(RealClockTest, CancelledCallbacksNeverRun) {
  std::unique_ptr<Clock> clock = MakeRealClock();
  std::atomic<int> ran{0};
  Latch later(1);
  TimerId id = clock->ScheduleAt(clock->Now() + absl::Milliseconds(20), [&] { ran.fetch_add(1); });
  clock->ScheduleAt(clock->Now() + absl::Milliseconds(40), [&] { later.CountDown(); });
  EXPECT_TRUE(clock->Cancel(id));
  EXPECT_FALSE(clock->Cancel(id));
  EXPECT_FALSE(clock->Cancel(12345));
  ASSERT_TRUE(later.WaitFor(absl::Seconds(30)));
  EXPECT_EQ(ran.load(), 0);
}

TEST(RealClockTest, ShutdownDropsPendingAndRefusesNew) {
  std::unique_ptr<Clock> clock = MakeRealClock();
  std::atomic<int> ran{0};
  clock->ScheduleAt(clock->Now() + absl::Hours(1), [&] { ran.fetch_add(1); });
  clock->Shutdown();
  EXPECT_EQ(clock->ScheduleAt(clock->Now(), [&] { ran.fetch_add(1); }), 0u);
  clock->Shutdown();  // idempotent
  EXPECT_EQ(ran.load(), 0);
}

// Many threads schedule and cancel at once; every uncancelled timer runs once.
TEST(RealClockStressTest, ConcurrentScheduleAndCancel) {
  std::unique_ptr<Clock> clock = MakeRealClock();
  constexpr int kThreads = 4, kPerThread = 2000;
  std::atomic<int> ran{0}, cancelled{0};
  std::vector<Thread<void>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back("scheduler", [&] {
      for (int i = 0; i < kPerThread; ++i) {
        TimerId id =
            clock->ScheduleAt(clock->Now() + absl::Microseconds(i % 50), [&] { ran.fetch_add(1); });
        if (i % 3 == 0 && clock->Cancel(id)) cancelled.fetch_add(1);
      }
    });
  }
  for (Thread<void>& t : threads) ASSERT_TRUE(t.Join().ok());
  EXPECT_TRUE(
      testkit::Eventually([&] { return ran.load() + cancelled.load() >= kThreads * kPerThread; }));
  EXPECT_EQ(ran.load() + cancelled.load(), kThreads * kPerThread);
}

}  // namespace
}  // namespace troupe
