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
//   troupe::SpawnOptions bounded;
//   bounded.mailbox_capacity = 1024;                     // refuse past 1024 queued
//   bounded.overflow = troupe::OverflowPolicy::Reject();  // the default
//   troupe::ActorRef worker = system.Spawn<Worker>(std::move(bounded));
//
//   troupe::SpawnOptions urgent;
//   urgent.priority = troupe::Priority::kHigh;  // runs before normal actors
//   troupe::ActorRef health = system.Spawn<HealthCheck>(std::move(urgent));
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
#include "absl/status/status.h"
#include "actor/actor_ref.h"
#include "actor/internal/type_names.h"
#include "threads/priority.h"

namespace troupe {

class Actor;

// What a bounded mailbox does with an ordinary message that finds it full
// (docs/overload.md). There is no drop-oldest: it is the policy that
// evicts what matters. Lifecycle signals, ask continuations, task
// resumptions and mail an actor sends itself are never refused.
class OverflowPolicy {
 public:
  enum class Kind : uint8_t {
    kReject,      // dead letter "mailbox full" (an ask fails at once)
    kDropNewest,  // dropped, counted, not published (an ask fails at once)
    kRedirect,    // handed to another actor, the sender kept
  };

  // The message goes to dead letters with reason kMailboxFull, counted in
  // the actor's Stats(); an ask fails at once with kResourceExhausted;
  // ActorRef::TryTell() hands it back instead. The default.
  static OverflowPolicy Reject() { return OverflowPolicy(Kind::kReject, ActorRef()); }
  // The message is destroyed and counted (ActorStats::mailbox_dropped);
  // an ask still fails at once, as under Reject().
  static OverflowPolicy DropNewest() { return OverflowPolicy(Kind::kDropNewest, ActorRef()); }
  // The message is delivered to `overflow` (with its sender, so that a
  // reply goes back to the asker). If `overflow` refuses it too, it is
  // rejected as under Reject(): a redirect is never redirected again.
  static OverflowPolicy Redirect(ActorRef overflow) {
    return OverflowPolicy(Kind::kRedirect, std::move(overflow));
  }

  Kind kind() const { return kind_; }
  const ActorRef& redirect_to() const { return redirect_to_; }

 private:
  OverflowPolicy(Kind kind, ActorRef to) : kind_(kind), redirect_to_(std::move(to)) {}

  Kind kind_;
  ActorRef redirect_to_;
};

struct SpawnOptions {
  // For logs and ToString(); need not be unique (the registry is for
  // lookups).
  std::string name;
  // Run on a thread of its own, where handlers may block.
  bool dedicated = false;
  // At most this many messages queued (1..kMaxMailboxCapacity); 0, the
  // default, is unbounded. Past it, `overflow` decides (see OverflowPolicy
  // for what is exempt). The bound is exact, and checked in the push
  // itself at no extra cost; room made by the actor's handling becomes
  // visible to senders at the end of its turn (every `throughput`
  // messages) or when its queue runs dry.
  uint32_t mailbox_capacity = 0;
  OverflowPolicy overflow = OverflowPolicy::Reject();
  // Which actors with mail run first (threads/priority.h): kHigh before
  // every normal actor that is ready, on every worker; kLow when nothing
  // else is ready, with the aging bound stated there. Changed at run time
  // by ActorRef::SetPriority(). A dedicated actor has its own thread: there
  // the priority orders nothing.
  Priority priority = Priority::kNormal;

  // The largest capacity a mailbox can enforce (mailbox/mailbox.h).
  static constexpr uint32_t kMaxMailboxCapacity = 65535;

  // OK, or kInvalidArgument saying what is wrong: a capacity past
  // kMaxMailboxCapacity, a redirect to an empty ref, a priority that is not
  // one of the three. Spawn() checks it: an
  // actor with invalid options is never constructed, its ref points to a
  // stopped actor, and the error is logged (as when a constructor throws).
  absl::Status Validate() const;
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
