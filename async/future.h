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
#include "async/internal/leaf_wait.h"
#include "async/task.h"
#include "threads/future.h"
#include "threads/result.h"

namespace troupe {
namespace async_internal {

// A future's wait lives apart from the awaiting frame, shared with the
// promise's callback: once registered, the callback cannot be taken back,
// so it may run (and lose its claim) after a cancelled task moved on. One
// reference for the awaiter, one for the callback.
template <typename T>
class FutureWait final : public LeafWait {
 public:
  static void* operator new(size_t size) { return AllocateFrame(size); }
  static void operator delete(void* wait, size_t size) noexcept { FreeFrame(wait, size); }

  void Ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() noexcept {
    // acq_rel: the last owner sees the other's writes (the result) before freeing.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Written by the callback before it claims; read by the task only after
  // a claim the callback won (its acq_rel orders the write before).
  std::optional<Result<T>> result;

 private:
  std::atomic<int> refs_{1};
};

// The promise's callback. Run: the wait ends with the result. Destroyed
// unrun (its state went away without one): it ends as cancelled.
template <typename T>
class FutureCallback {
 public:
  explicit FutureCallback(FutureWait<T>* wait) : wait_(wait) {}
  FutureCallback(FutureCallback&& other) noexcept : wait_(std::exchange(other.wait_, nullptr)) {}
  FutureCallback& operator=(FutureCallback&&) = delete;
  ~FutureCallback() {
    if (wait_) End(wait_->Abort());
  }

  void operator()(Result<T>&& result) && {
    wait_->result.emplace(std::move(result));
    End(wait_->Complete());
  }

 private:
  void End(Claim claim) noexcept {
    FutureWait<T>* wait = std::exchange(wait_, nullptr);
    if (claim == Claim::kResume) wait->context()->Resume(wait->handle());
    wait->Unref();
  }

  FutureWait<T>* wait_;
};

template <typename T>
class FutureAwaiter {
 public:
  explicit FutureAwaiter(Future<T> future) : state_(threads_internal::TakeFutureState(future)) {}
  FutureAwaiter(const FutureAwaiter&) = delete;
  FutureAwaiter& operator=(const FutureAwaiter&) = delete;
  // Also when the frame is destroyed without resuming (an abandoned strand).
  ~FutureAwaiter() {
    if (wait_ != nullptr) wait_->Unref();
    // Never armed (the task was cancelled before it could suspend): a value
    // that comes later is dropped when it comes, as when the wait had been
    // armed and then cancelled, not kept until the promise goes.
    if (state_ != nullptr)
      state_->SetCallback([](Result<T>&& late) { Result<T> dropped(std::move(late)); });
  }

  bool await_ready() const noexcept { return state_ == nullptr || state_->IsReady(); }

  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    wait_ = new FutureWait<T>;
    return wait_->Suspend(awaiting.promise().context(), awaiting, [&] {
      wait_->Ref();  // the callback's
      // A ready state runs the callback here, while arming: Suspend() then
      // returns false and the task goes on without suspending.
      std::exchange(state_, nullptr)->SetCallback(FutureCallback<T>(wait_));
    });
  }

  Result<T> await_resume() {
    if (wait_ == nullptr) {  // ready at once
      if (state_ == nullptr) return threads_internal::InvalidFutureError();
      return std::exchange(state_, nullptr)->TakeResult();
    }
    if (wait_->Finish()) {
      return absl::CancelledError("the task was cancelled while awaiting a future");
    }
    return std::move(*wait_->result);
  }

 private:
  std::shared_ptr<threads_internal::SharedState<T>> state_;
  FutureWait<T>* wait_ = nullptr;
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
