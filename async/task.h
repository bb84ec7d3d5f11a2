// -----------------------------------------------------------------------------
// File: task.h
// -----------------------------------------------------------------------------
//
// `Task<T>`: a C++20 coroutine that produces a `Result<T>` — an
// `absl::StatusOr<T>`, or an `absl::Status` for `Task<void>` and
// `Task<absl::Status>`. Awaiting a task runs it; awaiting it gives its result.
//
//   troupe::Task<int> Answer() { co_return 42; }
//
//   troupe::Task<int> Twice() {
//     absl::StatusOr<int> a = co_await Answer();
//     if (!a.ok()) co_return a.status();
//     co_return *a * 2;
//   }
//
//   absl::StatusOr<int> r = troupe::BlockOn(Twice());   // block_on.h
//
// What a task promises:
// - Lazy: calling a coroutine that returns a Task only allocates its frame;
//   the body starts when the task is awaited (or handed to BlockOn).
// - Move-only and `[[nodiscard]]`: a task has one owner. Destroying a task
//   that has not finished destroys its frame, running the destructors of
//   whatever the body had built, in reverse order, as a scope exit does.
// - Never throws at you: an exception escaping the body becomes a kInternal
//   status with its text ("exception in a Task: ..."), as Thread and Future
//   report one.
// - Constant stack: awaiting a task transfers control to it, and its end
//   transfers back, through a per-thread trampoline (below), so a loop of a
//   million awaits of tasks that finish at once runs in constant stack, at
//   every optimisation level.
//
// Returning errors: `co_return value;` or `co_return status;` in a
// `Task<T>`. A task with nothing to return but a failure to report is a
// `Task<absl::Status>` (`co_return absl::OkStatus();` at its end — flowing
// off the end of such a coroutine is undefined, as it is for any coroutine
// with a value); a `Task<void>` ends with `co_return;` or by flowing off its
// end, and its result is OK unless it threw.
//
// Frames come from troupe's per-thread node pool (mailbox/node_pool.h) when
// they fit its size classes, plain operator new otherwise.
//
// Thread-safety: a task is an ordinary object: one thread at a time may use
// it. It may be resumed on a different thread from the one that started it.
//
// A task runs as part of a strand — a Go task (go.h), a BlockOn, a child of
// WhenAll/WhenAny (when.h) or of a TaskScope (task_scope.h) — and awaits
// only from coroutines that are themselves troupe tasks.

#ifndef TROUPE_ASYNC_TASK_H_
#define TROUPE_ASYNC_TASK_H_

#include <coroutine>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "async/internal/context.h"
#include "async/internal/trampoline.h"
#include "base/check.h"
#include "threads/result.h"

