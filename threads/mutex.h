// -----------------------------------------------------------------------------
// File: mutex.h
// -----------------------------------------------------------------------------
//
// `Mutex`, a futex-based exclusive lock, and `MutexLock`, its RAII guard.
//
//   troupe::Mutex mu;
//   int balance ABSL_GUARDED_BY(mu) = 0;
//
//   void Deposit(int amount) {
//     troupe::MutexLock lock(mu);
//     balance += amount;
//   }
//
//   if (mu.TryLockFor(absl::Milliseconds(5))) { ...; mu.Unlock(); }
//
// Why not absl::Mutex or std::mutex: Debian's Abseil is not built with
// ThreadSanitizer, so absl::Mutex is invisible to it, and std::mutex has no
// thread-safety annotations. This one is built from std::atomic operations,
// which TSAN models, and carries clang's annotations (`-Wthread-safety` in
// the `clang` config).
//
// Design: Drepper's three-state futex mutex ("Futexes Are Tricky", mutex 3):
// 0 = unlocked, 1 = locked, 2 = locked and someone may be sleeping. A lock
// spins briefly before sleeping; an unlock makes a futex call only in state 2.
// Not recursive and not fair.

#ifndef TROUPE_THREADS_MUTEX_H_
#define TROUPE_THREADS_MUTEX_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace troupe {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // Mutex::Lock()
  //
  // Blocks until this thread holds the mutex. Must not already hold it.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    uint32_t expected = kUnlocked;
    // acquire: everything the previous holder wrote before Unlock() (release)
    // is visible once we own the lock.
    if (state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
      return;
    }
    LockSlow(absl::InfiniteFuture());
  }

  // Mutex::Unlock()
  //
  // Releases the mutex, waking one sleeper if there may be one. The calling
  // thread must hold it.
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    // release: publishes the critical section to the next acquirer.
    if (state_.exchange(kUnlocked, std::memory_order_release) == kContended) {
      WakeOne();
    }
  }

  // Mutex::TryLock()
  //
  // Takes the mutex if it is free right now; never blocks.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    uint32_t expected = kUnlocked;
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  // Mutex::TryLockFor() / Mutex::TryLockUntil()
  //
  // Blocks until the mutex is taken (true) or the time runs out (false).
  bool TryLockFor(absl::Duration timeout) ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return TryLockUntil(absl::Now() + timeout);
  }
  bool TryLockUntil(absl::Time deadline) ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    if (TryLock()) return true;
    return LockSlow(deadline);
  }

  // Mutex::AssertHeld()
  //
  // Tells the thread-safety analysis the lock is held. (At run time it only
  // checks that someone holds it: the mutex does not record its owner.)
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK();

  // std::Lockable spellings, so std::unique_lock and std::scoped_lock work.
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { Lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { Unlock(); }
  bool try_lock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return TryLock(); }

 private:
  static constexpr uint32_t kUnlocked = 0;
  static constexpr uint32_t kLocked = 1;
  static constexpr uint32_t kContended = 2;

  // The contended path: spin, then sleep on the futex. Returns false if the
  // deadline passed first.
  bool LockSlow(absl::Time deadline);
  void WakeOne();

  std::atomic<uint32_t> state_{kUnlocked};
};

// MutexLock
//
// Holds a `Mutex` for the lifetime of the scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_.Unlock(); }

  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace troupe

#endif  // TROUPE_THREADS_MUTEX_H_
