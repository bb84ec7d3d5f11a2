// -----------------------------------------------------------------------------
// File: atomics.h
// -----------------------------------------------------------------------------
//
// Small helpers for lock-free code:
//
//   * `CachePadded<T>` keeps a value on a cache line of its own, so that two
//     fields written by different threads do not slow each other down.
//   * `CpuRelax()` is the spin-loop hint (x86 `pause`).
//   * `Backoff` paces a retry loop: spin with exponentially more pauses, then
//     yield the CPU, then tell the caller it is time to park.
//
//   troupe::CachePadded<std::atomic<size_t>> head;
//   troupe::Backoff backoff;
//   while (!TryPop(&value)) {
//     if (backoff.ShouldPark()) { ParkUntilPushed(); backoff.Reset(); }
//     else backoff.Snooze();
//   }
//
// Nothing here orders memory by itself: the atomics that use these helpers
// state their own orderings.

#ifndef TROUPE_THREADS_ATOMICS_H_
#define TROUPE_THREADS_ATOMICS_H_

#include <algorithm>
#include <cstdint>
#include <thread>
#include <utility>

#include "base/cache_line.h"

namespace troupe {

// CachePadded<T>
//
// A `T` aligned to, and padded out to, a whole number of cache lines.
template <typename T>
struct alignas(kCacheLineSize) CachePadded {
  template <typename... Args>
  explicit CachePadded(Args&&... args) : value(std::forward<Args>(args)...) {}
  CachePadded() = default;

  T* operator->() { return &value; }
  const T* operator->() const { return &value; }
  T& operator*() { return value; }
  const T& operator*() const { return value; }

  T value{};
};

// CpuRelax()
//
// Tells the core that this thread is spinning: on x86 `pause` frees pipeline
// resources for the sibling hyper-thread and avoids a memory-order mis-speculation
// penalty when the awaited store arrives.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Backoff
//
// Exponential backoff for one retry loop (crossbeam's `Backoff` has the same
// shape). `Spin()` is for loops that retry a contended CAS (the other thread is
// making progress); `Snooze()` for loops that wait for another thread to act.
// Not thread-safe: one per loop, on the stack.
class Backoff {
 public:
  // Spin()
  //
  // Pauses for 2^step iterations (capped), for a failed CAS.
  void Spin() {
    for (uint32_t i = 0; i < (1u << std::min(step_, kSpinLimit)); ++i) CpuRelax();
    if (step_ <= kSpinLimit) ++step_;
  }

  // Snooze()
  //
  // Spins like `Spin()` at first, then yields the CPU each call.
  void Snooze() {
    if (step_ <= kSpinLimit) {
      for (uint32_t i = 0; i < (1u << step_); ++i) CpuRelax();
    } else {
      std::this_thread::yield();
    }
    if (step_ <= kYieldLimit) ++step_;
  }

  // ShouldPark()
  //
  // True once snoozing has gone on long enough that the caller should block
  // (on a futex, condvar or parker) instead of burning a core.
  bool ShouldPark() const { return step_ > kYieldLimit; }

  void Reset() { step_ = 0; }

 private:
  static constexpr uint32_t kSpinLimit = 6;    // up to 64 pauses
  static constexpr uint32_t kYieldLimit = 10;  // then 4 yields
  uint32_t step_ = 0;
};

}  // namespace troupe

#endif  // TROUPE_THREADS_ATOMICS_H_
