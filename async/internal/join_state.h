// -----------------------------------------------------------------------------
// File: internal/join_state.h
// -----------------------------------------------------------------------------
//
// What a Go task and its JoinHandle share: the strand's context, the result,
// and one word that says who is waiting and who frees the state.
//
// The join word holds 0 (running, the handle holds the state), a Joiner*
// (running, the handle's owner waits), kDetached (running, no handle: the
// task frees the state) or kDone (finished: the handle frees it). The task
// ends with one exchange to kDone; the handle lets go with one CAS from 0 to
// kDetached. Whoever comes second frees the state, so it is freed exactly
// once, and a registered joiner is woken exactly once. Checked over every
// interleaving by async/models/join.pml.
//
// Not a public header.

#ifndef TROUPE_ASYNC_INTERNAL_JOIN_STATE_H_
#define TROUPE_ASYNC_INTERNAL_JOIN_STATE_H_

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "async/internal/context.h"
#include "async/internal/root_runner.h"
#include "async/task.h"
#include "base/check.h"
#include "threads/clock.h"

namespace troupe::async_internal {

// Someone waiting for a Go task to end: a task awaiting the handle, or a
// thread blocked in JoinHandle::Get().
class Joiner {
 public:
  // Called once, by the ending task, after the result is in place.
  virtual void Wake() noexcept = 0;

 protected:
  ~Joiner() = default;
};

// The type-independent half: the word, and what the task does at its end.
class JoinStateBase : public RootStrand {
 public:
  using RootStrand::RootStrand;

  void Ended() noexcept override { Finish(); }

  // JoinStateBase::Finish()
  //
  // The task has ended and its result is in place (its frames are gone).
  // Wakes the joiner; frees the state if the handle let go.
  void Finish() noexcept {
    // acq_rel: release publishes the result to the joiner and to the
    // handle's later acquire; acquire sees a joiner's fields.
    const uintptr_t previous = word_.exchange(kDone, std::memory_order_acq_rel);
    if (previous == kDetached) {
      Destroy();
    } else if (previous != 0) {
      reinterpret_cast<Joiner*>(previous)->Wake();
    }
  }

  // JoinStateBase::Join()
  //
  // The handle's owner waits: false if the task has ended already (the
  // result is ready; nothing was registered).
  bool Join(Joiner* joiner) noexcept {
    uintptr_t expected = 0;
    // release: the joiner's fields are visible to Finish(); acquire (on
    // failure): the result is.
    return word_.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(joiner),
                                         std::memory_order_acq_rel, std::memory_order_acquire);
  }

  // JoinStateBase::Release()
  //
  // The handle lets go (detached, or destroyed). Frees the state if the
  // task has ended; otherwise the task frees it at its end.
  void Release() noexcept {
    uintptr_t expected = 0;
    if (!word_.compare_exchange_strong(expected, kDetached, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      // acquire (above): the task's last writes happen-before the free.
      Destroy();
    }
  }

  bool finished() const { return word_.load(std::memory_order_acquire) == kDone; }

 protected:
  ~JoinStateBase() = default;

  // Frees the whole state (the derived object).
  virtual void Destroy() noexcept = 0;

 private:
  static constexpr uintptr_t kDetached = 1;
  static constexpr uintptr_t kDone = 2;

  std::atomic<uintptr_t> word_{0};
};

// The result and the root frame: the part of a Go task's state that does
// not depend on what it runs.
template <typename T>
class JoinState : public JoinStateBase {
 public:
  explicit JoinState(Executor* executor) : JoinStateBase(executor), root_(nullptr) {}

  static void* operator new(size_t size) { return AllocateFrame(size); }
  static void operator delete(void* state, size_t size) noexcept { FreeFrame(state, size); }

  // The frame that runs the task, for Abandon() and RootEnded().
  void set_root(std::coroutine_handle<> root) { root_ = root; }

  // JoinState::SetResult()
  //
  // Once, when the root frame has been destroyed or never started, or from
  // a plain callable's frame, which ends without suspending again: the
  // result takes the root's place (below).
  void SetResult(TaskResult<T> result) { new (&result_) TaskResult<T>(std::move(result)); }
  TaskResult<T> TakeResult() { return std::move(result_); }

  // The task, started as the root (BindRoot), has ended.
  void RootEnded(std::coroutine_handle<> root) noexcept override {
    TaskResult<T> result = TakeRootResult<T>(root);
    root.destroy();
    SetResult(std::move(result));
    Finish();
  }

  // The executor dropped a resumption: destroy the frames (their
  // destructors run) and end with kCancelled.
  void Abandon() noexcept override {
    SealCancellation();
    root_.destroy();
    SetResult(absl::CancelledError("the executor shut down before the task finished"));
    Finish();
  }

 protected:
  // After Finish() (the join word's protocol frees the state no sooner),
  // with the result in place; or, unfinished, from a derived constructor
  // that threw (storing the call), before anything took the root's place.
  ~JoinState() {
    if (finished()) result_.~TaskResult<T>();
  }

 private:
  // One word for the task's two phases (bench K3): the root frame while
  // it runs, to destroy if the executor abandons it; its result once it
  // has ended. No optional: the join word says which phase it is.
  union {
    std::coroutine_handle<> root_;
    TaskResult<T> result_;
  };
};

// The clock a Go task's sleeps use: the process's DefaultClock(), which
// costs the state nothing, or one given to Go().
struct DefaultClockRef {
  Clock& get() const { return DefaultClock(); }
};
class GivenClockRef {
 public:
  explicit GivenClockRef(Clock& clock) : clock_(&clock) {}
  Clock& get() const { return *clock_; }

 private:
  Clock* clock_;
};

// The state of a task running fn(args...): it keeps them (StoredCall) for
// as long as the task runs (StartRoot).
template <typename T, typename ClockRef, typename Fn, typename... Args>
class CallingJoinState final : public JoinState<T> {
 public:
  template <typename F, typename... A>
  CallingJoinState(Executor* executor, ClockRef clock, F&& fn, A&&... args)
      : JoinState<T>(executor),
        clock_(clock),
        call_(std::forward<F>(fn), std::forward<A>(args)...) {}

  // fn(args...), once: for a coroutine, creates its (lazy) frame.
  auto Call() { return call_(); }

  Clock& clock() const override { return clock_.get(); }

 private:
  ~CallingJoinState() = default;
  void Destroy() noexcept override { delete this; }

  [[no_unique_address]] ClockRef clock_;
  StoredCall<Fn, Args...> call_;
};

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_JOIN_STATE_H_
