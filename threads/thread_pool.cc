#include "threads/thread_pool.h"

#include <algorithm>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "base/logging.h"
#include "threads/atomics.h"
#include "threads/internal/futex.h"
#include "threads/internal/work_stealing_deque.h"

namespace troupe {

struct ThreadPool::Worker {
  explicit Worker(ThreadPool* p, int i) : pool(p), index(i), rng(static_cast<uint32_t>(i) + 1) {}
  ThreadPool* const pool;
  const int index;
  threads_internal::WorkStealingDeque<TaskNode> deque;
  std::minstd_rand rng;  // victim selection; owner only
  // Written by the owner only (relaxed stores, no read-modify-write on the
  // hot path); summed by stats().
  alignas(kCacheLineSize) std::atomic<int64_t> executed{0};
  std::atomic<int64_t> steals{0};
  std::atomic<bool> busy{false};
};

namespace {

// How many tasks a worker moves from the injection queue at once.
constexpr int kInjectorBatch = 32;

}  // namespace

ThreadPool::Worker*& ThreadPool::CurrentWorker() {
  thread_local Worker* worker = nullptr;
  return worker;
}

// Lets Future::Wait() on a worker run the worker's other tasks.
class ThreadPool::WorkerHelper final : public threads_internal::WaitHelper {
 public:
  explicit WorkerHelper(Worker* worker) : worker_(worker) {}
  bool RunOneTask() override {
    TaskNode* node = worker_->pool->FindTask(worker_);
    if (node == nullptr) return false;
    worker_->pool->RunTask(worker_, node);
    return true;
  }

 private:
  Worker* worker_;
};

ThreadPool::ThreadPool(int workers) : ThreadPool(ThreadPoolOptions{workers, "troupe-pool"}) {}

ThreadPool::ThreadPool(ThreadPoolOptions options) : name_(std::move(options.name)) {
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
  auto* node = new TaskNode(std::move(task));
  if (!PushNode(node)) Reject(node);
}

bool ThreadPool::TryExecute(Task task) {
  auto* node = new TaskNode(std::move(task));
  if (PushNode(node)) return true;
  rejected_.fetch_add(1, std::memory_order_relaxed);
  delete node;
  return false;
}

bool ThreadPool::PushNode(TaskNode* node) {
  Worker* self = CurrentWorker();
  if (self != nullptr && self->pool == this) {
    // From one of our own tasks: the local deque. Accepted while draining, so
    // a task's children always run.
    if (cancelling_.load(std::memory_order_relaxed)) {
      Cancel(node);
      return true;
    }
    self->deque.Push(node);  // seq_cst store: ordered before the load below
  } else {
    {
      MutexLock lock(injector_mu_);
      if (closed_) return false;
      injector_.push_back(node);
    }
    injected_.fetch_add(1, std::memory_order_seq_cst);
  }
  if (sleepers_.load(std::memory_order_seq_cst) > 0) WakeOne();
  return true;
}

void ThreadPool::WakeOne() {
  // seq_cst: a sleeper reads the epoch after announcing itself; bumping it
  // makes its FutexWait return at once if it has not slept yet.
  wake_epoch_.fetch_add(1, std::memory_order_seq_cst);
  threads_internal::FutexWake(&wake_epoch_, 1);
}

void ThreadPool::Reject(TaskNode* node) {
  const int64_t count = rejected_.fetch_add(1, std::memory_order_relaxed) + 1;
  LogWarning("thread pool '{}' is shut down: rejected a task ({} so far)", name_, count);
  delete node;  // A submitted task's destructor fails its future (kCancelled).
}

void ThreadPool::Cancel(TaskNode* node) { delete node; }

ThreadPool::TaskNode* ThreadPool::TakeFromInjector(Worker* self) {
  if (injected_.load(std::memory_order_seq_cst) == 0) return nullptr;
  TaskNode* first = nullptr;
  int64_t taken = 0;
  {
    MutexLock lock(injector_mu_);
    if (injector_.empty()) return nullptr;
    // Take a fair share, so the other workers find some too; the extras go to
    // our deque, where they can still be stolen.
    const int64_t share = static_cast<int64_t>(injector_.size()) / num_workers() + 1;
    const int64_t batch = std::min<int64_t>(share, kInjectorBatch);
    first = injector_.front();
    injector_.pop_front();
    taken = 1;
    for (; taken < batch && !injector_.empty(); ++taken) {
      self->deque.Push(injector_.front());
      injector_.pop_front();
    }
  }
  injected_.fetch_sub(taken, std::memory_order_seq_cst);
  return first;
}

ThreadPool::TaskNode* ThreadPool::FindTask(Worker* self) {
  if (TaskNode* node = self->deque.Pop()) return node;
  if (TaskNode* node = TakeFromInjector(self)) return node;
  const size_t n = workers_.size();
  if (n > 1) {
    const size_t start = self->rng() % n;
    for (size_t k = 0; k < n; ++k) {
      Worker* victim = workers_[(start + k) % n].get();
      if (victim == self) continue;
      if (TaskNode* node = victim->deque.Steal()) {
        self->steals.store(self->steals.load(std::memory_order_relaxed) + 1,
                           std::memory_order_relaxed);
        return node;
      }
    }
  }
  return nullptr;
}

bool ThreadPool::HasVisibleWork() const {
  if (injected_.load(std::memory_order_seq_cst) > 0) return true;
  for (const auto& worker : workers_) {
    if (worker->deque.MaybeNonEmpty()) return true;
  }
  return false;
}

void ThreadPool::RunTask(Worker* self, TaskNode* node) {
  if (cancelling_.load(std::memory_order_relaxed)) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    Cancel(node);
    return;
  }
  const bool was_busy = self->busy.load(std::memory_order_relaxed);
  self->busy.store(true, std::memory_order_relaxed);
  // Tasks are noexcept by contract (Submit() wraps its closure to capture
  // exceptions); a raw Execute() task that throws is caught here so that the
  // worker survives, and the error is logged.
  try {
    std::move(node->task)();
  } catch (...) {
    absl::Status error = threads_internal::StatusFromCurrentException("thread pool task");
    LogError("thread pool '{}': {}", name_, error.ToString());
  }
  delete node;
  self->busy.store(was_busy, std::memory_order_relaxed);
  self->executed.store(self->executed.load(std::memory_order_relaxed) + 1,
                       std::memory_order_relaxed);
}

