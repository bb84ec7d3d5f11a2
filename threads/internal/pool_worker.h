// -----------------------------------------------------------------------------
// File: internal/pool_worker.h
// -----------------------------------------------------------------------------
//
// A ThreadPool worker's state, shared by the two halves of the pool:
// thread_pool.cc (submitting, shutting down, stats) and
// internal/pool_worker.cc (what a worker thread does: take, run, steal,
// park). Not a public API.

#ifndef TROUPE_THREADS_INTERNAL_POOL_WORKER_H_
#define TROUPE_THREADS_INTERNAL_POOL_WORKER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "base/cache_line.h"
#include "base/monotonic.h"
#include "threads/internal/idle_stack.h"
#include "threads/internal/pool_job.h"
#include "threads/internal/work_stealing_deque.h"
#include "threads/thread_pool.h"

namespace troupe {
namespace threads_internal {

// How many tasks a worker takes from the injection queue at once: its share
// of what is queued, the queue's length / workers rounded up (Go's and
// tokio's rule for their global queues), at least kInjectorBatch to
// amortise the consumer lock, at most kMaxInjectorBatch - but never so many
// that another worker finds nothing: a task stays queued for each. A batch
// is the worker's alone (it hands the rest over if a task blocks), so a
// worker takes no more than that: two tasks queued together on a
// two-worker pool go one to each, and a long first task does not hold the
// second while the other worker idles (with a plain minimum of 16 it did:
// ThreadPoolTest.AnIdleWorkerGetsTheTaskQueuedBehindALongOne).
// Under a backlog the big batch matters: with 16 at a time the two workers
// of a 2-core machine took turns on the queue and on the lines of the
// tasks' own data, and bench P1 ran at 61-69 ns a task in this VM's slow
// minutes against 42-47 with the share rule (Go's p1pool: 39-52 in the
// same minutes). Without the minimum (the share alone), P1 in the slow
// minutes read 0.93-1.05 of Go's time (2 of 4 rounds behind) against
// 0.84-0.96 (2026-12-07).
constexpr size_t kInjectorBatch = 16;
constexpr size_t kMaxInjectorBatch = 256;
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
inline std::vector<Closure*>& NodeCache() {
  thread_local std::vector<Closure*> cache;
  thread_local struct Drain {
    ~Drain() {
      for (Closure* node : cache) delete node;
      cache.clear();
    }
  } drain;
  return cache;
}

inline Closure* NewTaskNode(Closure&& task) {
  std::vector<Closure*>& cache = NodeCache();
  if (cache.empty()) return new Closure(std::move(task));
  Closure* node = cache.back();
  cache.pop_back();
  *node = std::move(task);
  return node;
}

// Moves the task out of `node` and recycles the node.
inline Closure TakeTaskNode(Closure* node) {
  Closure task = std::move(*node);
  *node = nullptr;
  std::vector<Closure*>& cache = NodeCache();
  if (cache.size() < kNodeCacheSize) {
    cache.push_back(node);
  } else {
    delete node;
  }
  return task;
}

// Adds one to a counter that only its owner writes: a load and a store, no
// read-modify-write on the task path. Readers (stats) see a recent value.
inline void Bump(std::atomic<int64_t>& counter, int64_t delta = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
}

}  // namespace threads_internal

struct ThreadPool::Worker {
  Worker(ThreadPool* p, int i) : pool(p), index(i), rng(static_cast<uint32_t>(i) + 1) {}

  ThreadPool* const pool;
  const int index;
  // Tasks submitted by this worker's own tasks; thieves take from the top.
  threads_internal::WorkStealingDeque<Closure> deque;
  // A batch taken from the injection queue, run in order. Owner only.
  std::vector<Closure> batch;
  size_t batch_next = 0;
  uint32_t takes = 0;  // TakeTask() calls; owner only
  // Tasks run since this worker last looked at the low-priority queue (the
  // aging rule, priority.h); owner only.
  uint32_t runs_since_low_look = 0;
  // ExecuteNext()'s hand-offs, next to run, unstealable; owner only. Two
  // slots, so that the actor's path stays a pointer exchange: a job, and a
  // closure (a task's resumption).
  PoolJob* lifo_slot = nullptr;
  Closure lifo_task;
  int lifo_chain = 0;                            // hand-offs run in a row; owner only
  threads_internal::IdleStack::Sleeper sleeper;  // its place on the pool's idle stack
  std::minstd_rand rng;                          // victim selection; owner only

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

}  // namespace troupe

#endif  // TROUPE_THREADS_INTERNAL_POOL_WORKER_H_
