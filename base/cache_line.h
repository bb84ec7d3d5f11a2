// -----------------------------------------------------------------------------
// File: cache_line.h
// -----------------------------------------------------------------------------
//
// `kCacheLineSize`: the alignment that keeps two independently written fields
// off one cache line (false sharing).
//
//   struct Indices {
//     alignas(troupe::kCacheLineSize) std::atomic<size_t> head;
//     alignas(troupe::kCacheLineSize) std::atomic<size_t> tail;
//   };
//
// std::hardware_destructive_interference_size would be the standard spelling,
// but clang 14 with libstdc++ 12 lacks it and g++ 12 warns when a header uses
// it (its value may differ between translation units).

#ifndef TROUPE_BASE_CACHE_LINE_H_
#define TROUPE_BASE_CACHE_LINE_H_

#include <cstddef>

namespace troupe {

// 64 bytes on x86-64 and most AArch64 cores. (Intel's adjacent-line
// prefetcher pairs lines; padding to 128 is left to the few structures where a
// measurement shows it pays.)
inline constexpr std::size_t kCacheLineSize = 64;

}  // namespace troupe

#endif  // TROUPE_BASE_CACHE_LINE_H_
