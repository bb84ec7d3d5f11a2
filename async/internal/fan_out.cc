#include "async/internal/fan_out.h"

#include <atomic>
#include <coroutine>
#include <cstddef>

#include "async/internal/trampoline.h"

namespace troupe::async_internal {

void FanOutChild::Ended() noexcept { group_->ChildEnded(index_); }

Clock& FanOutChild::clock() const { return group_->parent().clock(); }

void FanOutChild::Abandon() noexcept {
  SealCancellation();
  std::exchange(root_, nullptr).destroy();
  abandon_result_(result_);
  group_->ChildEnded(index_);
}

bool FanOut::Start() {
  // Relaxed: nothing can read it before the children run, and they run on
  // this thread's trampoline after this await_suspend returns.
  remaining_.store(children_.size() + 1, std::memory_order_relaxed);
  registered_ = parent_->Register(this);
  // Queued, not run: the parent's await_suspend is a step of this thread's
  // trampoline.
  for (std::coroutine_handle<> root : roots_) Transfer(root);
  if (!registered_) CancelChildren(kNoWinner);  // the parent was cancelled already
  // Drop the starting count. acq_rel: if this is the last, the children's
  // results are visible to the parent, which goes on without suspending.
  return remaining_.fetch_sub(1, std::memory_order_acq_rel) != 1;
}

void FanOut::ChildEnded(size_t index) noexcept {
  if (first_wins_) {
    size_t none = kNoWinner;
    // The first child to end wins; the others are cancelled. Their contexts
    // live until the parent resumes, which needs this child's count below.
    if (winner_.compare_exchange_strong(none, index, std::memory_order_relaxed)) {
      CancelChildren(index);
    }
  }
  // acq_rel: each child's result happens-before the parent's resumption by
  // the last one.
  if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) parent_->Resume(awaiting_);
}

void FanOut::CancelChildren(size_t except) noexcept {
  for (size_t i = 0; i < children_.size(); ++i) {
    if (i != except) children_[i]->Cancel();
  }
}

}  // namespace troupe::async_internal
