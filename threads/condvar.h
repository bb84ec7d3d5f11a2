// -----------------------------------------------------------------------------
// File: condvar.h
// -----------------------------------------------------------------------------
//
// `CondVar`: a condition variable for troupe's `Mutex`.
//
//   troupe::Mutex mu;
//   troupe::CondVar ready_cv;
//   std::deque<Job> jobs ABSL_GUARDED_BY(mu);
//
//   troupe::MutexLock lock(mu);
//   ready_cv.Wait(mu, [&] { return !jobs.empty(); });   // consumer
//   ...
//   { troupe::MutexLock lock(mu); jobs.push_back(job); }  // producer
//   ready_cv.Signal();
//
// Design: a 32-bit sequence number on a futex. A waiter reads it while still
// holding the mutex, unlocks, and sleeps only while the number is unchanged;
// Signal()/SignalAll() bump it before waking, so a signal sent between the
// unlock and the sleep is never lost. Waits may wake spuriously: use the
// predicate forms, or re-check in a loop.

#ifndef TROUPE_THREADS_CONDVAR_H_
#define TROUPE_THREADS_CONDVAR_H_

#include <atomic>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "threads/mutex.h"

namespace troupe {

class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // CondVar::Wait()
  //
  // Atomically releases `mu` and sleeps until signalled (or spuriously), then
  // re-acquires `mu`. The caller must hold `mu`.
  void Wait(Mutex& mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { WaitUntil(mu, absl::InfiniteFuture()); }

  // CondVar::WaitUntil() / CondVar::WaitFor()
  //
  // Like Wait(), with a limit. Returns false if the time ran out (the mutex is
  // held again either way).
  bool WaitUntil(Mutex& mu, absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  bool WaitFor(Mutex& mu, absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return WaitUntil(mu, absl::Now() + timeout);
  }

  // CondVar::Wait(mu, predicate)
  //
  // Waits until `predicate()` is true; evaluates it with `mu` held. (Clang's
  // thread-safety analysis checks a lambda on its own, without `mu`: for
  // guarded members, write the loop `while (!ready_) cv.Wait(mu);` instead.)
  template <typename Predicate>
  void Wait(Mutex& mu, Predicate predicate) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (!predicate()) Wait(mu);
  }

  // CondVar::WaitUntil(mu, deadline, predicate) / WaitFor(mu, timeout, predicate)
  //
  // Waits until `predicate()` is true or the time runs out; returns the
  // predicate's final value.
  template <typename Predicate>
  bool WaitUntil(Mutex& mu, absl::Time deadline, Predicate predicate)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    while (!predicate()) {
      if (!WaitUntil(mu, deadline)) return predicate();
    }
    return true;
  }
  template <typename Predicate>
  bool WaitFor(Mutex& mu, absl::Duration timeout, Predicate predicate)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return WaitUntil(mu, absl::Now() + timeout, predicate);
  }

  // CondVar::Signal() / CondVar::SignalAll()
  //
  // Wakes one / every waiter. The caller may or may not hold the mutex.
  void Signal();
  void SignalAll();

 private:
  // Bumped by every signal. Wrap-around is harmless: a waiter would have to
  // sleep through exactly 2^32 signals to miss one.
  std::atomic<uint32_t> sequence_{0};
  // Waiters that may be asleep; lets a signal skip the futex call when nobody
  // waits (the common case for a producer).
  std::atomic<uint32_t> waiters_{0};
};

}  // namespace troupe

#endif  // TROUPE_THREADS_CONDVAR_H_
