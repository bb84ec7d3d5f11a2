#include "mailbox/node_pool.h"

#include <algorithm>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "mailbox/internal/slab_arena.h"
#include "threads/mutex.h"

namespace troupe::mailbox_internal {
namespace {

constexpr std::align_val_t kAlignment{16};

[[maybe_unused]] size_t ClassOf(size_t size) { return (size + kGranule - 1) / kGranule - 1; }
size_t ClassSize(size_t size_class) { return (size_class + 1) * kGranule; }
// A slab holds one batch: 4096 bytes for the 16-byte class, 64 KiB for 256.
size_t SlabBytes(size_t size_class) { return ClassSize(size_class) * kBatchSize; }

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
    free_blocks_[size_class] += static_cast<size_t>(batch.count);
  }

  Batch Take(size_t size_class) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    std::vector<Batch>& batches = batches_[size_class];
    if (batches.empty()) return Batch{};
    Batch batch = batches.back();
    batches.pop_back();
    free_blocks_[size_class] -= static_cast<size_t>(batch.count);
    return batch;
  }

  // A fresh slab of kBatchSize blocks of `size_class`, linked in address
  // order: envelopes allocated one after another sit next to each other, so
  // a receiver walking its mail streams through memory instead of chasing
  // scattered lines. The slab is registered before any block of it is
  // handed out, and so before any can come back to the depot: Release()
  // counts free blocks only in the slabs it knows.
  Batch NewSlab(size_t size_class) ABSL_LOCKS_EXCLUDED(mu_) {
    const size_t block_size = ClassSize(size_class);
    char* slab = SlabArena::Get().Take(SlabBytes(size_class));
    {
      MutexLock lock(mu_);
      slabs_[size_class].push_back(slab);
    }
    FreeBlock* head = nullptr;
    for (int i = kBatchSize - 1; i >= 0; --i) {
      auto* block = reinterpret_cast<FreeBlock*>(slab + static_cast<size_t>(i) * block_size);
      block->next = head;
      head = block;
    }
    return Batch{head, kBatchSize};
  }

  size_t BlockCount(size_t size_class) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    return free_blocks_[size_class];
  }

  PoolMemoryStats Stats() ABSL_LOCKS_EXCLUDED(mu_) {
    PoolMemoryStats stats;
    MutexLock lock(mu_);
    for (size_t c = 0; c < kClasses; ++c) {
      stats.slab_bytes += slabs_[c].size() * SlabBytes(c);
      stats.depot_free_bytes += free_blocks_[c] * ClassSize(c);
    }
    stats.returned_bytes = returned_bytes_;
    return stats;
  }

  size_t Release(size_t keep_free_bytes) ABSL_LOCKS_EXCLUDED(mu_, release_mu_);

 private:
  // Release()'s view of one size class: the batches it took out of the
  // depot, the slabs registered then (sorted), each slab's free blocks
  // among those batches, which slabs go, and the batches that go back.
  struct ClassSweep {
    std::vector<Batch> batches;
    std::vector<char*> slabs;
    std::vector<int> free_in_slab;
    std::vector<bool> release;
    std::vector<Batch> kept;
  };
  static void CountFreeBlocks(size_t size_class, ClassSweep& sweep);
  static void Rebatch(size_t size_class, ClassSweep& sweep);

  Mutex release_mu_;  // one Release() at a time
  Mutex mu_ ABSL_ACQUIRED_AFTER(release_mu_);
  std::vector<Batch> batches_[kClasses] ABSL_GUARDED_BY(mu_);
  size_t free_blocks_[kClasses] ABSL_GUARDED_BY(mu_) = {};
  std::vector<char*> slabs_[kClasses] ABSL_GUARDED_BY(mu_);  // every slab carved and kept
  size_t returned_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

// Which of the sorted `slabs` holds `block`, or -1. (A block of a slab
// carved after the sweep began cannot be among the sweep's batches; -1 is
// a guard, not a case.) `hint`, the previous answer, is tried first: blocks
// freed together were mostly allocated together, from one slab.
int SlabIndexOf(const std::vector<char*>& slabs, size_t slab_bytes, const void* block, int hint) {
  const char* address = static_cast<const char*>(block);
  if (hint >= 0) {
    const char* slab = slabs[static_cast<size_t>(hint)];
    if (address >= slab && address < slab + slab_bytes) return hint;
  }
  auto after = std::upper_bound(slabs.begin(), slabs.end(), address,
                                [](const char* a, const char* slab) { return a < slab; });
  if (after == slabs.begin()) return -1;
  const auto index = static_cast<size_t>(after - slabs.begin()) - 1;
  return address < slabs[index] + slab_bytes ? static_cast<int>(index) : -1;
}

void Depot::CountFreeBlocks(size_t size_class, ClassSweep& sweep) {
  std::sort(sweep.slabs.begin(), sweep.slabs.end());
  sweep.free_in_slab.assign(sweep.slabs.size(), 0);
  int slab = -1;
  for (const Batch& batch : sweep.batches) {
    for (FreeBlock* block = batch.head; block != nullptr; block = block->next) {
      slab = SlabIndexOf(sweep.slabs, SlabBytes(size_class), block, slab);
      if (slab >= 0) ++sweep.free_in_slab[static_cast<size_t>(slab)];
    }
  }
}

