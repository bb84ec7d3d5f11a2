// -----------------------------------------------------------------------------
// File: internal/actor_cell.h
// -----------------------------------------------------------------------------
//
// `ActorCell`: the logical actor behind an ActorRef. It owns the mailbox,
// the current incarnation (the user's Actor object) and the actor's place in
// the system (parent, children, watchers, links), and it runs the actor's
// turns. The cell outlives the incarnation: a supervisor replaces the actor
// object behind the same refs and mailbox.
//
//   ActorCell* cell = ActorCell::Create(link, id, "name", parent, sizeof(MyActor));
//   Actor* actor;
//   { ConstructingScope constructing(cell); actor = new (cell->actor_storage()) MyActor(); }
//   cell->Start(actor);                     // schedules the first turn
//   cell->Deliver(MakeEnvelope(message));   // any thread
//
// The class is one object in memory (cell, then the actor's storage, in one
// allocation) but its code is split by job, one file each:
//
//   actor_cell.cc      create/destroy, deliver, run a turn, dispatch
//   lifecycle.cc       stop requests, the end of an incarnation, finishing
//                      (the state machine itself: lifecycle.h)
//   supervision.cc     incarnations: the factory, suspension, restart
//   children.cc        the children and how a parent terminates them
//   monitors.cc        watches and links; where a Down or Exit is delivered
//   behavior_stack.cc  Become/Unbecome and the stash
//   cell_stats.h       the counters stats read; FillStats() is in cell_stats.cc
//   actor_tasks.cc     handlers and Go tasks that await: steps, the gate,
//                      ask cycles (the design: actor_tasks.h)
//   turn_context.cc    the thread-locals (running / constructing cell)
//
// The cell reaches its system only through its SystemLink and the
// CellEnvironment behind it (cell_environment.h), never ActorSystem.
//
// Scheduling: the mailbox starts "running" and Start() schedules the first
// turn. A turn handles up to `throughput` messages, then either goes idle
// (Mailbox::TryBlock(): the next Deliver schedules it again) or yields. Only
// the Deliver that wakes an idle mailbox schedules, so a cell never runs two
// turns at once: all turn state is touched by one thread at a time, and each
// turn's writes reach the next through the mailbox's release/acquire pair
// (see mailbox.h).
//
// State, by who may touch it:
//   * turn state: `current_`, `behavior_`, `state_` and Extras::turn — the
//     cell's turns only (and the spawner before the first turn);
//   * Extras::monitors — any thread, under the table's own mutex;
//   * Extras::stats, `stopped_`, `registered_`, `system_mail_`,
//     `dedicated_` — atomics, any thread; each says its ordering.
// The rarely used parts (Extras) are allocated on first use to keep idle
// actors small (bench A6).

#ifndef TROUPE_ACTOR_INTERNAL_ACTOR_CELL_H_
#define TROUPE_ACTOR_INTERNAL_ACTOR_CELL_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "actor/actor_ref.h"
#include "actor/behavior.h"
#include "actor/dead_letters.h"
#include "actor/internal/actor_tasks.h"
#include "actor/internal/addressable.h"
#include "actor/internal/behavior_stack.h"
#include "actor/internal/cell_environment.h"
#include "actor/internal/cell_stats.h"
#include "actor/internal/children.h"
#include "actor/internal/lifecycle.h"
#include "actor/internal/mailbox_limit.h"
#include "actor/internal/monitors.h"
#include "actor/internal/turn_context.h"
#include "actor/message.h"
#include "actor/scheduler.h"
#include "actor/spawn.h"
#include "actor/stats.h"
#include "actor/system.pb.h"
#include "mailbox/mailbox.h"
#include "threads/priority.h"

namespace troupe {
class Actor;
}  // namespace troupe

namespace troupe::actor_internal {

class ActorCell final : public Addressable, public Schedulable {
 public:
  // ActorCell::Create()
  //
  // Makes a cell with room behind it for an actor of `actor_size` bytes
  // (alignment at most 16): one allocation holds both, which saves a heap
  // block and its header per actor. The cell frees it when the last ref goes.
  // An empty `name` names it after its class (`type_name`, an index of
  // internal/type_names.h).
  static ActorCell* Create(SystemLink* link, uint64_t id, std::string name, ActorCell* parent,
                           size_t actor_size, uint32_t type_name = 0);
  static void operator delete(void* block) { ::operator delete(block); }

  // Where every incarnation is constructed (actor_size bytes).
  void* actor_storage();
  // The producers' half of the mailbox, in front of the cell (see Layout).
  MailboxStack& mail_stack() const {
    return *std::launder(reinterpret_cast<MailboxStack*>(
        reinterpret_cast<char*>(const_cast<ActorCell*>(this)) - kMailStackBytes));
  }
  // Where the cell starts in its block: behind the stack.
  static constexpr size_t kMailStackBytes = sizeof(MailboxStack);

