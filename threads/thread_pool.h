// -----------------------------------------------------------------------------
// File: thread_pool.h
// -----------------------------------------------------------------------------
//
// `ThreadPool`: a work-stealing pool of OS threads, the scheduler under
// troupe's actors and a general-purpose executor.
//
//   troupe::ThreadPool pool(4);                       // 0 = one per core
//   pool.Execute([] { Log(); });                      // fire and forget
//   troupe::Future<int> f = pool.Submit([] { return 6 * 7; });
//   absl::StatusOr<int> answer = f.Get();
//
//   absl::Status s = pool.ParallelFor(0, n, /*grain=*/1024, [&](int64_t i) { out[i] = f(in[i]); });
//   absl::StatusOr<std::vector<double>> roots =
//       pool.ParallelMap(inputs, [](int x) { return std::sqrt(x); }, /*chunk=*/256);
//
// When to use: CPU-bound tasks, fork-join, many short tasks. When not to: a
// task that blocks for long (I/O, sleeping) holds a worker hostage; give it a
// `Thread` of its own.
//
// Design
//   * Each worker owns a Chase–Lev deque (internal/work_stealing_deque.h).
//     A task submitted from a worker goes to that worker's deque (LIFO for
//     the owner, cache-warm); idle workers steal from the other end.
//   * Tasks from outside go to a lock-free injection queue
//     (internal/injection_queue.h) that stores them inline, without an
//     allocation per task, in blocks it recycles (a steady flow allocates
//     nothing); a worker takes its share of the queue at a time (its
//     length over the workers, 16 to 256, leaving a task for each other
//     worker: internal/pool_worker.h). Once every 61 takes a worker looks
//     there before its own deque, so tasks that keep refilling one deque
//     cannot starve outside work; Defer() puts a task there on purpose,
//     behind everything waiting, and wakes a worker for it only if other work
//     waits too (otherwise the caller's worker comes to it next; if the
//     caller blocks first, it wakes one as it goes to sleep, below).
//   * A woken actor (internal/pool_job.h) or task (ExecuteNext()) goes to
//     the calling worker's LIFO slot: it runs right after the current
//     task, on the same core, unstealable, so that two actors or tasks
//     passing messages stay on one core instead of paying a cross-core
//     hand-off per message. A task that then blocks its worker (it sleeps
//     on a futex: a channel, a mutex, a latch) first moves the slot's
//     hand-off to its deque, where others may steal it: what it waits for
//     may be that very hand-off. It wakes a worker for that, or for any
//     work queued that it would have come to.
//   * The deque holds pointers to tasks; the nodes are recycled through a
//     small per-thread cache, so a local submit does not call malloc.
//   * Idle workers first search (spin, then yield), then sleep, each on a
//     futex of its own (internal/idle_stack.h). A submit wakes a sleeper
//     only if nobody is searching and someone sleeps (two seq_cst loads
//     otherwise), so a burst of submits costs one wake-up, not one each;
//     it wakes the worker that went to sleep last, whose core is the most
//     likely idle and whose cache the warmest. No wake-up is lost: the
//     submitter does "publish task; read searching, sleepers", a worker
//     going to sleep "get on the idle stack; sleepers++; searching--; look
//     for tasks once more", all seq_cst, so either the submitter sees the
//     sleeper (and wakes the top of the stack, which holds the sleeper or
//     one that went to sleep after it) or the worker sees the task.
//   * `Future::Wait()` on a worker runs other tasks while it waits, so
//     fork-join cannot deadlock on a small pool.
//   * Priorities (priority.h): high and low work have injection queues of
//     their own. A worker looks for high work before each task (one load
//     of a counter that changes only when high work comes and goes), and
//     at the low queue when it finds nothing else, and also at least once
//     per kLowPriorityAgingInterval tasks it runs, so that low work is
//     never starved. Normal work takes the paths above, unchanged.
//
// Errors: a task that throws fails its own future (kInternal, with what())
// and the worker carries on. After `Shutdown()` begins, submits from outside
// the pool are rejected: `TryExecute` returns false, `Execute` logs and
// counts the rejection, `Submit`'s future fails with kCancelled. Tasks the
// pool's own tasks submit while it drains are still run.
//
// Thread-safety: every method may be called from any thread, except that
// Shutdown() must not be called from one of the pool's own workers.

