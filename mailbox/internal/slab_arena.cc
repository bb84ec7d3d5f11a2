#include "mailbox/internal/slab_arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>

namespace troupe::mailbox_internal {
namespace {

constexpr size_t kSlabAlignment = 4096;

// The page-aligned interior of [begin, begin + bytes): madvise works on
// whole pages, and a system with pages larger than a slab's 4096-byte
// alignment gives back only the pages a slab covers entirely.
void ReturnPages(char* begin, size_t bytes) {
  static const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = (reinterpret_cast<uintptr_t>(begin) + page - 1) & ~(page - 1);
  const uintptr_t last = (reinterpret_cast<uintptr_t>(begin) + bytes) & ~(page - 1);
  if (first >= last) return;
  // Cannot fail for a private anonymous range of ours; if it did, the pages
  // would merely stay resident.
  (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

}  // namespace

SlabArena& SlabArena::Get() {
  static SlabArena* arena = new SlabArena();  // never destroyed: threads free into it at exit
  return *arena;
}

char* SlabArena::Take(size_t bytes) {
  MutexLock lock(mu_);
  if (auto it = given_back_.find(bytes); it != given_back_.end() && !it->second.empty()) {
    char* slab = it->second.back();
    it->second.pop_back();
    given_back_bytes_ -= bytes;
    return slab;
  }
  if (region_left_ < bytes) {
    // The rest of the old region (less than one slab) stays unused; it was
    // never touched, so it costs address space only.
    void* region = mmap(nullptr, kRegionSize, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (region == MAP_FAILED) throw std::bad_alloc();
    region_next_ = static_cast<char*>(region);
    region_left_ = kRegionSize;
    mapped_bytes_ += kRegionSize;
  }
  char* slab = region_next_;
  region_next_ += bytes;
  region_left_ -= bytes;
  static_assert(kRegionSize % kSlabAlignment == 0);
  return slab;
}

void SlabArena::Give(char* slab, size_t bytes) {
  ReturnPages(slab, bytes);  // before the range can be taken again
  MutexLock lock(mu_);
  given_back_[bytes].push_back(slab);
  given_back_bytes_ += bytes;
}

size_t SlabArena::mapped_bytes() const {
  MutexLock lock(mu_);
  return mapped_bytes_;
}

size_t SlabArena::given_back_bytes() const {
  MutexLock lock(mu_);
  return given_back_bytes_;
}

}  // namespace troupe::mailbox_internal
