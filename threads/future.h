// -----------------------------------------------------------------------------
// File: future.h
// -----------------------------------------------------------------------------
//
// `Promise<T>` and `Future<T>`: a value (or an error) that one thread
// produces and another waits for.
//
//   troupe::Promise<int> promise;
//   troupe::Future<int> future = promise.GetFuture();
//   troupe::Thread producer("producer", [p = std::move(promise)]() mutable { p.SetValue(42); });
//   absl::StatusOr<int> value = future.Get();         // 42
//
//   auto doubled = pool.Submit([] { return 21; })
//                      .Then(pool, [](absl::StatusOr<int> v) { return *v * 2; });
//
// Results are `absl::StatusOr<T>` (`absl::Status` for `Future<void>`); no
// exception crosses the API. A continuation that throws fails its own future
// with kInternal. A Promise destroyed without a value fails its future with
// kAborted ("broken promise"), so a waiter never hangs on an abandoned
// promise.
//
// Waiting inside the pool: `Wait()` and `Get()` called on a ThreadPool worker
// run other queued tasks while the value is not ready, so fork-join code
// (submit children, wait for them) cannot deadlock however few workers there
// are.
//
// Thread-safety: a Promise and a Future are each used by one thread at a time;
// the promise's thread and the future's thread may differ.
//
// Memory ordering: everything the producer wrote before setting the value is
// visible to the thread that observes it ready (release on publish, acquire
// on the ready check), and to the continuation.

#ifndef TROUPE_THREADS_FUTURE_H_
#define TROUPE_THREADS_FUTURE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "threads/executor.h"
#include "threads/internal/future_state.h"
#include "threads/result.h"

namespace troupe {

template <typename T>
class Future;
template <typename T>
class Promise;

namespace threads_internal {

template <typename T>
struct IsFuture : std::false_type {};
template <typename T>
struct IsFuture<Future<T>> : std::true_type {};

// A future over a state made elsewhere (the pool's Submit() makes one state
// that also holds the task, to save allocations).
template <typename T>
Future<T> FutureFromState(StatePtr<T> state);
// The state behind `future`, which it consumes (null if it had none): for
// awaiting a future (async/future.h) without a Then() and its extra state.
template <typename T>
StatePtr<T> TakeFutureState(Future<T>& future);

inline absl::Status InvalidFutureError() {
  return absl::FailedPreconditionError(
      "Future has no state (default-constructed, moved from, or already consumed by Get/Then)");
}

}  // namespace threads_internal

template <typename T>
class Future {
 public:
  using value_type = T;

  // An invalid future; Get() returns kFailedPrecondition.
  Future() = default;
  Future(Future&&) noexcept = default;
  Future& operator=(Future&&) noexcept = default;
  Future(const Future&) = delete;
  Future& operator=(const Future&) = delete;

  // Future::Valid()
  //
  // True until Get() or Then() consumes the future.
  bool Valid() const { return state_ != nullptr; }

  // Future::IsReady()
  //
  // True once the value or error is in. Never blocks.
  bool IsReady() const { return state_ != nullptr && state_->IsSet(); }

  // Future::Wait() / WaitFor() / WaitUntil()
  //
  // Blocks until ready (true) or the time runs out (false). On a pool worker
  // it runs other tasks meanwhile (see the file comment).
  void Wait() const { WaitUntil(absl::InfiniteFuture()); }
  bool WaitFor(absl::Duration timeout) const { return WaitUntil(absl::Now() + timeout); }
  bool WaitUntil(absl::Time deadline) const {
    if (state_ == nullptr) return false;
    return state_->WaitUntil(deadline);
  }

  // Future::Get()
  //
  // Waits, then returns the result and consumes the future (Valid() becomes
  // false; a second Get() returns kFailedPrecondition). Inside an actor's
  // turn, a Get() that has to wait blocks the actor (and, while it helps
  // the pool, runs other turns on its stack): debug builds log a warning
  // naming the actor, once per call site. There, co_await the future.
  Result<T> Get() {
    if (state_ == nullptr) return threads_internal::InvalidFutureError();
#ifndef NDEBUG
    if (!state_->IsReady()) threads_internal::NoteBlockingWait(__builtin_return_address(0));
#endif
    if (!state_->WaitUntil(absl::InfiniteFuture())) {
      return absl::FailedPreconditionError(state_->blocking_refused());  // see RefuseBlockingWaits
    }
    auto state = std::move(state_);
    return state->TakeResult();
  }

