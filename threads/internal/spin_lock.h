// -----------------------------------------------------------------------------
// File: internal/spin_lock.h
// -----------------------------------------------------------------------------
//
// `SpinLock`, a lock for a few loads and stores that never sleep, and
// `SpinLockHolder`, its guard: around a rendezvous channel's state
// (channel/internal/zero_flavor.h, as crossbeam's zero flavour has one) and
// the thread pool's stack of sleeping workers (idle_stack.h). Not a public
// API.
//
//   SpinLock mu;
//   int waiting ABSL_GUARDED_BY(mu) = 0;
//   { SpinLockHolder hold(mu); ++waiting; }
//
// Why not troupe::Mutex: a sleeping lock's Unlock() must be a
// read-modify-write, to learn whether someone sleeps and needs a wake-up.
// A spin lock has nobody to wake, so its Unlock() is a plain release store:
// one atomic read-modify-write fewer per channel operation, where such
// operations are half of what a hand-off between two tasks costs (bench K4).
//
// Only for short sections that never sleep (a rendezvous channel's: pick,
// add or remove a waiter; once per channel, at close, wake them all; the
// idle stack's push, pop and removal). The pool's stack could not take a
// troupe::Mutex anyway: a worker that blocked on one would run its
// BeforeSleep hook (futex.h), which wakes a worker, which takes the lock. A
// waiter spins with backoff, then yields its core on every retry
// (Backoff::Snooze), so a holder that was preempted gets a core back
// instead of competing with spinners for it. The price shows when
// threads outnumber cores on one channel: 8 senders and 8 receivers on one
// rendezvous channel, on 2 cores, ran 860-930 ns per message with the
// futex mutex and 916-1022 with this lock, while two tasks passing values
// gained ~10% (K4). The waiter lists of the other flavours (waker.h) keep
// the futex mutex: this lock there gained nothing measurable (C5).

#ifndef TROUPE_THREADS_INTERNAL_SPIN_LOCK_H_
#define TROUPE_THREADS_INTERNAL_SPIN_LOCK_H_

#include <atomic>

#include "absl/base/thread_annotations.h"
#include "threads/atomics.h"

namespace troupe::threads_internal {

class ABSL_LOCKABLE SpinLock {
 public:
  SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    // acquire: what the previous holder wrote before its Unlock() (release)
    // is visible once we hold the lock.
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    LockSlow();
  }

  void Unlock() ABSL_UNLOCK_FUNCTION() {
    // release: publishes the section to the next holder's acquire.
    locked_.store(false, std::memory_order_release);
  }

 private:
  void LockSlow() {
    Backoff backoff;
    do {
      // Wait on a plain load, not on exchanges: spinners then share the
      // line instead of taking it from the holder, who must write it to
      // unlock.
      while (locked_.load(std::memory_order_relaxed)) backoff.Snooze();
    } while (locked_.exchange(true, std::memory_order_acquire));
  }

  std::atomic<bool> locked_{false};
};

class ABSL_SCOPED_LOCKABLE SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_.Lock(); }
  ~SpinLockHolder() ABSL_UNLOCK_FUNCTION() { mu_.Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock& mu_;
};

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_SPIN_LOCK_H_
