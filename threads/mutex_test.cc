#include "threads/mutex.h"

#include <mutex>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/latch.h"
#include "threads/notification.h"
#include "threads/thread.h"

namespace troupe {
namespace {

// The try-lock's outcome is what this checks, at run time; the static analysis
// cannot follow a lock taken inside ASSERT_TRUE.
void ExpectTryLockFailsWhileHeld(Mutex& mu) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  mu.Lock();
  Thread other("other", [&] { return mu.TryLock(); });
  EXPECT_EQ(other.Join().value(), false);
  mu.Unlock();
  ASSERT_TRUE(mu.TryLock());
  mu.Unlock();
}

TEST(MutexTest, TryLockFailsWhileHeldAndSucceedsAfter) {
  Mutex mu;
  ExpectTryLockFailsWhileHeld(mu);
}

TEST(MutexTest, TryLockForTimesOutWhileHeld) {
  Mutex mu;
  MutexLock lock(mu);
  Thread other("other", [&] {
    const absl::Time start = absl::Now();
    const bool got = mu.TryLockFor(absl::Milliseconds(30));
    return std::make_pair(got, absl::Now() - start);
  });
  auto [got, waited] = other.Join().value();
  EXPECT_FALSE(got);
  EXPECT_GE(waited, absl::Milliseconds(29));
}

TEST(MutexTest, TryLockForSucceedsWhenReleasedInTime) {
  Mutex mu;
  mu.Lock();
  Notification waiting;
  Thread other("other", [&] {
    waiting.Notify();
    const bool got = mu.TryLockFor(absl::Seconds(30));
    if (got) mu.Unlock();
    return got;
  });
  waiting.WaitForNotification();
  mu.Unlock();
  EXPECT_TRUE(other.Join().value());
}

TEST(MutexTest, WorksWithStdLockGuards) {
  Mutex mu;
  { std::lock_guard<Mutex> guard(mu); }
  {
    std::unique_lock<Mutex> guard(mu, std::try_to_lock);
    EXPECT_TRUE(guard.owns_lock());
  }
}

// Many threads increment a plain counter under the lock: any lost update (or,
// under TSAN, any race) means mutual exclusion failed.
TEST(MutexStressTest, ManyThreadsIncrementExactly) {
  constexpr int kThreads = 8;
  const int64_t per_thread = ScaledCount(200'000);
  Mutex mu;
  int64_t counter = 0;
  Latch start(1);
  std::vector<Thread<void>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back("incr", [&] {
      start.Wait();
      for (int64_t i = 0; i < per_thread; ++i) {
        MutexLock lock(mu);
        ++counter;
      }
    });
  }
  start.CountDown();
  for (auto& thread : threads) ASSERT_TRUE(thread.Join().ok());
  EXPECT_EQ(counter, kThreads * per_thread);
}

// Mixing TryLockFor (with short timeouts) and Lock still never admits two.
TEST(MutexStressTest, TimedAndUntimedLockersExclude) {
  constexpr int kThreads = 6;
  const int64_t per_thread = ScaledCount(20'000);
  Mutex mu;
  int64_t counter = 0;
  std::atomic<int64_t> timeouts{0};
  std::vector<Thread<void>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back("mixed", [&, t] {
      for (int64_t i = 0; i < per_thread; ++i) {
        if (t % 2 == 0) {
          MutexLock lock(mu);
          ++counter;
        } else {
          while (!mu.TryLockFor(absl::Microseconds(5))) timeouts.fetch_add(1);
          ++counter;
          mu.Unlock();
        }
      }
    });
  }
  for (auto& thread : threads) ASSERT_TRUE(thread.Join().ok());
  EXPECT_EQ(counter, kThreads * per_thread);
}

}  // namespace
}  // namespace troupe
