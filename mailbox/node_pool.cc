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

  // A magazine with at least one block, into the depot.
  void Put(size_t size_class, Magazine* magazine) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    full_[size_class].push_back(magazine);
    free_blocks_[size_class] += static_cast<size_t>(magazine->count);
  }

  // One visit for a sender whose magazines ran dry: a full magazine of
  // `size_class` for its empty one (kept here; may be null), or null, and
  // the caller keeps its empty one (to carve a slab into).
  Magazine* TradeEmptyForFull(size_t size_class, Magazine* empty) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    std::vector<Magazine*>& full = full_[size_class];
    if (full.empty()) return nullptr;
    Magazine* magazine = full.back();
    full.pop_back();
    free_blocks_[size_class] -= static_cast<size_t>(magazine->count);
    if (empty != nullptr) empty_.push_back(empty);
    return magazine;
  }

  // One visit for a receiver whose magazines are full: its full one (may be
  // null) in, an empty one out.
  Magazine* TradeFullForEmpty(size_t size_class, Magazine* full) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      MutexLock lock(mu_);
      if (full != nullptr) {
        full_[size_class].push_back(full);
        free_blocks_[size_class] += static_cast<size_t>(full->count);
      }
      if (!empty_.empty()) {
        Magazine* magazine = empty_.back();
        empty_.pop_back();
        return magazine;
      }
    }
    return new Magazine;
  }

  // Empty magazines, of any class: kept here between a sender's use and a
  // receiver's.
  void PutEmpty(Magazine* magazine) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    empty_.push_back(magazine);
  }

  Magazine* TakeEmpty() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      MutexLock lock(mu_);
      if (!empty_.empty()) {
        Magazine* magazine = empty_.back();
        empty_.pop_back();
        return magazine;
      }
    }
    return new Magazine;
  }

  // Fills the empty `into` with a fresh slab of kBatchSize blocks of
  // `size_class`, handed out (popped from the end) in address order:
  // envelopes allocated one after another sit next to each other, so a
  // receiver walking its mail streams through memory instead of chasing
  // scattered lines. The slab is registered before any block of it is
  // handed out, and so before any can come back to the depot: Release()
  // counts free blocks only in the slabs it knows.
  Magazine* NewSlab(size_t size_class, Magazine* into) ABSL_LOCKS_EXCLUDED(mu_) {
    const size_t block_size = ClassSize(size_class);
    char* slab = SlabArena::Get().Take(SlabBytes(size_class));
    {
      MutexLock lock(mu_);
      slabs_[size_class].push_back(slab);
    }
    for (int i = 0; i < kBatchSize; ++i) {
      into->blocks[kBatchSize - 1 - i] = slab + static_cast<size_t>(i) * block_size;
    }
    into->count = kBatchSize;
    return into;
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
  // Release()'s view of one size class: the magazines it took out of the
  // depot, the slabs registered then (sorted), each slab's free blocks
  // among those magazines, and which slabs go.
  struct ClassSweep {
    std::vector<Magazine*> magazines;
    std::vector<char*> slabs;
    std::vector<int> free_in_slab;
    std::vector<bool> release;
  };
  static void CountFreeBlocks(size_t size_class, ClassSweep& sweep);
  static void Repack(size_t size_class, ClassSweep& sweep, std::vector<Magazine*>& emptied);

  Mutex release_mu_;  // one Release() at a time
  Mutex mu_ ABSL_ACQUIRED_AFTER(release_mu_);
  std::vector<Magazine*> full_[kClasses] ABSL_GUARDED_BY(mu_);  // each with >= 1 block
  size_t free_blocks_[kClasses] ABSL_GUARDED_BY(mu_) = {};
  std::vector<Magazine*> empty_ ABSL_GUARDED_BY(mu_);
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
  for (const Magazine* magazine : sweep.magazines) {
    for (int i = 0; i < magazine->count; ++i) {
      slab = SlabIndexOf(sweep.slabs, SlabBytes(size_class), magazine->blocks[i], slab);
      if (slab >= 0) ++sweep.free_in_slab[static_cast<size_t>(slab)];
    }
  }
}

// Packs the blocks of the slabs that stay into full magazines (the last one
// partial), leaving out those of the slabs that go, in place: the k-th
// block kept is written to slot k of the concatenated magazines, never past
// the block being read. The magazines left empty go to `emptied`.
void Depot::Repack(size_t size_class, ClassSweep& sweep, std::vector<Magazine*>& emptied) {
  size_t out = 0;  // the magazine being filled
  int filled = 0;  // blocks written into it
  int slab = -1;
  for (Magazine* magazine : sweep.magazines) {
    const int count = magazine->count;
    for (int i = 0; i < count; ++i) {
      void* const block = magazine->blocks[i];
      slab = SlabIndexOf(sweep.slabs, SlabBytes(size_class), block, slab);
      if (slab >= 0 && sweep.release[static_cast<size_t>(slab)]) continue;
      Magazine* const target = sweep.magazines[out];
      target->blocks[filled++] = block;
      if (filled == kBatchSize) {
        target->count = kBatchSize;
        ++out;
        filled = 0;
      }
    }
  }
  if (filled > 0) sweep.magazines[out++]->count = filled;
  for (size_t m = out; m < sweep.magazines.size(); ++m) {
    sweep.magazines[m]->count = 0;
    emptied.push_back(sweep.magazines[m]);
  }
  sweep.magazines.resize(out);
}

