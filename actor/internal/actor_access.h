// -----------------------------------------------------------------------------
// File: internal/actor_access.h
// -----------------------------------------------------------------------------
//
// `ActorAccess`: the cell behind an Actor, for troupe's own actors that
// need it (Supervisor marks its cell and spawns supervised children into
// it). Not for users: an actor's public face is actor.h.
//
//   ActorCell* cell = ActorAccess::CellOf(*this);

#ifndef TROUPE_ACTOR_INTERNAL_ACTOR_ACCESS_H_
#define TROUPE_ACTOR_INTERNAL_ACTOR_ACCESS_H_

#include "actor/actor.h"

namespace troupe::actor_internal {

struct ActorAccess {
  static ActorCell* CellOf(const Actor& actor) { return actor.cell_; }
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_ACTOR_ACCESS_H_
