#include "threads/thread_pool.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/logging.h"
#include "base/monotonic.h"
#include "threads/atomics.h"
#include "threads/internal/futex.h"
#include "threads/internal/pool_worker.h"

namespace troupe {

using threads_internal::Bump;
using threads_internal::kMaxLifoChain;
using threads_internal::NewTaskNode;

// Here, not with the worker loop: the submitting paths read it on every call.
ThreadPool::Worker*& ThreadPool::CurrentWorker() {
  thread_local Worker* worker = nullptr;
  return worker;
}

namespace {

int WorkerCount(int requested) {
  if (requested > 0) return requested;
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

ThreadPool::ThreadPool(int workers) : ThreadPool(ThreadPoolOptions{workers, "troupe-pool"}) {}

ThreadPool::ThreadPool(ThreadPoolOptions options)
    : name_(std::move(options.name)),
      injector_(std::make_unique<threads_internal::InjectionQueue<Closure>>()),
      high_(std::make_unique<threads_internal::InjectionQueue<Closure>>()),
      low_(std::make_unique<threads_internal::InjectionQueue<Closure>>()),
      idle_(static_cast<size_t>(WorkerCount(options.workers))) {
  set_runs_hand_offs_inline();  // every worker may run every task
  const int count = WorkerCount(options.workers);
  workers_.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) workers_.push_back(std::make_unique<Worker>(this, i));
  threads_.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    Worker* worker = workers_[static_cast<size_t>(i)].get();
    threads_.emplace_back(absl::StrCat(name_, "-", i), [this, worker] { WorkerLoop(worker); });
  }
}

ThreadPool::~ThreadPool() { Shutdown(); }

ThreadPool* ThreadPool::Current() {
  Worker* worker = CurrentWorker();
  return worker != nullptr ? worker->pool : nullptr;
}

void ThreadPool::Execute(Closure task) {
  if (Push(task)) return;
  const int64_t count = rejected_.fetch_add(1, std::memory_order_relaxed) + 1;
  LogWarning(ThreadsLog(), "thread pool '{}' is shut down: rejected a task ({} so far)", name_,
             count);
  // `task` is destroyed unrun here; a Submit()ted task fails its future.
}

void ThreadPool::Execute(Closure task, Priority priority) {
  if (!IsValidPriority(priority)) {
    LogError(ThreadsLog(), "thread pool '{}': Execute() with invalid priority {}: runs as normal",
             name_, static_cast<int>(priority));
    priority = Priority::kNormal;
  }
  ExecuteAt(std::move(task), priority);
}

void ThreadPool::ExecuteAt(Closure task, Priority priority) {
  if (PushAt(task, priority)) return;
  const int64_t count = rejected_.fetch_add(1, std::memory_order_relaxed) + 1;
  LogWarning(ThreadsLog(), "thread pool '{}' is shut down: rejected a {}-priority task ({} so far)",
             name_, PriorityName(priority), count);
}

bool ThreadPool::TryExecute(Closure task) {
  if (Push(task)) return true;
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

Closure ThreadPool::JobTask(PoolJob* job) {
  // RunMarked, whichever queue the job went through: the worker's stats
  // name it while it runs (an actor shows as running, wherever it was
  // scheduled from).
  return Closure([job] { RunMarked(CurrentWorker(), job); });
}

void ThreadPool::Defer(PoolJob* job) { Defer(JobTask(job)); }

void ThreadPool::Defer(PoolJob* job, Priority priority) {
  // The high and low queues are FIFO and global already: behind the
  // waiting work of the same priority.
  if (priority == Priority::kNormal) {
    Defer(JobTask(job));
  } else {
    ExecuteAt(JobTask(job), priority);
  }
}

void ThreadPool::ExecuteNext(PoolJob* job, Priority priority) {
  // Not the LIFO slot: a high job must not wait for this worker's current
  // task when another worker is free, nor behind a hand-off that displaces
  // it; a low one must not run ahead of normal work.
  if (priority == Priority::kNormal) {
    ExecuteNext(job);
  } else {
    ExecuteAt(JobTask(job), priority);
  }
}

void ThreadPool::Defer(Closure task) {
  Worker* self = CurrentWorker();
  if (self == nullptr || self->pool != this) {
    Execute(std::move(task));
    return;
  }
  // Nothing waiting: this worker takes the task as soon as the current one
  // returns, so a wake-up would only have another worker race it for the
  // task and move the task's data to another core (an actor out of budget
  // defers itself every `throughput` messages: bench O1 ran 1.3-2.5x slower on
  // a 2-core machine when each of those woke the idle worker). Work waiting:
  // someone may help, also when what waits is this worker's own (a hand-off
  // in its LIFO slots, the rest of its injector batch: up to 255 tasks)
  // and the deferred task would otherwise wait behind it. A task that
  // blocks after deferring wakes a worker then (HandOverPrivateWork).
  const bool others_waiting = self->lifo_slot != nullptr || self->lifo_task ||
                              self->batch_next < self->batch.size() || injector_->MaybeNonEmpty() ||
                              self->deque.MaybeNonEmpty();
  // Closed only while draining: then a worker's task runs anyway, locally.
  if (!injector_->Push(std::move(task))) self->deque.Push(NewTaskNode(std::move(task)));
  if (others_waiting) WakeOneIfNoneSearching();
}

void ThreadPool::ExecuteNext(PoolJob* job) {
  Worker* self = CurrentWorker();
  if (self == nullptr || self->pool != this) {
    Execute(JobTask(job));
    return;
  }
  if (self->lifo_chain >= kMaxLifoChain) {
    // Behind the waiting work, without waking anyone: this worker is awake
    // and will come to it (a searching worker may take it first).
    self->lifo_chain = 0;
    Closure task = JobTask(job);
    if (!injector_->Push(std::move(task))) self->deque.Push(NewTaskNode(std::move(task)));
    return;
  }
  if (PoolJob* displaced = std::exchange(self->lifo_slot, job)) {
    // The older hand-off becomes stealable work: someone may help.
    self->deque.Push(NewTaskNode(JobTask(displaced)));
    WakeOneIfNoneSearching();
  }
}

void ThreadPool::ExecuteNext(Closure task) {
  Worker* self = CurrentWorker();
  if (self == nullptr || self->pool != this) {
    Execute(std::move(task));
    return;
  }
  if (self->lifo_chain >= kMaxLifoChain) {
    // As ExecuteNext(PoolJob*): behind the waiting work, waking nobody.
    self->lifo_chain = 0;
    if (!injector_->Push(std::move(task))) self->deque.Push(NewTaskNode(std::move(task)));
    return;
  }
  if (self->lifo_task) {
    self->deque.Push(NewTaskNode(std::move(self->lifo_task)));
    WakeOneIfNoneSearching();
  }
  self->lifo_task = std::move(task);
}

bool ThreadPool::Push(Closure& task) {
  Worker* self = CurrentWorker();
  if (self != nullptr && self->pool == this) {
    // From one of our own tasks: the local deque. Accepted while draining,
    // so a task's children always run (or are cancelled by ShutdownNow()).
    // Push() ends with a seq_cst store: ordered before the loads below.
    self->deque.Push(NewTaskNode(std::move(task)));
  } else if (!injector_->Push(std::move(task))) {  // seq_cst CAS
    return false;
  }
  WakeOneIfNoneSearching();
  return true;
}

bool ThreadPool::PushAt(Closure& task, Priority priority) {
  if (priority == Priority::kNormal) return Push(task);
  threads_internal::InjectionQueue<Closure>& queue = priority == Priority::kHigh ? *high_ : *low_;
  if (queue.Push(std::move(task))) {  // seq_cst CAS, as the injector's
    if (priority == Priority::kHigh) high_queued_.fetch_add(1, std::memory_order_relaxed);
  } else {
    Worker* self = CurrentWorker();
    if (self == nullptr || self->pool != this) return false;
    self->deque.Push(NewTaskNode(std::move(task)));  // draining: as Push()
  }
  WakeOneIfNoneSearching();
  return true;
}

void ThreadPool::WakeOneIfNoneSearching() {
  // Nobody asleep: nothing to do (the common case, one load of a line that
  // rarely changes). A searching worker will find the task, or see it in its
  // last look before sleeping: waking another would be wasted work.
  if (sleepers_.load(std::memory_order_seq_cst) > 0 &&
      searching_.load(std::memory_order_seq_cst) == 0) {
    WakeOne();
  }
}

void ThreadPool::WakeOne() { idle_.WakeOne(); }

void ThreadPool::Join() {
  stopping_.store(true, std::memory_order_seq_cst);
  // Wake every sleeper so each sees stopping_ and drains or exits. One that
  // read stopping_ false before sleeping got on the idle stack before that
  // read (pool_worker.cc), so it is on the stack now.
  idle_.WakeAll();
  for (Thread<void>& thread : threads_) {
    absl::Status status = thread.Join();
    if (!status.ok())
      LogError(ThreadsLog(), "thread pool '{}': worker failed: {}", name_, status.ToString());
  }
}

void ThreadPool::Shutdown() {
  TROUPE_CHECK(Current() != this,
               "ThreadPool::Shutdown() called from one of its own workers (it would join itself)");
  MutexLock join_lock(join_mu_);
  if (joined_) return;
  injector_->Close();
  high_->Close();
  low_->Close();
  Join();
  joined_ = true;
}

void ThreadPool::ShutdownNow() {
  TROUPE_CHECK(Current() != this, "ThreadPool::ShutdownNow() called from one of its own workers");
  MutexLock join_lock(join_mu_);
  if (joined_) return;
  injector_->Close();
  high_->Close();
  low_->Close();
  cancelling_.store(true, std::memory_order_seq_cst);
  Join();
  // Workers cancel what they find while cancelling_ is set; whatever is left
  // in the injection queues is destroyed (cancelled) here. The workers are
  // gone, so the consumer locks are free and no push is in flight.
  for (auto* queue : {injector_.get(), high_.get(), low_.get()}) {
    TROUPE_CHECK(queue->TryLockConsumer());
    while (std::optional<Closure> task = queue->Pop()) {
      cancelled_.fetch_add(1, std::memory_order_relaxed);
    }
    queue->UnlockConsumer();
  }
  joined_ = true;
}

std::vector<WorkerStats> ThreadPool::worker_stats() const {
  std::vector<WorkerStats> all;
  all.reserve(workers_.size());
  const int64_t now = MonotonicNanos();
  for (const std::unique_ptr<Worker>& worker : workers_) {
    WorkerStats stats;
    stats.index = worker->index;
    stats.executed = worker->executed.load(std::memory_order_relaxed);
    stats.steals = worker->steals.load(std::memory_order_relaxed);
    stats.parks = worker->parks.load(std::memory_order_relaxed);
    int64_t idle = worker->idle_nanos.load(std::memory_order_relaxed);
    const int64_t since = worker->idle_since.load(std::memory_order_relaxed);
    if (since != 0 && since < now) idle += now - since;
    const int64_t uptime = std::max<int64_t>(now - worker->started_nanos, 1);
    idle = std::min(idle, uptime);  // the two loads above may straddle a spell's end
    stats.idle = absl::Nanoseconds(idle);
    stats.uptime = absl::Nanoseconds(uptime);
    stats.busy_fraction = 1.0 - static_cast<double>(idle) / static_cast<double>(uptime);
    stats.running_job = worker->running_job.load(std::memory_order_relaxed);
    all.push_back(stats);
  }
  return all;
}

ThreadPoolStats ThreadPool::stats() const {
  ThreadPoolStats stats;
  stats.workers = num_workers();
  stats.queued = injector_->SizeGuess() + high_->SizeGuess() + low_->SizeGuess();
  for (const auto& worker : workers_) {
    stats.queued += worker->deque.SizeGuess();
    stats.running += worker->busy.load(std::memory_order_relaxed) > 0 ? 1 : 0;
    stats.executed += worker->executed.load(std::memory_order_relaxed);
    stats.steals += worker->steals.load(std::memory_order_relaxed);
  }
  stats.rejected = rejected_.load(std::memory_order_relaxed);
  stats.cancelled = cancelled_.load(std::memory_order_relaxed);
  return stats;
}

ThreadPool& DefaultThreadPool() {
  static ThreadPool* pool = new ThreadPool(ThreadPoolOptions{0, "troupe-default"});
  return *pool;
}

}  // namespace troupe
