// -----------------------------------------------------------------------------
// File: internal/root_runner.h
// -----------------------------------------------------------------------------
//
// What Go(), TaskScope and actor tasks share: a root strand (a context that
// learns when its task has ended), and the two ways to start one:
// - a task as the root itself (BindRoot): no frame beyond the task's; the
//   strand owns the frame and, at the task's end, takes its result and
//   destroys it (TakeRootResult, from RootEnded());
// - a frame that runs a plain callable as its task (RunPlain).
// StartRoot picks the one that fits a callable kept in the strand
// (StoredCall).
//
// Not a public header.

#ifndef TROUPE_ASYNC_INTERNAL_ROOT_RUNNER_H_
#define TROUPE_ASYNC_INTERNAL_ROOT_RUNNER_H_

#include <coroutine>
#include <exception>
#include <functional>
#include <tuple>
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

// BindRoot()
//
// Makes `task` the root of `strand`: the strand owns its frame from now on
// (to resume, to destroy if abandoned) and hears of its end through
// RootEnded(). Returns the frame to start.
template <typename T>
std::coroutine_handle<> BindRoot(Task<T> task, RootStrand* strand) {
  std::coroutine_handle<PromiseFor<T>> root = std::move(task).Release();
  root.promise().set_context(strand);
  return root;
}

// TakeRootResult()
//
// In RootEnded(): the result of the root task, a Task<T>.
template <typename T>
TaskResult<T> TakeRootResult(std::coroutine_handle<> root) {
  return std::coroutine_handle<PromiseFor<T>>::from_address(root.address()).promise().TakeResult();
}

// A callable and its arguments, kept in a root strand (a Go task's state,
// a scope's child, an actor's background task): a coroutine's frame refers
// to them (a lambda's captures, reference parameters) until its end, and
// the strand outlives its task. Fn and Args are decayed types.
template <typename Fn, typename... Args>
class StoredCall {
 public:
  template <typename F, typename... A>
  explicit StoredCall(F&& fn, A&&... args)
      : fn_(std::forward<F>(fn)), args_(std::forward<A>(args)...) {}

  // Calls fn(args...), once (both are moved from): for a coroutine,
  // creates its frame.
  auto operator()() {
    return std::apply(
        [this](Args&... args) { return std::invoke(std::move(fn_), std::move(args)...); }, args_);
  }

 private:
  Fn fn_;
  std::tuple<Args...> args_;
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

// Runs a plain callable, `strand->Call()`, and hands its result (or the
// exception it threw, as a status) to `strand->SetResult()`.
template <typename T, typename Strand>
RootRunner RunPlain(Strand* strand) {
  try {
    if constexpr (std::is_void_v<T>) {
      strand->Call();
      strand->SetResult(absl::OkStatus());
    } else {
      strand->SetResult(strand->Call());
    }
  } catch (...) {
    strand->SetResult(StatusFromTaskException());
  }
  co_return;
}

// StartRoot()
//
// Creates the frame that runs `strand`'s call (`strand->Call()`, fn(args...)
// kept in the strand by a StoredCall) and binds it to the strand: a
// coroutine's own frame becomes the root, whose end the strand hears of in
// RootEnded(); a plain callable runs in a RootRunner frame. Returns the
// frame to start, or null if creating it threw (moving an argument into
// the coroutine's frame, allocating it): then the strand has its result,
// the exception as a status, and must end without starting.
template <typename T, typename Strand>
std::coroutine_handle<> StartRoot(Strand* strand) noexcept {
  try {
    if constexpr (std::is_same_v<decltype(strand->Call()), Task<T>>) {
      return BindRoot(strand->Call(), strand);
    } else {
      return RunPlain<T>(strand).BindTo(strand);
    }
  } catch (...) {
    strand->SetResult(StatusFromTaskException());
    return nullptr;
  }
}

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_ROOT_RUNNER_H_
