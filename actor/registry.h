// -----------------------------------------------------------------------------
// File: registry.h
// -----------------------------------------------------------------------------
//
// `Registry`: actors findable by name, one registry per ActorSystem.
//
//   absl::Status s = system.registry().Register("accounts", accounts);
//   troupe::ActorRef ref = system.registry().Lookup("accounts");  // empty if none
//
// A name maps to one ref; an actor may have several names. An actor's names
// are removed when it stops, so a lookup never returns a ref that stopped
// before the lookup began.
//
// Thread-safety: every method may be called from any thread.

#ifndef TROUPE_ACTOR_REGISTRY_H_
#define TROUPE_ACTOR_REGISTRY_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "actor/actor_ref.h"
#include "threads/mutex.h"

namespace troupe {

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registry::Register()
  //
  // Maps `name` to `ref`. kInvalidArgument for an empty name or ref,
  // kAlreadyExists if the name is taken, kFailedPrecondition if the actor
  // has already stopped.
  absl::Status Register(std::string_view name, const ActorRef& ref) ABSL_LOCKS_EXCLUDED(mu_);

  // Registry::Lookup()
  //
  // The ref registered under `name`, or an empty ref (false in a condition;
  // a Tell to it is a dead letter, an ask fails at once).
  ActorRef Lookup(std::string_view name) const ABSL_LOCKS_EXCLUDED(mu_);

  // Registry::Unregister()
  //
  // Removes `name`; false if it was not registered.
  bool Unregister(std::string_view name) ABSL_LOCKS_EXCLUDED(mu_);

  // Every registered name of a live actor, sorted.
  std::vector<std::string> Names() const ABSL_LOCKS_EXCLUDED(mu_);

  // Internal, for a stopping actor (after it is marked dead): removes its names.
  void UnregisterAll(const actor_internal::Addressable* actor) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable Mutex mu_;
  absl::flat_hash_map<std::string, ActorRef> by_name_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe

#endif  // TROUPE_ACTOR_REGISTRY_H_
