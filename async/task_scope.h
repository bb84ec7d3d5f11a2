// -----------------------------------------------------------------------------
// File: task_scope.h
// -----------------------------------------------------------------------------
//
// `TaskScope`: structured concurrency — children started in a scope end
// before the scope does (Trio's nursery, tokio's JoinSet, Go's errgroup).
//
//   troupe::Task<absl::Status> FetchAll(troupe::Executor& pool, std::vector<Url> urls) {
//     troupe::TaskScope scope(pool);
//     for (Url& url : urls) {
//       scope.Go([](Url url) -> troupe::Task<absl::Status> { ... }, std::move(url));
//     }
//     co_return co_await scope.Join();   // every child ended; the first error
//   }
//
// - `Go(fn, args...)` starts a child on the scope's executor, as troupe::Go
//   does (the callable and arguments move into the child's frame). A child
//   returns a Task<absl::Status>, a Task<T> (its value is dropped: share
//   results through what the callable captures), or a plain value.
// - `co_await scope.Join()` waits, without holding a thread, until every
//   child has ended, and gives the first error (OK if none failed).
// - The first child to fail cancels the others: their waits end with
//   kCancelled, and that cancellation is not reported over the error.
// - Cancelling the task that awaits Join() cancels every child; Join()
//   still lasts until they have ended.
// - Destroying a scope whose children still run cancels them and blocks
//   until they have ended (on a pool worker it runs other pool tasks while
//   it waits, as Future::Wait() does). Awaiting Join() first is the normal
//   way; the destructor is the safety net that keeps a child from
//   outliving what it uses.
//
// Thread-safety: Go(), Cancel() and running() may be called from any thread,
// including from the children; one Join() at a time.

#ifndef TROUPE_ASYNC_TASK_SCOPE_H_
#define TROUPE_ASYNC_TASK_SCOPE_H_

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "async/internal/context.h"
#include "async/internal/root_runner.h"
#include "async/task.h"
#include "threads/clock.h"
#include "threads/executor.h"
#include "threads/future.h"
#include "threads/mutex.h"

namespace troupe {

class TaskScope;

namespace async_internal {

// One child's strand, linked into its scope's list while it runs; what it
// runs is in CallingScopeChild.
class ScopeChild : public RootStrand {
 public:
  ScopeChild(TaskScope* scope, Executor* executor) : RootStrand(executor), scope_(scope) {}
  virtual ~ScopeChild() = default;

  static void* operator new(size_t size) { return AllocateFrame(size); }
  static void operator delete(void* child, size_t size) noexcept { FreeFrame(child, size); }

  void set_root(std::coroutine_handle<> root) { root_ = root; }

  // The child's result, reduced to its status (a plain value is OK).
  template <typename R>
  void SetResult(R&& result) {
    if constexpr (std::is_convertible_v<R&&, absl::Status>) {
      status_ = std::forward<R>(result);
    } else if constexpr (requires { result.status(); }) {
      status_ = result.status();
    } else {
      status_ = absl::OkStatus();
    }
  }

  void Ended() noexcept override;
  void Abandon() noexcept override;
  Clock& clock() const override;  // the scope's

  const absl::Status& status() const { return status_; }

  ScopeChild* previous = nullptr;  // the scope's list, under its mutex
  ScopeChild* next = nullptr;

 protected:
  // The root task has ended (RootEnded): its frame goes.
  void DestroyRoot() noexcept { std::exchange(root_, nullptr).destroy(); }

 private:
  TaskScope* const scope_;
  std::coroutine_handle<> root_;
  absl::Status status_;
};

// A child running fn(args...): it keeps them (StoredCall) for as long as
// the task runs (StartRoot).
template <typename T, typename Fn, typename... Args>
class CallingScopeChild final : public ScopeChild {
 public:
  template <typename F, typename... A>
  CallingScopeChild(TaskScope* scope, Executor* executor, F&& fn, A&&... args)
      : ScopeChild(scope, executor), call_(std::forward<F>(fn), std::forward<A>(args)...) {}

