// -----------------------------------------------------------------------------
// File: block_on.h
// -----------------------------------------------------------------------------
//
// `BlockOn()`: run a task from ordinary code and wait for its result — the
// bridge from a thread (main, a test, a Thread) into async code.
//
//   troupe::Task<int> Compute();
//
//   int main() {
//     absl::StatusOr<int> r = troupe::BlockOn(Compute());
//   }
//
// The task starts on the calling thread and runs there until it first waits
// for something; whoever ends that wait resumes it, on their thread, and the
// caller sleeps until the task has finished. Do not call it on a thread that
// the task needs in order to finish (a pool worker the task waits on, an
// actor's turn): that is a deadlock, as a blocking Future::Get() is.

#ifndef TROUPE_ASYNC_BLOCK_ON_H_
#define TROUPE_ASYNC_BLOCK_ON_H_

#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "async/internal/context.h"
#include "async/internal/trampoline.h"
#include "async/task.h"
#include "threads/clock.h"
#include "threads/notification.h"

namespace troupe {
namespace async_internal {

// A frame that awaits one task and, once suspended at its end, wakes the
// thread blocked in BlockOn. Waking from final_suspend, not from the body,
// means the blocked thread can destroy this frame as soon as it wakes: the
// coroutine no longer runs.
template <typename T>
class BlockingRunner {
 public:
  struct promise_type : PromiseBase {
    Notification* done = nullptr;

    BlockingRunner get_return_object() noexcept {
      return BlockingRunner(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    struct WakeOnEnd {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> self) noexcept {
        self.promise().done->Notify();
      }
      void await_resume() noexcept {}
    };
    WakeOnEnd final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    // The awaited task turns exceptions into statuses, and the body below
    // only moves a result: nothing can escape.
    void unhandled_exception() noexcept { std::terminate(); }
  };

  BlockingRunner(BlockingRunner&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)) {}
  ~BlockingRunner() {
    if (handle_) handle_.destroy();
  }

  void Start(TaskContext* context, Notification* done) {
    handle_.promise().done = done;
    handle_.promise().set_context(context);
    RunTrampoline(handle_);
  }

 private:
  explicit BlockingRunner(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  std::coroutine_handle<promise_type> handle_;
};

// A BlockOn strand: no executor, so each wait is resumed on the thread that
// ends it, and nothing can abandon it.
class BlockingContext final : public TaskContext {
 public:
  explicit BlockingContext(Clock* clock) : TaskContext(nullptr), clock_(clock) {}
  ~BlockingContext() = default;

  Clock& clock() const override { return *clock_; }

 private:
  Clock* const clock_;
};

template <typename T>
BlockingRunner<T> RunInto(Task<T> task, std::optional<TaskResult<T>>* result) {
  result->emplace(co_await std::move(task));
}

}  // namespace async_internal

// BlockOn()
//
// Runs `task` to its end and returns its result; blocks the calling thread
// while the task waits. Its sleeps use `clock` (the test kit passes its
// virtual clock). Nothing can cancel a BlockOn strand from outside.
template <typename T>
TaskResult<T> BlockOn(Task<T> task, Clock& clock = DefaultClock()) {
  std::optional<TaskResult<T>> result;
  Notification done;
  async_internal::BlockingContext context(&clock);
  async_internal::BlockingRunner<T> runner = async_internal::RunInto(std::move(task), &result);
  runner.Start(&context, &done);
  // acquire (in the wait): the result written by whichever thread ran the
  // task's end happens-before this read.
  done.WaitForNotification();
  return std::move(*result);
}

}  // namespace troupe

#endif  // TROUPE_ASYNC_BLOCK_ON_H_
