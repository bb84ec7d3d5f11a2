// -----------------------------------------------------------------------------
// File: internal/actor_cell.h
// -----------------------------------------------------------------------------
//
// `ActorCell`: the logical actor behind an ActorRef. It owns the mailbox,
// the current incarnation (the user's Actor object) and the actor's place in
// the system (parent, children, live set), and it runs the actor's turns.
// The cell outlives the incarnation: a supervisor can replace the actor
// object behind the same refs and mailbox.
//
// Scheduling: the mailbox starts "running" and Spawn schedules the first
// turn. A turn handles up to `throughput` messages, then either goes idle
// (Mailbox::TryBlock(): the next Tell schedules it again) or yields. Only
// the Tell that wakes an idle mailbox schedules, so a cell never runs two
// turns at once: all turn state below is touched by one thread at a time,
// and each turn's writes reach the next through the mailbox's
// release/acquire pair (see mailbox.h).
//
// Stopping: a stop (Actor::Stop, a proto::Stop or proto::Kill, a failure,
// system shutdown) is carried out at the end of the handler that caused or
// saw it: OnStop(), stop the children, close the mailbox, dead-letter what
// was left, unregister, drop the incarnation, and leave the live set.

#ifndef TROUPE_ACTOR_INTERNAL_ACTOR_CELL_H_
#define TROUPE_ACTOR_INTERNAL_ACTOR_CELL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "actor/actor.h"
#include "actor/behavior.h"
#include "actor/internal/addressable.h"
#include "actor/message.h"
#include "actor/scheduler.h"
#include "actor/system.pb.h"
#include "mailbox/mailbox.h"
#include "mailbox/node_pool.h"
#include "threads/mutex.h"

namespace troupe {
class ActorHooks;
}  // namespace troupe

namespace troupe::actor_internal {

// The cell whose actor is being constructed on this thread (Actor::Actor
// reads it), set by ActorSystem::SpawnActor.
ActorCell*& ConstructingCell();

// The dedicated actor whose thread this is, or null (ActorSystem::SpawnActor
// sets it on the thread it makes).
ActorCell*& CurrentDedicatedCell();

class ActorCell final : public Addressable, public Schedulable {
 public:
  // ActorCell::Create()
  //
  // Makes a cell with room behind it for an actor of `actor_size` bytes
  // (alignment at most 16): one allocation holds both, which saves a heap
  // block and its header per actor. The cell frees it when the last ref goes.
  static ActorCell* Create(ActorSystem* system, uint64_t id, std::string name, ActorCell* parent,
                           size_t actor_size);
  static void operator delete(void* block) { ::operator delete(block); }

  // Where the first incarnation is to be constructed (actor_size bytes).
  void* actor_storage();

  // -- spawn ---------------------------------------------------------------------

  // Installs the first incarnation (constructed in actor_storage()) and
  // schedules the first turn on the system's scheduler, or on
  // `own_scheduler` (a dedicated thread's), which the cell then keeps: it
  // outlives every Deliver() that may call it.
  void Start(Actor* actor, std::shared_ptr<Scheduler> own_scheduler = nullptr);
  // Stops a cell whose actor never existed (its constructor threw, or the
  // system was shutting down). Its mail is dead-lettered from now on.
  void StopUnstarted(proto::ExitReason::Kind kind, std::string detail);

  // -- Addressable / Schedulable -------------------------------------------------

  bool Deliver(std::unique_ptr<Envelope> envelope) override;
  bool IsAlive() const override { return !stopped_.load(std::memory_order_seq_cst); }
  void MarkRegistered() override { registered_.store(true, std::memory_order_seq_cst); }
  std::string name() const override;
  void RunTurn() override;

  // -- for the running actor's own handlers ---------------------------------------

  // The message being handled; null outside a handler (or once stashed).
  const Envelope* current() const { return current_.get(); }
  void RequestStop(proto::ExitReason::Kind kind, std::string detail);
  void Become(Behavior behavior, BecomeMode mode);
  void Unbecome();
  void Stash();
  void UnstashAll();
  void DeadLetterCurrent(DeadLetterReason reason);
  void AddChild(ActorCell* child);

  // -- for the system -------------------------------------------------------------

  ActorCell* live_prev = nullptr;  // the system's live list, under its shard lock
  ActorCell* live_next = nullptr;

 private:
  // Rarely used state, allocated on first use to keep idle actors small.
  struct Extras;
  Extras& extras();
  ActorCell(ActorSystem* system, uint64_t id, std::string name, ActorCell* parent);
  ~ActorCell() override;
  void Destroy() override;
  // The system's scheduler, or a dedicated actor's own. Read on the wake
  // path from any thread: `dedicated_` and extras_ were written before the
  // first turn, which happens-before any wake (mailbox.h, A and C).
  Scheduler* scheduler() const;
  void DestroyActor();
  bool StartIncarnation();
  void Handle(Envelope* envelope, ActorHooks* hooks);  // takes ownership
  void Dispatch(Envelope& envelope);
  void HandleSystem(Envelope& envelope);
  Envelope* Next();
  void Finish();
  void RemoveChild(ActorCell* child);
  void Fail(const Envelope* envelope, std::string what);

  Mailbox mailbox_{Mailbox::InitialState::kRunning};
  Actor* actor_ = nullptr;  // the incarnation, in actor_storage() (destroyed, not freed)
  const AddressablePtr parent_;
  // Created on first use, except for a named cell, whose name lives here
  // from construction (so name() may read it from any thread).
  std::unique_ptr<Extras> extras_;

  // Turn state: one thread at a time (see the file comment).
  std::unique_ptr<Envelope> current_;  // the message being handled
  Behavior behavior_;
  bool started_ = false;
  bool stopping_ = false;
  bool dedicated_ = false;  // written before the first turn
  const bool named_;
  uint8_t pool_units_ = 0;  // the block's size / kPoolUnit if pooled, 0 if from new
  uint8_t stop_kind_ = proto::ExitReason::NORMAL;  // a proto::ExitReason::Kind, in one byte

  // A Dekker pair with the registry: Finish() stores stopped_ then loads
  // registered_; Registry::Register() stores registered_ then loads
  // stopped_. All seq_cst, so at least one side sees the other: a name is
  // never left pointing at a stopped actor.
  std::atomic<bool> stopped_{false};
  std::atomic<bool> registered_{false};
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_ACTOR_CELL_H_
