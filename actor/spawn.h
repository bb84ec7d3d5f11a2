// -----------------------------------------------------------------------------
// File: spawn.h
// -----------------------------------------------------------------------------
//
// What Spawn() takes besides the constructor's arguments: `SpawnOptions`,
// and the factory that constructs an actor in the storage next to its cell.
//
//   troupe::SpawnOptions options;
//   options.name = "ledger";
//   options.dedicated = true;  // a thread of its own: its handlers may block
//   troupe::ActorRef ledger = system.Spawn<Ledger>(std::move(options), path);
//
// Users name SpawnOptions; the factories are the machinery behind
// ActorSystem::Spawn, Actor::Spawn and ChildSpec.

#ifndef TROUPE_ACTOR_SPAWN_H_
#define TROUPE_ACTOR_SPAWN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "actor/internal/type_names.h"

namespace troupe {

class Actor;

struct SpawnOptions {
  // For logs and ToString(); need not be unique (the registry is for
  // lookups).
  std::string name;
  // Run on a thread of its own, where handlers may block.
  bool dedicated = false;
};

// How Spawn() makes an actor: its size, and a function that constructs it
// in the storage it is given (next to its cell, in one allocation).
struct ActorFactory {
  size_t size;
  absl::FunctionRef<Actor*(void* storage)> construct;
  uint32_t type_name = 0;  // internal/type_names.h: names an unnamed actor
};

// Makes every incarnation of a supervised actor in the storage it is given.
using IncarnationFactory = absl::AnyInvocable<Actor*(void* storage)>;

// Spawn's checks on an actor type, and its factory.
template <typename T>
ActorFactory MakeActorFactory(absl::FunctionRef<Actor*(void*)> construct) {
  static_assert(std::is_base_of_v<Actor, T>, "Spawn<T>: T must derive from troupe::Actor");
  static_assert(alignof(T) <= 16,
                "Spawn<T>: actors aligned to more than 16 bytes are not supported");
  return ActorFactory{sizeof(T), construct, actor_internal::TypeNameIndex<T>()};
}

}  // namespace troupe

#endif  // TROUPE_ACTOR_SPAWN_H_
