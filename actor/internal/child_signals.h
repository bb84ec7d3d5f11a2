// -----------------------------------------------------------------------------
// File: internal/child_signals.h
// -----------------------------------------------------------------------------
//
// The signals between a parent cell and its children that carry supervision:
// they travel in the system lane (so they overtake ordinary mail and are
// never stuck behind it) and never reach user handlers.
//
//   child -> parent  `ChildEnded`: an incarnation ended. `terminated` says
//                    the cell is gone for good; otherwise the child is a
//                    supervised one, suspended with its mailbox intact,
//                    waiting for its supervisor's directive.
//   parent -> child  `Directive`: restart (start a new incarnation behind the
//                    same ref and mailbox) or terminate (stop for good).
//
// Incarnation numbers make the exchange safe against crossing messages: a
// directive names the incarnation it is about, and one that no longer
// matches is ignored, as is a ChildEnded the supervisor has already acted on.

#ifndef TROUPE_ACTOR_INTERNAL_CHILD_SIGNALS_H_
#define TROUPE_ACTOR_INTERNAL_CHILD_SIGNALS_H_

#include <cstdint>

#include "actor/internal/addressable.h"
#include "actor/system.pb.h"

namespace troupe::actor_internal {

class ActorCell;

struct ChildEnded {
  static constexpr bool kSystemLane = true;
  AddressablePtr child;  // an ActorCell
  uint32_t incarnation = 0;
  bool terminated = false;
  proto::ExitReason reason;
};

struct Directive {
  static constexpr bool kSystemLane = true;
  enum class Kind : uint8_t { kRestart, kTerminate };
  Kind kind = Kind::kRestart;
  // kRestart: the incarnation to replace (ignored if it is already gone).
  uint32_t incarnation = 0;
  // kTerminate: why (SYSTEM_SHUTDOWN, or NORMAL when the parent stops).
  proto::ExitReason reason;
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_CHILD_SIGNALS_H_
