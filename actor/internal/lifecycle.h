// -----------------------------------------------------------------------------
// File: internal/lifecycle.h
// -----------------------------------------------------------------------------
//
// An actor cell's lifecycle state machine: two bytes, touched only by the
// cell's turns (and by the spawner before the first one, which that turn
// sees through the mailbox's release/acquire pair). The actions of each
// transition are ActorCell's, in lifecycle.cc (ending, finishing) and
// supervision.cc (suspending, restarting).
//
//   LifecycleState state;
//   if (state.RequestStop(proto::ExitReason::FAILURE, After::kDefault)) {
//     // the first request: its reason is the one the cell ends with
//   }
//
// Phases and transitions ("after" says what follows the end):
//
//   from        event                                        to
//   ----------  -------------------------------------------  ---------------------
//   (spawned)   first turn: factory (if supervised),          kRunning
//               MakeBehavior(), OnStart()
//   kRunning    a stop is requested (Stop, proto::Stop/Kill,  kRunning, stopping
//               failure, linked exit, directive, shutdown)
//   kRunning,   the handler that requested it returned        kEnding
//   stopping    (children are told to terminate)
//   kEnding     ChildEnded from a child, others left          kEnding
//   kEnding     no children left: OnStop(), incarnation
//               destroyed, then by "after":
//                 kFinish                                     finished (terminal)
//                 kRestart                                    kRunning, new incarnation
//                 kReport (supervised, not shutdown)          kSuspended, ChildEnded
//                                                             to the supervisor
//   kSuspended  Directive restart for this incarnation        kRunning, new incarnation
//   kSuspended  Directive terminate, or a shutdown Stop       finished (terminal)
//
// "finished": the mailbox is closed and its mail dead-lettered, watchers
// get Down, links Exit, the parent ChildEnded{terminated}, the environment
// OnCellFinished. Between incarnations (kEnding, kSuspended) the cell takes
// lifecycle signals only and holds every other message for the next
// incarnation.
//
// A second stop request keeps the first reason; a terminate still wins over
// a restart or a report (After::kFinish overrides).

#ifndef TROUPE_ACTOR_INTERNAL_LIFECYCLE_H_
#define TROUPE_ACTOR_INTERNAL_LIFECYCLE_H_

#include <cstdint>

#include "actor/system.pb.h"

namespace troupe::actor_internal {

enum class Phase : uint8_t {
  kRunning,    // an incarnation handles mail
  kEnding,     // the incarnation is ending: waiting for its children's ends
  kSuspended,  // a supervised child between incarnations, awaiting a directive
};

// What follows the end of an incarnation.
enum class After : uint8_t {
  kDefault,  // decided by RequestStop(): kReport if supervised, else kFinish
  kFinish,   // the cell finishes for good
  kReport,   // report to the supervisor and wait, suspended
  kRestart,  // a new incarnation at once
};

struct LifecycleState {
  Phase phase : 2 = Phase::kRunning;
  After after : 2 = After::kDefault;
  bool started : 1 = false;                           // the first turn has begun
  bool stopping : 1 = false;                          // a stop was requested for this incarnation
  bool trap_exits : 1 = false;                        // per incarnation (Actor::TrapExits)
  bool supervisor : 1 = false;                        // its actor is a Supervisor
  bool supervised : 1 = false;                        // its parent is a Supervisor
  uint8_t stop_kind : 3 = proto::ExitReason::NORMAL;  // a proto::ExitReason::Kind
  // Not the lifecycle's, but turn state that fits here: a handler's task
  // is suspended, so ordinary mail is held (ActorTasks::gated(), cached
  // for the turn's hot path).
  bool gated : 1 = false;

  bool running() const { return phase == Phase::kRunning; }
  // A stop took effect: the incarnation must end before the next message.
  bool MustEnd() const { return stopping && phase == Phase::kRunning; }
  proto::ExitReason::Kind kind() const { return static_cast<proto::ExitReason::Kind>(stop_kind); }

  // LifecycleState::RequestStop()
  //
  // Records a stop request. True for the first one of the incarnation
  // (whose `kind` stands); a later one only upgrades "after" to kFinish.
  bool RequestStop(proto::ExitReason::Kind kind, After then) {
    if (stopping) {
      if (then == After::kFinish) after = After::kFinish;
      return false;
    }
    stopping = true;
    stop_kind = static_cast<uint8_t>(kind);
    if (then == After::kDefault) {
      then = supervised && kind != proto::ExitReason::SYSTEM_SHUTDOWN ? After::kReport
                                                                      : After::kFinish;
    }
    after = then;
    return true;
  }

  // LifecycleState::BeginIncarnation()
  //
  // A restart: back to kRunning with no stop pending. (trap_exits was
  // cleared when the last incarnation ended.)
  void BeginIncarnation() {
    phase = Phase::kRunning;
    stopping = false;
    after = After::kDefault;
    stop_kind = proto::ExitReason::NORMAL;
  }
};
static_assert(sizeof(LifecycleState) == 2, "the lifecycle state is packed into two bytes");

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_LIFECYCLE_H_
