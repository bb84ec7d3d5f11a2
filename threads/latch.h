// -----------------------------------------------------------------------------
// File: latch.h
// -----------------------------------------------------------------------------
//
// `Latch`: a single-use countdown (std::latch, with timeouts). Threads count
// down; waiters block until the count reaches zero.
//
//   troupe::Latch done(kWorkers);
//   for (int i = 0; i < kWorkers; ++i) pool.Execute([&] { Work(); done.CountDown(); });
//   done.Wait();
//
// Memory ordering: everything a thread wrote before its CountDown() is
// visible to any thread whose wait has returned true (acq_rel decrements,
// acquire loads).

#ifndef TROUPE_THREADS_LATCH_H_
#define TROUPE_THREADS_LATCH_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace troupe {

class Latch {
 public:
  // `count` must be >= 0; a latch made with 0 is already open.
  explicit Latch(int64_t count);
  Latch(const Latch&) = delete;
  Latch& operator=(const Latch&) = delete;

  // Latch::CountDown()
  //
  // Subtracts `n` (default 1); wakes the waiters when the count reaches zero.
  // Counting below zero is a bug (TROUPE_DCHECK).
  void CountDown(int64_t n = 1);

  // Latch::TryWait()
  //
  // True if the count has reached zero. Never blocks.
  bool TryWait() const { return count_.load(std::memory_order_acquire) == 0; }

  // Latch::Wait() / WaitFor() / WaitUntil()
  //
  // Blocks until the count is zero (true) or the time runs out (false).
  void Wait() const { WaitUntil(absl::InfiniteFuture()); }
  bool WaitFor(absl::Duration timeout) const { return WaitUntil(absl::Now() + timeout); }
  bool WaitUntil(absl::Time deadline) const;

  // Latch::ArriveAndWait()
  //
  // CountDown(n), then Wait().
  void ArriveAndWait(int64_t n = 1) {
    CountDown(n);
    Wait();
  }

 private:
  std::atomic<int64_t> count_;
  // The futex word: 0 while closed, 1 once open.
  mutable std::atomic<uint32_t> open_{0};
};

}  // namespace troupe

#endif  // TROUPE_THREADS_LATCH_H_
