// -----------------------------------------------------------------------------
// File: node_pool.h
// -----------------------------------------------------------------------------
//
// A size-class pool for message envelopes (and, in the actor layer, actor
// cells), and `PooledNode`, a base that gives a class its operator
// new/delete from it.
//
//   struct Envelope : troupe::MailboxNode, troupe::PooledNode { ... };
//   auto* e = new Envelope(...);   // from this thread's cache, usually
//   delete e;                      // back to the deleting thread's cache
//
// Why: an envelope is allocated by the sender's thread and freed by the
// receiver's. glibc's allocator serves that pattern through its arena lock;
// with new/delete the whole mailbox round costs 5-10x more (bench rows
// M1-new against M1, measured in one sitting).
//
// Design: blocks of 16, 32, 48, ... 256 bytes (larger sizes go to plain
// operator new). Each thread keeps, per size class, a free list of at most
// kBatchSize blocks and one spare full batch. A thread that frees more than
// it allocates (a receiver) fills its list, moves it whole to the spare, and
// hands the previous spare to a shared depot; a thread that allocates more
// than it frees (a sender) empties its list, then takes the spare, then a
// batch from the depot. Every move is of a whole list, in O(1), and the
// spare absorbs a thread that hovers around a batch boundary. So the shared
// depot, a mutex-protected stack, is touched once per kBatchSize operations
// at most.
// Why lists linked through the free blocks, and not magazines of pointers
// (tcmalloc's, Bonwick's): a receiver that links a freed envelope writes
// into its line, which the sender then pulls back, where a magazine would
// leave it shared. Tried (2026-12-07, one sitting, alternating binaries):
// magazines made M1's rare 11-14 ns runs rarer in the fast mood, but M1 in
// the slow mood went from a median of 10.8 to 13.8 ns and A5 from 4.70 to
// 4.44 M actors/s: a spawner's cells and envelopes are written by the
// workers that run and free them anyway, so the link is free there, and a
// magazine adds a line of pointers written on another core per eight
// allocations.
// Fresh blocks are carved from slabs of kBatchSize contiguous blocks, so mail
// allocated in a row sits in a row. A thread's cache goes to the depot when
// the thread exits.
//
// Memory that comes back: the pool keeps what it has carved until
// ReleaseFreePoolMemory() is called (an ActorSystem calls it when the free
// memory stays above its mark: ActorSystemOptions). That sweeps the depot
// and gives every slab whose blocks are all there back to the system (its
// pages leave the RSS: internal/slab_arena.h), keeping up to the mark. The
// allocation and free paths do not change: the sweep finds a slab's free
// blocks by address. What it cannot give back: slabs with a block in use or
// in a thread's own lists (at most two batches per size class per thread).
//
// Under AddressSanitizer the pool is bypassed (plain new/delete), so ASAN
// still catches a use after free or a double delete of an envelope.
//
// Thread-safety: every function may be called from any thread.

#ifndef TROUPE_MAILBOX_NODE_POOL_H_
#define TROUPE_MAILBOX_NODE_POOL_H_

#include <cstddef>

