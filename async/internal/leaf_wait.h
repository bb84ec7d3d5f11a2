// -----------------------------------------------------------------------------
// File: internal/leaf_wait.h
// -----------------------------------------------------------------------------
//
// `LeafWait`: the part every suspending awaitable shares — a task waiting on
// one source (a timer, a channel, a future) that either the source or a
// cancellation ends, exactly once.
//
//   await_suspend:  Suspend(context, handle, [&] { park on the source; })
//   the source:     if (wait->Complete() == Claim::kResume) context->Resume(handle);
//   a cancel:       TaskContext::Cancel() -> CancelWait()
//   await_resume:   bool cancelled = Finish();   (then unpark if cancelled)
//
// One atomic state decides who ended the wait. Parking happens after the
// wait is registered for cancellation and before it is armed, so an end
// that comes while the coroutine is still inside await_suspend ("arming")
// does not resume it (it is not suspended yet): await_suspend sees the
// claim and continues without suspending. Checked with the cancellation
// slot in async/models/cancel_slot.pml.
//
// Not a public header.

#ifndef TROUPE_ASYNC_INTERNAL_LEAF_WAIT_H_
#define TROUPE_ASYNC_INTERNAL_LEAF_WAIT_H_

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "async/internal/context.h"

namespace troupe::async_internal {

// Who must resume the task after a successful claim.
enum class Claim : uint8_t {
  kLost,    // the wait had ended already: do nothing
  kResume,  // the task is suspended: the claimer resumes it
  kArming,  // the task is still in await_suspend, which will go on
};

class LeafWait : public Canceller {
 public:
  // LeafWait::Suspend()
  //
  // The body of await_suspend: registers for cancellation, calls `park` to
  // start waiting on the source, and arms. Returns false if the wait ended
  // before it could suspend (cancelled already, or claimed while arming):
  // the coroutine then continues at once, and await_resume calls Finish()
  // as always.
  template <typename Park>
  bool Suspend(TaskContext* context, std::coroutine_handle<> handle, Park&& park) {
    context_ = context;
    handle_ = handle;
    if (!context->Register(this)) {
      // Cancelled already: never park. Relaxed: only this thread reads it.
      state_.store(kEndedCancelled, std::memory_order_relaxed);
      return false;
    }
    registered_ = true;
    park();
    uint8_t expected = kArmingState;
    // release: a claimer that sees kArmed sees everything park() wrote;
    // acquire (on failure): this thread sees what the claimer wrote.
    return state_.compare_exchange_strong(expected, kArmed, std::memory_order_acq_rel,
                                          std::memory_order_acquire);
  }

  // LeafWait::Complete()
  //
  // The source ends the wait normally. On kResume the caller resumes the
  // task, through context()->Resume(), after releasing any lock of its own.
  Claim Complete() noexcept { return ClaimAs(kEndedDone); }

  // LeafWait::Abort()
  //
  // The source gives up on the wait (it shut down): it ends as a
  // cancellation does. Same contract as Complete().
  Claim Abort() noexcept { return ClaimAs(kEndedCancelled); }

  // LeafWait::Finish()
  //
  // The first call of await_resume: unregisters, and returns true if the
  // wait ended by cancellation (the caller then makes sure the source
  // forgets it, and reports kCancelled).
  bool Finish() noexcept {
    if (registered_) context_->Unregister(this);
    return state_.load(std::memory_order_acquire) == kEndedCancelled;
  }

  TaskContext* context() const { return context_; }
  std::coroutine_handle<> handle() const { return handle_; }

 protected:
  ~LeafWait() = default;

 private:
  static constexpr uint8_t kArmingState = 0;
  static constexpr uint8_t kArmed = 1;
  static constexpr uint8_t kEndedDone = 2;
  static constexpr uint8_t kEndedCancelled = 3;

  std::coroutine_handle<> CancelWait() noexcept final {
    return ClaimAs(kEndedCancelled) == Claim::kResume ? handle_ : nullptr;
  }

  Claim ClaimAs(uint8_t end) noexcept {
    uint8_t current = state_.load(std::memory_order_acquire);
    while (current == kArmingState || current == kArmed) {
      // acq_rel: the claimer sees what park() wrote; the resumed task (or
      // the arming thread, on its failed exchange) sees what the claimer
      // wrote before claiming.
      if (state_.compare_exchange_weak(current, end, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        return current == kArmed ? Claim::kResume : Claim::kArming;
      }
    }
    return Claim::kLost;
  }

  TaskContext* context_ = nullptr;
  std::coroutine_handle<> handle_;
  bool registered_ = false;
  std::atomic<uint8_t> state_{kArmingState};
};

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_LEAF_WAIT_H_
