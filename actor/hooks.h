// -----------------------------------------------------------------------------
// File: hooks.h
// -----------------------------------------------------------------------------
//
// `ActorHooks`: observation points on the actor hot paths, for tests and
// tools of your own (troupe's stats and tracing are built in: stats.h,
// tracing.h). Off by default: with no hooks installed, a send and a turn
// each pay one relaxed load of the system's observation flags, which the
// hooks share with tracing and handler timing.
//
//   class CountSends : public troupe::ActorHooks {
//    public:
//     void OnSend(const troupe::ActorRef& to, const troupe::Envelope& e) override { ++sends_; }
//     std::atomic<int64_t> sends_{0};
//   };
//   troupe::ActorSystemOptions options;
//   options.hooks = std::make_shared<CountSends>();
//
// The hooks are called on the thread doing the work (a sender, a worker),
// often concurrently: implementations must be thread-safe and quick.

#ifndef TROUPE_ACTOR_HOOKS_H_
#define TROUPE_ACTOR_HOOKS_H_

#include "actor/message.h"
#include "actor/system.pb.h"

namespace troupe {

class ActorRef;

class ActorHooks {
 public:
  virtual ~ActorHooks() = default;

  // An actor was spawned (before its first turn). `parent` may be empty.
  virtual void OnSpawn(const ActorRef& actor, const ActorRef& parent) {}

  // `envelope` is about to be queued for `to` (it may still turn out to be
  // a dead letter if `to` has stopped).
  virtual void OnSend(const ActorRef& to, const Envelope& envelope) {}

  // `actor` is about to handle `envelope` / has handled a message of `type`
  // (the envelope itself may be gone by then: stashed or dead-lettered).
  virtual void OnActivate(const ActorRef& actor, const Envelope& envelope) {}
  virtual void OnActivated(const ActorRef& actor, const MessageType& type) {}

  // `actor` stopped for `reason` (after OnStop, before its mail is dead-lettered).
  virtual void OnStop(const ActorRef& actor, const proto::ExitReason& reason) {}

  // A supervisor restarted `actor` (same ref and mailbox) after its previous
  // incarnation ended for `reason`; called before the new one is made.
  virtual void OnRestart(const ActorRef& actor, const proto::ExitReason& reason) {}
};

}  // namespace troupe

#endif  // TROUPE_ACTOR_HOOKS_H_
