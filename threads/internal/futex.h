// -----------------------------------------------------------------------------
// File: internal/futex.h
// -----------------------------------------------------------------------------
//
// Thin wrappers over Linux futex(2) on a `std::atomic<uint32_t>`: the parking
// primitive under every blocking type in threads/ and channel/.
//
// Synchronisation never rests on the futex call itself: callers change the
// word with atomic operations (which ThreadSanitizer sees) and use the futex
// only to sleep until the word may have changed. Spurious wake-ups happen;
// every caller re-checks its condition in a loop.

#ifndef TROUPE_THREADS_INTERNAL_FUTEX_H_
#define TROUPE_THREADS_INTERNAL_FUTEX_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace troupe::threads_internal {

// BeforeSleep
//
// What a thread does just before it sleeps in FutexWait(), or nothing (the
// default): a pool worker hands the work only it may run (its LIFO slot) to
// the other workers, so that a worker blocked on something that work would
// do cannot wait forever. One per thread; `fn` must not sleep itself.
struct BeforeSleep {
  void (*fn)(void* arg) = nullptr;
  void* arg = nullptr;
};
BeforeSleep& CurrentBeforeSleep();

// FutexWait()
//
// Runs the thread's BeforeSleep, then sleeps while `*word == expected`, until woken, until
// `deadline` passes (absl::InfiniteFuture() waits without limit), or spuriously. Returns false only
// when it returned because the deadline passed.
bool FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               absl::Time deadline = absl::InfiniteFuture());

// FutexWake()
//
// Wakes up to `count` threads sleeping on `word`. Returns how many woke.
int FutexWake(std::atomic<uint32_t>* word, int count);

inline int FutexWakeAll(std::atomic<uint32_t>* word) { return FutexWake(word, 0x7fffffff); }

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_FUTEX_H_
