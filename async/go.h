// -----------------------------------------------------------------------------
// File: go.h
// -----------------------------------------------------------------------------
//
// `Go()`: start a task on an executor, the way `go f(x)` starts a goroutine,
// and get a `JoinHandle` to its result.
//
//   troupe::ThreadPool pool;
//   troupe::JoinHandle<int> h = troupe::Go(pool, [](int x) -> troupe::Task<int> {
//     co_await troupe::Sleep(absl::Milliseconds(5));
//     co_return x * 2;
//   }, 21);
//   absl::StatusOr<int> r = h.Get();            // from a plain thread: 42
//   absl::StatusOr<int> r = co_await std::move(h);   // from a task
//
// `fn` is called as `fn(args...)` on the executor, and may return a Task<T>
// (a coroutine: it runs until its end, suspending without holding a
// thread) or a plain value (or nothing). The callable and the arguments are
// moved into the task's frame, where they live until the task ends: a
// lambda's captures and a coroutine's reference parameters stay valid across
// every suspension. (Passing a pointer or reference to something that dies
// sooner is still yours to avoid.)
//
// A JoinHandle is move-only and [[nodiscard]]; its owner either
// - awaits it (`co_await std::move(handle)`, from a task), or
// - blocks on it (`Get()`, from a thread that is not a pool worker), or
// - lets it run on alone (`Detach()`).
// Destroying a handle that did none of these cancels the task and lets it
// unwind on its own: a task nobody holds is a task nobody wants. Cancel()
// asks the task to stop without letting go of it. A task cancelled, or
// dropped by an executor that shut down, ends with kCancelled.
//
// Cost: two pooled allocations (fn's coroutine frame, which is the task's
// root; the state shared with the handle, which also holds fn and its
// arguments) and one executor submission per task; see bench row K2. A
// plain callable runs in a small frame of troupe's own instead.
//
// Lifetime: the executor (and the clock) must outlive every task started on
// them, as a mutex must outlive its users. Shutting a pool down is the way
// to stop its tasks: a suspended task whose wake-up the pool then drops is
// abandoned — its frames destroyed, its handle given kCancelled.
//
// Thread-safety: a handle is used by one thread at a time; the task runs on
// the executor's threads, each resumption on whichever worker takes it.

#ifndef TROUPE_ASYNC_GO_H_
#define TROUPE_ASYNC_GO_H_

#include <concepts>
#include <coroutine>
#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "async/internal/context.h"
#include "async/internal/join_state.h"
#include "async/internal/root_runner.h"
#include "async/task.h"
#include "base/check.h"
#include "threads/clock.h"
#include "threads/executor.h"
#include "threads/notification.h"
#include "threads/thread_pool.h"

