// What a ThreadPool worker thread does: take a task (its LIFO slot, its
// batch, the injection queue, its deque, a victim's deque), run it with the
// bookkeeping Stats() reads, and park when there is nothing to do.

#include "threads/internal/pool_worker.h"

#include <algorithm>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "base/check.h"
#include "base/logging.h"
#include "base/monotonic.h"
#include "threads/atomics.h"
#include "threads/internal/futex.h"
#include "threads/thread_pool.h"

namespace troupe {

using threads_internal::Bump;
using threads_internal::kGlobalQueueInterval;
using threads_internal::kInjectorBatch;
using threads_internal::kMaxInjectorBatch;
using threads_internal::kMaxLifoChain;
using threads_internal::NewTaskNode;
using threads_internal::TakeTaskNode;

// Lets Future::Wait() on a worker run the worker's other tasks.
class ThreadPool::WorkerHelper final : public threads_internal::WaitHelper {
 public:
  explicit WorkerHelper(Worker* worker) : worker_(worker) {}
  bool RunOneTask() override { return worker_->pool->RunOne(worker_); }

 private:
  Worker* worker_;
};

bool ThreadPool::RefillFromInjector(Worker* self) {
  if (!injector_->MaybeNonEmpty() || !injector_->TryLockConsumer()) return false;
  self->batch.clear();
  self->batch_next = 0;
  // This worker's share of the backlog, rounded up, and at least
  // kInjectorBatch, but leaving a task for each other worker and taking at
  // most kMaxInjectorBatch (pool_worker.h).
  const size_t workers = workers_.size();
  const size_t queued = static_cast<size_t>(injector_->SizeGuess());
  const size_t share = std::max((queued + workers - 1) / workers, kInjectorBatch);
  const size_t leaving_one_each = queued >= workers ? queued - (workers - 1) : 1;
  injector_->PopInto(self->batch,
                     std::clamp<size_t>(std::min(share, leaving_one_each), 1, kMaxInjectorBatch));
  injector_->UnlockConsumer();
  return !self->batch.empty();
}

Closure ThreadPool::TakeFromBatch(Worker* self) {
  if (self->batch_next >= self->batch.size() && !RefillFromInjector(self)) return nullptr;
  Closure task = std::move(self->batch[self->batch_next++]);
  if (self->batch_next == self->batch.size()) {
    self->batch.clear();
    self->batch_next = 0;
  }
  return task;
}

Closure ThreadPool::TakeOne(threads_internal::InjectionQueue<Closure>& queue) {
  if (!queue.MaybeNonEmpty() || !queue.TryLockConsumer()) return nullptr;
  std::optional<Closure> task = queue.Pop();
  queue.UnlockConsumer();
  return task.has_value() ? std::move(*task) : nullptr;
}

Closure ThreadPool::TakeHigh() {
  Closure task = TakeOne(*high_);
  if (task) high_queued_.fetch_sub(1, std::memory_order_relaxed);
  return task;
}

Closure ThreadPool::TakeTask(Worker* self) {
  // 0. Every kGlobalQueueInterval takes, the global queue comes first, so a
  // worker whose tasks keep refilling its deque cannot starve it (tokio's
  // rule, with its interval).
  if (++self->takes % kGlobalQueueInterval == 0) {
    if (Closure task = TakeFromBatch(self)) return task;
  }
  // 1. (The LIFO slot comes before all of these: see RunOne().)
  // 2. Our own deque, newest first: children of the task we just ran.
  if (Closure* node = self->deque.Pop()) return TakeTaskNode(node);
  // 3. The batch from the injection queue, oldest first.
  if (Closure task = TakeFromBatch(self)) return task;
  // 4. Steal the oldest task of another worker, starting at a random one.
  const size_t n = workers_.size();
  if (n > 1) {
    const size_t start = self->rng() % n;
    for (size_t k = 0; k < n; ++k) {
      Worker* victim = workers_[(start + k) % n].get();
      if (victim == self) continue;
      if (Closure* node = victim->deque.Steal()) {
        Bump(self->steals);
        return TakeTaskNode(node);
      }
    }
  }
  // 5. Low-priority work: nothing else is visible to this worker.
  self->runs_since_low_look = 0;
  return TakeOne(*low_);
}

bool ThreadPool::RunOne(Worker* self) {
  // Aging (priority.h): a worker looks at the low queue at least once per
  // kLowPriorityAgingInterval tasks it runs, so that a pool kept busy by
  // higher priorities cannot starve low work forever.
  if (self->runs_since_low_look >= kLowPriorityAgingInterval) [[unlikely]] {
    self->runs_since_low_look = 0;
    if (Closure task = TakeOne(*low_)) {
      Run(self, task);
      return true;
    }
  }
  // High-priority work before everything else, the LIFO slots included.
  if (high_queued_.load(std::memory_order_relaxed) > 0) [[unlikely]] {
    if (Closure task = TakeHigh()) {
      Run(self, task);
      return true;
    }
  }
  // Then the LIFO slots: the hand-off the task we just ran made.
  if (PoolJob* job = std::exchange(self->lifo_slot, nullptr)) {
    ++self->lifo_chain;
    RunJob(self, job);
    return true;
  }
  if (self->lifo_task) {
    ++self->lifo_chain;
    Closure task = std::move(self->lifo_task);
    self->lifo_task = nullptr;
    Run(self, task);
    return true;
  }
  self->lifo_chain = 0;
  Closure task = TakeTask(self);
  if (!task) return false;
  Run(self, task);
  return true;
}

bool ThreadPool::HasVisibleWork() const {
  if (injector_->MaybeNonEmpty() || high_->MaybeNonEmpty() || low_->MaybeNonEmpty()) return true;
  for (const auto& worker : workers_) {
    if (worker->deque.MaybeNonEmpty()) return true;
  }
  return false;
}

void ThreadPool::Run(Worker* self, Closure& task) {
  if (cancelling_.load(std::memory_order_relaxed)) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    task = nullptr;  // destroyed unrun: a submitted task's future is cancelled
    return;
  }
  Bump(self->busy);
  ++self->runs_since_low_look;
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
  ++self->runs_since_low_look;
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

void ThreadPool::HandOverPrivateWork(Worker* self) {
  bool handed = false;
  if (PoolJob* job = std::exchange(self->lifo_slot, nullptr)) {
    self->deque.Push(NewTaskNode(JobTask(job)));
    handed = true;
  }
  if (self->lifo_task) {
    self->deque.Push(NewTaskNode(std::move(self->lifo_task)));
    self->lifo_task = nullptr;
    handed = true;
  }
  // The rest of the injector batch, oldest first (a thief steals the oldest):
  // the blocked task may be waiting for one of them.
  for (; self->batch_next < self->batch.size(); ++self->batch_next) {
    self->deque.Push(NewTaskNode(std::move(self->batch[self->batch_next])));
    handed = true;
  }
  self->batch.clear();
  self->batch_next = 0;
  // Queued work this worker meant to come back to (Defer, a long hand-off
  // chain: neither woke anyone) would wait for it too.
  if (handed || self->deque.MaybeNonEmpty() || injector_->MaybeNonEmpty()) {
    WakeOneIfNoneSearching();
  }
}

void ThreadPool::WorkerLoop(Worker* self) {
  CurrentWorker() = self;
  WorkerHelper helper(self);
  threads_internal::CurrentWaitHelper() = &helper;
  // A task that blocks this thread (a channel, a mutex, a latch: anything
  // that sleeps in FutexWait) first hands over what nobody else may take:
  // the hand-off it made (the LIFO slots) and the tasks taken from the
  // injection queue with it (the batch). What it waits for may be one of
  // them. (The worker's own sleep below finds both empty.)
  threads_internal::CurrentBeforeSleep() = {[](void* worker) {
                                              auto* self = static_cast<Worker*>(worker);
                                              self->pool->HandOverPrivateWork(self);
                                            },
                                            self};

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
    Closure task;
    while (!backoff.ShouldPark() && !stopping_.load(std::memory_order_relaxed)) {
      task = TakeHigh();
      if (task) break;
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
    // last look below, which then finds it; one that reads sleepers_ > 0
    // finds us on the idle stack (we got on it first), or wakes a worker
    // that went to sleep after us, which finds the task. Join() wakes every
    // worker on the stack after it sets stopping_: we are on it if our
    // read below saw stopping_ false.
    idle_.Enter(&self->sleeper);
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    searching_.fetch_sub(1, std::memory_order_seq_cst);
    if (!HasVisibleWork() && !stopping_.load(std::memory_order_seq_cst)) {
      Bump(self->parks);
      threads_internal::IdleStack::Wait(&self->sleeper);
    }
    idle_.Leave(&self->sleeper);
    sleepers_.fetch_sub(1, std::memory_order_seq_cst);
  }

  // ShutdownNow() may leave tasks in our deque or batch: destroy them, which
  // cancels their futures. Nobody else pushes to our deque.
  if (self->lifo_slot != nullptr) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    self->lifo_slot = nullptr;
  }
  while (Closure* node = self->deque.Pop()) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    (void)TakeTaskNode(node);
  }
  cancelled_.fetch_add(static_cast<int64_t>(self->batch.size() - self->batch_next),
                       std::memory_order_relaxed);
  self->batch.clear();
  threads_internal::CurrentBeforeSleep() = {};
  threads_internal::CurrentWaitHelper() = nullptr;
  CurrentWorker() = nullptr;
}

}  // namespace troupe
