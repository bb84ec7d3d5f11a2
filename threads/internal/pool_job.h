// -----------------------------------------------------------------------------
// File: internal/pool_job.h
// -----------------------------------------------------------------------------
//
// The thread pool's door for the actor layer: intrusive jobs run on the
// calling worker next (a LIFO slot) or behind the waiting work, without a
// Closure to build per run. Not part of ThreadPool's public API: a general
// user submits Tasks.
//
//   class Turn final : public troupe::threads_internal::PoolJob {
//     void RunJob() override { ... }
//   };
//   troupe::threads_internal::PoolJobs::ExecuteNext(pool, &turn);
//
// Every path a job takes (the LIFO slot, the deque it is displaced to, the
// global queue after a long chain, Defer, a submit from outside the pool)
// runs it through the same bookkeeping: WorkerStats::running_job names it
// while it runs, and `executed` counts it.

#ifndef TROUPE_THREADS_INTERNAL_POOL_JOB_H_
#define TROUPE_THREADS_INTERNAL_POOL_JOB_H_

#include "threads/priority.h"

namespace troupe {
class ThreadPool;
}  // namespace troupe

namespace troupe::threads_internal {

// Intrusive work: the pool stores the pointer and calls RunJob() once per
// submission; it never owns or frees the job. The caller keeps it alive
// until it has run. ShutdownNow() may drop it unrun.
class PoolJob {
 public:
  virtual void RunJob() = 0;

 protected:
  ~PoolJob() = default;
};

class PoolJobs {
 public:
  // PoolJobs::ExecuteNext()
  //
  // From a worker of `pool`: runs `job` on this worker as soon as the
  // current task returns (tokio's LIFO slot), ahead of everything queued,
  // without waking another worker; it cannot be stolen (unless the current
  // task blocks the worker: then it moves to the deque first). A job
  // already in the slot moves to the worker's deque, where others may
  // steal it. After
  // 16 hand-offs in a row the job queues behind the waiting work instead,
  // so a chain of hand-offs cannot monopolise the worker. From any other
  // thread: like ThreadPool::Execute().
  static inline void ExecuteNext(ThreadPool& pool, PoolJob* job);  // thread_pool.h

  // PoolJobs::ExecuteNext(pool, job, priority)
  //
  // At a priority (priority.h). kNormal is ExecuteNext(pool, job). A high
  // job goes to the pool's high queue, where the first worker to finish its
  // task takes it, ahead of every LIFO slot; a low job to the low queue.
  static inline void ExecuteNext(ThreadPool& pool, PoolJob* job, Priority priority);

  // PoolJobs::Defer()
  //
  // ThreadPool::Defer() for a job: behind the work already waiting.
  static inline void Defer(ThreadPool& pool, PoolJob* job);

  // PoolJobs::Defer(pool, job, priority)
  //
  // Behind the waiting work of the same priority.
  static inline void Defer(ThreadPool& pool, PoolJob* job, Priority priority);
};

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_POOL_JOB_H_
