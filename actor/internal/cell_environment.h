// -----------------------------------------------------------------------------
// File: internal/cell_environment.h
// -----------------------------------------------------------------------------
//
// `CellEnvironment`: everything an actor cell needs from the system it lives
// in, and nothing more. `ActorSystem` implements it; a unit test can
// implement it with a fake and drive a cell alone:
//
//   class FakeEnvironment final : public CellEnvironment {
//    public:
//     explicit FakeEnvironment(Scheduler* s) : CellEnvironment(nullptr, s, /*throughput=*/8) {}
//     void PublishDeadLetter(EnvelopePtr e, DeadLetterReason r, const Addressable* to) override;
//     ...
//   };
//
// The cell reaches its environment through its SystemLink
// (internal/system_link.h), which also holds what the send path observes
// (flags, hooks, tracer) and outlives the environment.
//
// The two fields read on the hot paths (the scheduler, on every wake, and
// the throughput, once per turn) are plain members, not virtual calls: the
// cost of a turn and of a wake is what it was when the cell read them from
// ActorSystem itself. Everything else is a virtual call on a rare path.
//
// Thread-safety: every method may be called from any thread.

#ifndef TROUPE_ACTOR_INTERNAL_CELL_ENVIRONMENT_H_
#define TROUPE_ACTOR_INTERNAL_CELL_ENVIRONMENT_H_

#include <memory>

#include "actor/actor_ref.h"
#include "actor/dead_letters.h"
#include "actor/message.h"
#include "actor/scheduler.h"
#include "actor/spawn.h"
#include "base/log_limiter.h"
#include "threads/clock.h"

namespace troupe {
class ActorSystem;
}  // namespace troupe

namespace troupe::actor_internal {

class ActorCell;
class Addressable;

class CellEnvironment {
 public:
  CellEnvironment(const CellEnvironment&) = delete;
  CellEnvironment& operator=(const CellEnvironment&) = delete;

  // Where the cells' turns run (a dedicated actor has its own instead).
  Scheduler& scheduler() const { return *scheduler_; }
  // Messages a cell handles per turn before it yields its worker.
  int throughput() const { return throughput_; }
  // The system for the public Actor API (Actor::system()); cells never use
  // it. Null in a test's fake environment.
  ActorSystem* system() const { return system_; }

  // Sends `envelope` to the dead letters, counted under `reason`.
  virtual void PublishDeadLetter(EnvelopePtr envelope, DeadLetterReason reason,
                                 const Addressable* receiver) = 0;
  // Timers: supervisor backoff and ask timeouts.
  virtual Clock& clock() = 0;
  // True once shutdown has begun: parents then stop all children at once.
  virtual bool IsShuttingDown() const = 0;
  // One log line a second for repeated failures (handlers, OnStop).
  virtual LogLimiter& failure_log() = 0;
  // A finishing cell that was registered drops its names.
  virtual void UnregisterAll(Addressable* cell) = 0;
  // Spawns a child of `parent` (Actor::Spawn), or a supervised child whose
  // every incarnation `factory` makes (Supervisor).
  virtual ActorRef SpawnChild(ActorCell* parent, SpawnOptions options, ActorFactory factory) = 0;
  virtual ActorRef SpawnSupervisedChild(ActorCell* parent, SpawnOptions options, size_t actor_size,
                                        uint32_t type_name, IncarnationFactory factory) = 0;
  // The very last thing a cell does when it finishes: the environment may
  // drop its reference to the cell, which may free it.
  virtual void OnCellFinished(ActorCell* cell) = 0;

 protected:
  CellEnvironment(ActorSystem* system, Scheduler* scheduler, int throughput)
      : system_(system), scheduler_(scheduler), throughput_(throughput > 0 ? throughput : 1) {}
  ~CellEnvironment() = default;
  // For an implementation that makes its scheduler after this base (before
  // any cell exists).
  void set_scheduler(Scheduler* scheduler) { scheduler_ = scheduler; }

 private:
  ActorSystem* const system_;
  Scheduler* scheduler_;
  const int throughput_;
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_CELL_ENVIRONMENT_H_
