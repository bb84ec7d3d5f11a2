// -----------------------------------------------------------------------------
// File: internal/dedicated_scheduler.h
// -----------------------------------------------------------------------------
//
// Dedicated actors (SpawnOptions::dedicated): each runs on a thread of its
// own, where its handlers may block. `DedicatedThreads` starts those
// threads and joins them at shutdown; each thread's `DedicatedScheduler` is
// the Scheduler its one cell keeps.
//
//   std::shared_ptr<Scheduler> own = threads.Start("troupe-42", cell);
//   cell->Start(actor, own);
//   ...
//   threads.JoinAll();  // after every actor has finished
//
// The mailbox schedules an actor at most once per idle period, so a
// counting semaphore of pending turns is exactly the queue one actor needs.

#ifndef TROUPE_ACTOR_INTERNAL_DEDICATED_SCHEDULER_H_
#define TROUPE_ACTOR_INTERNAL_DEDICATED_SCHEDULER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "actor/scheduler.h"
#include "threads/mutex.h"
#include "threads/semaphore.h"
#include "threads/thread.h"

namespace troupe::actor_internal {

class ActorCell;

class DedicatedScheduler final : public Scheduler {
 public:
  explicit DedicatedScheduler(ActorCell* cell) : cell_(cell) {}

  // The actor's own thread: a priority has nothing to order here.
  void Schedule(Schedulable* runnable, Priority priority) override { turns_.Release(); }
  void Shutdown() override {}
  bool IsCurrentThread() const override;

  // The thread's body: turns until the actor has stopped. The caller holds
  // a ref to the cell, which could otherwise die inside its last turn.
  void Run();

 private:
  ActorCell* const cell_;
  Semaphore turns_{0};
};

class DedicatedThreads {
 public:
  // DedicatedThreads::Start()
  //
  // A thread named `name` that runs `cell`'s turns until it finishes; its
  // scheduler, for the cell to keep. Reaps the threads of dedicated actors
  // that have finished.
  std::shared_ptr<Scheduler> Start(std::string name, ActorCell* cell);

  // Joins every thread started (their actors must all be finishing).
  void JoinAll();

 private:
  Mutex mu_;
  std::vector<Thread<void>> threads_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_DEDICATED_SCHEDULER_H_