  // -- spawn (actor_cell.cc, supervision.cc) ----------------------------------------

  // Installs the first incarnation (constructed in actor_storage()) and
  // schedules the first turn on the environment's scheduler, or on
  // `own_scheduler` (a dedicated thread's), which the cell then keeps: it
  // outlives every Deliver() that may call it.
  void Start(Actor* actor, std::shared_ptr<Scheduler> own_scheduler = nullptr);
  // Starts a supervised child: every incarnation, the first included, is
  // made by `factory` on the cell's own turn, and every end is reported to
  // the parent (a Supervisor), which decides what follows.
  void StartSupervised(IncarnationFactory factory,
                       std::shared_ptr<Scheduler> own_scheduler = nullptr);
  // Bounds the mailbox (SpawnOptions::mailbox_capacity, validated), before
  // the cell is published.
  void LimitMailbox(uint32_t capacity, OverflowPolicy policy);
  // The bounded mailbox's limit (set before publication), or null. Any
  // thread, while it holds a reference to the cell.
  MailboxLimit* mailbox_limit() const;
  // Any thread, any time (ActorRef::SetPriority()); the next time the cell
  // is scheduled it is at `priority`, which must be valid.
  void SetPriority(Priority priority);
  // Stops a cell whose actor never existed (its constructor threw, or the
  // system or the parent was stopping). Its mail is dead-lettered from now on.
  void StopUnstarted(proto::ExitReason::Kind kind, std::string detail);
  // False once this actor's incarnation is ending: a child spawned then
  // would outlive it, so it is stopped unstarted instead.
  bool AcceptsChildren() const { return state_.running(); }
  void AddChild(ActorCell* child);

  // -- Addressable / Schedulable (actor_cell.cc) -------------------------------------

  bool Deliver(std::unique_ptr<Envelope> envelope) override;
  PushResult TryDeliver(std::unique_ptr<Envelope>& envelope) override;
  size_t TryDeliverRun(std::vector<std::unique_ptr<Envelope>>& run, size_t from,
                       PushResult* result) override;
  absl::Status DeliverWithin(std::unique_ptr<Envelope>& envelope, absl::Time deadline) override;
  bool IsAlive() const override { return stopped_.load(std::memory_order_seq_cst) == 0; }
  void MarkRegistered() override { registered_.store(true, std::memory_order_seq_cst); }
  std::string name() const override;
  // Spawned with a name; if not, its name is its class's (type_name()).
  bool named() const { return (spawn_flags_.load(std::memory_order_relaxed) & kNamed) != 0; }
  uint32_t type_name() const { return type_name_; }
  ActorCell* AsCell() override { return this; }
  void RunTurn() override;
  void ForEachQueued(absl::FunctionRef<void(const Envelope&)> fn) const override;
  ActorRef Owner() const override;

  // -- stats (cell_stats.cc) ---------------------------------------------------------

  // From its own turn: a dead letter arose in it (ActorStats::dead_letters_caused).
  void CountDeadLetter();
  // Any thread, holding a ref: fills in a recent value of each field.
  // `workers` are the scheduler's, to tell which one runs this actor.
  void FillStats(const std::vector<WorkerStats>& workers, ActorStats* stats) const;

  // -- for the running actor's own handlers ------------------------------------------

  // The message being handled; null outside a handler (or once stashed).
  const Envelope* current() const { return current_.get(); }
  std::unique_ptr<Envelope> TakeCurrent() { return std::move(current_); }
  void DeadLetterCurrent(DeadLetterReason reason);
  // lifecycle.cc
  void RequestStop(proto::ExitReason::Kind kind, std::string detail);
  // behavior_stack.cc
  void Become(Behavior behavior, BecomeMode mode);
  void Unbecome();
  void Stash();
  void UnstashAll();
  // monitors.cc
  void Watch(const AddressablePtr& target);
  void Unwatch(const AddressablePtr& target);
  void Link(const AddressablePtr& target);
  void Unlink(const AddressablePtr& target);
  void TrapExits(bool trap) { state_.trap_exits = trap; }
  // supervision.cc: makes this cell a supervisor's: it stops its children
  // one at a time, newest first, and its actor sees its children's ends
  // (ChildEnded).
  void MakeSupervisor() { state_.supervisor = true; }
  // 1 for the first incarnation; counts the restarts after it.
  uint32_t incarnation() const;
  // actor_tasks.cc: a task's strand starts (see StartStrand()), and ends.
  bool StartTask(CellStrand* strand, std::coroutine_handle<> root, FirstStep first);
  ActorTasks& tasks();
  void OnTaskEnded(CellStrand* strand);

  // -- for watchers and links that are not cells (remote/'s relay of a watch or
  //    a link from another node): as a cell's, from any thread -------------------

