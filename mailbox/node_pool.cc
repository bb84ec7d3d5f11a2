#include "mailbox/node_pool.h"

#include <cstdint>
#include <new>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "threads/mutex.h"

namespace troupe::mailbox_internal {
namespace {

constexpr std::align_val_t kAlignment{16};
constexpr std::align_val_t kSlabAlignment{64};  // a 64-byte block is one cache line

[[maybe_unused]] size_t ClassOf(size_t size) { return (size + kGranule - 1) / kGranule - 1; }
size_t ClassSize(size_t size_class) { return (size_class + 1) * kGranule; }

class Depot {
 public:
  static Depot& Get() {
    static Depot* depot = new Depot();
    return *depot;
  }

  struct Batch {
    FreeBlock* head = nullptr;
    int count = 0;
  };

  void Put(size_t size_class, Batch batch) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    batches_[size_class].push_back(batch);
  }

  size_t BlockCount(size_t size_class) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    size_t blocks = 0;
    for (const Batch& batch : batches_[size_class]) blocks += static_cast<size_t>(batch.count);
    return blocks;
  }

  Batch Take(size_t size_class) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    std::vector<Batch>& batches = batches_[size_class];
    if (batches.empty()) return Batch{};
    Batch batch = batches.back();
    batches.pop_back();
    return batch;
  }

 private:
  Mutex mu_;
  std::vector<Batch> batches_[kClasses] ABSL_GUARDED_BY(mu_);
};

// Carves a fresh slab of kBatchSize contiguous blocks, linked in address
// order: envelopes allocated one after another sit next to each other, so a
// receiver walking its mail streams through memory instead of chasing
// scattered lines. Slabs are never freed (see the file comment).
[[maybe_unused]] Depot::Batch NewSlab(size_t size_class) {
  const size_t block_size = ClassSize(size_class);
  auto* slab = static_cast<char*>(::operator new(block_size* kBatchSize, kSlabAlignment));
  FreeBlock* head = nullptr;
  for (int i = kBatchSize - 1; i >= 0; --i) {
    auto* block = reinterpret_cast<FreeBlock*>(slab + static_cast<size_t>(i) * block_size);
    block->next = head;
    head = block;
  }
  return Depot::Batch{head, kBatchSize};
}

// Returns this thread's lists to the depot when the thread exits; after
// that, `destroyed` sends this thread's frees (from other thread_local
// destructors) and allocations straight to the depot.
thread_local bool destroyed = false;
struct ThreadExitHook {
  ~ThreadExitHook() {
    ThreadLists& lists = tls_lists;
    lists.live = false;
    for (size_t c = 0; c < kClasses; ++c) {
      if (lists.head[c] != nullptr)
        Depot::Get().Put(c, Depot::Batch{lists.head[c], lists.count[c]});
      if (lists.spare[c] != nullptr) Depot::Get().Put(c, Depot::Batch{lists.spare[c], kBatchSize});
      lists.head[c] = lists.spare[c] = nullptr;
      lists.count[c] = 0;
    }
    destroyed = true;
  }
};

// Makes this thread's lists usable; false once the thread is exiting.
[[maybe_unused]] bool EnsureLive() {
  if (tls_lists.live) return true;
  if (destroyed) return false;
  thread_local ThreadExitHook hook;  // registered on first use
  (void)hook;
  tls_lists.live = true;
  return true;
}

}  // namespace

size_t DepotBlockCount(size_t size) {
  if (size == 0 || size > kMaxPooledSize) return 0;
  return Depot::Get().BlockCount(ClassOf(size));
}

void* PoolAllocateSlow(size_t size) {
#ifdef TROUPE_NODE_POOL_BYPASS
  return ::operator new(size, kAlignment);
#else
  if (size == 0 || size > kMaxPooledSize) return ::operator new(size == 0 ? 1 : size, kAlignment);
  const size_t size_class = ClassOf(size);
  ThreadLists& lists = tls_lists;
  Depot::Batch batch;
  if (lists.spare[size_class] != nullptr) {  // the list ran dry: refill from the spare
    batch = Depot::Batch{lists.spare[size_class], kBatchSize};
    lists.spare[size_class] = nullptr;
  } else {
    batch = Depot::Get().Take(size_class);
    if (batch.head == nullptr) batch = NewSlab(size_class);
  }
  FreeBlock* block = batch.head;
  if (!EnsureLive()) {  // thread exit: take one block, give the rest back
    if (batch.count > 1) Depot::Get().Put(size_class, Depot::Batch{block->next, batch.count - 1});
    return block;
  }
  lists.head[size_class] = block->next;
  lists.count[size_class] = batch.count - 1;
  return block;
#endif
}

void PoolFreeSlow(void* block, size_t size) noexcept {
  if (block == nullptr) return;
#ifdef TROUPE_NODE_POOL_BYPASS
  ::operator delete(block, kAlignment);
#else
  if (size == 0 || size > kMaxPooledSize) {
    ::operator delete(block, kAlignment);
    return;
  }
  const size_t size_class = ClassOf(size);
  auto* free_block = static_cast<FreeBlock*>(block);
  if (!EnsureLive()) {
    // Blocks are carved from slabs: hand this one to the depot on its own.
    free_block->next = nullptr;
    Depot::Get().Put(size_class, Depot::Batch{free_block, 1});
    return;
  }
  // The list is full: it becomes the spare, and the previous spare (if any)
  // goes to the depot; the freed block starts a new list.
  ThreadLists& lists = tls_lists;
  if (lists.count[size_class] >= kBatchSize) {
    if (lists.spare[size_class] != nullptr) {
      Depot::Get().Put(size_class, Depot::Batch{lists.spare[size_class], kBatchSize});
    }
    lists.spare[size_class] = lists.head[size_class];
    lists.head[size_class] = nullptr;
    lists.count[size_class] = 0;
  }
  free_block->next = lists.head[size_class];
  lists.head[size_class] = free_block;
  ++lists.count[size_class];
#endif
}

}  // namespace troupe::mailbox_internal