  // Future::GetFor() / GetUntil()
  //
  // Get() with a limit: kDeadlineExceeded if the value is not in by then (the
  // future then stays valid, to wait again).
  Result<T> GetFor(absl::Duration timeout) {
    return GetUntilFrom(absl::Now() + timeout, __builtin_return_address(0));
  }
  Result<T> GetUntil(absl::Time deadline) {
    return GetUntilFrom(deadline, __builtin_return_address(0));
  }

  // Future::Then()
  //
  // Registers `fn(Result<T>)` to run on `executor` once the result is in, and
  // returns a future of what it returns (an exception it throws becomes
  // kInternal). Consumes this future. `fn` runs exactly once, also on error.
  template <typename Fn, typename U = std::invoke_result_t<Fn&, Result<T>>>
  Future<U> Then(Executor& executor, Fn&& fn);

  // Future::Then(fn)
  //
  // Runs `fn` inline on the thread that completes the promise (or at once, if
  // already complete). Keep such continuations short.
  template <typename Fn, typename U = std::invoke_result_t<Fn&, Result<T>>>
  Future<U> Then(Fn&& fn) {
    return Then(InlineExecutor(), std::forward<Fn>(fn));
  }

 private:
  friend class Promise<T>;
  template <typename U>
  friend Future<U> threads_internal::FutureFromState(threads_internal::StatePtr<U> state);
  template <typename U>
  friend threads_internal::StatePtr<U> threads_internal::TakeFutureState(Future<U>& future);
  explicit Future(threads_internal::StatePtr<T> state) : state_(std::move(state)) {}

  Result<T> GetUntilFrom(absl::Time deadline, const void* call_site) {
    if (state_ == nullptr) return threads_internal::InvalidFutureError();
#ifndef NDEBUG
    if (!state_->IsReady()) threads_internal::NoteBlockingWait(call_site);
#endif
    if (!state_->WaitUntil(deadline)) {
      if (const char* why = state_->blocking_refused()) return absl::FailedPreconditionError(why);
      return absl::DeadlineExceededError("future not ready in time");
    }
    return Get();
  }

  threads_internal::StatePtr<T> state_;
};

template <typename T>
class Promise {
 public:
  Promise() : Promise(std::allocator_arg, std::allocator<char>()) {}
  // The shared state from `alloc` (a standard allocator of any type), for a
  // caller that makes many short-lived promises and has a faster allocator
  // than malloc.
  template <typename Alloc>
  Promise(std::allocator_arg_t, const Alloc& alloc) {
    // Made with both of its owners, the future's kept here until
    // GetFuture(): handing it out then costs no atomic increment.
    auto [promise_side, future_side] =
        threads_internal::NewCountedPairWith<threads_internal::SharedState<T>>(alloc);
    state_ = std::move(promise_side);
    future_side_ = std::move(future_side);
  }
  Promise(Promise&&) noexcept = default;
  Promise& operator=(Promise&& other) noexcept {
    if (this != &other) {
      Abandon();
      state_ = std::move(other.state_);
      future_side_ = std::move(other.future_side_);
    }
    return *this;
  }
  Promise(const Promise&) = delete;
  Promise& operator=(const Promise&) = delete;

  // A promise destroyed without a result breaks its future (kAborted).
  ~Promise() { Abandon(); }

  // Promise::GetFuture()
  //
  // The future for this promise. Call it once (a second call is a bug).
  Future<T> GetFuture() {
    TROUPE_CHECK(future_side_ != nullptr, "Promise::GetFuture() called twice");
    return Future<T>(std::move(future_side_));
  }

  // Promise::SetValue()
  //
  // Fulfils the future. Returns false (and drops the value) if it was already
  // fulfilled or failed.
  template <typename U = T,
            typename = std::enable_if_t<!std::is_void_v<T> && std::is_constructible_v<T, U&&>>>
  bool SetValue(U&& value) {
    if (state_ == nullptr) return false;
    return state_->EmplaceResult(std::forward<U>(value));
  }
  template <typename U = T, typename = std::enable_if_t<std::is_void_v<U>>>
  bool SetValue() {
    return SetResult(absl::OkStatus());
  }

  // Promise::RefuseBlockingWaits()
  //
  // See FutureCore::RefuseBlockingWaits(): before GetFuture().
  void RefuseBlockingWaits(const char* why) { state_->RefuseBlockingWaits(why); }

