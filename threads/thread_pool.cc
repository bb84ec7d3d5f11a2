#include "threads/thread_pool.h"

#include <algorithm>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/logging.h"
#include "base/monotonic.h"
#include "threads/atomics.h"
#include "threads/internal/futex.h"
#include "threads/internal/work_stealing_deque.h"

namespace troupe {
namespace {

// How many tasks a worker takes from the injection queue at once: enough to
// amortise the consumer lock, few enough that tasks do not sit unstealable in
// one worker's batch for long.
constexpr size_t kInjectorBatch = 16;
// A worker looks at the global queue first once per this many takes.
constexpr uint32_t kGlobalQueueInterval = 61;
// After this many tasks in a row from the LIFO slot, ExecuteNext() queues
// behind the waiting work instead, so a chain of hand-offs (two actors
// playing ping-pong) cannot hold a worker forever.
constexpr int kMaxLifoChain = 16;
// Deque nodes each thread keeps for reuse (a thief frees into its own cache).
constexpr size_t kNodeCacheSize = 256;

// The deque holds pointers to tasks. Reusing the nodes saves a malloc and a
// free per local submit; they are plain heap blocks, so any thread may
// return one to its own cache.
std::vector<Task*>& NodeCache() {
  thread_local std::vector<Task*> cache;
  thread_local struct Drain {
    ~Drain() {
      for (Task* node : cache) delete node;
      cache.clear();
    }
  } drain;
  return cache;
}

Task* NewTaskNode(Task&& task) {
  std::vector<Task*>& cache = NodeCache();
  if (cache.empty()) return new Task(std::move(task));
  Task* node = cache.back();
  cache.pop_back();
  *node = std::move(task);
  return node;
}

// Moves the task out of `node` and recycles the node.
Task TakeTaskNode(Task* node) {
  Task task = std::move(*node);
  *node = nullptr;
  std::vector<Task*>& cache = NodeCache();
  if (cache.size() < kNodeCacheSize) {
    cache.push_back(node);
  } else {
    delete node;
  }
  return task;
}

// Adds one to a counter that only its owner writes: a load and a store, no
// read-modify-write on the task path. Readers (stats) see a recent value.
void Bump(std::atomic<int64_t>& counter, int64_t delta = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

}  // namespace

struct ThreadPool::Worker {
  Worker(ThreadPool* p, int i) : pool(p), index(i), rng(static_cast<uint32_t>(i) + 1) {}

  ThreadPool* const pool;
  const int index;
  // Tasks submitted by this worker's own tasks; thieves take from the top.
  threads_internal::WorkStealingDeque<Task> deque;
  // A batch taken from the injection queue, run in order. Owner only.
  std::vector<Task> batch;
  size_t batch_next = 0;
  uint32_t takes = 0;            // TakeTask() calls; owner only
  PoolJob* lifo_slot = nullptr;  // ExecuteNext()'s hand-off: next to run, unstealable; owner only
  int lifo_chain = 0;            // jobs run from lifo_slot in a row; owner only
  std::minstd_rand rng;          // victim selection; owner only

  // Stats: written by the owner only (Bump, or plain relaxed stores), read
  // relaxed by worker_stats(); a reader sees a recent value of each.
  alignas(kCacheLineSize) std::atomic<int64_t> executed{0};
  std::atomic<int64_t> steals{0};
  std::atomic<int64_t> busy{0};  // nesting depth of running tasks (helping nests)
  std::atomic<int64_t> parks{0};
  std::atomic<int64_t> idle_nanos{0};  // finished idle spells
  std::atomic<int64_t> idle_since{0};  // steady-clock ns when the current spell began; 0 if busy
  std::atomic<const PoolJob*> running_job{nullptr};
  const int64_t started_nanos = MonotonicNanos();
};

// Lets Future::Wait() on a worker run the worker's other tasks.
class ThreadPool::WorkerHelper final : public threads_internal::WaitHelper {
 public:
  explicit WorkerHelper(Worker* worker) : worker_(worker) {}
  bool RunOneTask() override { return worker_->pool->RunOne(worker_); }

