// -----------------------------------------------------------------------------
// File: internal/actor_cell.h
// -----------------------------------------------------------------------------
//
// `ActorCell`: the logical actor behind an ActorRef. It owns the mailbox,
// the current incarnation (the user's Actor object) and the actor's place in
// the system (parent, children, watchers, links, live set), and it runs the
// actor's turns. The cell outlives the incarnation: a supervisor replaces
// the actor object behind the same refs and mailbox.
//
// Scheduling: the mailbox starts "running" and Spawn schedules the first
// turn. A turn handles up to `throughput` messages, then either goes idle
// (Mailbox::TryBlock(): the next Tell schedules it again) or yields. Only
// the Tell that wakes an idle mailbox schedules, so a cell never runs two
// turns at once: all turn state below is touched by one thread at a time,
// and each turn's writes reach the next through the mailbox's
// release/acquire pair (see mailbox.h).
//
// Ending an incarnation (Actor::Stop, a proto::Stop or Kill, a failure, an
// Exit from a link, a directive from the parent, system shutdown) happens
// after the handler that caused or saw it, in three steps:
//   1. the children are terminated, and the cell waits (phase kEnding) until
//      each has reported its end: OnStop runs bottom-up. A supervisor
//      terminates its children one at a time, newest first, except at
//      system shutdown, when every parent tells all its children at once
//      (so a shutdown under load is bounded);
//   2. OnStop(), then the incarnation is destroyed;
//   3. then one of: finish the cell for good (close the mailbox, dead-letter
//      what was queued, Down to watchers, Exit to links, tell the parent);
//      or, for a supervised child, report to the supervisor and wait
//      suspended, mailbox intact (phase kSuspended); or restart at once.
// Between incarnations the cell handles lifecycle signals only; every other
// message is held, in order, for the next incarnation (or dead-lettered if
// there is none).

#ifndef TROUPE_ACTOR_INTERNAL_ACTOR_CELL_H_
#define TROUPE_ACTOR_INTERNAL_ACTOR_CELL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "actor/actor.h"
#include "actor/behavior.h"
#include "actor/internal/addressable.h"
#include "actor/internal/lifecycle.h"
#include "actor/message.h"
#include "actor/scheduler.h"
#include "actor/stats.h"
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

// The cell whose turn runs on this thread, or null. Set for the length of a
// turn (turns nest when a handler blocks on a pool thread that helps), for
// log tags and for the tracer's "who sent this".
ActorCell*& RunningCell();

// The log tag source (base/logging.h): "name#id <message type>" of the
// actor running on this thread.
void AppendRunningActorTag(std::string* out);