  // False, with how this cell ended, if it has finished: no Down will come.
  bool AddForeignWatcher(const AddressablePtr& watcher, proto::ExitReason* final_reason);
  void RemoveForeignWatcher(const Addressable* watcher);
  // The same for a link: when this cell stops, `other` hears of it through
  // LinkedActorStopped(); an Exit that `other` delivers here ends the link
  // (as a linked cell's does).
  bool AddForeignLink(const AddressablePtr& other, proto::ExitReason* final_reason);
  void RemoveForeignLink(const Addressable* other) { (void)RemoveLink(other); }

  // -- for the system's live set (live_set.h) ---------------------------------------

  ActorCell* live_prev = nullptr;  // under the live set's shard lock
  ActorCell* live_next = nullptr;
  bool has_parent() const { return static_cast<bool>(parent_); }

 private:
  // The rarely used parts, by who may touch them (see the file comment).
  struct TurnExtras {
    std::string stop_detail;
    BehaviorStack behaviors;
    Children children;
    std::vector<AddressablePtr> watching;      // whom this cell watches
    std::shared_ptr<Scheduler> own_scheduler;  // a dedicated actor's
    IncarnationFactory factory;                // a supervised actor's
    std::unique_ptr<ActorTasks> tasks;         // once it has run a task
  };
  struct Extras {
    std::string name;                     // set at construction only
    std::unique_ptr<MailboxLimit> limit;  // set before publication, if bounded
    TurnExtras turn;
    CellStats stats;
    MonitorTable monitors;
  };
  TurnExtras& turn() { return extras().turn; }
  Extras& extras();  // turn code: creates them
  // Any thread: creates them unless Finish() has sealed the pointer (null).
  Extras* LiveExtras();
  Extras* extras_if_any() const {
    Extras* x = extras_.load(std::memory_order_acquire);
    return x == Sealed() ? nullptr : x;
  }
  static Extras* Sealed() { return reinterpret_cast<Extras*>(uintptr_t{1}); }

  ActorCell(SystemLink* link, uint64_t id, std::string name, ActorCell* parent, uint32_t type_name);
  ~ActorCell() override;
  void Destroy() override;

  // actor_cell.cc: the turn.
  // The environment's scheduler, or a dedicated actor's own. Read on the
  // wake path from any thread: `dedicated_` and extras_ were written before
  // the first turn, which happens-before any wake (mailbox.h, A and C).
  Scheduler* scheduler() const;
  // The priority it is scheduled at (threads/priority.h); any thread.
  Priority priority() const { return PriorityOf(spawn_flags_.load(std::memory_order_relaxed)); }
  static Priority PriorityOf(uint8_t spawn_flags) {
    return static_cast<Priority>((spawn_flags & kPriorityMask) >> kPriorityShift);
  }
  // Deliver()'s push: observed, bounded or not, the owner scheduled if
  // woken. The envelope is the mailbox's unless kClosed or kFull.
  template <bool kBounded>
  PushResult Push(Envelope& envelope);
  void ObserveSend(Envelope& envelope, uint8_t observe);  // hooks, tracing
  // A push woke the idle actor: schedules its turn (safely from any thread).
  void Wake();
  void WakeFromOutside();
  PushResult PushLimited(Envelope& envelope);
  PushResult PushExempt(Envelope& envelope);  // PushLimited() refused: an exempt kind?
  // Deliver() for a bounded mailbox, kept out of the unbounded path (raw
  // pointers, owned: no unique_ptr temporaries on the hot path's stack).
  bool DeliverBounded(Envelope* envelope);
  // The mailbox is closed: a dead letter (or a moot signal, dropped).
  bool Undeliverable(Envelope* envelope);
  // A bounded mailbox refused `envelope`: the overflow policy. Returns
  // whether it was delivered anyway (redirected).
  bool Overflow(std::unique_ptr<Envelope> envelope);
  // The owner, having refreshed its bound at the end of a turn: records the
  // turn's depth high-water mark `peak` (Mailbox::Pop) and wakes waiting
  // senders, as many as there is room for (mailbox_limit.cc).
  void WakeWaitingSenders(uint32_t peak);
  // The next message to handle, raising `peak` as Mailbox::Pop() does.
  Envelope* Next(uint32_t* peak);
  void Handle(Envelope* envelope, uint8_t observe);  // takes ownership
  void Invoke(Envelope& envelope);                   // runs the handler, catching what it throws
  void InvokeObserved(Envelope& envelope, uint8_t observe);
  void Dispatch(Envelope& envelope);
  void HandleSystem(Envelope& envelope);
  void Fail(const Envelope* envelope, std::string what);