namespace troupe {

// The largest size served from the pool; larger requests use operator new.
inline constexpr size_t kMaxPooledSize = 256;

namespace mailbox_internal {

#if defined(__SANITIZE_ADDRESS__)
#define TROUPE_NODE_POOL_BYPASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TROUPE_NODE_POOL_BYPASS 1
#endif
#endif

inline constexpr size_t kGranule = 16;  // 16-byte aligned, as operator new's blocks
inline constexpr size_t kClasses = kMaxPooledSize / kGranule;  // 16, 32, ... 256
// Blocks moved between a thread and the depot at a time. Larger batches
// touch the shared depot, and its lock, less often: going from 64 to 256
// took M1 from 17.3 to 12.9 ns per message (medians of 5 interleaved runs).
// The price: a thread may hold up to two batches per size class unused.
inline constexpr int kBatchSize = 256;

struct FreeBlock {
  FreeBlock* next;
};

// This thread's free lists. Trivially destructible and constant-initialised,
// so the fast paths below reach them with one thread-pointer-relative
// access, with no initialisation guard. `live` is set by the slow path once
// it has registered the thread-exit hook that returns the lists to the depot.
struct ThreadLists {
  FreeBlock* head[kClasses];   // the list allocations pop and frees push
  int count[kClasses];         // blocks in head[c], at most kBatchSize
  FreeBlock* spare[kClasses];  // null, or a list of exactly kBatchSize blocks
  bool live;
};
inline thread_local constinit ThreadLists tls_lists{};

// How many free blocks of `size`'s class the shared depot holds. For tests.
size_t DepotBlockCount(size_t size);

void* PoolAllocateSlow(size_t size);
void PoolFreeSlow(void* block, size_t size) noexcept;

}  // namespace mailbox_internal

// PoolAllocate() / PoolFree()
//
// Allocate and free `size` bytes (aligned for any envelope: 16 bytes). Free
// must be given the size that was allocated. The common case, a block from
// or to this thread's list, is inline: a load, a store and a count.
inline void* PoolAllocate(size_t size) {
#ifndef TROUPE_NODE_POOL_BYPASS
  if (size - 1 < kMaxPooledSize) {  // 1..256; size 0 wraps and takes the slow path
    mailbox_internal::ThreadLists& lists = mailbox_internal::tls_lists;
    const size_t size_class = (size - 1) / mailbox_internal::kGranule;
    if (mailbox_internal::FreeBlock* block = lists.head[size_class]) {
      lists.head[size_class] = block->next;
      --lists.count[size_class];
      return block;
    }
  }
#endif
  return mailbox_internal::PoolAllocateSlow(size);
}

inline void PoolFree(void* block, size_t size) noexcept {
#ifndef TROUPE_NODE_POOL_BYPASS
  if (block != nullptr && size - 1 < kMaxPooledSize) {
    mailbox_internal::ThreadLists& lists = mailbox_internal::tls_lists;
    const size_t size_class = (size - 1) / mailbox_internal::kGranule;
    if (lists.live && lists.count[size_class] < mailbox_internal::kBatchSize) {
      auto* free_block = static_cast<mailbox_internal::FreeBlock*>(block);
      free_block->next = lists.head[size_class];
      lists.head[size_class] = free_block;
      ++lists.count[size_class];
      return;
    }
  }
#endif
  mailbox_internal::PoolFreeSlow(block, size);
}

// PoolMemoryStats / GetPoolMemoryStats()
//
// What the pool holds, for stats and tests. All zero under AddressSanitizer
// (the pool is bypassed).
struct PoolMemoryStats {
  size_t slab_bytes = 0;        // carved and not given back: blocks in use, cached or free
  size_t depot_free_bytes = 0;  // free blocks in the shared depot (not in threads' lists)
  size_t returned_bytes = 0;    // given back to the system since the process started
};
PoolMemoryStats GetPoolMemoryStats();

// ReleaseFreePoolMemory()
//
// Gives whole free slabs in the depot back to the system until at most
// `keep_free_bytes` of free blocks are left there; returns the bytes given
// back. Costs a walk of the depot's free blocks (70-120 ms per 10^6,
// bench O4-sweep); other threads allocate and free meanwhile (one that
// needs a batch from the depot carves a slab instead). Any thread.
size_t ReleaseFreePoolMemory(size_t keep_free_bytes);

// PooledNode
//
// Inherit to allocate instances from the pool. A class deleted through a
// base pointer needs a virtual destructor, so that the sized delete sees the
// real size.
struct PooledNode {
  static void* operator new(size_t size) { return PoolAllocate(size); }
  static void operator delete(void* block, size_t size) noexcept { PoolFree(block, size); }
};

// PoolAllocator
//
// A standard allocator over the pool, for a shared object made and dropped
// per operation: `std::allocate_shared<T>(PoolAllocator<T>(), args...)`
// puts the object and its count in one pooled block instead of malloc's.
template <typename T>
struct PoolAllocator {
  using value_type = T;

  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: rebinding converts implicitly

  T* allocate(size_t n) {
    static_assert(alignof(T) <= mailbox_internal::kGranule,
                  "the pool's blocks are aligned to 16 bytes, as operator new's");
    return static_cast<T*>(PoolAllocate(n * sizeof(T)));
  }
  void deallocate(T* block, size_t n) noexcept { PoolFree(block, n * sizeof(T)); }

  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace troupe

#endif  // TROUPE_MAILBOX_NODE_POOL_H_
