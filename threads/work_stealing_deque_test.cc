#include "threads/internal/work_stealing_deque.h"

#include <atomic>
#include <memory>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/latch.h"
#include "threads/thread.h"

namespace troupe::threads_internal {
namespace {

TEST(WorkStealingDequeTest, OwnerIsLifoThievesAreFifo) {
  WorkStealingDeque<int> deque(2);
  int items[5] = {0, 1, 2, 3, 4};
  for (int& item : items) deque.Push(&item);  // grows past 2
  EXPECT_EQ(deque.SizeGuess(), 5);
  EXPECT_EQ(deque.Steal(), &items[0]);
  EXPECT_EQ(deque.Pop(), &items[4]);
  EXPECT_EQ(deque.Steal(), &items[1]);
  EXPECT_EQ(deque.Pop(), &items[3]);
  EXPECT_EQ(deque.Pop(), &items[2]);
  EXPECT_EQ(deque.Pop(), nullptr);
  EXPECT_EQ(deque.Steal(), nullptr);
}

// The owner pushes and pops while thieves steal; every item is taken exactly
// once (the last-item race between Pop() and Steal() is the hard part).
TEST(WorkStealingDequeStressTest, EveryItemTakenExactlyOnce) {
  constexpr int kThieves = 3;
  const int64_t items = ScaledCount(400'000, 1000);
  std::vector<int64_t> values(static_cast<size_t>(items));
  std::vector<std::atomic<int>> taken(static_cast<size_t>(items));
  for (int64_t i = 0; i < items; ++i) values[i] = i;
  WorkStealingDeque<int64_t> deque(4);
  std::atomic<bool> owner_done{false};
  std::vector<Thread<void>> thieves;
  for (int t = 0; t < kThieves; ++t) {
    thieves.emplace_back("thief", [&] {
      while (true) {
        if (int64_t* item = deque.Steal()) {
          taken[*item].fetch_add(1);
        } else if (owner_done.load()) {
          if (deque.SizeGuess() == 0) return;
        }
      }
    });
  }
  for (int64_t i = 0; i < items; ++i) {
    deque.Push(&values[i]);
    if (i % 3 == 0) {
      if (int64_t* item = deque.Pop()) taken[*item].fetch_add(1);
    }
  }
  while (int64_t* item = deque.Pop()) taken[*item].fetch_add(1);
  owner_done.store(true);
  for (auto& thief : thieves) ASSERT_TRUE(thief.Join().ok());
  int64_t wrong = 0;
  for (auto& count : taken) wrong += count.load() != 1;
  EXPECT_EQ(wrong, 0);
}

}  // namespace
}  // namespace troupe::threads_internal
