// -----------------------------------------------------------------------------
// File: internal/context.h
// -----------------------------------------------------------------------------
//
// `TaskContext`: what a running strand of tasks (a Go task, a BlockOn, a
// child of WhenAll or of a TaskScope) carries with it — where its
// resumptions run, which clock its sleeps use, and its cancellation. Every
// task's promise points at the context of the strand it runs in; an
// awaitable that suspends reads it from the awaiting promise.
//
// Not a public header: awaitables (async/ and the layers above) use it.

#ifndef TROUPE_ASYNC_INTERNAL_CONTEXT_H_
#define TROUPE_ASYNC_INTERNAL_CONTEXT_H_

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <utility>

#include "base/check.h"
#include "threads/clock.h"
#include "threads/executor.h"

namespace troupe::async_internal {

// A wait that cancellation can end early: implemented by each awaitable that
// suspends, registered with its context while it waits.
class Canceller {
 public:
  // Canceller::CancelWait()
  //
  // Called at most once per registration, by TaskContext::Cancel() on the
  // cancelling thread, while the registration holds. Returns the coroutine
  // to resume (the wait ended as cancelled), or null when the wait ends some
  // other way: it completed first, or the awaitable passes the cancellation
  // on (to children it waits for) and keeps waiting. It must not resume
  // anything itself, and must be short: Unregister() waits for it.
  virtual std::coroutine_handle<> CancelWait() noexcept = 0;

 protected:
  ~Canceller() = default;
};

class ResumeClosure;

class TaskContext {
 public:
  // `executor` null: a resumption runs on the thread that ends the wait (a
  // BlockOn strand, whose own thread sleeps until it ends).
  explicit TaskContext(Executor* executor)
      : executor_and_flags_(reinterpret_cast<uintptr_t>(executor)) {
    TROUPE_DCHECK((executor_and_flags_ & kFlags) == 0);
  }
  TaskContext(const TaskContext&) = delete;
  TaskContext& operator=(const TaskContext&) = delete;

  Executor* executor() const { return reinterpret_cast<Executor*>(executor_and_flags_ & ~kFlags); }

  // TaskContext::clock()
  //
  // The clock this strand's sleeps use: the process's DefaultClock(), unless
  // the strand overrides it with one it can reach where it is kept already
  // (its scope's, its actor system's), so that no task's state spends a word
  // on it (bench K3). A call per sleep, off every other path.
  virtual Clock& clock() const;

  // TaskContext::Resume()
  //
  // Continues `handle`, a suspended coroutine of this strand: on the
  // executor, or on this thread's trampoline when there is none.
  void Resume(std::coroutine_handle<> handle);

  // TaskContext::Defer()
  //
  // Resume(), but behind the work already waiting (Yield).
  void Defer(std::coroutine_handle<> handle);

  // The cancellation slot: one word holding nothing, the registered
  // Canceller of the wait in progress, or the cancelled mark; kBusy is set
  // while Cancel() runs that canceller. A strand waits on one thing at a
  // time (a fan-out waits through one awaitable that passes cancellation to
  // its children), so one slot suffices. The protocol is checked over every
  // interleaving by async/models/cancel_slot.pml.

  // TaskContext::Register()
  //
  // Called by the strand before it suspends. False if the strand is
  // cancelled already: do not wait (nothing was registered).
  bool Register(Canceller* canceller) {
    if (cancelled_on_own_turn()) {  // see set_cancelled_on_own_turn()
      if (slot_.load(std::memory_order_relaxed) != 0) return false;
      slot_.store(reinterpret_cast<uintptr_t>(canceller), std::memory_order_relaxed);
      return true;
    }
    uintptr_t expected = 0;
    // release: the canceller's fields are visible to a Cancel() that takes
    // it; acquire (on failure): whatever the canceller did before marking.
    return slot_.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(canceller),
                                         std::memory_order_acq_rel, std::memory_order_acquire);
  }

