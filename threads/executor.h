// -----------------------------------------------------------------------------
// File: executor.h
// -----------------------------------------------------------------------------
//
// `Executor`: anything that runs closures — the interface a Future's
// continuation and the actor scheduler are given, so that tests and
// applications can supply their own (an inline executor, a deterministic
// queue, a thread pool).
//
//   class ThreadPool : public troupe::Executor { ... };
//   future.Then(pool, [](absl::StatusOr<int> v) { ... });
//   future.Then(troupe::InlineExecutor(), ...);   // runs where the value arrives
//
// Contract: Execute() runs the task exactly once, or — if the executor has
// shut down — destroys it without running it (a Future waiting on it then
// fails with a clear error; nothing hangs). It never throws.

#ifndef TROUPE_THREADS_EXECUTOR_H_
#define TROUPE_THREADS_EXECUTOR_H_

#include <utility>

#include "absl/functional/any_invocable.h"

namespace troupe {

// A unit of work handed to an executor: called once. (`Task<T>`, in async/,
// is the coroutine type; a closure is plain code.)
using Closure = absl::AnyInvocable<void() &&>;

class Executor {
 public:
  virtual ~Executor() = default;

  // Executor::Execute()
  //
  // Runs `task` some time later (or now), on a thread of the executor's choosing.
  virtual void Execute(Closure task) = 0;

  // Executor::Defer()
  //
  // Like Execute(), but behind the work already waiting where the executor
  // has a queue to be behind (a ThreadPool worker's own deque is LIFO; this
  // is FIFO): for work that yields so that others run first.
  virtual void Defer(Closure task) { Execute(std::move(task)); }

  // Executor::ExecuteNext()
  //
  // Like Execute(), with a hint: `task` continues what the caller is about
  // to finish (it was woken by the caller, which is going to wait or
  // return). An executor with per-thread queues runs it on the calling
  // thread as soon as the current task returns, without waking another
  // thread; one without them runs it as Execute() does.
  virtual void ExecuteNext(Closure task) { Execute(std::move(task)); }

  // Executor::runs_hand_offs_inline()
  //
  // True if a thread running one of this executor's tasks may run a
  // hand-off (what ExecuteNext() would get) itself, right after the current
  // task's step, without passing it to the executor: any of the executor's
  // threads may run any of its tasks, and nothing observes the individual
  // steps (a ThreadPool, not a deterministic test scheduler). Coroutine
  // resumptions use it (async/internal/context.h); a thread that blocks
  // hands such a hand-off back to the executor first.
  bool runs_hand_offs_inline() const { return runs_hand_offs_inline_; }

 protected:
  void set_runs_hand_offs_inline() { runs_hand_offs_inline_ = true; }

 private:
  bool runs_hand_offs_inline_ = false;
};

// InlineExecutor()
//
// Runs each task immediately on the calling thread. A process-wide instance.
Executor& InlineExecutor();

}  // namespace troupe

#endif  // TROUPE_THREADS_EXECUTOR_H_