  // Promise::SetError()
  //
  // Fails the future with `status` (which must not be OK).
  bool SetError(absl::Status status) {
    TROUPE_DCHECK(!status.ok(), "Promise::SetError() with an OK status");
    if (status.ok()) status = absl::UnknownError("Promise::SetError() called with OK");
    return SetResult(Result<T>(std::move(status)));
  }

  // Promise::SetResult()
  //
  // Fulfils or fails the future from a Result.
  bool SetResult(Result<T> result) {
    if (state_ == nullptr) return false;
    return state_->SetResult(std::move(result));
  }

  // Promise::IsFulfilled()
  //
  // True once a result was set.
  bool IsFulfilled() const { return state_ != nullptr && state_->IsSet(); }

 private:
  void Abandon() {
    // Only this promise sets the state, so a result it set is visible here:
    // the error (a heap-allocated message) is built only when it is needed.
    // (IsSet, not IsReady: a result handed straight to an awaiting task
    // never marks the state ready.)
    if (state_ != nullptr && !state_->IsSet()) {
      state_->SetResult(Result<T>(
          absl::AbortedError("broken promise: the Promise was destroyed without a value")));
    }
    state_.reset();
    future_side_.reset();
  }

  threads_internal::StatePtr<T> state_;
  threads_internal::StatePtr<T> future_side_;  // null once GetFuture() took it
};

template <typename T>
Future<T> threads_internal::FutureFromState(threads_internal::StatePtr<T> state) {
  return Future<T>(std::move(state));
}

template <typename T>
threads_internal::StatePtr<T> threads_internal::TakeFutureState(Future<T>& future) {
  return std::move(future.state_);
}

// MakeReadyFuture() / MakeErrorFuture()
//
// Futures that are complete from the start.
template <typename T>
Future<T> MakeReadyFuture(T value) {
  Promise<T> promise;
  Future<T> future = promise.GetFuture();
  promise.SetValue(std::move(value));
  return future;
}
inline Future<void> MakeReadyFuture() {
  Promise<void> promise;
  Future<void> future = promise.GetFuture();
  promise.SetValue();
  return future;
}
template <typename T>
Future<T> MakeErrorFuture(absl::Status status) {
  Promise<T> promise;
  Future<T> future = promise.GetFuture();
  promise.SetError(std::move(status));
  return future;
}

template <typename T>
template <typename Fn, typename U>
Future<U> Future<T>::Then(Executor& executor, Fn&& fn) {
  static_assert(!threads_internal::IsFuture<U>::value,
                "Then() continuations return values, not futures");
  Promise<U> promise;
  Future<U> next = promise.GetFuture();
  if (state_ == nullptr) {
    promise.SetError(threads_internal::InvalidFutureError());
    return next;
  }
  auto state = std::move(state_);
  state->SetCallback([&executor, fn = std::forward<Fn>(fn),
                      promise = std::move(promise)](Result<T>&& result) mutable {
    executor.Execute(
        [fn = std::move(fn), promise = std::move(promise), result = std::move(result)]() mutable {
          auto call = [&]() -> U { return fn(std::move(result)); };
          promise.SetResult(threads_internal::RunCapturingExceptions(call, "Future::Then"));
        });
  });
  return next;
}

// WhenAll()
//
// A future of every input's result, in input order, complete when the last
// input is. Consumes the inputs. An empty input gives a ready empty vector.
template <typename T>
Future<std::vector<Result<T>>> WhenAll(std::vector<Future<T>> futures) {
  struct Gather {
    explicit Gather(size_t n) : results(n), remaining(n) {}
    std::vector<Result<T>> results;
    std::atomic<size_t> remaining;
    Promise<std::vector<Result<T>>> promise;
  };
  if (futures.empty()) return MakeReadyFuture(std::vector<Result<T>>());
  auto gather = std::make_shared<Gather>(futures.size());
  Future<std::vector<Result<T>>> all = gather->promise.GetFuture();
  for (size_t i = 0; i < futures.size(); ++i) {
    futures[i].Then([gather, i](Result<T> result) {
      gather->results[i] = std::move(result);
      // acq_rel: each writer releases its slot; the last one acquires all.
      if (gather->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        gather->promise.SetValue(std::move(gather->results));
      }
    });
  }
  return all;
}

}  // namespace troupe

#endif  // TROUPE_THREADS_FUTURE_H_