void ThreadPool::WorkerLoop(Worker* self) {
  CurrentWorker() = self;
  WorkerHelper helper(self);
  threads_internal::CurrentWaitHelper() = &helper;

  Backoff backoff;
  while (true) {
    if (TaskNode* node = FindTask(self)) {
      RunTask(self, node);
      backoff.Reset();
      continue;
    }
    if (stopping_.load(std::memory_order_acquire) && !HasVisibleWork()) {
      // Draining is done as far as this worker can see. Work can only appear
      // now from a task still running on another worker, and that worker
      // re-checks before it exits, so nothing is stranded.
      break;
    }
    if (!backoff.ShouldPark()) {
      backoff.Snooze();
      continue;
    }
    // Sleep, without losing a wake-up (see the file comment in the header).
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t epoch = wake_epoch_.load(std::memory_order_seq_cst);
    if (!HasVisibleWork() && !stopping_.load(std::memory_order_seq_cst)) {
      threads_internal::FutexWait(&wake_epoch_, epoch);
    }
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    backoff.Reset();
  }

  // ShutdownNow() may leave tasks in our deque: destroy them (cancelling
  // their futures). Nobody pushes to it any more: we are its only pusher.
  while (TaskNode* node = self->deque.Pop()) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    Cancel(node);
  }
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
    if (!status.ok()) LogError("thread pool '{}': worker failed: {}", name_, status.ToString());
  }
}

void ThreadPool::Shutdown() {
  TROUPE_CHECK(Current() != this,
               "ThreadPool::Shutdown() called from one of its own workers (it would join itself)");
  MutexLock join_lock(join_mu_);
  if (joined_) return;
  {
    MutexLock lock(injector_mu_);
    closed_ = true;
  }
  Join();
  joined_ = true;
}

void ThreadPool::ShutdownNow() {
  TROUPE_CHECK(Current() != this, "ThreadPool::ShutdownNow() called from one of its own workers");
  MutexLock join_lock(join_mu_);
  if (joined_) return;
  std::deque<TaskNode*> dropped;
  {
    MutexLock lock(injector_mu_);
    closed_ = true;
    dropped.swap(injector_);
  }
  injected_.fetch_sub(static_cast<int64_t>(dropped.size()), std::memory_order_seq_cst);
  cancelling_.store(true, std::memory_order_seq_cst);
  for (TaskNode* node : dropped) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    Cancel(node);
  }
  Join();
  joined_ = true;
}

ThreadPoolStats ThreadPool::stats() const {
  ThreadPoolStats stats;
  stats.workers = num_workers();
  stats.queued = injected_.load(std::memory_order_relaxed);
  for (const auto& worker : workers_) {
    stats.queued += worker->deque.SizeGuess();
    stats.running += worker->busy.load(std::memory_order_relaxed) ? 1 : 0;
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