  // fn(args...), once: for a coroutine, creates its (lazy) frame.
  auto Call() { return call_(); }

  // A coroutine, the child's root, has ended.
  void RootEnded(std::coroutine_handle<> root) noexcept override {
    SetResult(TakeRootResult<T>(root));
    DestroyRoot();
    Ended();  // frees this child
  }

 private:
  StoredCall<Fn, Args...> call_;
};

}  // namespace async_internal

class TaskScope {
 public:
  // Children run on `executor`; their sleeps use `clock`. Both must outlive
  // the scope.
  explicit TaskScope(Executor& executor, Clock& clock = DefaultClock())
      : executor_(executor), clock_(clock) {}
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;

  // Cancels the children still running and waits for them (see above).
  ~TaskScope();

  // TaskScope::Go()
  //
  // Starts `fn(args...)` as a child.
  template <typename Fn, typename... Args>
  requires std::invocable<std::decay_t<Fn> &&, std::decay_t<Args>&&...> void Go(Fn&& fn,
                                                                                Args&&... args);

  // TaskScope::Join()
  //
  // `co_await scope.Join()`: every child started so far has ended. Gives
  // the first error (kCancelled after Cancel()), or OK. The scope is then
  // fresh again: no error, not cancelled, ready for more children.
  auto Join() { return JoinAwaiter(this); }

  // TaskScope::Cancel()
  //
  // Cancels every running child, and those started before the next Join()
  // ends (they start cancelled: their first wait fails).
  void Cancel();

  // Children started and not yet ended.
  int running() const;

 private:
  friend class async_internal::ScopeChild;

  class JoinAwaiter final : public async_internal::Canceller {
   public:
    explicit JoinAwaiter(TaskScope* scope) : scope_(scope) {}
    bool await_ready() const noexcept { return false; }
    template <async_internal::TaskPromise Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
      return Suspend(awaiting.promise().context(), awaiting);
    }
    absl::Status await_resume();

   private:
    bool Suspend(async_internal::TaskContext* context, std::coroutine_handle<> awaiting);
    std::coroutine_handle<> CancelWait() noexcept override;

    friend class TaskScope;
    TaskScope* const scope_;
    async_internal::TaskContext* context_ = nullptr;
    std::coroutine_handle<> awaiting_;
    bool registered_ = false;
  };

  void Add(async_internal::ScopeChild* child);
  void ChildEnded(async_internal::ScopeChild* child);
  void CancelLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Executor& executor_;
  Clock& clock_;
  mutable Mutex mu_;
  async_internal::ScopeChild* children_ ABSL_GUARDED_BY(mu_) = nullptr;
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  JoinAwaiter* joiner_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Set by the destructor while it waits for the last child.
  std::optional<Promise<void>> all_ended_ ABSL_GUARDED_BY(mu_);
};

template <typename Fn, typename... Args>
requires std::invocable<std::decay_t<Fn> &&, std::decay_t<Args>&&...> void TaskScope::Go(
    Fn&& fn, Args&&... args) {
  using T = typename async_internal::RootResult<
      std::invoke_result_t<std::decay_t<Fn>&&, std::decay_t<Args>&&...>>::type;
  auto* child = new async_internal::CallingScopeChild<T, std::decay_t<Fn>, std::decay_t<Args>...>(
      this, &executor_, std::forward<Fn>(fn), std::forward<Args>(args)...);
  Add(child);  // before it can run, and end
  std::coroutine_handle<> root = async_internal::StartRoot<T>(child);
  if (root == nullptr) {  // it threw before it could start: the result is its error
    child->Ended();
    return;
  }
  child->set_root(root);
  executor_.Execute(async_internal::ResumeClosure(child, root));
}

}  // namespace troupe

#endif  // TROUPE_ASYNC_TASK_SCOPE_H_
