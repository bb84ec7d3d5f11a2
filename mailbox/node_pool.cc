#include "mailbox/node_pool.h"

#include <cstdint>
#include <new>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "threads/mutex.h"

#if defined(__SANITIZE_ADDRESS__)
#define TROUPE_NODE_POOL_BYPASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TROUPE_NODE_POOL_BYPASS 1
#endif
#endif

namespace troupe {
namespace {

constexpr size_t kGranule = 64;
constexpr size_t kClasses = kMaxPooledSize / kGranule;  // 64, 128, 192, 256
constexpr int kBatchSize = 64;
constexpr std::align_val_t kAlignment{16};
constexpr std::align_val_t kSlabAlignment{64};  // a 64-byte block is one cache line

// A free block, linked through its first word.
struct FreeBlock {
  FreeBlock* next;
};

[[maybe_unused]] size_t ClassOf(size_t size) { return (size + kGranule - 1) / kGranule - 1; }
size_t ClassSize(size_t size_class) { return (size_class + 1) * kGranule; }

// Full batches of kBatchSize blocks, shared by all threads. Leaked: threads
// may return their caches during static destruction.
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

// One thread's free lists. Blocks beyond a batch and a half are split off
// and sent to the depot, so a receiving thread does not hoard memory.
class ThreadCache {
 public:
  // Carves a fresh slab of kBatchSize contiguous blocks, linked in address
  // order: envelopes allocated one after another sit next to each other, so
  // a receiver walking its mail streams through memory instead of chasing
  // scattered lines. Slabs are never freed (see the file comment).
  static Depot::Batch NewSlab(size_t size_class) {
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

  ~ThreadCache() {
    for (size_t c = 0; c < kClasses; ++c) {
      while (lists_[c].head != nullptr) Depot::Get().Put(c, SplitBatch(c));
    }
    destroyed = true;
  }

  // Set once this thread's cache is gone (thread exit): later frees on this
  // thread, from other thread_local destructors, go straight to the depot.
  static thread_local bool destroyed;

  void* Allocate(size_t size_class) {
    List& list = lists_[size_class];
    if (list.head == nullptr) {
      Depot::Batch batch = Depot::Get().Take(size_class);
      if (batch.head == nullptr) batch = NewSlab(size_class);
      list.head = batch.head;
      list.count = batch.count;
    }
    FreeBlock* block = list.head;
    list.head = block->next;
    --list.count;
    return block;
  }

  void Free(void* pointer, size_t size_class) {
    List& list = lists_[size_class];
    auto* block = static_cast<FreeBlock*>(pointer);
    block->next = list.head;
    list.head = block;
    if (++list.count >= kBatchSize + kBatchSize / 2) {
      Depot::Get().Put(size_class, SplitBatch(size_class));
    }
  }

 private:
  struct List {
    FreeBlock* head = nullptr;
    int count = 0;
  };

  // Detaches up to kBatchSize blocks from the front of a list (fewer only
  // at thread exit).
  Depot::Batch SplitBatch(size_t size_class) {
    List& list = lists_[size_class];
    FreeBlock* batch = list.head;
    FreeBlock* last = batch;
    int n = 1;
    while (n < kBatchSize && last->next != nullptr) {
      last = last->next;
      ++n;
    }
    list.head = last->next;
    list.count -= n;
    last->next = nullptr;
    return Depot::Batch{batch, n};
  }

  List lists_[kClasses];
};

thread_local bool ThreadCache::destroyed = false;

[[maybe_unused]] ThreadCache& Cache() {
  thread_local ThreadCache cache;
  return cache;
}

}  // namespace

void* PoolAllocate(size_t size) {
#ifdef TROUPE_NODE_POOL_BYPASS
  return ::operator new(size, kAlignment);
#else
  if (size > kMaxPooledSize) return ::operator new(size, kAlignment);
  const size_t size_class = ClassOf(size == 0 ? 1 : size);
  if (ThreadCache::destroyed) {  // thread exit: serve from the depot, or a slab
    Depot::Batch batch = Depot::Get().Take(size_class);
    if (batch.head == nullptr) batch = ThreadCache::NewSlab(size_class);
    FreeBlock* block = batch.head;
    if (batch.count > 1) Depot::Get().Put(size_class, Depot::Batch{block->next, batch.count - 1});
    return block;
  }
  return Cache().Allocate(size_class);
#endif
}

void PoolFree(void* block, size_t size) noexcept {
  if (block == nullptr) return;
#ifdef TROUPE_NODE_POOL_BYPASS
  ::operator delete(block, kAlignment);
#else
  if (size > kMaxPooledSize) {
    ::operator delete(block, kAlignment);
    return;
  }
  const size_t size_class = ClassOf(size == 0 ? 1 : size);
  if (ThreadCache::destroyed) {
    // Blocks are carved from slabs: hand this one to the depot on its own.
    auto* single = static_cast<FreeBlock*>(block);
    single->next = nullptr;
    Depot::Get().Put(size_class, Depot::Batch{single, 1});
    return;
  }
  Cache().Free(block, size_class);
#endif
}

}  // namespace troupe
