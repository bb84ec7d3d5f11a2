// -----------------------------------------------------------------------------
// File: internal/children.h
// -----------------------------------------------------------------------------
//
// `Children`: the cells a cell has spawned and not yet seen end, with the
// order they were spawned in. A parent ends only after all of them (its
// OnStop runs after theirs: trees stop bottom-up); a supervisor stops them
// one at a time, newest first, so a tree stops in the reverse of its start
// order.
//
//   children.Add(child);
//   if (ActorCell* newest = children.Newest()) TerminateChild(*newest, parent, reason);
//   if (children.Erase(ended)) { ... }  // false: never joined
//
// Touched only by the parent's turns (and by a spawner in the parent's own
// turn), so it needs no lock.

#ifndef TROUPE_ACTOR_INTERNAL_CHILDREN_H_
#define TROUPE_ACTOR_INTERNAL_CHILDREN_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "actor/internal/addressable.h"
#include "actor/system.pb.h"

namespace troupe::actor_internal {

class ActorCell;

class Children {
 public:
  void Add(ActorCell* child) { order_.emplace(child, spawned_++); }
  // False if `child` was never added (it was spawned while the parent stopped).
  bool Erase(ActorCell* child) { return order_.erase(child) != 0; }
  bool empty() const { return order_.empty(); }
  // The most recently spawned child still here, or null.
  ActorCell* Newest() const;
  std::vector<ActorCell*> All() const;

 private:
  absl::flat_hash_map<ActorCell*, uint64_t> order_;
  uint64_t spawned_ = 0;
};

// TerminateChild()
//
// Tells `child` to stop for good, with `parent` as the sender: a directive
// in the system lane. The child's reason is SYSTEM_SHUTDOWN if `why` is,
// else NORMAL ("parent stopped").
void TerminateChild(ActorCell* child, ActorCell* parent, const proto::ExitReason& why);

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_CHILDREN_H_