#ifndef TROUPE_THREADS_THREAD_POOL_H_
#define TROUPE_THREADS_THREAD_POOL_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/cache_line.h"
#include "threads/executor.h"
#include "threads/future.h"
#include "threads/internal/idle_stack.h"
#include "threads/internal/injection_queue.h"
#include "threads/internal/pool_job.h"
#include "threads/mutex.h"
#include "threads/priority.h"
#include "threads/thread.h"

namespace troupe {

struct ThreadPoolOptions {
  // Number of worker threads; 0 means std::thread::hardware_concurrency().
  int workers = 0;
  // Workers are named "<name>-<index>" (truncated to 15 bytes by the OS).
  std::string name = "troupe-pool";
};

// Counters for monitoring; each is a snapshot.
struct ThreadPoolStats {
  int workers = 0;
  int64_t queued = 0;     // waiting in any queue (approximate while running)
  int64_t running = 0;    // being executed right now (approximate)
  int64_t executed = 0;   // completed since start
  int64_t steals = 0;     // tasks taken from another worker's deque
  int64_t rejected = 0;   // submitted after shutdown began
  int64_t cancelled = 0;  // dropped by ShutdownNow()
};

// One worker's counters, for monitoring; a snapshot (approximate while the
// worker runs). "Idle" is the time a worker spent with nothing to run:
// searching for work, then asleep.
struct WorkerStats {
  int index = 0;
  int64_t executed = 0;  // tasks and jobs run
  int64_t steals = 0;    // tasks taken from another worker's deque
  int64_t parks = 0;     // times it went to sleep for lack of work
  absl::Duration idle;   // total idle time, the current idle spell included
  absl::Duration uptime;
  // The share of its uptime spent running tasks: 1 - idle / uptime.
  double busy_fraction = 0;
  // The job (internal/pool_job.h: an actor's turn, for the actor layer) it
  // runs now, or null. Compare it, never dereference it: it may be gone.
  const threads_internal::PoolJob* running_job = nullptr;
};

class ThreadPool final : public Executor {
 public:
  explicit ThreadPool(int workers = 0);
  explicit ThreadPool(ThreadPoolOptions options);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Graceful: runs what is queued, then joins the workers.
  ~ThreadPool() override;

  // ThreadPool::Execute()
  //
  // Runs `task` on some worker. After shutdown it is destroyed unrun, and the
  // rejection is logged and counted.
  void Execute(Closure task) override;

  // ThreadPool::Execute(task, priority)
  //
  // Runs `task` at `priority` (priority.h): a high task before any waiting
  // normal or low work, a low task when nothing else waits (or by the aging
  // rule). kNormal is Execute(task). After shutdown, as Execute(task). An
  // invalid priority (an integer cast to Priority) is logged and runs as
  // normal.
  void Execute(Closure task, Priority priority);

  // ThreadPool::TryExecute()
  //
  // Like Execute(), but returns false (and destroys the task) after shutdown.
  [[nodiscard]] bool TryExecute(Closure task);

  // ThreadPool::Defer()
  //
  // Like Execute(), but queued behind the work already waiting: the task
  // goes to the pool's global FIFO queue even when a worker calls, not to
  // that worker's LIFO deque. For a task that yields so that others run
  // first (an actor that used up its fairness budget). When nothing else is
  // waiting, no other worker is woken for it: this worker runs it next.
  // While the pool drains, a worker's deferred task still runs.
  void Defer(Closure task) override;