namespace troupe {

template <typename T>
class JoinHandle;

namespace async_internal {

template <typename T, typename ClockRef, typename Fn, typename... Args>
JoinHandle<T> StartGo(Executor& executor, ClockRef clock, Fn&& fn, Args&&... args);

}  // namespace async_internal

// The result type of the task Go(executor, fn, args...) starts.
template <typename Fn, typename... Args>
using GoResultOf = typename async_internal::RootResult<
    std::invoke_result_t<std::decay_t<Fn>&&, std::decay_t<Args>&&...>>::type;

template <typename T>
class [[nodiscard]] JoinHandle {
 public:
  // An empty handle, to be assigned to.
  JoinHandle() = default;
  JoinHandle(JoinHandle&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      Drop();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;

  // Cancels a task that was neither joined nor detached (see the file comment).
  ~JoinHandle() { Drop(); }

  // False once joined or detached (and for a default-constructed handle).
  bool valid() const { return state_ != nullptr; }

  // JoinHandle::finished()
  //
  // True once the task has ended: awaiting or Get() returns at once.
  bool finished() const { return state_ != nullptr && state_->finished(); }

  // JoinHandle::Cancel()
  //
  // Asks the task to stop: the wait it is in (or its next one) ends with
  // kCancelled. The handle still joins it.
  void Cancel() {
    if (state_) state_->Cancel();
  }

  // JoinHandle::Detach()
  //
  // Lets the task run to its end with nobody waiting; its result is
  // dropped. The handle becomes empty.
  void Detach() {
    if (state_) std::exchange(state_, nullptr)->Release();
  }

  // JoinHandle::Get()
  //
  // Blocks until the task ends and returns its result; the handle becomes
  // empty. On a ThreadPool worker it does not block (the task may need that
  // very worker): it returns kFailedPrecondition, and the handle still
  // holds the task — await it instead.
  TaskResult<T> Get() {
    TROUPE_CHECK(state_ != nullptr, "JoinHandle::Get() on an empty handle");
    if (ThreadPool::Current() != nullptr && !state_->finished()) {
      return absl::FailedPreconditionError(
          "JoinHandle::Get() on a thread pool worker would block it: co_await the handle");
    }
    BlockingJoiner joiner;
    if (state_->Join(&joiner)) joiner.done.WaitForNotification();
    return TakeResult();
  }

  // co_await std::move(handle)
  //
  // Waits, without holding a thread, until the task ends; gives its result.
  // If the awaiting task is cancelled, the cancellation passes to this task,
  // and the await still lasts until it has ended (nothing outlives its
  // awaiter unseen).
  auto operator co_await() && {
    TROUPE_CHECK(state_ != nullptr, "co_await on an empty JoinHandle");
    return Awaiter(this);
  }

 private:
  template <typename U, typename ClockRef, typename Fn, typename... Args>
  friend JoinHandle<U> async_internal::StartGo(Executor& executor, ClockRef clock, Fn&& fn,
                                               Args&&... args);

  explicit JoinHandle(async_internal::JoinState<T>* state) : state_(state) {}

  struct BlockingJoiner final : async_internal::Joiner {
    Notification done;
    void Wake() noexcept override { done.Notify(); }
  };

  class Awaiter final : public async_internal::Joiner, public async_internal::Canceller {
   public:
    explicit Awaiter(JoinHandle* owner) : owner_(owner) {}

    bool await_ready() noexcept { return owner_->state_->finished(); }

    template <async_internal::TaskPromise Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
      context_ = awaiting.promise().context();
      awaiting_ = awaiting;
      registered_ = context_->Register(this);
      if (!registered_) owner_->state_->Cancel();  // the awaiter is cancelled already
      // After a successful Join the task may end, and resume us, at once
      // on another thread: nothing here touches the frame afterwards.
      return owner_->state_->Join(this);
    }

    TaskResult<T> await_resume() {
      if (registered_) context_->Unregister(this);
      return owner_->TakeResult();
    }

   private:
    void Wake() noexcept override { context_->Resume(awaiting_); }
    std::coroutine_handle<> CancelWait() noexcept override {
      owner_->state_->Cancel();
      return nullptr;  // keep waiting: the task ends soon, cancelled
    }

    JoinHandle* owner_;
    async_internal::TaskContext* context_ = nullptr;
    std::coroutine_handle<> awaiting_;
    bool registered_ = false;
  };

  TaskResult<T> TakeResult() {
    TaskResult<T> result = state_->TakeResult();
    std::exchange(state_, nullptr)->Release();
    return result;
  }

  void Drop() {
    if (state_) {
      state_->Cancel();
      std::exchange(state_, nullptr)->Release();
    }
  }

  async_internal::JoinState<T>* state_ = nullptr;
};

namespace async_internal {

template <typename T, typename ClockRef, typename Fn, typename... Args>
JoinHandle<T> StartGo(Executor& executor, ClockRef clock, Fn&& fn, Args&&... args) {
  auto* state = new CallingJoinState<T, ClockRef, std::decay_t<Fn>, std::decay_t<Args>...>(
      &executor, clock, std::forward<Fn>(fn), std::forward<Args>(args)...);
  JoinHandle<T> handle(state);
  std::coroutine_handle<> root = StartRoot<T>(state);
  if (root == nullptr) {  // it threw before it could start: the result is its error
    state->Finish();
    return handle;
  }
  state->set_root(root);
  // The state outlives Execute: the handle holds it, so even a task that
  // runs to its end at once (or is dropped by a shut-down executor) frees
  // nothing the caller still uses.
  executor.Execute(ResumeClosure(state, root));
  return handle;
}

}  // namespace async_internal

// Go()
//
// Starts `fn(args...)` as a task on `executor` and returns its handle. Its
// sleeps use `clock` (the test kit passes its virtual clock), or the
// process's DefaultClock().
template <typename Fn, typename... Args>
requires std::invocable<std::decay_t<Fn> &&, std::decay_t<Args>&&...>
    JoinHandle<GoResultOf<Fn, Args...>> Go(Executor& executor, Fn&& fn, Args&&... args) {
  return async_internal::StartGo<GoResultOf<Fn, Args...>>(
      executor, async_internal::DefaultClockRef(), std::forward<Fn>(fn),
      std::forward<Args>(args)...);
}

template <typename Fn, typename... Args>
requires std::invocable<std::decay_t<Fn> &&, std::decay_t<Args>&&...>
    JoinHandle<GoResultOf<Fn, Args...>> Go(Executor& executor, Clock& clock, Fn&& fn,
                                           Args&&... args) {
  return async_internal::StartGo<GoResultOf<Fn, Args...>>(
      executor, async_internal::GivenClockRef(clock), std::forward<Fn>(fn),
      std::forward<Args>(args)...);
}

}  // namespace troupe

#endif  // TROUPE_ASYNC_GO_H_