  // actor_tasks.cc: steps of the actor's tasks, and the gate.
  void RunTaskStep(TaskStep& step);
  void RunTaskStep(TaskClosure& step);
  void RunInStrand(CellStrand* strand, absl::FunctionRef<void()> step);
  void RunStep(CellStrand* strand, absl::FunctionRef<void()> step);
  // Ordinary mail while a handler is suspended: held, or refused (an ask cycle).
  void HoldWhileGated(Envelope* envelope);  // takes ownership
  // After a step in an ending incarnation: once the last task has ended,
  // the end goes on (EndChildren). True if the cell has finished.
  bool ContinueEndAfterTasks();
  // MakeBehavior, then OnRestart (if `restarted_after`), then OnStart.
  void StartIncarnation(const proto::ExitReason* restarted_after = nullptr);
  void DestroyActor();

  // lifecycle.cc: ending. Each bool function returns true if the cell has
  // finished: it may then be gone, and the caller must return at once.
  void RequestStop(proto::ExitReason::Kind kind, std::string detail, After after);
  proto::ExitReason StopReason() const;
  void SetPhase(Phase phase);
  bool EndIncarnation();
  bool EndChildren();
  bool CompleteEnd();
  bool Finish();
  void DropQueuedMail();
  // How a finished cell ended (read after seeing it stopped).
  proto::ExitReason::Kind FinalKind() const;

  // supervision.cc: incarnations.
  void ConstructIncarnation();
  void Restart();
  bool HandleBetween(Envelope* envelope);  // takes ownership; true if finished
  void ReportEnd();                        // ChildEnded to the supervisor

  // children.cc
  bool OnChildEnded(Envelope& envelope);  // true if finished
  void TerminateChildren(const proto::ExitReason& reason);
  void TerminateNextChild();

  // monitors.cc
  // The other side of a watch or link, called by the watcher or linker:
  // false, with how this cell ended, if it has finished.
  bool AddWatcher(ActorCell* watcher, proto::ExitReason* final_reason);
  void RemoveWatcher(ActorCell* watcher);
  bool AddLink(ActorCell* other, proto::ExitReason* final_reason);
  bool RemoveLink(const Addressable* other);
  void OnDown(Envelope& envelope);
  void OnExit(Envelope& envelope);
  // Finish(): Down to watchers, Exit to links, and forget whom it watched.
  void NotifyMonitors(const proto::ExitReason& reason);

  // Layout: a send and the turn run on different cores, and a cache line
  // one writes on every message and the other reads costs both a transfer
  // each time. The word every send writes, the mailbox's stack, sits in
  // front of the cell (mail_stack(), actor_cell.cc), on a line with only
  // what a send reads anyway: Addressable (with the flags every send tests
  // and a bounded mailbox's capacity), the scheduler's vtable pointer and
  // the live-set links. What the turn writes per message (the caches below,
  // current_) starts 64 bytes after the word. A send reads nothing further
  // in: the cell is too short to keep a field a line away from both
  // current_ and the actor object after the cell (which its handlers
  // write), and a bounded send that read the limit through extras_ here
  // ran bench O1 at two thirds of the rate (docs/architecture.md, "Cache
  // lines"). extras_ is for slow paths: a refusal, a wait, the turn's end.
  MailboxCaches mailbox_;
  // Turn state: one thread at a time (see the file comment).
  std::unique_ptr<Envelope> current_;  // the message being handled
  Actor* actor_ = nullptr;             // the incarnation, in actor_storage() (destroyed, not freed)
  const AddressablePtr parent_;
  Behavior behavior_;
  // Created on first use, from any thread (a watcher or linker can be the
  // first): a CAS publishes it (acq_rel), and the loser frees its copy.
  // Finish() seals a null pointer (Sealed()) so that none is made after.
  std::atomic<Extras*> extras_{nullptr};
  LifecycleState state_;  // two bytes (lifecycle.h)
  // spawn_flags_ (in Addressable, where a send finds it on the object's
  // first cache line): written before the cell is published or before its
  // first turn; read on sends and wakes (which the publication and the
  // mailbox order after it) and by stats (hence atomic; relaxed
  // everywhere). The priority bits may change at any time (SetPriority()):
  // a wake reads whichever is current, and a relaxed read suffices, since
  // a priority orders nothing else.
  static constexpr uint8_t kDedicated = 1;       // own_scheduler is the scheduler
  static constexpr uint8_t kBoundedMailbox = 2;  // extras' limit and mailbox_capacity_ are set
  static constexpr int kPriorityShift = 2;       // two bits: a Priority
  static constexpr uint8_t kPriorityMask = 3 << kPriorityShift;
  static constexpr uint8_t kNamed = 16;  // spawned with a name (in extras), set at construction
  // The actor's class, as an index into internal/type_names.h (its name when
  // it was spawned without one); 0 for an index past 65535.
  uint16_t type_name_ = 0;
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