  // ThreadPool::ExecuteNext()
  //
  // From one of this pool's workers: `task` runs on this worker as soon as
  // the current task returns, ahead of everything queued, without waking
  // another worker, and cannot be stolen (the LIFO slot, below). A task
  // already waiting there moves to the worker's deque, where others may
  // steal it; after 16 hand-offs in a row the task queues behind the
  // waiting work instead; if the current task blocks the worker, the
  // hand-off moves to the deque first. From any other thread: Execute().
  void ExecuteNext(Closure task) override;

  // ThreadPool::Submit()
  //
  // Runs `fn()` on some worker and returns a future of its result. An
  // exception thrown by `fn` fails the future with kInternal; a task dropped
  // by shutdown fails it with kCancelled.
  template <typename Fn, typename R = std::invoke_result_t<std::decay_t<Fn>&>>
  Future<R> Submit(Fn&& fn);

  // ThreadPool::ParallelFor()
  //
  // Calls `fn(i)` for every i in [begin, end), in chunks of `grain` indices,
  // on the workers and on the calling thread, and returns when all are done.
  // Returns the first error: kInternal if `fn` threw (remaining chunks are
  // skipped), kInvalidArgument for grain < 1, kCancelled if the pool shut
  // down. An empty range returns OK at once.
  template <typename Fn>
  absl::Status ParallelFor(int64_t begin, int64_t end, int64_t grain, Fn&& fn);

  // ThreadPool::ParallelMap()
  //
  // `fn` applied to every element of `range` (anything with std::size and
  // random-access iterators), in order, computed in chunks of `chunk`
  // elements on the workers and the calling thread.
  template <typename Range, typename Fn>
  auto ParallelMap(const Range& range, Fn&& fn, int64_t chunk) -> absl::StatusOr<
      std::vector<std::decay_t<std::invoke_result_t<Fn&, decltype(*std::begin(range))>>>>;

  // ThreadPool::Shutdown()
  //
  // Stops taking work from outside, runs everything queued (and whatever
  // those tasks submit), then joins the workers. Idempotent.
  void Shutdown();

  // ThreadPool::ShutdownNow()
  //
  // Stops taking work, lets running tasks finish, and destroys queued tasks
  // unrun (their futures fail with kCancelled). Joins the workers.
  void ShutdownNow();

  int num_workers() const { return static_cast<int>(workers_.size()); }
  ThreadPoolStats stats() const;
  std::vector<WorkerStats> worker_stats() const;

  // ThreadPool::Current()
  //
  // The pool whose worker is calling, or null.
  static ThreadPool* Current();

 private:
  friend class threads_internal::PoolJobs;
  struct Worker;
  class WorkerHelper;
  class IdleSpell;

  // The worker running on this thread, if any (a thread_local).
  static Worker*& CurrentWorker();

  bool Push(Closure& task);
  // Push() at a priority. While the pool drains, a worker's task whose
  // queue is closed goes to its deque, to run anyway.
  bool PushAt(Closure& task, Priority priority);
  // Execute() at a priority, for the job paths.
  void ExecuteAt(Closure task, Priority priority);
  void WakeOneIfNoneSearching();
  void WakeOne();
  void WorkerLoop(Worker* self);
  Closure TakeTask(Worker* self);
  Closure TakeFromBatch(Worker* self);  // the injector batch, refilled if empty
  bool RunOne(Worker* self);
  bool RefillFromInjector(Worker* self);
  bool HasVisibleWork() const;
  void Run(Worker* self, Closure& task);
  using PoolJob = threads_internal::PoolJob;
  void ExecuteNext(PoolJob* job);
  void ExecuteNext(PoolJob* job, Priority priority);
  void Defer(PoolJob* job);
  void Defer(PoolJob* job, Priority priority);
  // One task from `queue` (the high or the low one), or null if it is empty
  // or another worker holds its consumer lock.
  static Closure TakeOne(threads_internal::InjectionQueue<Closure>& queue);
  Closure TakeHigh();  // TakeOne(*high_), counted in high_queued_
  // A task that runs `job` through RunMarked(), for the paths that queue it.
  Closure JobTask(PoolJob* job);
  void RunJob(Worker* self, PoolJob* job);
  // Moves what only this worker may run - the LIFO slots' hand-offs and the
  // rest of its injector batch - to its deque, where others may steal it
  // (the worker is about to block), and wakes a worker for it or for
  // anything else queued that this worker would have come to.
  void HandOverPrivateWork(Worker* self);
  static void RunMarked(Worker* self, PoolJob* job);
  void Join();

