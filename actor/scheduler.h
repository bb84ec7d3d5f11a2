// -----------------------------------------------------------------------------
// File: scheduler.h
// -----------------------------------------------------------------------------
//
// `Scheduler`: where actors run. The ActorSystem hands an actor to its
// scheduler when the actor has mail and was idle, and the scheduler calls
// the actor's `RunTurn()` on a thread of its choosing. The default runs
// actors on a work-stealing ThreadPool (threads/thread_pool.h); the test kit
// substitutes one that runs them step by step on the test's own thread.
//
//   troupe::ActorSystemOptions options;
//   options.scheduler = troupe::MakeThreadPoolScheduler(/*workers=*/2);
//   troupe::ActorSystem system(std::move(options));
//
// Contract for implementations:
//   * Schedule(r) is called at most once per idle period of an actor, and
//     never while a turn of it runs or is queued: a scheduler may store the
//     pointer without dedup and need not guard against running one actor
//     twice at once.
//   * Yield(r) is a turn's request to run again after others: the actor
//     used up its fairness budget. Queue it behind work already waiting.
//   * Both carry the actor's priority (threads/priority.h). A scheduler
//     that has no priorities runs every actor as normal; the test kit's
//     does, so that its order stays the one the test reads.
//   * Every scheduled turn must run. The system calls Shutdown() after it
//     has sent every actor a stop: running what is queued (and what those
//     turns schedule) until nothing is left is what ends the actors.

#ifndef TROUPE_ACTOR_SCHEDULER_H_
#define TROUPE_ACTOR_SCHEDULER_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "actor/actor_ref.h"
#include "actor/message.h"
#include "threads/internal/pool_job.h"
#include "threads/priority.h"
#include "threads/thread_pool.h"

namespace troupe {

// Something a scheduler runs: an actor with mail. It is a pool job
// (threads/internal/pool_job.h) so that the thread-pool scheduler can hand
// it to the pool without wrapping it.
class Schedulable : public threads_internal::PoolJob {
 public:
  // Runs up to one fairness budget of the actor's messages.
  virtual void RunTurn() = 0;

  // For tests and diagnostics, only while no turn runs and nothing sends
  // (a deterministic test between steps): what is queued, in the order it
  // would be handled, and whose it is.
  virtual void ForEachQueued(absl::FunctionRef<void(const Envelope&)> fn) const {}
  virtual ActorRef Owner() const;

 private:
  void RunJob() final { RunTurn(); }

 protected:
  ~Schedulable() = default;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // Scheduler::Schedule()
  //
  // Any thread. Runs `runnable->RunTurn()` soon, at `priority`. Called on
  // the hot path of a Tell to an idle actor: keep it cheap.
  virtual void Schedule(Schedulable* runnable, Priority priority) = 0;

  // Scheduler::Yield()
  //
  // Like Schedule(), but behind the turns of its priority already waiting.
  virtual void Yield(Schedulable* runnable, Priority priority) { Schedule(runnable, priority); }

  // Scheduler::RunInBackground()
  //
  // Any thread. Runs `task`, the system's housekeeping (memory that comes
  // back: ActorSystemOptions), soon and behind the actors: the pool runs it
  // at low priority, and destroys a task handed over after Shutdown()
  // unrun. The default runs it on the calling thread, for a scheduler
  // without threads of its own.
  virtual void RunInBackground(absl::AnyInvocable<void() &&> task) { std::move(task)(); }

  // Scheduler::Shutdown()
  //
  // Runs what is queued and what that schedules until nothing is left, then
  // stops the scheduler's threads. Called by the ActorSystem during its
  // shutdown, never from one of the scheduler's own threads.
  virtual void Shutdown() = 0;

  // Scheduler::RunsOnItsOwn()
  //
  // True if turns run on the scheduler's own threads (a pool); false if its
  // caller drives it (a test's manual scheduler), in which case Shutdown()
  // must run every turn there is until nothing is left.
  virtual bool RunsOnItsOwn() const { return false; }

  // Scheduler::IsCurrentThread()
  //
  // True on a thread of this scheduler (where blocking for an actor would
  // stall other actors).
  virtual bool IsCurrentThread() const = 0;

  // Scheduler::worker_stats()
  //
  // Each worker thread's counters (threads/thread_pool.h), for stats and
  // ActorSystem::DumpState(); empty for a scheduler without workers.
  virtual std::vector<WorkerStats> worker_stats() const { return {}; }
};

// MakeThreadPoolScheduler()
//
// The default: a work-stealing pool of `workers` threads (0 = one per core).
// An actor woken from a worker goes to that worker's LIFO slot
// (threads/internal/pool_job.h): it runs next, on the same core, and cannot be
// stolen, so two actors passing messages stay on one core (bench A1: about
// 2x faster than through the stealable deque; A2: 2.4-3x). An actor woken
// from outside the pool goes to the global queue, and so does one that
// yields. A high- or low-priority actor goes to the pool's queue for its
// priority instead (threads/thread_pool.h): high before every LIFO slot.
std::unique_ptr<Scheduler> MakeThreadPoolScheduler(int workers = 0);

}  // namespace troupe

#endif  // TROUPE_ACTOR_SCHEDULER_H_
