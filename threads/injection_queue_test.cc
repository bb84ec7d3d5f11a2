#include "threads/internal/injection_queue.h"

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/latch.h"
#include "threads/thread.h"

namespace troupe::threads_internal {
namespace {

TEST(InjectionQueueTest, FifoAcrossBlocks) {
  InjectionQueue<int> queue;
  EXPECT_FALSE(queue.MaybeNonEmpty());
  const int n = 3 * InjectionQueue<int>::kBlockSize + 5;
  for (int i = 0; i < n; ++i) {
    int v = i;
    ASSERT_TRUE(queue.Push(std::move(v)));
  }
  EXPECT_TRUE(queue.MaybeNonEmpty());
  EXPECT_EQ(queue.SizeGuess(), n);
  ASSERT_TRUE(queue.TryLockConsumer());
  EXPECT_FALSE(queue.TryLockConsumer());  // one consumer at a time
  for (int i = 0; i < n; ++i) ASSERT_EQ(queue.Pop(), i);
  EXPECT_EQ(queue.Pop(), std::nullopt);
  queue.UnlockConsumer();
  EXPECT_FALSE(queue.MaybeNonEmpty());
  EXPECT_EQ(queue.SizeGuess(), 0);
}

// A queue emptied exactly at a block's end is empty. The producer of a
// block's last slot moves tail_ past the "installing" offset, which no
// consumer pops; counting that offset as a value made MaybeNonEmpty() true
// forever once the consumer had popped the last slot, and a pool worker
// draining its high-priority queue (which it reads only while its counter
// says work is queued) spun at Shutdown() instead of exiting.
TEST(InjectionQueueTest, EmptyAtABlocksEndIsEmpty) {
  InjectionQueue<int> queue;
  for (int round = 0; round < 3; ++round) {
    for (uint64_t i = 0; i < InjectionQueue<int>::kBlockSize; ++i) {
      int v = static_cast<int>(i);
      ASSERT_TRUE(queue.Push(std::move(v)));
    }
    ASSERT_TRUE(queue.TryLockConsumer());
    for (uint64_t i = 0; i < InjectionQueue<int>::kBlockSize; ++i) {
      ASSERT_EQ(queue.Pop(), static_cast<int>(i));
    }
    queue.UnlockConsumer();
    EXPECT_FALSE(queue.MaybeNonEmpty()) << "round " << round;
    EXPECT_EQ(queue.SizeGuess(), 0) << "round " << round;
  }
  int v = 7;
  ASSERT_TRUE(queue.Push(std::move(v)));
  EXPECT_TRUE(queue.MaybeNonEmpty());
  ASSERT_TRUE(queue.TryLockConsumer());
  EXPECT_EQ(queue.Pop(), 7);
  queue.UnlockConsumer();
  EXPECT_FALSE(queue.MaybeNonEmpty());
}

// Blocks are reused (the consumer's spare): a reused block must come back
// empty. Rounds of a few pushes, all popped, walk the head through many
// reused blocks; a slot still marked full from its last lap would hand out
// a value nobody pushed where the queue is empty.
TEST(InjectionQueueTest, ReusedBlocksComeBackEmpty) {
  InjectionQueue<int> queue;
  ASSERT_TRUE(queue.TryLockConsumer());
  int next_push = 0, next_pop = 0;
  for (int round = 0; round < 40; ++round) {
    const int n = 1 + round % 17;  // not a divisor of the block size
    for (int i = 0; i < n; ++i) {
      int v = next_push++;
      ASSERT_TRUE(queue.Push(std::move(v)));
    }
    for (int i = 0; i < n; ++i) ASSERT_EQ(queue.Pop(), next_pop++);
    ASSERT_EQ(queue.Pop(), std::nullopt) << "round " << round;
  }
  ASSERT_GT(next_push, 4 * static_cast<int>(InjectionQueue<int>::kBlockSize));
  queue.UnlockConsumer();
}

// A flow that the consumer drains in bursts of a few blocks reuses the
// blocks it emptied instead of allocating new ones: with a single spare,
// every burst but the first would allocate all but one of its blocks again
// (and free as many), which on a machine with distant cores left bench P1
// 3x slower through the allocator's lock.
TEST(InjectionQueueTest, BurstsReuseEmptiedBlocks) {
  InjectionQueue<int> queue;
  constexpr int kBlocksPerBurst = 5;
  constexpr int kBursts = 50;
  const int burst = kBlocksPerBurst * static_cast<int>(InjectionQueue<int>::kBlockSize);
  ASSERT_TRUE(queue.TryLockConsumer());
  int next_push = 0, next_pop = 0;
  for (int round = 0; round < kBursts; ++round) {
    for (int i = 0; i < burst; ++i) {
      int v = next_push++;
      ASSERT_TRUE(queue.Push(std::move(v)));
    }
    for (int i = 0; i < burst; ++i) ASSERT_EQ(queue.Pop(), next_pop++);
  }
  queue.UnlockConsumer();
  // The first burst allocates its blocks; later ones take the spares (one
  // more block at most per burst, where a burst ends inside a block).
  EXPECT_LE(queue.BlocksAllocated(), static_cast<uint64_t>(kBlocksPerBurst + 1));
}

// PopInto(): the oldest values, in order, at most `max`, appended.
TEST(InjectionQueueTest, PopIntoAppendsTheOldestInOrder) {
  InjectionQueue<std::unique_ptr<int>> queue;
  const int n = InjectionQueue<int>::kBlockSize + 10;  // across a block
  for (int i = 0; i < n; ++i) ASSERT_TRUE(queue.Push(std::make_unique<int>(i)));
  ASSERT_TRUE(queue.TryLockConsumer());
  std::vector<std::unique_ptr<int>> out;
  out.push_back(std::make_unique<int>(-1));  // kept: PopInto appends
  EXPECT_EQ(queue.PopInto(out, n - 3), static_cast<size_t>(n - 3));
  EXPECT_EQ(queue.PopInto(out, 100), 3u);  // only what is there
  EXPECT_EQ(queue.PopInto(out, 100), 0u);
  queue.UnlockConsumer();
  ASSERT_EQ(out.size(), static_cast<size_t>(n + 1));
  for (int i = 0; i <= n; ++i) EXPECT_EQ(*out[i], i - 1);
}

TEST(InjectionQueueTest, ClosedQueueRefusesAndKeepsTheValue) {
  InjectionQueue<std::unique_ptr<int>> queue;
  auto kept = std::make_unique<int>(1);
  ASSERT_TRUE(queue.Push(std::move(kept)));
  queue.Close();
  auto refused = std::make_unique<int>(2);
  EXPECT_FALSE(queue.Push(std::move(refused)));
  ASSERT_NE(refused, nullptr);  // handed back untouched
  EXPECT_EQ(*refused, 2);
  ASSERT_TRUE(queue.TryLockConsumer());
  EXPECT_EQ(**queue.Pop(), 1);  // what was in before the close still drains
  queue.UnlockConsumer();
}

TEST(InjectionQueueTest, DestructorDestroysQueuedValues) {
  auto counter = std::make_shared<int>(0);
  {
    InjectionQueue<std::shared_ptr<int>> queue;
    for (int i = 0; i < 100; ++i) {
      auto copy = counter;
      ASSERT_TRUE(queue.Push(std::move(copy)));
    }
    EXPECT_EQ(counter.use_count(), 101);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

// Several producers, consumers taking turns through the consumer lock, and a
// close in the middle: every value accepted is popped exactly once, and
// per-producer order holds.
TEST(InjectionQueueStressTest, ProducersAndTakingTurnsConsumers) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 2;
  const int64_t per_producer = ScaledCount(300'000, 1000);
  InjectionQueue<int64_t> queue;
  std::atomic<int64_t> accepted{0};
  std::atomic<int> producers_done{0};
  std::vector<std::atomic<int>> seen(static_cast<size_t>(kProducers * per_producer));
  std::atomic<int64_t> order_violations{0};
  std::vector<Thread<void>> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back("producer", [&, p] {
      for (int64_t i = 0; i < per_producer; ++i) {
        int64_t v = p * per_producer + i;
        if (queue.Push(std::move(v))) accepted.fetch_add(1);
        if (p == 0 && i == per_producer / 2) queue.Close();
      }
      producers_done.fetch_add(1);
    });
  }
  std::vector<int64_t> last_seen(kProducers, -1);  // guarded by the consumer lock
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back("consumer", [&] {
      while (true) {
        const bool done = producers_done.load() == kProducers;
        if (queue.TryLockConsumer()) {
          while (std::optional<int64_t> v = queue.Pop()) {
            seen[*v].fetch_add(1);
            const int producer = static_cast<int>(*v / per_producer);
            if (*v <= last_seen[producer]) order_violations.fetch_add(1);
            last_seen[producer] = *v;
          }
          queue.UnlockConsumer();
        }
        if (done && !queue.MaybeNonEmpty()) return;
      }
    });
  }
  for (auto& t : threads) ASSERT_TRUE(t.Join().ok());
  int64_t popped = 0, twice = 0;
  for (auto& s : seen) {
    popped += s.load();
    twice += s.load() > 1;
  }
  EXPECT_EQ(popped, accepted.load());
  EXPECT_EQ(twice, 0);
  EXPECT_EQ(order_violations.load(), 0);
  EXPECT_LT(accepted.load(), kProducers * per_producer);  // the close refused some
}

}  // namespace
}  // namespace troupe::threads_internal