  const std::string name_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<Thread<void>> threads_;

  // Tasks submitted from outside the pool; closed by Shutdown().
  std::unique_ptr<threads_internal::InjectionQueue<Closure>> injector_;
  // High- and low-priority work, from any thread; closed by Shutdown().
  std::unique_ptr<threads_internal::InjectionQueue<Closure>> high_;
  std::unique_ptr<threads_internal::InjectionQueue<Closure>> low_;

  std::atomic<bool> stopping_{false};    // Shutdown() began
  std::atomic<bool> cancelling_{false};  // ShutdownNow(): drop instead of run
  // The sleep protocol (see the file comment). Each on its own cache line:
  // every submit reads sleepers_, which changes only when a worker sleeps or
  // wakes, while searching_ changes whenever a worker runs dry, and must not
  // drag sleepers_'s line away from the submitter each time.
  alignas(kCacheLineSize) std::atomic<int> sleepers_{0};   // asleep or about to be
  alignas(kCacheLineSize) std::atomic<int> searching_{0};  // looking for work
  // The sleepers themselves, the last to sleep woken first.
  alignas(kCacheLineSize) threads_internal::IdleStack idle_;
  // Tasks in high_, counted after the push and after the pop: a hint that
  // lets every turn test for high work with one load of a line that
  // changes only when high work comes and goes. Relaxed: a stale zero
  // costs one task's delay; no wake-up depends on it (HasVisibleWork()
  // asks the queue itself).
  alignas(kCacheLineSize) std::atomic<int64_t> high_queued_{0};

  std::atomic<int64_t> rejected_{0};
  std::atomic<int64_t> cancelled_{0};
  Mutex join_mu_;  // serialises Shutdown()/ShutdownNow()
  bool joined_ ABSL_GUARDED_BY(join_mu_) = false;
};

// DefaultThreadPool()
//
// A process-wide pool with one worker per core, created on first use and
// deliberately never destroyed (so it is usable during static destruction).
ThreadPool& DefaultThreadPool();

// ---------------------------------------------------------------------------
// Implementation details.
// ---------------------------------------------------------------------------

namespace threads_internal {

// One allocation per Submit(): the future's shared state also holds the
// closure. The task handed to the pool is just a counted pointer to it,
// small enough to be stored inline in the pool's queues.
template <typename R, typename Fn>
struct SubmitState : SharedState<R> {
  explicit SubmitState(Fn f) : fn(std::move(f)) {}
  Fn fn;
};

// The task: runs the closure into the state; if the pool drops it unrun, its
// destructor fails the future with kCancelled instead.
template <typename R, typename Fn>
class SubmittedTask {
 public:
  explicit SubmittedTask(CountedPtr<SubmitState<R, Fn>> state) : state_(std::move(state)) {}
  SubmittedTask(SubmittedTask&&) noexcept = default;
  SubmittedTask& operator=(SubmittedTask&&) noexcept = default;
  ~SubmittedTask() {
    if (state_ != nullptr) {
      state_->SetResult(absl::CancelledError("the thread pool shut down before the task ran"));
    }
  }
  void operator()() && {
    CountedPtr<SubmitState<R, Fn>> state = std::move(state_);
    state->SetResult(RunCapturingExceptions(state->fn, "thread pool task"));
  }

