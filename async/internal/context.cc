#include "async/internal/context.h"

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <thread>

#include "async/internal/trampoline.h"
#include "base/check.h"

namespace troupe::async_internal {

void TaskContext::Resume(std::coroutine_handle<> handle) {
  if (executor_ == nullptr) {
    Transfer(handle);
  } else if (posts_resumptions_) {
    PostResume(ResumeClosure(this, handle));
  } else {
    // Whoever ended the wait is about to wait or return itself: the
    // resumption runs next on its thread (a pool's LIFO slot), not on
    // another core.
    executor_->ExecuteNext(ResumeClosure(this, handle));
  }
}

void TaskContext::PostResume(ResumeClosure&& resume) { executor_->ExecuteNext(std::move(resume)); }

void TaskContext::Defer(std::coroutine_handle<> handle) {
  if (executor_ == nullptr) {
    Transfer(handle);  // behind whatever this thread's trampoline has queued
  } else {
    executor_->Defer(ResumeClosure(this, handle));
  }
}

void TaskContext::Cancel() {
  // A strand without an executor is resumed inline; so may be the children
  // a fan-out's CancelWait() cancels. Those resumptions run once this
  // returns (busy cleared), never inside it: a strand resumed inside it
  // could reach its own Unregister() and wait for kBusy forever.
  DeferTransfers defer;
  uintptr_t current = slot_.load(std::memory_order_acquire);
  for (;;) {
    if (current & kCancelled) return;
    if (current == 0) {
      // No wait in progress: mark it, and the next Register() fails.
      if (slot_.compare_exchange_weak(current, kCancelled, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return;
      }
      continue;
    }
    // A wait is registered: take it, marked busy so that Unregister() waits
    // until CancelWait() has returned (the canceller lives in the waiting
    // frame, which may be about to end). acquire: the canceller's fields,
    // written before Register()'s release, are visible.
    if (slot_.compare_exchange_weak(current, kCancelled | kBusy, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      std::coroutine_handle<> resume = reinterpret_cast<Canceller*>(current)->CancelWait();
      // release: what CancelWait() did happens-before the strand's
      // Unregister() returning.
      slot_.store(kCancelled, std::memory_order_release);
      // The canceller claimed the wait, so nothing else resumes the strand
      // and it cannot end before this resumption: `this` is still alive.
      if (resume) Resume(resume);
      return;
    }
  }
}

void TaskContext::WaitWhileBusy() const {
  // Bounded: Cancel() holds kBusy only across one short CancelWait().
  while (slot_.load(std::memory_order_acquire) & kBusy) std::this_thread::yield();
}

void TaskContext::SealCancellation() {
  uintptr_t current = slot_.load(std::memory_order_acquire);
  for (;;) {
    if (current & kBusy) {
      WaitWhileBusy();
      current = slot_.load(std::memory_order_acquire);
      continue;
    }
    if (current == kCancelled) return;
    if (slot_.compare_exchange_weak(current, kCancelled, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return;
    }
  }
}

void TaskContext::RootEnded(std::coroutine_handle<> /*root*/) noexcept {
  TROUPE_CHECK(false, "a task awaited by nobody ended in a strand not started with it");
}

void TaskContext::Abandon() noexcept {
  TROUPE_CHECK(false, "a strand without an executor was abandoned");
}

void ResumeClosure::operator()() && {
  // A loop of its own, even where one runs already: a worker that waits
  // inside a coroutine (a TaskScope's destructor, Future::Wait) runs pool
  // tasks meanwhile, and this one must run now, not queue behind the
  // waiting coroutine. exchange: the destructor must not abandon a strand
  // that ran.
  RunTrampoline(std::exchange(handle_, nullptr));
}

}  // namespace troupe::async_internal