// Relinks the blocks of the slabs that stay into full batches (the last
// one partial), leaving out those of the slabs that go.
void Depot::Rebatch(size_t size_class, ClassSweep& sweep) {
  Batch current;
  int slab = -1;
  for (const Batch& batch : sweep.batches) {
    FreeBlock* next = nullptr;
    for (FreeBlock* block = batch.head; block != nullptr; block = next) {
      next = block->next;
      slab = SlabIndexOf(sweep.slabs, SlabBytes(size_class), block, slab);
      if (slab >= 0 && sweep.release[static_cast<size_t>(slab)]) continue;
      block->next = current.head;
      current.head = block;
      if (++current.count == kBatchSize) {
        sweep.kept.push_back(current);
        current = Batch{};
      }
    }
  }
  if (current.count > 0) sweep.kept.push_back(current);
}

// Takes every batch out of the depot, so that its blocks are this sweep's
// alone while it walks them (a thread that needs a batch meanwhile carves a
// slab, or retakes one given back). A slab with all kBatchSize blocks here
// has none in use and none in any thread's list, so it can go. Slabs go
// until at most `keep_free_bytes` of free blocks are left; the rest goes
// back into the depot.
size_t Depot::Release(size_t keep_free_bytes) {
  MutexLock one_at_a_time(release_mu_);
  ClassSweep sweeps[kClasses];
  {
    MutexLock lock(mu_);
    size_t free_bytes = 0;
    for (size_t c = 0; c < kClasses; ++c) free_bytes += free_blocks_[c] * ClassSize(c);
    if (free_bytes <= keep_free_bytes) return 0;
    for (size_t c = 0; c < kClasses; ++c) {
      if (batches_[c].empty()) continue;
      sweeps[c].batches.swap(batches_[c]);
      sweeps[c].slabs = slabs_[c];
      free_blocks_[c] = 0;
    }
  }
  // The free blocks of slabs that cannot go are kept whatever the mark.
  size_t kept_bytes = 0;
  for (size_t c = 0; c < kClasses; ++c) {
    ClassSweep& sweep = sweeps[c];
    if (sweep.batches.empty()) continue;
    CountFreeBlocks(c, sweep);
    for (int free : sweep.free_in_slab) {
      if (free != kBatchSize) kept_bytes += static_cast<size_t>(free) * ClassSize(c);
    }
  }
  std::vector<std::pair<char*, size_t>> released;
  for (size_t c = 0; c < kClasses; ++c) {
    ClassSweep& sweep = sweeps[c];
    if (sweep.batches.empty()) continue;
    sweep.release.assign(sweep.slabs.size(), false);
    for (size_t i = 0; i < sweep.slabs.size(); ++i) {
      if (sweep.free_in_slab[i] != kBatchSize) continue;
      if (kept_bytes + SlabBytes(c) <= keep_free_bytes) {
        kept_bytes += SlabBytes(c);
      } else {
        sweep.release[i] = true;
        released.emplace_back(sweep.slabs[i], SlabBytes(c));
      }
    }
    Rebatch(c, sweep);
  }
  size_t released_bytes = 0;
  {
    MutexLock lock(mu_);
    for (size_t c = 0; c < kClasses; ++c) {
      ClassSweep& sweep = sweeps[c];
      for (const Batch& batch : sweep.kept) {
        batches_[c].push_back(batch);
        free_blocks_[c] += static_cast<size_t>(batch.count);
      }
      // Out of the registry before the range can be carved again, and
      // registered anew, by another thread.
      std::vector<char*> gone;  // sorted, as sweep.slabs
      for (size_t i = 0; i < sweep.release.size(); ++i) {
        if (sweep.release[i]) gone.push_back(sweep.slabs[i]);
      }
      if (gone.empty()) continue;
      std::vector<char*>& slabs = slabs_[c];
      slabs.erase(std::remove_if(slabs.begin(), slabs.end(),
                                 [&gone](char* slab) {
                                   return std::binary_search(gone.begin(), gone.end(), slab);
                                 }),
                  slabs.end());
      released_bytes += gone.size() * SlabBytes(c);
    }
    returned_bytes_ += released_bytes;
  }
  for (const auto& [slab, bytes] : released) SlabArena::Get().Give(slab, bytes);
  return released_bytes;
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

}  // namespace troupe::mailbox_internal

namespace troupe {

// Bypassed (under ASAN), the depot stays empty: all zeros, nothing to give.
PoolMemoryStats GetPoolMemoryStats() { return mailbox_internal::Depot::Get().Stats(); }

size_t ReleaseFreePoolMemory(size_t keep_free_bytes) {
  return mailbox_internal::Depot::Get().Release(keep_free_bytes);
}

}  // namespace troupe

namespace troupe::mailbox_internal {

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
    if (batch.head == nullptr) batch = Depot::Get().NewSlab(size_class);
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
