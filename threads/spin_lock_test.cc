// SpinLock: mutual exclusion under threads that contend hard (a plain,
// unsynchronised counter must come out exact, and TSAN must see every
// section ordered after the one before it), and a holder that is slow to
// let go does not lose its waiters' sections.

#include "threads/internal/spin_lock.h"

#include <cstdint>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/latch.h"
#include "threads/thread.h"

namespace troupe::threads_internal {
namespace {

TEST(SpinLockTest, SectionsExcludeEachOther) {
  constexpr int kThreads = 4;
  const int64_t rounds = ScaledCount(200'000);
  SpinLock mu;
  int64_t counter = 0;  // guarded by mu, deliberately not atomic
  int64_t inside = 0;   // sections running right now: never more than one
  bool overlapped = false;
  Latch start(kThreads);
  std::vector<Thread<void>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back("contender", [&] {
      start.CountDown();
      start.Wait();
      for (int64_t i = 0; i < rounds; ++i) {
        SpinLockHolder hold(mu);
        if (++inside != 1) overlapped = true;
        ++counter;
        --inside;
      }
    });
  }
  for (Thread<void>& thread : threads) ASSERT_TRUE(thread.Join().ok());
  EXPECT_FALSE(overlapped);
  EXPECT_EQ(counter, kThreads * rounds);
}

TEST(SpinLockTest, WaitersGetInAfterASlowHolder) {
  SpinLock mu;
  int64_t counter = 0;
  Latch holding(1);
  Latch waiters_started(2);
  mu.Lock();
  std::vector<Thread<void>> waiters;
  for (int t = 0; t < 2; ++t) {
    waiters.emplace_back("waiter", [&] {
      waiters_started.CountDown();
      SpinLockHolder hold(mu);  // spins, then yields, until the holder lets go
      ++counter;
    });
  }
  waiters_started.Wait();
  absl::SleepFor(absl::Milliseconds(20));  // past the spinning, into the yields
  counter = 100;
  mu.Unlock();
  for (Thread<void>& waiter : waiters) ASSERT_TRUE(waiter.Join().ok());
  EXPECT_EQ(counter, 102);
}

}  // namespace
}  // namespace troupe::threads_internal
