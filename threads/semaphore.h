// -----------------------------------------------------------------------------
// File: semaphore.h
// -----------------------------------------------------------------------------
//
// `Semaphore`: a counting semaphore with timed acquire.
//
//   troupe::Semaphore slots(4);             // at most four at once
//   if (slots.TryAcquireFor(absl::Seconds(1))) {
//     Download(url);
//     slots.Release();
//   }
//
// Memory ordering: a Release() happens-before the Acquire() that takes that
// permit (release on the increment, acquire on the successful decrement).

#ifndef TROUPE_THREADS_SEMAPHORE_H_
#define TROUPE_THREADS_SEMAPHORE_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace troupe {

class Semaphore {
 public:
  // `permits` must be >= 0.
  explicit Semaphore(int64_t permits = 0);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Semaphore::Release()
  //
  // Adds `n` permits (n >= 1), waking up to `n` waiters.
  void Release(int64_t n = 1);

  // Semaphore::Acquire()
  //
  // Takes one permit, blocking while there is none.
  void Acquire() { TryAcquireUntil(absl::InfiniteFuture()); }

  // Semaphore::TryAcquire()
  //
  // Takes a permit if one is available now.
  bool TryAcquire();

  // Semaphore::TryAcquireFor() / TryAcquireUntil()
  //
  // Takes a permit (true) unless the time runs out first (false).
  bool TryAcquireFor(absl::Duration timeout) { return TryAcquireUntil(absl::Now() + timeout); }
  bool TryAcquireUntil(absl::Time deadline);

  // Semaphore::available()
  //
  // Permits available right now; a snapshot, for diagnostics.
  int64_t available() const { return permits_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> permits_;
  // Futex word bumped by every Release(), and the count of possible sleepers
  // (a Release() with nobody asleep makes no system call).
  std::atomic<uint32_t> epoch_{0};
  std::atomic<uint32_t> sleepers_{0};
};

}  // namespace troupe

#endif  // TROUPE_THREADS_SEMAPHORE_H_
