// -----------------------------------------------------------------------------
// File: internal/idle_stack.h
// -----------------------------------------------------------------------------
//
// `IdleStack`: the thread pool's sleeping workers, the one that went to
// sleep last on top, each sleeping on a futex word of its own, so that a
// wake-up goes to the worker that went to sleep last. Not a public API.
//
//   IdleStack idle(num_workers);
//   IdleStack::Sleeper me;                       // one per worker
//   idle.Enter(&me);                             // then: announce, look for work once more
//   if (nothing_found) idle.Wait(&me);           // until a waker picks `me`
//   idle.Leave(&me);
//
//   idle.WakeOne();                              // a submitter: the top sleeper
//
// Why the last one: its core is the one most likely idle, and its cache
// the warmest. One futex that all workers sleep on wakes them oldest first
// (the kernel's queue is FIFO), and the oldest sleeper has often last run
// on a core that is busy now: Linux then places it beside the thread that
// woke it, and two threads that hand each other work every few
// microseconds stay sharing that core for tens of milliseconds while the
// other core idles (bench O1 on a 2-core machine, a producer thread and
// its actor's worker: 18-72 M msg/s, median 61, waking the oldest sleeper
// against 48-81, median 78.5, waking the last, in eight alternating runs;
// docs/overload.md).
// Go's scheduler (the idle P list) and tokio's (the sleepers vector) wake
// in the same order.
//
// The stack is a short array behind a spin lock (spin_lock.h): each
// section is a few loads and stores, taken only when a worker goes to
// sleep or wakes and when a submitter wakes one (next to a futex call,
// which costs far more). Not a troupe::Mutex: a worker that blocked on one
// would run its BeforeSleep (futex.h), which wakes a worker, which takes
// this lock.
//
// Memory ordering: the lock orders everything in the stack.
// `Sleeper::woken` is written 0 by its owner in Enter() and 1 by the waker
// that popped it (a release store, after the pop); Wait() reads it with
// acquire. Lost wake-ups are the pool's to rule out (thread_pool.h): a
// worker Enter()s before it announces itself as a sleeper, so a submitter
// that sees the announcement finds it on the stack, or finds a worker that
// went to sleep after it, or it was taken off by a waker already.

#ifndef TROUPE_THREADS_INTERNAL_IDLE_STACK_H_
#define TROUPE_THREADS_INTERNAL_IDLE_STACK_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "base/check.h"
#include "threads/internal/futex.h"
#include "threads/internal/spin_lock.h"

namespace troupe::threads_internal {

class IdleStack {
 public:
  // A worker's place on the stack. Owned by the worker; outlives its waits.
  struct Sleeper {
    std::atomic<uint32_t> woken{0};  // the futex word: 1 once a waker picked it
  };

  // `capacity`: how many sleepers may be on the stack at once (the workers).
  explicit IdleStack(size_t capacity) : capacity_(capacity) {
    SpinLockHolder hold(mu_);  // for the annotations: nobody else has it yet
    sleepers_.reserve(capacity);
  }
  IdleStack(const IdleStack&) = delete;
  IdleStack& operator=(const IdleStack&) = delete;

  // The sleeper goes on top, not yet woken. Not already on the stack.
  void Enter(Sleeper* me) {
    SpinLockHolder hold(mu_);
    TROUPE_DCHECK(sleepers_.size() < capacity_, "more sleepers than workers");
    me->woken.store(0, std::memory_order_relaxed);
    sleepers_.push_back(me);
  }

  // Sleeps until a waker picks `me` (which may have happened already).
  static void Wait(Sleeper* me) {
    while (me->woken.load(std::memory_order_acquire) == 0) FutexWait(&me->woken, 0);
  }

  // Off the stack, if a waker has not taken it off already.
  void Leave(Sleeper* me) {
    SpinLockHolder hold(mu_);
    auto it = std::find(sleepers_.begin(), sleepers_.end(), me);
    if (it != sleepers_.end()) sleepers_.erase(it);
  }

  // Wakes the sleeper on top, if any (true).
  bool WakeOne() {
    Sleeper* top = nullptr;
    {
      SpinLockHolder hold(mu_);
      if (sleepers_.empty()) return false;
      top = sleepers_.back();
      sleepers_.pop_back();
    }
    Wake(top);
    return true;
  }

  // Wakes every sleeper on the stack.
  void WakeAll() {
    std::vector<Sleeper*> all;
    all.reserve(capacity_);  // not under the lock
    {
      SpinLockHolder hold(mu_);
      all.assign(sleepers_.begin(), sleepers_.end());
      sleepers_.clear();
    }
    for (Sleeper* sleeper : all) Wake(sleeper);
  }

 private:
  // The sleeper is off the stack: no other waker can pick it. It may have
  // stopped waiting already (it found work): the futex call is then moot.
  static void Wake(Sleeper* sleeper) {
    sleeper->woken.store(1, std::memory_order_release);
    FutexWake(&sleeper->woken, 1);
  }

  const size_t capacity_;
  SpinLock mu_;
  std::vector<Sleeper*> sleepers_ ABSL_GUARDED_BY(mu_);  // the last went to sleep last
};

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_IDLE_STACK_H_