namespace troupe {

template <typename T = void>
class Task;

// TaskResult<T>
//
// What awaiting a `Task<T>` gives: `absl::StatusOr<T>`, or `absl::Status`
// when T is void or absl::Status.
template <typename T>
struct TaskResultOf {
  using type = Result<T>;
};
template <>
struct TaskResultOf<absl::Status> {
  using type = absl::Status;
};
template <typename T>
using TaskResult = typename TaskResultOf<T>::type;

namespace async_internal {

// A coroutine frame's storage, counted in builds with assertions so that
// tests can see that every frame was freed.
void* AllocateFrame(size_t size);
void FreeFrame(void* frame, size_t size) noexcept;

// Frames allocated and not yet freed; always 0 when NDEBUG is defined
// (counting is off there, to keep the allocation free of shared writes).
long LiveFrames();
inline constexpr bool kCountsFrames =
#ifdef NDEBUG
    false;
#else
    true;
#endif

// The status for an exception that escaped a task's body.
absl::Status StatusFromTaskException();

// What every task's promise has: lazy start, a continuation resumed at the
// end through the trampoline (internal/trampoline.h), pooled frames, and the
// context of the strand it runs in (internal/context.h), which an awaited
// task inherits from its awaiter.
class PromiseBase {
 public:
  static void* operator new(size_t size) { return AllocateFrame(size); }
  static void operator delete(void* frame, size_t size) noexcept { FreeFrame(frame, size); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  // At the end the frame stays suspended (its owner, the Task, destroys it)
  // and whoever awaited the task resumes, as the trampoline's next step. A
  // task nobody awaits is the root of its strand, which owns the frame and
  // learns of its end (TaskContext::RootEnded()).
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    void await_suspend(std::coroutine_handle<Promise> self) noexcept {
      if (std::coroutine_handle<> awaiting = self.promise().continuation_) {
        Transfer(awaiting);
      } else {
        self.promise().context_->RootEnded(self);  // may destroy the frame
      }
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void set_continuation(std::coroutine_handle<> continuation) { continuation_ = continuation; }
  std::coroutine_handle<> continuation() const { return continuation_; }

  TaskContext* context() const { return context_; }
  void set_context(TaskContext* context) { context_ = context; }

 private:
  std::coroutine_handle<> continuation_;
  TaskContext* context_ = nullptr;
};

// The promises troupe's awaitables can be awaited from: they read the
// strand's context from the awaiting promise.
template <typename Promise>
concept TaskPromise = std::is_base_of_v<PromiseBase, Promise>;

// The promise of a Task<T> for a T the body returns with `co_return`.
template <typename T>
class ValuePromise : public PromiseBase {
 public:
  Task<T> get_return_object() noexcept;

  template <typename U>
  requires std::is_convertible_v<U&&, TaskResult<T>>
  void return_value(U&& value) {  // a throwing copy reaches unhandled_exception
    result_.emplace(std::forward<U>(value));
  }
  void unhandled_exception() noexcept { result_.emplace(StatusFromTaskException()); }

  TaskResult<T> TakeResult() { return std::move(*result_); }

 private:
  std::optional<TaskResult<T>> result_;
};

// The promise of a Task<void>: `co_return;` or the end of the body.
class VoidPromise : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;

  void return_void() noexcept {}
  void unhandled_exception() noexcept { result_ = StatusFromTaskException(); }

  absl::Status TakeResult() { return std::move(result_); }

 private:
  absl::Status result_;
};

template <typename T>
using PromiseFor = std::conditional_t<std::is_void_v<T>, VoidPromise, ValuePromise<T>>;

// What `co_await std::move(task)` suspends on: starts the task in the
// awaiter's strand, to be resumed at its end.
template <typename T>
struct TaskAwaiter {
  std::coroutine_handle<PromiseFor<T>> task;

  bool await_ready() noexcept { return false; }
  template <TaskPromise Promise>
  void await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
    task.promise().set_continuation(awaiting);
    task.promise().set_context(awaiting.promise().context());
    Transfer(task);
  }
  TaskResult<T> await_resume() { return task.promise().TakeResult(); }
};

}  // namespace async_internal

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = async_internal::PromiseFor<T>;
  using Handle = std::coroutine_handle<promise_type>;

  // An empty task: awaiting it is a bug; it only exists to be assigned to.
  Task() = default;

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      Reset();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  ~Task() { Reset(); }

  // Task::valid()
  //
  // False for a default-constructed or moved-from task.
  bool valid() const { return handle_ != nullptr; }

  // co_await std::move(task)
  //
  // Starts the task; the awaiting coroutine resumes when it has finished,
  // with its result. Only an rvalue can be awaited, so that it is plain who
  // owns the task while it runs (the awaiting frame, until the await ends).
  auto operator co_await() && noexcept {
    TROUPE_CHECK(handle_ != nullptr,
                 "co_await on an empty Task (default-constructed or moved from)");
    return async_internal::TaskAwaiter<T>{handle_};
  }

  // For troupe's own drivers (BlockOn, Go): the frame, still owned by this task.
  Handle handle() const { return handle_; }

  // For troupe's own drivers: the frame, now owned by the caller (a strand
  // that runs it as its root, async/internal/root_runner.h).
  Handle Release() && { return std::exchange(handle_, nullptr); }

 private:
  friend promise_type;
  explicit Task(Handle handle) : handle_(handle) {}

  void Reset() {
    if (handle_) std::exchange(handle_, nullptr).destroy();
  }

  Handle handle_;
};

namespace async_internal {

template <typename T>
Task<T> ValuePromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<ValuePromise<T>>::from_promise(*this));
}

inline Task<void> VoidPromise::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<VoidPromise>::from_promise(*this));
}

}  // namespace async_internal
}  // namespace troupe

#endif  // TROUPE_ASYNC_TASK_H_
