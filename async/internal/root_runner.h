// -----------------------------------------------------------------------------
// File: internal/root_runner.h
// -----------------------------------------------------------------------------
//
// What Go() and TaskScope share: a root strand (a context that learns when
// its task has ended) and the frame that runs a callable as its task.
//
// Not a public header.

#ifndef TROUPE_ASYNC_INTERNAL_ROOT_RUNNER_H_
#define TROUPE_ASYNC_INTERNAL_ROOT_RUNNER_H_

#include <coroutine>
#include <exception>
#include <functional>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "async/internal/context.h"
#include "async/task.h"

namespace troupe::async_internal {

// A strand started from outside any task: by Go() or a TaskScope.
class RootStrand : public TaskContext {
 public:
  using TaskContext::TaskContext;

  // RootStrand::Ended()
  //
  // The task has ended, its result handed over, its frames destroyed.
  virtual void Ended() noexcept = 0;

 protected:
  ~RootStrand() = default;
};

// The result type of a root strand running a callable that returns R.
template <typename R>
struct RootResult {
  using type = R;  // a plain callable's result
};
template <typename T>
struct RootResult<Task<T>> {
  using type = T;  // a coroutine's
};

// The frame that runs a root strand: it owns the callable and its
// arguments, hands the result to the strand, and at its end destroys itself
// before telling the strand, so that whoever waits sees every destructor run.
class RootRunner {
 public:
  struct promise_type : PromiseBase {
    RootStrand* strand = nullptr;

    RootRunner get_return_object() noexcept {
      return RootRunner(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    struct EndAwaiter {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> self) noexcept {
        RootStrand* strand = self.promise().strand;
        self.destroy();
        strand->Ended();
      }
      void await_resume() noexcept {}
    };
    EndAwaiter final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    // The body catches what the callable throws; what is left (a result
    // whose move throws) has nowhere to go.
    void unhandled_exception() noexcept { std::terminate(); }
  };

  std::coroutine_handle<promise_type> handle() const { return handle_; }

  // RootRunner::BindTo()
  //
  // Runs the frame in `strand` (its context) and tells the strand at its
  // end. Returns the frame to start.
  std::coroutine_handle<promise_type> BindTo(RootStrand* strand) const {
    handle_.promise().strand = strand;
    handle_.promise().set_context(strand);
    return handle_;
  }

 private:
  explicit RootRunner(std::coroutine_handle<promise_type> handle) : handle_(handle) {}
  std::coroutine_handle<promise_type> handle_;
};

// Runs fn(args...) — a coroutine returning Task<T>, or a plain callable —
// and hands its result (or the exception it threw, as a status) to
// `sink->SetResult()`.
template <typename T, typename Sink, typename Fn, typename... Args>
RootRunner RunRoot(Sink* sink, Fn fn, Args... args) {
  using R = std::invoke_result_t<Fn&&, Args&&...>;
  if constexpr (std::is_same_v<R, Task<T>>) {
    Task<T> task;
    try {
      task = std::invoke(std::move(fn), std::move(args)...);
    } catch (...) {  // copying an argument into the coroutine's frame threw
      sink->SetResult(StatusFromTaskException());
      co_return;
    }
    sink->SetResult(co_await std::move(task));
  } else {
    try {
      if constexpr (std::is_void_v<R>) {
        std::invoke(std::move(fn), std::move(args)...);
        sink->SetResult(absl::OkStatus());
      } else {
        sink->SetResult(std::invoke(std::move(fn), std::move(args)...));
      }
    } catch (...) {
      sink->SetResult(StatusFromTaskException());
    }
  }
}

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_ROOT_RUNNER_H_