 private:
  CountedPtr<SubmitState<R, Fn>> state_;
};

}  // namespace threads_internal

template <typename Fn, typename R>
Future<R> ThreadPool::Submit(Fn&& fn) {
  using State = threads_internal::SubmitState<R, std::decay_t<Fn>>;
  auto [task_side, future_side] = threads_internal::NewCountedPair<State>(std::forward<Fn>(fn));
  Future<R> future = threads_internal::FutureFromState<R>(std::move(future_side));
  Execute(threads_internal::SubmittedTask<R, std::decay_t<Fn>>(std::move(task_side)));
  return future;
}

template <typename Fn>
absl::Status ThreadPool::ParallelFor(int64_t begin, int64_t end, int64_t grain, Fn&& fn) {
  if (grain < 1) return absl::InvalidArgumentError("ParallelFor: grain must be >= 1");
  if (begin >= end) return absl::OkStatus();
  const int64_t chunks = (end - begin + grain - 1) / grain;

  struct Shared {
    std::atomic<int64_t> next_chunk{0};
    std::atomic<bool> failed{false};
    Mutex mu;
    absl::Status first_error ABSL_GUARDED_BY(mu);
  } shared;

  // Each participant claims chunks until none are left (or one failed).
  auto run_chunks = [&]() {
    while (!shared.failed.load(std::memory_order_relaxed)) {
      const int64_t chunk = shared.next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (chunk >= chunks) return;
      const int64_t lo = begin + chunk * grain;
      const int64_t hi = std::min(end, lo + grain);
      try {
        for (int64_t i = lo; i < hi; ++i) fn(i);
      } catch (...) {
        absl::Status error = threads_internal::StatusFromCurrentException("ParallelFor body");
        MutexLock lock(shared.mu);
        if (shared.first_error.ok()) shared.first_error = std::move(error);
        shared.failed.store(true, std::memory_order_relaxed);
      }
    }
  };

  const int64_t helpers = std::min<int64_t>(num_workers(), chunks - 1);
  std::vector<Future<void>> done;
  done.reserve(static_cast<size_t>(helpers));
  for (int64_t h = 0; h < helpers; ++h) done.push_back(Submit(run_chunks));
  run_chunks();
  absl::Status status;
  for (Future<void>& f : done) {
    absl::Status s = f.Get();  // On a worker, Get() helps with other tasks.
    if (status.ok() && !s.ok()) status = s;
  }
  // A helper cancelled by shutdown leaves its chunks to the caller, which
  // already ran every remaining one: only a real failure counts.
  MutexLock lock(shared.mu);
  if (!shared.first_error.ok()) return shared.first_error;
  if (!status.ok() && !absl::IsCancelled(status)) return status;
  return absl::OkStatus();
}

template <typename Range, typename Fn>
auto ThreadPool::ParallelMap(const Range& range, Fn&& fn, int64_t chunk) -> absl::StatusOr<
    std::vector<std::decay_t<std::invoke_result_t<Fn&, decltype(*std::begin(range))>>>> {
  using R = std::decay_t<std::invoke_result_t<Fn&, decltype(*std::begin(range))>>;
  const auto first = std::begin(range);
  const int64_t size = static_cast<int64_t>(std::size(range));
  std::vector<std::optional<R>> slots(static_cast<size_t>(size));
  absl::Status status = ParallelFor(
      0, size, chunk, [&](int64_t i) { slots[static_cast<size_t>(i)].emplace(fn(*(first + i))); });
  if (!status.ok()) return status;
  std::vector<R> out;
  out.reserve(static_cast<size_t>(size));
  for (std::optional<R>& slot : slots) out.push_back(std::move(*slot));
  return out;
}

namespace threads_internal {

inline void PoolJobs::ExecuteNext(ThreadPool& pool, PoolJob* job) { pool.ExecuteNext(job); }

inline void PoolJobs::ExecuteNext(ThreadPool& pool, PoolJob* job, Priority priority) {
  pool.ExecuteNext(job, priority);
}

inline void PoolJobs::Defer(ThreadPool& pool, PoolJob* job) { pool.Defer(job); }

inline void PoolJobs::Defer(ThreadPool& pool, PoolJob* job, Priority priority) {
  pool.Defer(job, priority);
}

}  // namespace threads_internal
}  // namespace troupe

#endif  // TROUPE_THREADS_THREAD_POOL_H_
