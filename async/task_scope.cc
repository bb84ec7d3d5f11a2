#include "async/task_scope.h"

#include <coroutine>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "async/internal/context.h"
#include "base/check.h"
#include "threads/future.h"
#include "threads/mutex.h"

namespace troupe {
namespace async_internal {

void ScopeChild::Ended() noexcept { scope_->ChildEnded(this); }

Clock& ScopeChild::clock() const { return scope_->clock_; }

void ScopeChild::Abandon() noexcept {
  SealCancellation();
  std::exchange(root_, nullptr).destroy();
  status_ = absl::CancelledError("the executor shut down before the task finished");
  Ended();
}

}  // namespace async_internal

TaskScope::~TaskScope() {
  Future<void> all_ended;
  {
    MutexLock lock(mu_);
    TROUPE_CHECK(joiner_ == nullptr, "a TaskScope destroyed while a task awaits its Join()");
    if (running_ == 0) return;
    all_ended_.emplace();
    all_ended = all_ended_->GetFuture();
    CancelLocked();
  }
  // On a pool worker, Wait() runs other pool tasks meanwhile: the children
  // may need this very worker to unwind.
  all_ended.Wait();
}

void TaskScope::Cancel() {
  MutexLock lock(mu_);
  CancelLocked();
}

int TaskScope::running() const {
  MutexLock lock(mu_);
  return running_;
}

void TaskScope::CancelLocked() {
  cancelled_ = true;
  for (async_internal::ScopeChild* child = children_; child != nullptr; child = child->next) {
    child->Cancel();
  }
}

void TaskScope::Add(async_internal::ScopeChild* child) {
  MutexLock lock(mu_);
  child->next = children_;
  if (children_ != nullptr) children_->previous = child;
  children_ = child;
  ++running_;
  if (cancelled_) child->Cancel();
}

void TaskScope::ChildEnded(async_internal::ScopeChild* child) {
  async_internal::TaskContext* joiner_context = nullptr;
  std::coroutine_handle<> joiner;
  std::optional<Promise<void>> all_ended;
  {
    MutexLock lock(mu_);
    if (child->previous != nullptr) child->previous->next = child->next;
    if (child->next != nullptr) child->next->previous = child->previous;
    if (children_ == child) children_ = child->next;
    if (!child->status().ok() && first_error_.ok()) {
      // The first error is the scope's; it cancels the rest, whose
      // kCancelled comes after it and is not reported.
      first_error_ = child->status();
      CancelLocked();
    }
    if (--running_ == 0) {
      if (JoinAwaiter* awaiter = std::exchange(joiner_, nullptr)) {
        joiner_context = awaiter->context_;
        joiner = awaiter->awaiting_;
      }
      if (all_ended_) {
        all_ended.emplace(std::move(*all_ended_));
        all_ended_.reset();
      }
    }
  }
  // Past the unlock the scope may be gone (its joiner resumed, its
  // destructor returned): only locals from here on.
  delete child;
  if (joiner) joiner_context->Resume(joiner);
  if (all_ended) all_ended->SetValue();
}

bool TaskScope::JoinAwaiter::Suspend(async_internal::TaskContext* context,
                                     std::coroutine_handle<> awaiting) {
  context_ = context;
  awaiting_ = awaiting;
  registered_ = context->Register(this);
  MutexLock lock(scope_->mu_);
  if (!registered_) scope_->CancelLocked();  // the awaiting task is cancelled already
  if (scope_->running_ == 0) return false;
  TROUPE_CHECK(scope_->joiner_ == nullptr, "two Join()s of one TaskScope at once");
  scope_->joiner_ = this;
  return true;
}

absl::Status TaskScope::JoinAwaiter::await_resume() {
  if (registered_) context_->Unregister(this);
  MutexLock lock(scope_->mu_);
  scope_->cancelled_ = false;
  return std::exchange(scope_->first_error_, absl::OkStatus());
}

std::coroutine_handle<> TaskScope::JoinAwaiter::CancelWait() noexcept {
  scope_->Cancel();  // and keep waiting for the children to end
  return nullptr;
}

}  // namespace troupe