 private:
  Worker* worker_;
};

ThreadPool::Worker*& ThreadPool::CurrentWorker() {
  thread_local Worker* worker = nullptr;
  return worker;
}

ThreadPool::ThreadPool(int workers) : ThreadPool(ThreadPoolOptions{workers, "troupe-pool"}) {}

ThreadPool::ThreadPool(ThreadPoolOptions options)
    : name_(std::move(options.name)),
      injector_(std::make_unique<threads_internal::InjectionQueue<Task>>()) {
  int count = options.workers;
  if (count <= 0) count = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
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

void ThreadPool::Execute(Task task) {
  if (Push(task)) return;
  const int64_t count = rejected_.fetch_add(1, std::memory_order_relaxed) + 1;
  LogWarning(ThreadsLog(), "thread pool '{}' is shut down: rejected a task ({} so far)", name_,
             count);
  // `task` is destroyed unrun here; a Submit()ted task fails its future.
}

bool ThreadPool::TryExecute(Task task) {
  if (Push(task)) return true;
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

Task ThreadPool::JobTask(PoolJob* job) {
  // RunMarked, whichever queue the job went through: the worker's stats
  // name it while it runs (an actor shows as running, wherever it was
  // scheduled from).
  return Task([job] { RunMarked(CurrentWorker(), job); });
}

void ThreadPool::Defer(PoolJob* job) { Defer(JobTask(job)); }

void ThreadPool::Defer(Task task) {
  Worker* self = CurrentWorker();
  if (self == nullptr || self->pool != this) {
    Execute(std::move(task));
    return;
  }
  // Closed only while draining: then a worker's task runs anyway, locally.
  if (!injector_->Push(std::move(task))) self->deque.Push(NewTaskNode(std::move(task)));
  WakeOneIfNoneSearching();
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
    Task task = JobTask(job);
    if (!injector_->Push(std::move(task))) self->deque.Push(NewTaskNode(std::move(task)));
    return;
  }
  if (PoolJob* displaced = std::exchange(self->lifo_slot, job)) {
    // The older hand-off becomes stealable work: someone may help.
    self->deque.Push(NewTaskNode(JobTask(displaced)));
    WakeOneIfNoneSearching();
  }
}

bool ThreadPool::Push(Task& task) {
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

void ThreadPool::WakeOneIfNoneSearching() {
  // Nobody asleep: nothing to do (the common case, one load of a line that
  // rarely changes). A searching worker will find the task, or see it in its
  // last look before sleeping: waking another would be wasted work.
  if (sleepers_.load(std::memory_order_seq_cst) > 0 &&
      searching_.load(std::memory_order_seq_cst) == 0) {
    WakeOne();
  }
}

void ThreadPool::WakeOne() {
  // seq_cst: a sleeper read the epoch before its last look for work; the
  // bump makes its FutexWait return at once if it has not slept yet.
  wake_epoch_.fetch_add(1, std::memory_order_seq_cst);
  threads_internal::FutexWake(&wake_epoch_, 1);
}

bool ThreadPool::RefillFromInjector(Worker* self) {
  if (!injector_->MaybeNonEmpty() || !injector_->TryLockConsumer()) return false;
  self->batch.clear();
  self->batch_next = 0;
  while (self->batch.size() < kInjectorBatch) {
    std::optional<Task> task = injector_->Pop();
    if (!task.has_value()) break;
    self->batch.push_back(std::move(*task));
  }
  injector_->UnlockConsumer();
  return !self->batch.empty();
}

Task ThreadPool::TakeFromBatch(Worker* self) {
  if (self->batch_next >= self->batch.size() && !RefillFromInjector(self)) return nullptr;
  Task task = std::move(self->batch[self->batch_next++]);
  if (self->batch_next == self->batch.size()) {
    self->batch.clear();
    self->batch_next = 0;
  }
  return task;
}

Task ThreadPool::TakeTask(Worker* self) {
  // 0. Every kGlobalQueueInterval takes, the global queue comes first, so a
  // worker whose tasks keep refilling its deque cannot starve it (tokio's
  // rule, with its interval).
  if (++self->takes % kGlobalQueueInterval == 0) {
    if (Task task = TakeFromBatch(self)) return task;
  }
  // 1. (The LIFO slot comes before all of these: see RunOne().)
  // 2. Our own deque, newest first: children of the task we just ran.
  if (Task* node = self->deque.Pop()) return TakeTaskNode(node);
  // 3. The batch from the injection queue, oldest first.
  if (Task task = TakeFromBatch(self)) return task;
  // 4. Steal the oldest task of another worker, starting at a random one.
  const size_t n = workers_.size();
  if (n > 1) {
    const size_t start = self->rng() % n;
    for (size_t k = 0; k < n; ++k) {
      Worker* victim = workers_[(start + k) % n].get();
      if (victim == self) continue;
      if (Task* node = victim->deque.Steal()) {
        Bump(self->steals);
        return TakeTaskNode(node);
      }
    }
  }
  return nullptr;
}

bool ThreadPool::RunOne(Worker* self) {
  // The LIFO slot first: the hand-off the job we just ran made.
  if (PoolJob* job = std::exchange(self->lifo_slot, nullptr)) {
    ++self->lifo_chain;
    RunJob(self, job);
    return true;
  }
  self->lifo_chain = 0;
  Task task = TakeTask(self);
  if (!task) return false;
  Run(self, task);
  return true;
}

bool ThreadPool::HasVisibleWork() const {
  if (injector_->MaybeNonEmpty()) return true;
  for (const auto& worker : workers_) {
    if (worker->deque.MaybeNonEmpty()) return true;
  }
  return false;
}

void ThreadPool::Run(Worker* self, Task& task) {
  if (cancelling_.load(std::memory_order_relaxed)) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    task = nullptr;  // destroyed unrun: a submitted task's future is cancelled
    return;
  }
  Bump(self->busy);
  // Submit() wraps its closure to capture exceptions; a raw Execute() task
  // that throws is caught here, so the worker survives, and logged.
  try {
    std::move(task)();
  } catch (...) {
    absl::Status error = threads_internal::StatusFromCurrentException("thread pool task");
    LogError(ThreadsLog(), "thread pool '{}': {}", name_, error.ToString());
  }
  task = nullptr;  // destroy the closure before counting it done
  Bump(self->busy, -1);
  Bump(self->executed);
}

void ThreadPool::RunMarked(Worker* self, PoolJob* job) {
  // Relaxed: a hint for diagnostics (which actor runs where), compared by
  // address, never dereferenced by the reader. Restored, as jobs nest when
  // a job's Future::Wait() helps.
  class Mark {
   public:
    Mark(Worker* worker, PoolJob* job)
        : worker_(worker), outer_(worker->running_job.load(std::memory_order_relaxed)) {
      worker_->running_job.store(job, std::memory_order_relaxed);
    }
    ~Mark() { worker_->running_job.store(outer_, std::memory_order_relaxed); }

   private:
    Worker* const worker_;
    const PoolJob* const outer_;
  };
  const Mark mark(self, job);
  job->RunJob();
}

void ThreadPool::RunJob(Worker* self, PoolJob* job) {
  if (cancelling_.load(std::memory_order_relaxed)) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Bump(self->busy);
  try {
    RunMarked(self, job);
  } catch (...) {
    absl::Status error = threads_internal::StatusFromCurrentException("thread pool job");
    LogError(ThreadsLog(), "thread pool '{}': {}", name_, error.ToString());
  }
  Bump(self->busy, -1);
  Bump(self->executed);
}

// Counts the time a worker spends idle while it lives (see WorkerStats).
class ThreadPool::IdleSpell {
 public:
  explicit IdleSpell(Worker* worker) : worker_(worker), start_(MonotonicNanos()) {
    worker_->idle_since.store(start_, std::memory_order_relaxed);
  }
  ~IdleSpell() {
    worker_->idle_since.store(0, std::memory_order_relaxed);
    Bump(worker_->idle_nanos, MonotonicNanos() - start_);
  }
  IdleSpell(const IdleSpell&) = delete;
  IdleSpell& operator=(const IdleSpell&) = delete;

 private:
  Worker* const worker_;
  const int64_t start_;
};

void ThreadPool::WorkerLoop(Worker* self) {
  CurrentWorker() = self;
  WorkerHelper helper(self);
  threads_internal::CurrentWaitHelper() = &helper;

  while (true) {
    if (RunOne(self)) continue;
    // Idle from here until a task is found or the sleep ends: two clock
    // reads per idle spell, none while work keeps coming.
    std::optional<IdleSpell> idle(std::in_place, self);
    if (stopping_.load(std::memory_order_acquire) && !HasVisibleWork()) {
      // Drained as far as this worker can see. New work can only come from a
      // task still running on another worker (outside submits are refused),
      // and that worker looks again before it exits: nothing is stranded.
      break;
    }

    // Search: spin, then yield, looking for work.
    searching_.fetch_add(1, std::memory_order_seq_cst);
    Backoff backoff;
    Task task;
    while (!backoff.ShouldPark() && !stopping_.load(std::memory_order_relaxed)) {
      task = TakeTask(self);
      if (task) break;
      backoff.Snooze();
    }
    if (task) {
      // Stop searching before running. The last searcher to find work wakes
      // a sleeper if more is visible, so the pool ramps up under a burst one
      // wake-up at a time.
      if (searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
          sleepers_.load(std::memory_order_seq_cst) > 0 && HasVisibleWork()) {
        WakeOne();
      }
      idle.reset();
      Run(self, task);
      continue;
    }

    // Sleep. No wake-up is lost (see the file comment): a submitter that
    // reads sleepers_ == 0 or searching_ > 0 published its task before our
    // last look below, which then finds it.
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t epoch = wake_epoch_.load(std::memory_order_seq_cst);
    searching_.fetch_sub(1, std::memory_order_seq_cst);
    if (!HasVisibleWork() && !stopping_.load(std::memory_order_seq_cst)) {
      Bump(self->parks);
      threads_internal::FutexWait(&wake_epoch_, epoch);
    }
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
  }

  // ShutdownNow() may leave tasks in our deque or batch: destroy them, which
  // cancels their futures. Nobody else pushes to our deque.
  if (self->lifo_slot != nullptr) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    self->lifo_slot = nullptr;
  }
  while (Task* node = self->deque.Pop()) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    (void)TakeTaskNode(node);
  }
  cancelled_.fetch_add(static_cast<int64_t>(self->batch.size() - self->batch_next),
                       std::memory_order_relaxed);
  self->batch.clear();
  threads_internal::CurrentWaitHelper() = nullptr;
  CurrentWorker() = nullptr;
}

void ThreadPool::Join() {
  stopping_.store(true, std::memory_order_seq_cst);
  // Wake every sleeper so each sees stopping_ and drains or exits.
  wake_epoch_.fetch_add(1, std::memory_order_seq_cst);
  threads_internal::FutexWakeAll(&wake_epoch_);
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
  Join();
  joined_ = true;
}

void ThreadPool::ShutdownNow() {
  TROUPE_CHECK(Current() != this, "ThreadPool::ShutdownNow() called from one of its own workers");
  MutexLock join_lock(join_mu_);
  if (joined_) return;
  injector_->Close();
  cancelling_.store(true, std::memory_order_seq_cst);
  Join();
  // Workers cancel what they find while cancelling_ is set; whatever is left
  // in the injection queue is destroyed (cancelled) here. The workers are
  // gone, so the consumer lock is free and no push is in flight.
  TROUPE_CHECK(injector_->TryLockConsumer());
  while (std::optional<Task> task = injector_->Pop()) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
  }
  injector_->UnlockConsumer();
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
  stats.queued = injector_->SizeGuess();
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