  // TaskContext::Unregister()
  //
  // Called by the strand after its wait ended, before the canceller dies.
  // If Cancel() took the canceller, waits until its CancelWait() returned.
  void Unregister(Canceller* canceller) {
    uintptr_t expected = reinterpret_cast<uintptr_t>(canceller);
    if (cancelled_on_own_turn()) {  // a Cancel() that took it has returned
      if (slot_.load(std::memory_order_relaxed) == expected) {
        slot_.store(0, std::memory_order_relaxed);
      }
      return;
    }
    if (slot_.compare_exchange_strong(expected, 0, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      return;
    }
    WaitWhileBusy();
  }

  // TaskContext::Cancel()
  //
  // Marks the strand cancelled (every later wait fails at once with
  // kCancelled) and ends the wait in progress, if any. Idempotent; any thread.
  void Cancel();

  // True once Cancel() was called. Acquire: what the canceller did before
  // is visible.
  bool cancel_requested() const {
    return (slot_.load(std::memory_order_acquire) & kCancelled) != 0;
  }

  // TaskContext::CancelRequestedOnRearm()
  //
  // cancel_requested(), for a wait that stays registered while it re-arms
  // what Cancel() would end (a buffered channel's wait that tries again,
  // async/channel.h): a read-modify-write where Cancel() may run on another
  // thread, so that either this sees the Cancel(), or that Cancel()'s
  // CancelWait() comes after it in the slot's order and sees the re-arm.
  bool CancelRequestedOnRearm() {
    if (cancelled_on_own_turn()) return (slot_.load(std::memory_order_relaxed) & kCancelled) != 0;
    return (slot_.fetch_or(0, std::memory_order_acq_rel) & kCancelled) != 0;
  }

  // TaskContext::RootEnded()
  //
  // `root`, the task this strand was started with (awaited by nobody, see
  // internal/root_runner.h), has ended: its result waits in its promise,
  // its frame is suspended at its end. The strand takes the result and
  // destroys the frame. Called on the thread that ran the task's last step;
  // strands started with a root task override it.
  virtual void RootEnded(std::coroutine_handle<> root) noexcept;

  // TaskContext::Abandon()
  //
  // The executor destroyed a resumption of this strand without running it
  // (it shut down): the strand's frames must be destroyed and its end
  // reported. Strands with an executor override it.
  virtual void Abandon() noexcept;

 protected:
  ~TaskContext() = default;

  // For a strand that is its own executor (an actor's): Resume() hands the
  // resumption to PostResume(), which it overrides to queue the closure as
  // it is, without wrapping it in a Closure. Other strands keep the direct,
  // inlined call to Executor::ExecuteNext() (no virtual call on the path
  // of two tasks passing values, bench K4).
  void set_posts_resumptions() { executor_and_flags_ |= kPostsResumptions; }
  virtual void PostResume(ResumeClosure&& resume);

  // For a strand whose waits begin and end, and whose Cancel() runs, only
  // on one serial executor's steps (an actor's turns: its strands are
  // cancelled by the actor itself, and resumed only on its turn). Nothing
  // races on the cancellation slot then, so Register() and Unregister() are
  // plain loads and stores, not read-modify-writes: two fewer atomic
  // operations per wait (bench K1). The turns' own hand-over orders them.
  void set_cancelled_on_own_turn() { executor_and_flags_ |= kCancelledOnOwnTurn; }

  // Marks the slot cancelled for good, after any running CancelWait(), so
  // that no later Cancel() reaches a canceller in a frame being destroyed.
  void SealCancellation();

 private:
  static constexpr uintptr_t kCancelled = 1;
  static constexpr uintptr_t kBusy = 2;

  // The flags set_posts_resumptions() and set_cancelled_on_own_turn() set,
  // from a derived constructor: before any other thread sees the strand.
  static constexpr uintptr_t kPostsResumptions = 1;
  static constexpr uintptr_t kCancelledOnOwnTurn = 2;
  static constexpr uintptr_t kFlags = kPostsResumptions | kCancelledOnOwnTurn;

  bool posts_resumptions() const { return (executor_and_flags_ & kPostsResumptions) != 0; }

  // Resume()'s two halves: the hand-off to the thread that ends the wait,
  // when it serves this strand's executor (context.cc), and every other
  // case, out of line so that the common one stays a few instructions
  // (bench K4).
  bool TryHandOffInline(std::coroutine_handle<> handle);
  void ResumeElsewhere(std::coroutine_handle<> handle);
  bool cancelled_on_own_turn() const { return (executor_and_flags_ & kCancelledOnOwnTurn) != 0; }

  void WaitWhileBusy() const;

  // The Executor* (or null), with the two flags above in its low bits (an
  // Executor, having a vtable, is 8-aligned): two bools would cost a word
  // in every task's state (bench K3).
  uintptr_t executor_and_flags_;
  std::atomic<uintptr_t> slot_{0};
};

// The closure an executor runs to resume a strand. Destroyed unrun (the
// executor shut down), it abandons the strand, so that its frames are freed
// and whoever waits for it learns it was cancelled, rather than waiting
// forever.
class ResumeClosure {
 public:
  ResumeClosure(TaskContext* context, std::coroutine_handle<> handle)
      : context_(context), handle_(handle) {}
  ResumeClosure(ResumeClosure&& other) noexcept
      : context_(other.context_), handle_(std::exchange(other.handle_, nullptr)) {}
  ResumeClosure& operator=(ResumeClosure&&) = delete;
  ~ResumeClosure() {
    if (handle_) context_->Abandon();
  }

  // False once run, or for a closure made empty (with a null handle).
  explicit operator bool() const { return static_cast<bool>(handle_); }

  void operator()() &&;

 private:
  TaskContext* context_;
  std::coroutine_handle<> handle_;
};

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_CONTEXT_H_
