// -----------------------------------------------------------------------------
// File: future.h
// -----------------------------------------------------------------------------
//
// Awaiting a `troupe::Future<T>` (threads/future.h) from a task: the task
// suspends, holding no thread, until the future's promise is kept.
//
//   #include "async/future.h"
//
//   troupe::Task<int> Double(troupe::ThreadPool& pool) {
//     absl::StatusOr<int> v = co_await pool.Submit([] { return 21; });
//     if (!v.ok()) co_return v.status();
//     co_return *v * 2;
//   }
//
// `co_await std::move(future)` consumes the future and gives its
// `Result<T>` (absl::StatusOr<T>; absl::Status for Future<void>): the value,
// the promise's error, kAborted for a broken promise, kFailedPrecondition
// for a future without a state. An ask (`ActorRef::Ask`) is a future, so
// this is also how a task awaits a reply.
//
// Cancellation: a cancelled task resumes at once with kCancelled. The
// future's value, when it comes, is dropped (a future has no way to take
// back a value once asked for, so nothing is handed back).
//
// The resumption runs on the task's executor, never inline on the thread
// that keeps the promise (in a BlockOn strand, which has no executor, it
// runs on that thread while BlockOn's own sleeps).

#ifndef TROUPE_ASYNC_FUTURE_H_
#define TROUPE_ASYNC_FUTURE_H_

#include <atomic>
#include <coroutine>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "async/internal/context.h"
#include "async/task.h"
#include "threads/future.h"
#include "threads/result.h"

namespace troupe {
namespace async_internal {

// The await of a future: the awaiter is the state's one consumer, waiting
// in the awaiting frame (threads_internal::FutureWaiter), so an await
// allocates nothing and the result is built once, in the awaiter. The
// protocol on the state's consumer word (Await, Withdraw, and the setter's
// claim) is checked over every interleaving in models/future_waiter.pml.
template <typename T>
class FutureAwaiter final : public threads_internal::FutureWaiter<T>, public Canceller {
 public:
  explicit FutureAwaiter(Future<T> future) : state_(threads_internal::TakeFutureState(future)) {}
  FutureAwaiter(const FutureAwaiter&) = delete;
  FutureAwaiter& operator=(const FutureAwaiter&) = delete;
  // Also when the frame is destroyed without resuming (an abandoned strand).
  ~FutureAwaiter() {
    // Not served (never armed, or withdrawn by a cancel): a value that
    // comes later is dropped when it comes, not kept until the promise goes.
    if (state_ != nullptr && !this->result.has_value()) {
      state_->SetCallback([](Result<T>&& late) { Result<T> dropped(std::move(late)); });
    }
  }

  bool await_ready() const noexcept { return state_ == nullptr || state_->IsReady(); }

  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    context_ = awaiting.promise().context();
    awaiting_ = awaiting;
    // Registered for cancellation first, then as the state's consumer: a
    // cancel in between marks the state, and Await() sees the mark.
    if (!context_->Register(this)) {
      cancelled_ = true;
      return false;
    }
    registered_ = true;
    switch (state_->Await(this)) {
      case threads_internal::AwaitOutcome::kWaiting:
        return true;  // Ready() or CancelWait() resumes us, maybe already
      case threads_internal::AwaitOutcome::kReady:
        return false;
      case threads_internal::AwaitOutcome::kWithdrawn:
        cancelled_ = true;
        return false;
    }
    return false;
  }

  Result<T> await_resume() {
    if (registered_) context_->Unregister(this);
    if (cancelled_) return absl::CancelledError("the task was cancelled while awaiting a future");
    if (this->result.has_value()) return std::move(*this->result);  // handed to us
    if (state_ == nullptr) return threads_internal::InvalidFutureError();
    return std::exchange(state_, nullptr)->TakeResult();
  }

 private:
  // The setter's thread, the result in place: resume on the task's executor.
  void Ready() noexcept override { context_->Resume(awaiting_); }

  // The cancelling thread, while registered. A withdrawn wait is ours to
  // end; otherwise the result is on its way (or Await() finds the mark).
  std::coroutine_handle<> CancelWait() noexcept override {
    if (!state_->Withdraw(this)) return nullptr;
    cancelled_ = true;
    return awaiting_;
  }

  threads_internal::StatePtr<T> state_;
  TaskContext* context_ = nullptr;
  std::coroutine_handle<> awaiting_;
  bool registered_ = false;
  bool cancelled_ = false;  // written before the resumption that reads it
};

}  // namespace async_internal

// co_await std::move(future)
//
// See the file comment. Found by argument-dependent lookup on Future.
template <typename T>
async_internal::FutureAwaiter<T> operator co_await(Future<T>&& future) {
  return async_internal::FutureAwaiter<T>(std::move(future));
}

}  // namespace troupe

#endif  // TROUPE_ASYNC_FUTURE_H_
