// -----------------------------------------------------------------------------
// File: internal/asymmetric_fence.h
// -----------------------------------------------------------------------------
//
// Asymmetric fences: a store-load (Dekker) handshake where one side runs
// millions of times and the other rarely — an SPSC producer that must notice
// a sleeping consumer. The hot side issues `LightFence()`, which is only a
// compiler barrier; the cold side issues `HeavyFence()`, a
// membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) that makes every running
// thread of the process execute a full barrier. Together they order the hot
// side's "store; load" against the cold side's "store; load" as two seq_cst
// fences would (the pattern of folly's asymmetricLightBarrier()).
//
// Where the kernel lacks expedited membarrier, both calls fall back to
// std::atomic_thread_fence(seq_cst), which is correct, just slower.
//
// The handshake's variables are all atomics, so ThreadSanitizer sees no data
// race either way (it does not model fences, and need not here).

#ifndef TROUPE_THREADS_INTERNAL_ASYMMETRIC_FENCE_H_
#define TROUPE_THREADS_INTERNAL_ASYMMETRIC_FENCE_H_

#include <atomic>

namespace troupe::threads_internal {

// True once the process is registered for expedited membarrier.
bool HasAsymmetricFences();

inline void LightFence() {
  if (HasAsymmetricFences()) {
    std::atomic_signal_fence(std::memory_order_seq_cst);  // compiler barrier only
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

void HeavyFence();

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_ASYMMETRIC_FENCE_H_
