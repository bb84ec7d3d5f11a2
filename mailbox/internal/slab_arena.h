// -----------------------------------------------------------------------------
// File: internal/slab_arena.h
// -----------------------------------------------------------------------------
//
// `SlabArena`: where the node pool's slabs come from, and where whole free
// slabs go back to the system.
//
//   char* slab = SlabArena::Get().Take(bytes);   // page aligned
//   ...                                          // every block of it free again
//   SlabArena::Get().Give(slab, bytes);          // its pages leave the RSS now
//
// Memory is mapped in regions of kRegionSize and slabs are cut from a region
// in order, page aligned, so a million-actor burst costs tens of mappings,
// not thousands (the kernel caps a process's mappings at about 65 000). A
// slab given back is madvise(MADV_DONTNEED)d: its pages leave the resident
// set at once and read as zeros if touched again. Its address range is kept
// for the next slab of the same size: what goes back to the system is
// physical memory, not address space (regions are never unmapped).
//
// Thread-safety: every function may be called from any thread.

#ifndef TROUPE_MAILBOX_INTERNAL_SLAB_ARENA_H_
#define TROUPE_MAILBOX_INTERNAL_SLAB_ARENA_H_

#include <cstddef>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "threads/mutex.h"

namespace troupe::mailbox_internal {

class SlabArena {
 public:
  // Regions are mapped this large; a slab is at most this large.
  static constexpr size_t kRegionSize = size_t{4} << 20;

  static SlabArena& Get();

  // SlabArena::Take()
  //
  // A slab of `bytes` (a multiple of 4096, at most kRegionSize), aligned to
  // 4096. A slab of that size given back earlier comes first; else one cut
  // from the current region; else from a new region. Throws std::bad_alloc
  // if the system refuses a region.
  char* Take(size_t bytes) ABSL_LOCKS_EXCLUDED(mu_);

  // SlabArena::Give()
  //
  // Returns `slab`'s pages to the system and keeps its range for Take().
  // Every block in it must be free and unreachable from any free list.
  void Give(char* slab, size_t bytes) ABSL_LOCKS_EXCLUDED(mu_);

  // Bytes mapped in regions, and bytes of slabs given back and not taken
  // again (mapped but not resident).
  size_t mapped_bytes() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t given_back_bytes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  SlabArena() = default;

  mutable Mutex mu_;
  char* region_next_ ABSL_GUARDED_BY(mu_) = nullptr;  // the current region's uncut part
  size_t region_left_ ABSL_GUARDED_BY(mu_) = 0;
  size_t mapped_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t given_back_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Ranges given back, by slab size.
  absl::flat_hash_map<size_t, std::vector<char*>> given_back_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::mailbox_internal

#endif  // TROUPE_MAILBOX_INTERNAL_SLAB_ARENA_H_
