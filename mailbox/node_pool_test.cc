#include "mailbox/node_pool.h"

#include <atomic>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/stress.h"
#include "gtest/gtest.h"
#include "mailbox/mailbox.h"
#include "threads/latch.h"
#include "threads/thread.h"

namespace troupe {
namespace {

struct Small : PooledNode {
  int64_t value = 0;
};
struct Big : PooledNode {
  char bytes[1000];
};

TEST(NodePoolTest, BlocksAreDistinctWritableAndAligned) {
  std::vector<void*> blocks;
  std::set<void*> distinct;
  for (size_t size : {1, 8, 63, 64, 65, 128, 200, 256, 257, 4096}) {
    for (int i = 0; i < 100; ++i) {
      void* p = PoolAllocate(size);
      ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
      std::memset(p, 0xab, size);
      blocks.push_back(p);
      distinct.insert(p);
    }
  }
  EXPECT_EQ(distinct.size(), blocks.size());
  size_t i = 0;
  for (size_t size : {1, 8, 63, 64, 65, 128, 200, 256, 257, 4096}) {
    for (int k = 0; k < 100; ++k) PoolFree(blocks[i++], size);
  }
}

TEST(NodePoolTest, PooledNodeNewAndDelete) {
  auto small = std::make_unique<Small>();
  small->value = 7;
  auto big = std::make_unique<Big>();  // beyond kMaxPooledSize: plain new
  big->bytes[999] = 1;
  EXPECT_EQ(small->value, 7);
}

// allocate_shared through PoolAllocator: one pooled block per object, the
// object destroyed and its block returned when the last owner lets go, on
// whichever thread that is.
TEST(NodePoolTest, PoolAllocatorServesSharedObjectsAcrossThreads) {
  struct Counted {
    explicit Counted(std::atomic<int>* live) : live(live) { live->fetch_add(1); }
    ~Counted() { live->fetch_sub(1); }
    std::atomic<int>* live;
    char payload[40] = {};
  };
  std::atomic<int> live{0};
  std::vector<std::shared_ptr<Counted>> made;
  for (int i = 0; i < 1000; ++i) {
    made.push_back(std::allocate_shared<Counted>(PoolAllocator<Counted>(), &live));
    made.back()->payload[39] = static_cast<char>(i);
  }
  EXPECT_EQ(live.load(), 1000);
  Thread<void> other("releaser", [shared = std::move(made)]() mutable { shared.clear(); });
  ASSERT_TRUE(other.Join().ok());
  EXPECT_EQ(live.load(), 0);
  EXPECT_TRUE(PoolAllocator<Counted>() == PoolAllocator<int>());
}

// A receiver (a thread that frees what others allocated) keeps one list and
// one spare batch, hands every older batch to the depot whole, and hands
// both back when it exits; a sender's leftovers go back at exit too.
TEST(NodePoolTest, ReceiversPassWholeBatchesToTheDepotAndEverythingBackAtExit) {
  using mailbox_internal::DepotBlockCount;
  using mailbox_internal::kBatchSize;
  constexpr size_t kSize = 208;  // a class no other test here uses
  constexpr int kLeft = 40;      // blocks beyond whole batches
  constexpr int kBlocks = 10 * kBatchSize + kLeft;
#ifdef TROUPE_NODE_POOL_BYPASS
  GTEST_SKIP() << "the pool is bypassed under AddressSanitizer";
#endif
  ASSERT_EQ(DepotBlockCount(kSize), 0u);
  std::vector<void*> blocks;
  Thread<void> sender("sender", [&] {
    for (int i = 0; i < kBlocks; ++i) blocks.push_back(PoolAllocate(kSize));
  });
  ASSERT_TRUE(sender.Join().ok());
  // The sender carved 11 slabs of a batch each; what it did not use went
  // back to the depot when it exited.
  const size_t sender_leftover = 11 * kBatchSize - kBlocks;
  ASSERT_EQ(DepotBlockCount(kSize), sender_leftover);
  Latch freed(1), checked(1);
  Thread<void> receiver("receiver", [&] {
    for (void* block : blocks) PoolFree(block, kSize);
    freed.CountDown();
    checked.Wait();
  });
  freed.Wait();
  // The receiver's list filled 10 times. Each full list became the spare,
  // and the spare before it went to the depot: 9 batches so far. It still
  // holds the last spare and kLeft blocks on its list.
  EXPECT_EQ(DepotBlockCount(kSize), sender_leftover + 9 * kBatchSize);
  checked.CountDown();
  ASSERT_TRUE(receiver.Join().ok());
  EXPECT_EQ(DepotBlockCount(kSize), sender_leftover + kBlocks);
}

struct Envelope : MailboxNode, PooledNode {
  explicit Envelope(int64_t v) : value(v) {}
  int64_t value;
};

// Envelopes allocated on producer threads and freed on the owner's, through
// the depot, many times over: every value arrives intact (TSAN checks the
// hand-over of blocks between threads; ASAN, with the pool bypassed, checks
// the mailbox's use of them).
TEST(NodePoolStressTest, CrossThreadAllocateAndFree) {
  constexpr int kProducers = 2;
  const int64_t per_producer = ScaledCount(1'000'000, 1000);
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  std::vector<Thread<void>> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back("producer", [&] {
      for (int64_t i = 1; i <= per_producer; ++i) (void)mailbox.Push(new Envelope(i));
    });
  }
  int64_t received = 0, sum = 0;
  while (received < kProducers * per_producer) {
    if (MailboxNode* node = mailbox.Pop()) {
      auto* e = static_cast<Envelope*>(node);
      sum += e->value;
      delete e;
      ++received;
    }
  }
  for (auto& p : producers) ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(sum, kProducers * per_producer * (per_producer + 1) / 2);
}

// -- memory that comes back ----------------------------------------------------

// Allocates `count` blocks of `size` on a thread of their own and frees them
// there; the thread's exit hands all of them to the depot.
void AllocateAndFreeOnAThread(size_t size, int count) {
  Thread<void> churn("churn", [size, count] {
    std::vector<void*> blocks;
    for (int i = 0; i < count; ++i) {
      blocks.push_back(PoolAllocate(size));
      std::memset(blocks.back(), 0x5a, size);
    }
    for (void* block : blocks) PoolFree(block, size);
  });
  ASSERT_TRUE(churn.Join().ok());
}

TEST(NodePoolReleaseTest, WholeFreeSlabsGoBackAndTheirRangesServeAgain) {
  using mailbox_internal::DepotBlockCount;
  using mailbox_internal::kBatchSize;
#ifdef TROUPE_NODE_POOL_BYPASS
  GTEST_SKIP() << "the pool is bypassed under AddressSanitizer";
#endif
  constexpr size_t kSize = 176;  // a class no other test here uses
  constexpr int kBlocks = 40 * kBatchSize;
  AllocateAndFreeOnAThread(kSize, kBlocks);
  ASSERT_EQ(DepotBlockCount(kSize), static_cast<size_t>(kBlocks));
  const PoolMemoryStats before = GetPoolMemoryStats();
  EXPECT_GE(before.depot_free_bytes, kBlocks * kSize);

  const size_t released = ReleaseFreePoolMemory(0);
  EXPECT_GE(released, kBlocks * kSize);
  EXPECT_EQ(DepotBlockCount(kSize), 0u);
  const PoolMemoryStats after = GetPoolMemoryStats();
  EXPECT_EQ(after.depot_free_bytes, before.depot_free_bytes - released);
  EXPECT_EQ(after.slab_bytes, before.slab_bytes - released);
  EXPECT_EQ(after.returned_bytes, before.returned_bytes + released);

  // The ranges given back serve new slabs: distinct, writable blocks.
  std::set<void*> distinct;
  std::vector<void*> blocks;
  for (int i = 0; i < kBlocks; ++i) {
    blocks.push_back(PoolAllocate(kSize));
    std::memset(blocks.back(), 0xc3, kSize);
    distinct.insert(blocks.back());
  }
  EXPECT_EQ(distinct.size(), blocks.size());
  for (void* block : blocks) PoolFree(block, kSize);
}

TEST(NodePoolReleaseTest, KeepsUpToTheMark) {
  using mailbox_internal::DepotBlockCount;
  using mailbox_internal::kBatchSize;
#ifdef TROUPE_NODE_POOL_BYPASS
  GTEST_SKIP() << "the pool is bypassed under AddressSanitizer";
#endif
  constexpr size_t kSize = 160;
  constexpr size_t kSlabBytes = kSize * kBatchSize;
  // What earlier tests left in the depot of slabs partly in use, which no
  // release can give back, counts against the mark too.
  (void)ReleaseFreePoolMemory(0);
  const size_t stuck = GetPoolMemoryStats().depot_free_bytes;
  AllocateAndFreeOnAThread(kSize, 20 * kBatchSize);
  // Nothing goes while the free bytes are within the mark.
  EXPECT_EQ(ReleaseFreePoolMemory(stuck + 20 * kSlabBytes), 0u);
  EXPECT_EQ(DepotBlockCount(kSize), 20u * kBatchSize);
  // A mark of five and a half slabs keeps five.
  EXPECT_EQ(ReleaseFreePoolMemory(stuck + 5 * kSlabBytes + kSlabBytes / 2), 15 * kSlabBytes);
  EXPECT_EQ(DepotBlockCount(kSize), 5u * kBatchSize);
  EXPECT_EQ(GetPoolMemoryStats().depot_free_bytes, stuck + 5 * kSlabBytes);
}

// A block in use, or in a thread's own list, holds its slab: only slabs with
// every block in the depot go.
TEST(NodePoolReleaseTest, ASlabWithABlockInUseStays) {
  using mailbox_internal::DepotBlockCount;
  using mailbox_internal::kBatchSize;
#ifdef TROUPE_NODE_POOL_BYPASS
  GTEST_SKIP() << "the pool is bypassed under AddressSanitizer";
#endif
  constexpr size_t kSize = 144;
  constexpr int kSlabs = 8;
  std::vector<void*> held;  // one block of each slab
  Thread<void> churn("churn", [&] {
    std::vector<void*> blocks;
    for (int i = 0; i < kSlabs * kBatchSize; ++i) {
      blocks.push_back(PoolAllocate(kSize));
      std::memset(blocks.back(), i % 251, kSize);
    }
    // Fresh slabs hand out their blocks in address order, one slab at a
    // time: block i is in slab i / kBatchSize.
    for (int i = 0; i < kSlabs * kBatchSize; ++i) {
      if (i % kBatchSize == 7) {
        held.push_back(blocks[static_cast<size_t>(i)]);
      } else {
        PoolFree(blocks[static_cast<size_t>(i)], kSize);
      }
    }
  });
  ASSERT_TRUE(churn.Join().ok());
  const size_t free_blocks = DepotBlockCount(kSize);
  ASSERT_EQ(free_blocks, static_cast<size_t>(kSlabs * (kBatchSize - 1)));
  (void)ReleaseFreePoolMemory(0);
  EXPECT_EQ(DepotBlockCount(kSize), free_blocks);
  for (size_t i = 0; i < held.size(); ++i) {
    const auto* bytes = static_cast<const unsigned char*>(held[i]);
    const int index = static_cast<int>(i) * kBatchSize + 7;
    EXPECT_EQ(bytes[0], index % 251);
    EXPECT_EQ(bytes[kSize - 1], index % 251);
  }
  // Once the held blocks are free too, every slab goes.
  Thread<void> free_held("free", [&] {
    for (void* block : held) PoolFree(block, kSize);
  });
  ASSERT_TRUE(free_held.Join().ok());
  EXPECT_GE(ReleaseFreePoolMemory(0), static_cast<size_t>(kSlabs) * kSize * kBatchSize);
  EXPECT_EQ(DepotBlockCount(kSize), 0u);
}

struct Stamped : MailboxNode, PooledNode {
  explicit Stamped(int64_t v) : value(v), check(~v) {}
  bool intact() const { return check == ~value; }
  int64_t value;
  int64_t check;
};

// A block of a size class of its own, so that its slabs are carved fresh
// (in address order) rather than mixed with the mailbox's traffic.
struct Kept : PooledNode {
  explicit Kept(int64_t v) : value(v), check(~v) {}
  bool intact(int64_t expected) const { return value == expected && check == ~expected; }
  int64_t value;
  int64_t check;
  char padding[80];
};

// Short-lived threads that each take three slabs' worth of blocks, keep one
// block of every 256 and free the rest, and exit, handing their lists to the
// depot: it fills with slabs that are free but for one block. Returns how
// many kept blocks were found changed when freed at the end.
int64_t ChurnWithKeptBlocks(int rounds) {
  int64_t torn = 0;
  std::vector<std::pair<Kept*, int64_t>> kept;
  for (int round = 0; round < rounds; ++round) {
    Thread<void> churn("churn", [&kept, round] {
      std::vector<Kept*> blocks;
      for (int i = 0; i < 3 * mailbox_internal::kBatchSize; ++i) {
        blocks.push_back(new Kept(int64_t{round} * 1000 + i));
      }
      for (int i = 0; i < 3 * mailbox_internal::kBatchSize; ++i) {
        Kept* block = blocks[static_cast<size_t>(i)];
        if (i % mailbox_internal::kBatchSize == 5) {
          kept.emplace_back(block, block->value);
        } else {
          delete block;
        }
      }
    });
    if (!churn.Join().ok()) return -1;
    (void)ReleaseFreePoolMemory(0);  // with the slabs of this round's kept blocks in the depot
  }
  for (auto [block, value] : kept) {
    if (!block->intact(value)) ++torn;
    delete block;
  }
  return torn;
}

// Threads pass blocks to each other through a mailbox, and others come and
// go keeping a few blocks, while one more releases free memory over and
// over: a block is never given back while it is in use or listed (its
// contents would turn to zeros, or to another's), and every value arrives
// intact.
TEST(NodePoolReleaseStressTest, ReleasingWhileThreadsAllocateAndFree) {
  constexpr int kProducers = 2;
  const int64_t per_producer = ScaledCount(200'000, 1000);
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  std::atomic<bool> done{false};
  Thread<void> releaser("releaser", [&] {
    while (!done.load(std::memory_order_acquire)) {
      (void)ReleaseFreePoolMemory(0);
      // A mutex does not queue its waiters: without a pause this loop
      // would take release after release ahead of the churner's.
      absl::SleepFor(absl::Microseconds(100));
    }
  });
  std::atomic<int64_t> churn_torn{0};
  Thread<void> churner("churner", [&] {
    churn_torn.store(ChurnWithKeptBlocks(static_cast<int>(ScaledCount(50, 10))));
  });
  std::vector<Thread<void>> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back("producer", [&] {
      for (int64_t i = 1; i <= per_producer; ++i) (void)mailbox.Push(new Stamped(i));
    });
  }
  int64_t received = 0, sum = 0, torn = 0;
  while (received < kProducers * per_producer) {
    if (MailboxNode* node = mailbox.Pop()) {
      auto* stamped = static_cast<Stamped*>(node);
      if (!stamped->intact()) ++torn;
      sum += stamped->value;
      delete stamped;
      ++received;
    }
  }
  for (auto& p : producers) ASSERT_TRUE(p.Join().ok());
  ASSERT_TRUE(churner.Join().ok());
  done.store(true, std::memory_order_release);
  ASSERT_TRUE(releaser.Join().ok());
  EXPECT_EQ(torn, 0);
  EXPECT_EQ(churn_torn.load(), 0);
  EXPECT_EQ(sum, kProducers * per_producer * (per_producer + 1) / 2);
}

}  // namespace
}  // namespace troupe
