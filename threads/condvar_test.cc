#include "threads/condvar.h"

#include <deque>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/mutex.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(CondVarTest, WaitForTimesOutAndReturnsFalse) {
  Mutex mu;
  CondVar cv;
  MutexLock lock(mu);
  const absl::Time start = absl::Now();
  EXPECT_FALSE(cv.WaitFor(mu, absl::Milliseconds(20)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(19));
}

TEST(CondVarTest, PredicateWaitReturnsPredicateAtTimeout) {
  Mutex mu;
  CondVar cv;
  bool flag = false;
  MutexLock lock(mu);
  EXPECT_FALSE(cv.WaitFor(mu, absl::Milliseconds(5), [&] { return flag; }));
  flag = true;
  EXPECT_TRUE(cv.WaitFor(mu, absl::Milliseconds(5), [&] { return flag; }));
}

TEST(CondVarTest, SignalAllWakesEveryWaiter) {
  constexpr int kWaiters = 6;
  Mutex mu;
  CondVar cv;
  bool go = false;
  int woken = 0;
  std::vector<Thread<void>> threads;
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back("waiter", [&] {
      MutexLock lock(mu);
      cv.Wait(mu, [&] { return go; });
      ++woken;
    });
  }
  {
    MutexLock lock(mu);
    go = true;
  }
  cv.SignalAll();
  for (auto& thread : threads) ASSERT_TRUE(thread.Join().ok());
  EXPECT_EQ(woken, kWaiters);
}

// A bounded queue built on two condvars: every item produced is consumed
// exactly once, with producers and consumers blocking on full and empty.
TEST(CondVarStressTest, BoundedQueueMovesEveryItemOnce) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  constexpr size_t kCapacity = 8;
  const int64_t per_producer = ScaledCount(50'000);
  Mutex mu;
  CondVar not_full, not_empty;
  std::deque<int64_t> queue;
  int64_t produced_done = 0;
  std::vector<Thread<int64_t>> consumers;
  std::vector<Thread<void>> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back("producer", [&, p] {
      for (int64_t i = 1; i <= per_producer; ++i) {
        MutexLock lock(mu);
        not_full.Wait(mu, [&] { return queue.size() < kCapacity; });
        queue.push_back(i + p * per_producer);
        not_empty.Signal();
      }
      MutexLock lock(mu);
      ++produced_done;
      not_empty.SignalAll();
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    consumers.emplace_back("consumer", [&] {
      int64_t sum = 0;
      while (true) {
        MutexLock lock(mu);
        not_empty.Wait(mu, [&] { return !queue.empty() || produced_done == kProducers; });
        if (queue.empty()) return sum;
        sum += queue.front();
        queue.pop_front();
        not_full.Signal();
      }
    });
  }
  for (auto& producer : producers) ASSERT_TRUE(producer.Join().ok());
  int64_t total = 0;
  for (auto& consumer : consumers) total += consumer.Join().value();
  const int64_t n = kProducers * per_producer;
  EXPECT_EQ(total, n * (n + 1) / 2);
}

}  // namespace
}  // namespace troupe