// Makes an incarnation of a supervised actor in the storage it is given.
using IncarnationFactory = absl::AnyInvocable<Actor*(void* storage)>;

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

  // Where every incarnation is constructed (actor_size bytes).
  void* actor_storage();

  // -- spawn ---------------------------------------------------------------------

  // Installs the first incarnation (constructed in actor_storage()) and
  // schedules the first turn on the system's scheduler, or on
  // `own_scheduler` (a dedicated thread's), which the cell then keeps: it
  // outlives every Deliver() that may call it.
  void Start(Actor* actor, std::shared_ptr<Scheduler> own_scheduler = nullptr);
  // Starts a supervised child: every incarnation, the first included, is
  // made by `factory` on the cell's own turn, and every end is reported to
  // the parent (a Supervisor), which decides what follows.
  void StartSupervised(IncarnationFactory factory,
                       std::shared_ptr<Scheduler> own_scheduler = nullptr);
  // Stops a cell whose actor never existed (its constructor threw, or the
  // system or the parent was stopping). Its mail is dead-lettered from now on.
  void StopUnstarted(proto::ExitReason::Kind kind, std::string detail);
  // False once this actor's incarnation is ending: a child spawned then
  // would outlive it, so it is stopped unstarted instead.
  bool AcceptsChildren() const { return phase_ == Phase::kRunning; }
  void AddChild(ActorCell* child);

  // -- Addressable / Schedulable -------------------------------------------------

  bool Deliver(std::unique_ptr<Envelope> envelope) override;
  bool IsAlive() const override { return stopped_.load(std::memory_order_seq_cst) == 0; }
  void MarkRegistered() override { registered_.store(true, std::memory_order_seq_cst); }
  std::string name() const override;
  ActorCell* AsCell() override { return this; }
  void RunTurn() override;
  void ForEachQueued(absl::FunctionRef<void(const Envelope&)> fn) const override;
  ActorRef Owner() const override;

  // -- for stats ------------------------------------------------------------------

  // From its own turn: a dead letter arose in it (ActorStats::dead_letters_caused).
  void CountDeadLetter();
  // Any thread, holding a ref.

  // Fills in what the cell knows of itself: a recent value of each field.
  // `workers` are the scheduler's, to tell which one runs this actor.
  void FillStats(const std::vector<WorkerStats>& workers, ActorStats* stats) const;

  // -- for the running actor's own handlers ---------------------------------------

  // The message being handled; null outside a handler (or once stashed).
  const Envelope* current() const { return current_.get(); }
  void RequestStop(proto::ExitReason::Kind kind, std::string detail);
  void Become(Behavior behavior, BecomeMode mode);
  void Unbecome();
  void Stash();
  void UnstashAll();
  void DeadLetterCurrent(DeadLetterReason reason);
  std::unique_ptr<Envelope> TakeCurrent() { return std::move(current_); }
  void Watch(const AddressablePtr& target);
  void Unwatch(const AddressablePtr& target);
  void Link(const AddressablePtr& target);
  void Unlink(const AddressablePtr& target);
  void TrapExits(bool trap) { trap_exits_ = trap; }
  // Makes this cell a supervisor's: it stops its children one at a time,
  // newest first, and its actor sees its children's ends (ChildEnded).
  void MakeSupervisor() { supervisor_ = true; }
  // 1 for the first incarnation; counts the restarts after it.
  uint32_t incarnation() const;

  // -- for the system -------------------------------------------------------------

  ActorCell* live_prev = nullptr;  // the system's live list, under its shard lock
  ActorCell* live_next = nullptr;
  bool has_parent() const { return static_cast<bool>(parent_); }

 private:
  enum class Phase : uint8_t {
    kRunning,    // an incarnation handles mail
    kEnding,     // the incarnation is ending: waiting for its children's ends
    kSuspended,  // a supervised child between incarnations, awaiting a directive
  };
  // What follows the end of an incarnation.
  enum class After : uint8_t { kDefault, kFinish, kReport, kRestart };

  void SetPhase(Phase phase);

  // Rarely used state, allocated on first use to keep idle actors small.
  struct Extras;
  Extras& extras();  // turn code: creates them
  // Any thread: creates them unless Finish() has sealed the pointer (null).
  Extras* LiveExtras();
  Extras* extras_if_any() const {
    Extras* x = extras_.load(std::memory_order_acquire);
    return x == Sealed() ? nullptr : x;
  }
  static Extras* Sealed() { return reinterpret_cast<Extras*>(uintptr_t{1}); }
  // How a finished cell ended (read after seeing it stopped).
  proto::ExitReason::Kind FinalKind() const;
  ActorCell(ActorSystem* system, uint64_t id, std::string name, ActorCell* parent);
  ~ActorCell() override;
  void Destroy() override;
  // The system's scheduler, or a dedicated actor's own. Read on the wake
  // path from any thread: `dedicated_` and extras_ were written before the
  // first turn, which happens-before any wake (mailbox.h, A and C).
  Scheduler* scheduler() const;
  void DestroyActor();
  void ConstructIncarnation();
  void StartIncarnation();
  // Takes ownership. `observe` holds the system's observation flags.
  void Handle(Envelope* envelope, uint8_t observe);
  void Invoke(Envelope& envelope);  // runs the handler, catching what it throws
  void InvokeObserved(Envelope& envelope, uint8_t observe);
  void Dispatch(Envelope& envelope);
  void HandleSystem(Envelope& envelope);
  bool HandleBetween(Envelope* envelope);  // takes ownership; true if finished
  bool OnChildEnded(Envelope& envelope);   // true if finished
  void OnDown(Envelope& envelope);
  void OnExit(Envelope& envelope);
  void RequestStop(proto::ExitReason::Kind kind, std::string detail, After after);
  Envelope* Next();
  proto::ExitReason StopReason() const;
  // The three steps of the file comment. Each returns true if the cell has
  // finished: it may then be gone, and the caller must return at once.
  bool EndIncarnation();
  bool CompleteEnd();
  bool Finish();
  void Restart();
  void TerminateChild(ActorCell* child, const proto::ExitReason& reason);
  void TerminateNextChild();
  void TerminateChildren(const proto::ExitReason& reason);
  void DropQueuedMail();
  void Fail(const Envelope* envelope, std::string what);
  // Lifecycle bookkeeping on the other side of a watch or link.
  bool AddWatcher(ActorCell* watcher, proto::ExitReason* final_reason);
  void RemoveWatcher(ActorCell* watcher);
  bool AddLink(ActorCell* other, proto::ExitReason* final_reason);
  bool RemoveLink(const Addressable* other);

  Mailbox mailbox_{Mailbox::InitialState::kRunning};
  Actor* actor_ = nullptr;  // the incarnation, in actor_storage() (destroyed, not freed)
  const AddressablePtr parent_;
  // Created on first use, from any thread (a watcher or linker can be the
  // first): a CAS publishes it (acq_rel), and the loser frees its copy.
  // Finish() seals a null pointer (Sealed()) so that none is made after.
  std::atomic<Extras*> extras_{nullptr};

  // Turn state: one thread at a time (see the file comment).
  std::unique_ptr<Envelope> current_;  // the message being handled
  Behavior behavior_;
  // Turn-only state, packed into two bytes (no other thread reads it; a
  // spawner writes some before the first turn, which that turn sees).
  Phase phase_ : 2 = Phase::kRunning;
  After after_ : 2 = After::kDefault;
  bool started_ : 1 = false;
  bool stopping_ : 1 = false;
  bool trap_exits_ : 1 = false;
  bool supervisor_ : 1 = false;
  bool supervised_ : 1 = false;
  uint8_t stop_kind_ : 3 = proto::ExitReason::NORMAL;  // a proto::ExitReason::Kind
  // Written before the first turn; read on wakes (which the mailbox orders
  // after it) and by stats (hence atomic; relaxed everywhere).
  std::atomic<bool> dedicated_{false};
  const bool named_;
  uint8_t pool_units_ = 0;  // the block's size / kPoolUnit if pooled, 0 if from new

  // 0 while alive; once Finish() runs, its exit reason's kind + 1.
  // A Dekker pair with the registry: Finish() stores stopped_ then loads
  // registered_; Registry::Register() stores registered_ then loads
  // stopped_. All seq_cst, so at least one side sees the other: a name is
  // never left pointing at a stopped actor.
  std::atomic<uint8_t> stopped_{0};
  std::atomic<bool> registered_{false};
  // Set after pushing a system-lane message, so the turn fetches it ahead
  // of the ordinary mail it has cached (Mailbox::Fetch). A hint: a release
  // store after the push; the turn loads it relaxed, and the fetch's
  // acquire exchange is what makes the message visible. A clear that races
  // with a later set only costs one extra fetch.
  std::atomic<bool> system_mail_{false};
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_ACTOR_CELL_H_