// Takes every magazine out of the depot, so that its blocks are this
// sweep's alone while it walks them (a thread that needs blocks meanwhile
// carves a slab, or retakes a magazine given back). A slab with all
// kBatchSize blocks here has none in use and none in any thread's
// magazines, so it can go. Slabs go until at most `keep_free_bytes` of free
// blocks are left; the rest goes back into the depot. The depot's empty
// magazines, and those the sweep empties, go back to the system too (a
// receiver's next free allocates one).
size_t Depot::Release(size_t keep_free_bytes) {
  MutexLock one_at_a_time(release_mu_);
  ClassSweep sweeps[kClasses];
  std::vector<Magazine*> emptied;
  {
    MutexLock lock(mu_);
    size_t free_bytes = 0;
    for (size_t c = 0; c < kClasses; ++c) free_bytes += free_blocks_[c] * ClassSize(c);
    if (free_bytes <= keep_free_bytes) return 0;
    emptied.swap(empty_);
    for (size_t c = 0; c < kClasses; ++c) {
      if (full_[c].empty()) continue;
      sweeps[c].magazines.swap(full_[c]);
      sweeps[c].slabs = slabs_[c];
      free_blocks_[c] = 0;
    }
  }
  // The free blocks of slabs that cannot go are kept whatever the mark.
  size_t kept_bytes = 0;
  for (size_t c = 0; c < kClasses; ++c) {
    ClassSweep& sweep = sweeps[c];
    if (sweep.magazines.empty()) continue;
    CountFreeBlocks(c, sweep);
    for (int free : sweep.free_in_slab) {
      if (free != kBatchSize) kept_bytes += static_cast<size_t>(free) * ClassSize(c);
    }
  }
  std::vector<std::pair<char*, size_t>> released;
  for (size_t c = 0; c < kClasses; ++c) {
    ClassSweep& sweep = sweeps[c];
    if (sweep.magazines.empty()) continue;
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
    Repack(c, sweep, emptied);
  }
  size_t released_bytes = 0;
  {
    MutexLock lock(mu_);
    for (size_t c = 0; c < kClasses; ++c) {
      ClassSweep& sweep = sweeps[c];
      for (Magazine* magazine : sweep.magazines) {
        full_[c].push_back(magazine);
        free_blocks_[c] += static_cast<size_t>(magazine->count);
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
  for (Magazine* magazine : emptied) delete magazine;
  return released_bytes;
}

// Returns this thread's magazines to the depot when the thread exits; after
// that, `destroyed` sends this thread's frees (from other thread_local
// destructors) and allocations straight to the depot.
thread_local bool destroyed = false;
struct ThreadExitHook {
  ~ThreadExitHook() {
    ThreadMagazines& mine = tls_magazines;
    for (size_t c = 0; c < kClasses; ++c) {
      for (Magazine** magazine : {&mine.loaded[c], &mine.previous[c]}) {
        if (*magazine == nullptr) continue;
        if ((*magazine)->count > 0) {
          Depot::Get().Put(c, *magazine);
        } else {
          Depot::Get().PutEmpty(*magazine);
        }
        *magazine = nullptr;
      }
    }
    destroyed = true;
  }
};

// Registers the thread-exit hook on first use; false once the thread is
// exiting (its magazines are gone: go to the depot).
[[maybe_unused]] bool EnsureLive() {
  if (destroyed) return false;
  thread_local ThreadExitHook hook;
  (void)hook;
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
  Depot& depot = Depot::Get();
  if (!EnsureLive()) {  // thread exit: one block through the depot
    Magazine* full = depot.TradeEmptyForFull(size_class, nullptr);
    if (full == nullptr) full = depot.NewSlab(size_class, depot.TakeEmpty());
    void* block = full->blocks[--full->count];
    if (full->count > 0) {
      depot.Put(size_class, full);
    } else {
      depot.PutEmpty(full);
    }
    return block;
  }
  ThreadMagazines& mine = tls_magazines;
  Magazine*& loaded = mine.loaded[size_class];
  Magazine*& previous = mine.previous[size_class];
  if (loaded == nullptr) loaded = depot.TakeEmpty();  // this class's first use here
  if (previous != nullptr && previous->count > 0) {
    std::swap(loaded, previous);  // the loaded one ran dry: the full one takes over
  } else {
    // Both empty: one goes to the depot for a full one (or is filled from a
    // fresh slab), which is loaded; the other becomes previous.
    Magazine* spare_empty = std::exchange(previous, nullptr);
    Magazine* full = depot.TradeEmptyForFull(size_class, spare_empty);
    if (full == nullptr) {
      full = depot.NewSlab(size_class, spare_empty != nullptr ? spare_empty : depot.TakeEmpty());
    }
    previous = std::exchange(loaded, full);
  }
  return loaded->blocks[--loaded->count];
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
  Depot& depot = Depot::Get();
  if (!EnsureLive()) {
    // Blocks are carved from slabs: hand this one to the depot on its own.
    Magazine* single = depot.TakeEmpty();
    single->blocks[0] = block;
    single->count = 1;
    depot.Put(size_class, single);
    return;
  }
  ThreadMagazines& mine = tls_magazines;
  Magazine*& loaded = mine.loaded[size_class];
  Magazine*& previous = mine.previous[size_class];
  if (loaded == nullptr) {
    loaded = depot.TakeEmpty();  // this class's first use here
  } else if (previous != nullptr && previous->count == 0) {
    std::swap(loaded, previous);  // the loaded one is full: the empty one takes over
  } else {
    // Both full (or no previous): the previous one goes to the depot for an
    // empty one, which is loaded; the full one becomes previous.
    previous = std::exchange(loaded, depot.TradeFullForEmpty(size_class, previous));
  }
  loaded->blocks[loaded->count++] = block;
#endif
}

}  // namespace troupe::mailbox_internal
