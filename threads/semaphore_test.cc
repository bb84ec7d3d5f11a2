#include "threads/semaphore.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(SemaphoreTest, TryAcquireTakesOnlyAvailablePermits) {
  Semaphore sem(2);
  EXPECT_TRUE(sem.TryAcquire());
  EXPECT_TRUE(sem.TryAcquire());
  EXPECT_FALSE(sem.TryAcquire());
  sem.Release();
  EXPECT_EQ(sem.available(), 1);
  EXPECT_TRUE(sem.TryAcquire());
}

TEST(SemaphoreTest, TryAcquireForTimesOut) {
  Semaphore sem(0);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(sem.TryAcquireFor(absl::Milliseconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(19));
}

TEST(SemaphoreTest, ReleaseWakesABlockedAcquirer) {
  Semaphore sem(0);
  Thread waiter("waiter", [&] { return sem.TryAcquireFor(absl::Seconds(30)); });
  sem.Release();
  EXPECT_TRUE(waiter.Join().value());
}

// The semaphore bounds concurrency: never more than kPermits inside at once,
// and every acquire is matched (no permit lost or invented).
TEST(SemaphoreStressTest, BoundsConcurrency) {
  constexpr int kPermits = 3;
  constexpr int kThreads = 8;
  const int64_t per_thread = ScaledCount(20'000);
  Semaphore sem(kPermits);
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  std::vector<Thread<void>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back("worker", [&] {
      for (int64_t i = 0; i < per_thread; ++i) {
        sem.Acquire();
        const int now = inside.fetch_add(1) + 1;
        int seen = max_inside.load();
        while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
        }
        inside.fetch_sub(1);
        sem.Release();
      }
    });
  }
  for (auto& thread : threads) ASSERT_TRUE(thread.Join().ok());
  EXPECT_LE(max_inside.load(), kPermits);
  EXPECT_EQ(sem.available(), kPermits);
}

}  // namespace
}  // namespace troupe
