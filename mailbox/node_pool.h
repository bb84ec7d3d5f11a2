// -----------------------------------------------------------------------------
// File: node_pool.h
// -----------------------------------------------------------------------------
//
// A size-class pool for message envelopes, and `PooledNode`, a base that
// gives a class its operator new/delete from it.
//
//   struct Envelope : troupe::MailboxNode, troupe::PooledNode { ... };
//   auto* e = new Envelope(...);   // from this thread's cache, usually
//   delete e;                      // back to the deleting thread's cache
//
// Why: an envelope is allocated by the sender's thread and freed by the
// receiver's. glibc's allocator serves that pattern through its arena lock;
// the bench measured ~80 ns per message for new/delete against ~10 ns here
// (M1 and M1-new in //bench).
//
// Design: blocks of 64, 128, 192 and 256 bytes (larger sizes go to plain
// operator new). Each thread keeps a free list per size class. A thread that
// frees more than it allocates (a receiver) hands full batches of
// kBatchSize blocks to a shared depot; a thread that allocates more than it
// frees (a sender) takes whole batches from the depot. So the shared depot,
// a mutex-protected stack, is touched once per kBatchSize operations.
// Fresh blocks are carved from slabs of kBatchSize contiguous blocks, so mail
// allocated in a row sits in a row. Memory is never returned to the system:
// the pool keeps its high-water mark, as most allocators do with small
// blocks. A thread's cache goes to the depot when the thread exits.
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

// PoolAllocate() / PoolFree()
//
// Allocate and free `size` bytes (aligned for any envelope: 16 bytes). Free
// must be given the size that was allocated.
void* PoolAllocate(size_t size);
void PoolFree(void* block, size_t size) noexcept;

// PooledNode
//
// Inherit to allocate instances from the pool. A class deleted through a
// base pointer needs a virtual destructor, so that the sized delete sees the
// real size.
struct PooledNode {
  static void* operator new(size_t size) { return PoolAllocate(size); }
  static void operator delete(void* block, size_t size) noexcept { PoolFree(block, size); }
};

}  // namespace troupe

#endif  // TROUPE_MAILBOX_NODE_POOL_H_
