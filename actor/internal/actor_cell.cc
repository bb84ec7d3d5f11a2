#include "actor/internal/actor_cell.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor_system.h"
#include "actor/hooks.h"
#include "base/check.h"
#include "base/logging.h"
#include "base/monotonic.h"

namespace troupe::actor_internal {

ActorCell*& ConstructingCell() {
  thread_local ActorCell* cell = nullptr;
  return cell;
}

ActorCell*& CurrentDedicatedCell() {
  thread_local ActorCell* cell = nullptr;
  return cell;
}

ActorCell*& RunningCell() {
  thread_local ActorCell* cell = nullptr;
  return cell;
}

void AppendRunningActorTag(std::string* out) {
  const ActorCell* cell = RunningCell();
  if (cell == nullptr) return;
  absl::StrAppend(out, cell->name(), "#", cell->id());
  if (const Envelope* envelope = cell->current())
    absl::StrAppend(out, " <", envelope->type().name(), ">");
}

struct ActorCell::Extras {
  std::string name;  // set at construction only
  std::string stop_detail;
  std::vector<Behavior> stacked;  // kStack behaviours under behavior_
  std::vector<Behavior> retired;  // replaced while a handler ran; freed after it
  MailboxNodeList stash;
  // Handed out before the mailbox's mail: unstashed mail, and mail held
  // between incarnations.
  MailboxNodeList unstashed;
  // Turn state: the children (with their spawn order) and whom this watches.
  absl::flat_hash_map<ActorCell*, uint64_t> children;
  uint64_t children_spawned = 0;
  std::vector<AddressablePtr> watching;
  std::shared_ptr<Scheduler> own_scheduler;  // a dedicated actor's
  IncarnationFactory factory;                // a supervised actor's
  std::atomic<uint32_t> incarnation{1};      // bumped by each restart; read by stats
  // Stats, written by its turns: dead letters that arose in them, and time
  // in handlers while timing is on.
  std::atomic<uint64_t> dead_letters_caused{0};
  std::atomic<int64_t> handler_nanos{0};
  // The cell's phase_, for stats. Kept only once extras exist: a cell
  // without them has no children, so it never waits in kEnding, and a
  // supervised one (kSuspended) has them from the start.
  std::atomic<uint8_t> shown_phase{0};

  // Shared with the cells that watch or link this one.
  Mutex mu;
  bool terminated ABSL_GUARDED_BY(mu) = false;
  proto::ExitReason final_reason ABSL_GUARDED_BY(mu);
  std::vector<AddressablePtr> watchers ABSL_GUARDED_BY(mu);
  std::vector<AddressablePtr> links ABSL_GUARDED_BY(mu);
};

namespace {

// A system-lane message (a lifecycle signal) for an actor that has stopped
// is moot, not lost: it is dropped, not dead-lettered. So is a stop for an
// actor that is stopping anyway.
bool IsMootWhenStopped(const Envelope& envelope) {
  return envelope.lane() == MailboxNode::Lane::kSystem;
}

void DeadLetterAll(ActorSystem* system, MailboxNodeList& list, const Addressable* receiver) {
  while (MailboxNode* node = list.PopFront()) {
    EnvelopePtr envelope(static_cast<Envelope*>(node));
    if (IsMootWhenStopped(*envelope)) continue;
    system->dead_letters().Publish(std::move(envelope), DeadLetterReason::kDroppedAtStop, receiver);
  }
}

bool IsAbnormal(proto::ExitReason::Kind kind) {
  return kind != proto::ExitReason::NORMAL && kind != proto::ExitReason::SYSTEM_SHUTDOWN;
}

proto::ActorAddress AddressOf(const Addressable& actor) {
  proto::ActorAddress address;
  address.set_id(actor.id());
  address.set_name(actor.name());
  return address;
}

// Down or Exit from `from` to `to`, with `from` as the sender.
void SendDown(Addressable& to, const AddressablePtr& from, const proto::ExitReason& reason) {
  proto::Down down;
  if (from) *down.mutable_actor() = AddressOf(*from);
  *down.mutable_reason() = reason;
  to.Deliver(MakeEnvelope(std::move(down), from));
}

void SendExit(Addressable& to, const AddressablePtr& from, const proto::ExitReason& reason) {
  proto::Exit exit;
  *exit.mutable_from() = AddressOf(*from);
  *exit.mutable_reason() = reason;
  to.Deliver(MakeEnvelope(std::move(exit), from));
}

proto::ExitReason MakeReason(proto::ExitReason::Kind kind, std::string detail) {
  proto::ExitReason reason;
  reason.set_kind(kind);
  reason.set_detail(std::move(detail));
  return reason;
}

}  // namespace

// The actor's storage starts at the first 16-byte boundary after the cell.
constexpr size_t kActorOffset = (sizeof(ActorCell) + 15) / 16 * 16;
// Idle actors are meant to cost <= 256 bytes each (bench A6): watch the cell.
static_assert(sizeof(ActorCell) <= 208, "ActorCell grew: check bench A6");

constexpr size_t kPoolUnit = 16;  // the pool's size classes are multiples of it

ActorCell* ActorCell::Create(ActorSystem* system, uint64_t id, std::string name, ActorCell* parent,
                             size_t actor_size) {
  const size_t total = kActorOffset + actor_size;
  if (total > kMaxPooledSize) {
    return new (::operator new(total)) ActorCell(system, id, std::move(name), parent);
  }
  const size_t units = (total + kPoolUnit - 1) / kPoolUnit;
  auto* cell = new (PoolAllocate(units * kPoolUnit)) ActorCell(system, id, std::move(name), parent);
  cell->pool_units_ = static_cast<uint8_t>(units);
  return cell;
}

void ActorCell::Destroy() {
  const size_t pooled = pool_units_ * kPoolUnit;
  void* block = this;
  this->~ActorCell();
  if (pooled != 0) {
    PoolFree(block, pooled);
  } else {
    ::operator delete(block);
  }
}

void* ActorCell::actor_storage() { return reinterpret_cast<char*>(this) + kActorOffset; }

ActorCell::ActorCell(ActorSystem* system, uint64_t id, std::string name, ActorCell* parent)
    : Addressable(system->link(), id), parent_(parent), named_(!name.empty()) {
  if (named_) extras().name = std::move(name);
}

ActorCell::~ActorCell() {
  DestroyActor();
  delete extras_if_any();
}

ActorCell::Extras* ActorCell::LiveExtras() {
  Extras* x = extras_.load(std::memory_order_acquire);
  if (x != nullptr) [[likely]]
    return x == Sealed() ? nullptr : x;
  auto fresh = std::make_unique<Extras>();
  // acq_rel: the winner publishes a constructed Extras (or Finish() its
  // seal, after its stopped_ store); a loser sees what won.
  if (extras_.compare_exchange_strong(x, fresh.get(), std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
    return fresh.release();
  }
  return x == Sealed() ? nullptr : x;
}

ActorCell::Extras& ActorCell::extras() {
  Extras* x = LiveExtras();
  // Only Finish() seals, and no turn code runs after it.
  TROUPE_DCHECK(x != nullptr, "{}: extras() after Finish()", id());
  return *x;
}

proto::ExitReason::Kind ActorCell::FinalKind() const {
  return static_cast<proto::ExitReason::Kind>(stopped_.load(std::memory_order_acquire) - 1);
}

void ActorCell::SetPhase(Phase phase) {
  phase_ = phase;
  // Relaxed: a snapshot for stats.
  if (Extras* x = extras_if_any())
    x->shown_phase.store(static_cast<uint8_t>(phase), std::memory_order_relaxed);
}

uint32_t ActorCell::incarnation() const {
  Extras* x = extras_if_any();
  return x != nullptr ? x->incarnation.load(std::memory_order_relaxed) : 1;
}

std::string ActorCell::name() const {
  return named_ ? extras_if_any()->name : std::string("actor");
}

Scheduler* ActorCell::scheduler() const {
  return dedicated_.load(std::memory_order_relaxed) ? extras_if_any()->own_scheduler.get()
                                                    : &system()->scheduler();
}

void ActorCell::Start(Actor* actor, std::shared_ptr<Scheduler> own_scheduler) {
  if (own_scheduler != nullptr) {
    extras().own_scheduler = std::move(own_scheduler);
    dedicated_.store(true, std::memory_order_relaxed);
  }
  actor_ = actor;
  scheduler()->Schedule(this);
}

void ActorCell::StartSupervised(IncarnationFactory factory,
                                std::shared_ptr<Scheduler> own_scheduler) {
  extras().factory = std::move(factory);
  supervised_ = true;
  Start(nullptr, std::move(own_scheduler));  // the first turn makes the first incarnation
}

void ActorCell::DestroyActor() {
  if (actor_ == nullptr) return;
  Actor* actor = std::exchange(actor_, nullptr);
  actor->~Actor();  // its storage belongs to the cell
}

void ActorCell::StopUnstarted(proto::ExitReason::Kind kind, std::string detail) {
  started_ = true;
  RequestStop(kind, std::move(detail), After::kFinish);
  Extras* x = extras_if_any();
  if (x == nullptr || x->children.empty()) {
    SetPhase(Phase::kEnding);
    Finish();
    return;
  }
  // Its constructor spawned children before it threw: a turn waits for them.
  scheduler()->Schedule(this);
}

void ActorCell::AddChild(ActorCell* child) {
  Extras& x = extras();
  x.children.emplace(child, x.children_spawned++);
}

bool ActorCell::Deliver(std::unique_ptr<Envelope> envelope) {
  // The send path's whole cost of observation while it is off: one relaxed load.
  // It reads the link, never the system: this ref may have outlived it.
  if (const uint8_t observe = link()->observe_flags(); observe != 0) [[unlikely]] {
    if ((observe & kObserveHooks) != 0) {
      link()->hooks()->OnSend(ActorRef(AddressablePtr(this)), *envelope);
    }
    if ((observe & kObserveTrace) != 0) {
      const ActorCell* from = RunningCell();
      link()->tracer().RecordSend(*envelope, id(), from != nullptr ? from->id() : 0);
    }
  }
  const bool system_lane = envelope->lane() == MailboxNode::Lane::kSystem;
  switch (mailbox_.Push(envelope.get())) {
    case PushResult::kPushed:
      envelope.release();  // the mailbox has it now
      if (system_lane) [[unlikely]]
        system_mail_.store(true, std::memory_order_release);
      return true;
    case PushResult::kWokeOwner:
      // The mailbox was open, so the actor has not finished and the system
      // (which waits for every actor to finish) still exists.
      envelope.release();
      scheduler()->Schedule(this);
      return true;
    case PushResult::kClosed:
      break;
  }
  if (IsMootWhenStopped(*envelope)) return false;
  // Closed: the system may be gone too; the link knows.
  PublishDeadLetter(link(), std::move(envelope), DeadLetterReason::kReceiverStopped, this);
  return false;
}

void ActorCell::ForEachQueued(absl::FunctionRef<void(const Envelope&)> fn) const {
  if (Extras* x = extras_if_any(); x != nullptr && phase_ == Phase::kRunning) {
    for (const MailboxNode* node = x->unstashed.front(); node != nullptr; node = node->next()) {
      fn(static_cast<const Envelope&>(*node));
    }
  }
  mailbox_.ForEachQueued([&](const MailboxNode& node) { fn(static_cast<const Envelope&>(node)); });
}

ActorRef ActorCell::Owner() const { return ActorRef(AddressablePtr(const_cast<ActorCell*>(this))); }

void ActorCell::CountDeadLetter() {
  // Its own turn only (single writer), but read by stats: relaxed load+store.
  // A finishing actor keeps no stats (its extras may be sealed).
  if (Extras* x = LiveExtras()) {
    x->dead_letters_caused.store(x->dead_letters_caused.load(std::memory_order_relaxed) + 1,
                                 std::memory_order_relaxed);
  }
}

void ActorCell::FillStats(const std::vector<WorkerStats>& workers, ActorStats* stats) const {
  stats->id = id();
  stats->name = name();
  stats->parent = parent_ ? parent_->id() : 0;
  stats->dedicated = dedicated_.load(std::memory_order_relaxed);
  stats->mailbox_depth = mailbox_.ApproximateSize();
  stats->messages_handled = mailbox_.popped();
  Extras* const x = extras_if_any();
  if (x != nullptr) {
    stats->restarts = x->incarnation.load(std::memory_order_relaxed) - 1;
    stats->dead_letters_caused = x->dead_letters_caused.load(std::memory_order_relaxed);
    stats->handler_time = absl::Nanoseconds(x->handler_nanos.load(std::memory_order_relaxed));
    MutexLock lock(x->mu);
    for (const AddressablePtr& link : x->links) stats->links.push_back(link->id());
    for (const AddressablePtr& watcher : x->watchers) stats->watchers.push_back(watcher->id());
  }
  if (!IsAlive()) {
    stats->state = ActorState::kStopping;
    return;
  }
  const uint8_t phase = x != nullptr ? x->shown_phase.load(std::memory_order_relaxed) : 0;
  switch (static_cast<Phase>(phase)) {
    case Phase::kEnding:
      stats->state = ActorState::kEnding;
      return;
    case Phase::kSuspended:
      stats->state = ActorState::kSuspended;
      return;
    case Phase::kRunning:
      break;
  }
  for (const WorkerStats& worker : workers) {
    if (worker.running_job == static_cast<const PoolJob*>(this)) {
      stats->state = ActorState::kRunning;
      stats->worker = worker.index;
      return;
    }
  }
  stats->state = mailbox_.IsBlocked() ? ActorState::kIdle : ActorState::kScheduled;
}

// -- turns ----------------------------------------------------------------------

namespace {
// Marks the turn of `cell` as running on this thread while it lives.
class RunningTurn {
 public:
  explicit RunningTurn(ActorCell* cell) : outer_(std::exchange(RunningCell(), cell)) {}
  ~RunningTurn() { RunningCell() = outer_; }
  RunningTurn(const RunningTurn&) = delete;
  RunningTurn& operator=(const RunningTurn&) = delete;

 private:
  ActorCell* const outer_;
};
}  // namespace

void ActorCell::RunTurn() {
  const RunningTurn running(this);
  if (!started_) [[unlikely]] {
    started_ = true;
    if (supervised_) ConstructIncarnation();
    if (!stopping_) StartIncarnation();
  }
  if (stopping_ && phase_ == Phase::kRunning) [[unlikely]] {
    if (EndIncarnation()) return;
  }
  const uint8_t observe = link()->observe_flags();  // once per turn
  int budget = system()->throughput();
  while (budget > 0) {
    Envelope* next = Next();
    if (next == nullptr) break;
    --budget;
    if (phase_ == Phase::kRunning) [[likely]] {
      Handle(next, observe);
    } else if (HandleBetween(next)) {
      return;
    }
    if (stopping_ && phase_ == Phase::kRunning) [[unlikely]] {
      if (EndIncarnation()) return;
    }
  }
  // Idle only if nothing is left anywhere; TryBlock() fails if mail slipped
  // in. Out of budget: run again behind the others (fairness). Mail held
  // between incarnations waits for the next one: it does not keep us busy.
  Extras* x = extras_if_any();
  const bool unstashed = x != nullptr && !x->unstashed.empty() && phase_ == Phase::kRunning;
  if (!unstashed && mailbox_.TryBlock()) return;
  if (budget == 0) {
    scheduler()->Yield(this);
  } else {
    scheduler()->Schedule(this);
  }
}

void ActorCell::ConstructIncarnation() {
  ActorCell* const outer = std::exchange(ConstructingCell(), this);
  try {
    actor_ = extras_if_any()->factory(actor_storage());
  } catch (const std::exception& e) {
    Fail(nullptr, e.what());
  } catch (...) {
    Fail(nullptr, "unknown exception");
  }
  ConstructingCell() = outer;
}

void ActorCell::StartIncarnation() {
  try {
    behavior_ = actor_->MakeBehavior();
    actor_->OnStart();
  } catch (const std::exception& e) {
    Fail(nullptr, e.what());
  } catch (...) {
    Fail(nullptr, "unknown exception");
  }
}

inline Envelope* ActorCell::Next() {
  Extras* x = extras_if_any();
  if (x != nullptr && !x->unstashed.empty() && phase_ == Phase::kRunning) [[unlikely]] {
    return static_cast<Envelope*>(x->unstashed.PopFront());
  }
  if (system_mail_.load(std::memory_order_relaxed)) [[unlikely]] {
    system_mail_.store(false, std::memory_order_relaxed);
    mailbox_.Fetch();  // lifecycle signals overtake the mail already cached
  }
  return static_cast<Envelope*>(mailbox_.Pop());
}

inline void ActorCell::Handle(Envelope* envelope, uint8_t observe) {
  current_.reset(envelope);
  if (observe == 0) [[likely]] {
    Invoke(*envelope);
  } else {
    InvokeObserved(*envelope, observe);
  }
  current_.reset();
  if (Extras* x = extras_if_any()) x->retired.clear();
}

inline void ActorCell::Invoke(Envelope& envelope) {
  try {
    if (envelope.lane() == MailboxNode::Lane::kSystem) [[unlikely]] {
      HandleSystem(envelope);
    } else if (envelope.Is<Continuation>()) [[unlikely]] {
      std::move(envelope.As<Continuation>().run)();
    } else {
      Dispatch(envelope);
    }
  } catch (const std::exception& e) {
    Fail(current_.get(), e.what());
  } catch (...) {
    Fail(current_.get(), "unknown exception");
  }
}

void ActorCell::InvokeObserved(Envelope& envelope, uint8_t observe) {
  // Read before the handler runs: it may take, stash or dead-letter the envelope.
  const MessageType& type = envelope.type();
  ActorHooks* const hooks = (observe & kObserveHooks) != 0 ? system()->hooks() : nullptr;
  if (hooks != nullptr) hooks->OnActivate(ActorRef(AddressablePtr(this)), envelope);
  const uint64_t flow = envelope.trace_flow();
  const bool timed = (observe & (kObserveTiming | kObserveTrace)) != 0;
  const int64_t start = timed ? MonotonicNanos() : 0;
  Invoke(envelope);
  if (timed) {
    const int64_t end = MonotonicNanos();
    if ((observe & kObserveTiming) != 0) {
      std::atomic<int64_t>& total = extras().handler_nanos;  // written by turns only
      total.store(total.load(std::memory_order_relaxed) + (end - start), std::memory_order_relaxed);
    }
    if ((observe & kObserveTrace) != 0) {
      system()->tracer().RecordActivation(
          id(), [this] { return absl::StrCat(name(), "#", id()); }, type, flow, start, end);
    }
  }
  if (hooks != nullptr) hooks->OnActivated(ActorRef(AddressablePtr(this)), type);
}

void ActorCell::Dispatch(Envelope& envelope) {
  if (Behavior::Handler* handler = behavior_.Find(envelope.type())) [[likely]] {
    (*handler)(envelope, this);
  } else {
    actor_->OnUnhandled(envelope);
  }
}

void ActorCell::HandleSystem(Envelope& envelope) {
  if (envelope.Is<proto::Stop>()) {
    const proto::ExitReason& reason = envelope.As<proto::Stop>().reason();
    const auto kind = reason.kind() == proto::ExitReason::KIND_UNSPECIFIED
                          ? proto::ExitReason::NORMAL
                          : reason.kind();
    RequestStop(kind, reason.detail(),
                kind == proto::ExitReason::SYSTEM_SHUTDOWN ? After::kFinish : After::kDefault);
  } else if (envelope.Is<proto::Kill>()) {
    RequestStop(proto::ExitReason::KILLED, envelope.As<proto::Kill>().detail());
  } else if (envelope.Is<Directive>()) {
    const Directive& directive = envelope.As<Directive>();
    if (directive.kind == Directive::Kind::kTerminate) {
      RequestStop(directive.reason.kind(), directive.reason.detail(), After::kFinish);
    } else if (directive.incarnation == incarnation()) {
      RequestStop(proto::ExitReason::NORMAL, "restarted by its supervisor", After::kRestart);
    }
  } else if (envelope.Is<ChildEnded>()) {
    OnChildEnded(envelope);
  } else if (envelope.Is<proto::Down>()) {
    OnDown(envelope);
  } else if (envelope.Is<proto::Exit>()) {
    OnExit(envelope);
  } else {
    Dispatch(envelope);
  }
}

// -- between incarnations ----------------------------------------------------------

bool ActorCell::HandleBetween(Envelope* raw) {
  EnvelopePtr envelope(raw);
  if (envelope->Is<ChildEnded>()) return OnChildEnded(*envelope);
  proto::ExitReason::Kind terminate = proto::ExitReason::KIND_UNSPECIFIED;
  if (envelope->Is<Directive>()) {
    const Directive& directive = envelope->As<Directive>();
    if (directive.kind == Directive::Kind::kTerminate) {
      terminate = directive.reason.kind();
    } else if (directive.incarnation == incarnation()) {
      if (phase_ == Phase::kSuspended) {
        Restart();
      } else if (after_ == After::kReport) {
        after_ = After::kRestart;  // the supervisor wants it anyway (all-for-one)
      }
    }
  } else if (envelope->Is<proto::Stop>() &&
             envelope->As<proto::Stop>().reason().kind() == proto::ExitReason::SYSTEM_SHUTDOWN) {
    terminate = proto::ExitReason::SYSTEM_SHUTDOWN;
  } else if (envelope->Is<proto::Stop>() || envelope->Is<proto::Kill>()) {
    // The incarnation they were for has ended already.
  } else {
    extras().unstashed.PushBack(envelope.release());  // for the next incarnation
  }
  if (terminate == proto::ExitReason::KIND_UNSPECIFIED) return false;
  after_ = After::kFinish;
  return phase_ == Phase::kSuspended && Finish();
}

bool ActorCell::OnChildEnded(Envelope& envelope) {
  const ChildEnded& ended = envelope.As<ChildEnded>();
  auto* child = static_cast<ActorCell*>(ended.child.get());
  if (!ended.terminated) {
    // A supervised child between incarnations: its supervisor decides, if
    // it is running; otherwise the child is done.
    if (phase_ == Phase::kRunning && !stopping_ && supervisor_) {
      Dispatch(envelope);
    } else {
      TerminateChild(child, StopReason());
    }
    return false;
  }
  Extras& x = extras();
  if (x.children.erase(child) == 0) return false;  // never joined (spawned while stopping)
  if (phase_ == Phase::kRunning) {
    if (supervisor_) Dispatch(envelope);  // a supervisor keeps its own table
    return false;
  }
  if (phase_ != Phase::kEnding) return false;
  if (!x.children.empty()) {
    if (supervisor_ && !system()->IsShuttingDown()) TerminateNextChild();
    return false;
  }
  return CompleteEnd();
}

// -- ending ----------------------------------------------------------------------

void ActorCell::RequestStop(proto::ExitReason::Kind kind, std::string detail) {
  RequestStop(kind, std::move(detail), After::kDefault);
}

void ActorCell::RequestStop(proto::ExitReason::Kind kind, std::string detail, After after) {
  if (stopping_) {  // the first reason wins; a terminate still wins over a restart
    if (after == After::kFinish) after_ = After::kFinish;
    // A supervisor half-way through stopping its children one by one when
    // the system shuts down tells the rest at once (see EndIncarnation()).
    if (kind == proto::ExitReason::SYSTEM_SHUTDOWN && supervisor_ && phase_ == Phase::kEnding) {
      TerminateChildren(MakeReason(proto::ExitReason::SYSTEM_SHUTDOWN, ""));
    }
    return;
  }
  stopping_ = true;
  stop_kind_ = static_cast<uint8_t>(kind);
  if (!detail.empty()) extras().stop_detail = std::move(detail);
  if (after == After::kDefault) {
    after =
        supervised_ && kind != proto::ExitReason::SYSTEM_SHUTDOWN ? After::kReport : After::kFinish;
  }
  after_ = after;
}

proto::ExitReason ActorCell::StopReason() const {
  Extras* x = extras_if_any();
  return MakeReason(static_cast<proto::ExitReason::Kind>(stop_kind_),
                    x != nullptr ? x->stop_detail : std::string());
}

bool ActorCell::EndIncarnation() {
  SetPhase(Phase::kEnding);
  Extras* x = extras_if_any();
  if (x == nullptr || x->children.empty()) return CompleteEnd();
  // A supervisor stops its children one at a time, newest first: a tree
  // stops in the reverse of its start order. Not at system shutdown: each
  // step waits for the child's turn, behind every other busy actor, so with
  // many children under load the shutdown would take rounds without end.
  // Then, as any parent does, it tells them all at once.
  if (supervisor_ && !system()->IsShuttingDown()) {
    TerminateNextChild();
  } else {
    TerminateChildren(StopReason());
  }
  return false;
}

void ActorCell::TerminateChildren(const proto::ExitReason& reason) {
  Extras& x = extras();
  std::vector<ActorCell*> children;
  children.reserve(x.children.size());
  for (const auto& [child, order] : x.children) children.push_back(child);
  for (ActorCell* child : children) TerminateChild(child, reason);
}

void ActorCell::TerminateChild(ActorCell* child, const proto::ExitReason& reason) {
  Directive directive;
  directive.kind = Directive::Kind::kTerminate;
  directive.reason = MakeReason(reason.kind() == proto::ExitReason::SYSTEM_SHUTDOWN
                                    ? proto::ExitReason::SYSTEM_SHUTDOWN
                                    : proto::ExitReason::NORMAL,
                                "parent stopped");
  child->Deliver(MakeEnvelope(std::move(directive), AddressablePtr(this)));
}

void ActorCell::TerminateNextChild() {
  Extras& x = extras();
  ActorCell* newest = nullptr;
  uint64_t newest_order = 0;
  for (const auto& [child, order] : x.children) {
    if (newest == nullptr || order > newest_order) {
      newest = child;
      newest_order = order;
    }
  }
  if (newest != nullptr) TerminateChild(newest, StopReason());
}

bool ActorCell::CompleteEnd() {
  if (actor_ != nullptr) {
    try {
      actor_->OnStop();
    } catch (const std::exception& e) {
      if (int64_t skipped; system()->failure_log().ShouldLog(&skipped)) {
        LogError(ActorLog(), "OnStop threw: {}{}", e.what(), LogLimiter::Skipped(skipped));
      }
    } catch (...) {
      if (int64_t skipped; system()->failure_log().ShouldLog(&skipped)) {
        LogError(ActorLog(), "OnStop threw{}", LogLimiter::Skipped(skipped));
      }
    }
  }
  behavior_ = Behavior();
  if (Extras* x = extras_if_any()) {
    x->stacked.clear();
    // Stashed mail goes back in front for the next incarnation.
    MailboxNodeList merged = std::move(x->stash);
    merged.Append(std::move(x->unstashed));
    x->unstashed = std::move(merged);
  }
  DestroyActor();
  trap_exits_ = false;
  if (after_ == After::kFinish) return Finish();
  if (stop_kind_ == proto::ExitReason::KILLED) DropQueuedMail();
  if (after_ == After::kRestart) {
    Restart();
    return false;
  }
  SetPhase(Phase::kSuspended);
  ChildEnded ended;
  ended.child = AddressablePtr(this);
  ended.incarnation = incarnation();
  ended.reason = StopReason();
  parent_->Deliver(MakeEnvelope(std::move(ended), AddressablePtr(this)));
  return false;
}

void ActorCell::DropQueuedMail() {
  // A kill discards the mail that was waiting, as if the actor had died
  // with it; lifecycle signals among it still count.
  Extras& x = extras();
  MailboxNodeList queued = std::move(x.unstashed);
  while (MailboxNode* node = mailbox_.Pop()) queued.PushBack(node);
  while (MailboxNode* node = queued.PopFront()) {
    EnvelopePtr envelope(static_cast<Envelope*>(node));
    if (envelope->lane() == MailboxNode::Lane::kSystem) {
      x.unstashed.PushBack(envelope.release());
    } else {
      system()->dead_letters().Publish(std::move(envelope), DeadLetterReason::kDroppedAtStop, this);
    }
  }
}

void ActorCell::Restart() {
  if (ActorHooks* hooks = system()->hooks()) {
    hooks->OnRestart(ActorRef(AddressablePtr(this)), StopReason());
  }
  SetPhase(Phase::kRunning);
  stopping_ = false;
  after_ = After::kDefault;
  stop_kind_ = proto::ExitReason::NORMAL;
  if (Extras* x = extras_if_any()) x->stop_detail.clear();
  Extras& x = extras();
  x.incarnation.store(x.incarnation.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  ConstructIncarnation();
  if (!stopping_) StartIncarnation();
}

bool ActorCell::Finish() {
  const proto::ExitReason reason = StopReason();

  // Dead from here on: Tell() dead-letters, the registry drops our names.
  stopped_.store(static_cast<uint8_t>(reason.kind() + 1), std::memory_order_seq_cst);
  MailboxNodeList rest = mailbox_.Close();
  if (registered_.load(std::memory_order_seq_cst)) system()->registry().UnregisterAll(this);
  if (ActorHooks* hooks = system()->hooks()) hooks->OnStop(ActorRef(AddressablePtr(this)), reason);

  // Watchers and links live in the extras. If there are none, seal the
  // pointer, so that a watcher or linker racing with this finds the seal
  // instead of creating extras nobody would ever read (the Down is theirs
  // to send themselves, with FinalKind()).
  Extras* x = extras_if_any();
  if (x == nullptr) {
    Extras* expected = nullptr;
    if (!extras_.compare_exchange_strong(expected, Sealed(), std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      x = expected;  // one was made just now
    }
  }
  if (x != nullptr) {
    std::vector<AddressablePtr> watchers;
    std::vector<AddressablePtr> links;
    {
      MutexLock lock(x->mu);
      x->terminated = true;
      x->final_reason = reason;
      watchers.swap(x->watchers);
      links.swap(x->links);
    }
    const AddressablePtr self(this);
    for (const AddressablePtr& watcher : watchers) SendDown(*watcher, self, reason);
    // The other side drops its half of the link when it handles the Exit.
    for (const AddressablePtr& other : links) SendExit(*other, self, reason);
    for (const AddressablePtr& target : x->watching) {
      if (ActorCell* cell = target ? target->AsCell() : nullptr) cell->RemoveWatcher(this);
    }
    x->watching.clear();
    DeadLetterAll(system(), x->unstashed, this);
    DeadLetterAll(system(), x->stash, this);
    x->stacked.clear();
    x->factory = nullptr;
  }
  DeadLetterAll(system(), rest, this);
  behavior_ = Behavior();
  DestroyActor();

  if (parent_) {
    ChildEnded ended;
    ended.child = AddressablePtr(this);
    ended.incarnation = incarnation();
    ended.terminated = true;
    ended.reason = reason;
    parent_->Deliver(MakeEnvelope(std::move(ended), AddressablePtr(this)));
  }
  system()->OnActorStopped(this);  // last: it may drop the last ref to this cell
  return true;
}

void ActorCell::Fail(const Envelope* envelope, std::string what) {
  // The log tag names the actor and the message (see AppendRunningActorTag);
  // a crash loop logs one line a second, with the count of the rest.
  if (int64_t skipped; system()->failure_log().ShouldLog(&skipped)) {
    LogError(ActorLog(), "{}: {}{}", envelope != nullptr ? "handler failed" : "failed starting",
             what, LogLimiter::Skipped(skipped));
  }
  if (envelope != nullptr && current_ != nullptr)
    DeadLetterCurrent(DeadLetterReason::kHandlerFailed);
  RequestStop(proto::ExitReason::FAILURE, std::move(what));
}

// -- watches and links -------------------------------------------------------------

void ActorCell::Watch(const AddressablePtr& target) {
  if (target.get() == this) return;  // nobody sees their own end
  Extras& x = extras();
  for (const AddressablePtr& watched : x.watching) {
    if (watched.get() == target.get()) return;
  }
  x.watching.push_back(target);
  ActorCell* cell = target ? target->AsCell() : nullptr;
  proto::ExitReason final_reason;
  if (cell != nullptr && cell->AddWatcher(this, &final_reason)) return;
  if (cell == nullptr) {
    final_reason = MakeReason(proto::ExitReason::NORMAL, target ? "not an actor" : "empty ref");
  }
  SendDown(*this, target, final_reason);  // already gone: Down at once
}

void ActorCell::Unwatch(const AddressablePtr& target) {
  Extras* x = extras_if_any();
  if (x == nullptr) return;
  auto it = std::find_if(x->watching.begin(), x->watching.end(),
                         [&](const AddressablePtr& w) { return w.get() == target.get(); });
  if (it == x->watching.end()) return;
  AddressablePtr watched = std::move(*it);
  x->watching.erase(it);
  if (ActorCell* cell = watched ? watched->AsCell() : nullptr) cell->RemoveWatcher(this);
}

// A Down or Exit that no watch or link explains: a signal from an actor
// that has stopped crossed an Unwatch() or Unlink() and is dropped; one
// from anywhere else was sent by hand and is an ordinary message.
namespace {
bool IsStaleSignal(const Envelope& envelope) {
  Addressable* sender = envelope.sender().get();
  return sender != nullptr && sender->AsCell() != nullptr && !sender->IsAlive();
}
}  // namespace

void ActorCell::OnDown(Envelope& envelope) {
  if (Extras* x = extras_if_any()) {
    auto it = std::find_if(x->watching.begin(), x->watching.end(), [&](const AddressablePtr& w) {
      return w.get() == envelope.sender().get();
    });
    if (it != x->watching.end()) {
      x->watching.erase(it);  // one Down per watch
      Dispatch(envelope);
      return;
    }
  }
  if (!IsStaleSignal(envelope)) Dispatch(envelope);
}

void ActorCell::Link(const AddressablePtr& target) {
  if (target.get() == this) return;
  ActorCell* cell = target ? target->AsCell() : nullptr;
  if (cell == nullptr) {
    LogWarning(ActorLog(), "Link() to {}: ignored",
               target ? "something that is not an actor" : "an empty ref");
    return;
  }
  Extras& x = extras();
  {
    MutexLock lock(x.mu);
    for (const AddressablePtr& linked : x.links) {
      if (linked.get() == cell) return;
    }
    x.links.push_back(target);
  }
  proto::ExitReason final_reason;
  if (!cell->AddLink(this, &final_reason)) SendExit(*this, target, final_reason);
}

void ActorCell::Unlink(const AddressablePtr& target) {
  if (!RemoveLink(target.get())) return;
  if (ActorCell* cell = target->AsCell()) cell->RemoveLink(this);
}

void ActorCell::OnExit(Envelope& envelope) {
  // From a linked actor, the link ends with it. (See IsStaleSignal.)
  if (!RemoveLink(envelope.sender().get())) {
    if (!IsStaleSignal(envelope)) Dispatch(envelope);
    return;
  }
  if (trap_exits_) {
    Dispatch(envelope);
    return;
  }
  const proto::Exit& exit = envelope.As<proto::Exit>();
  if (!IsAbnormal(exit.reason().kind())) return;
  RequestStop(proto::ExitReason::LINKED_EXIT,
              absl::StrCat("linked actor ", exit.from().name(), "#", exit.from().id(),
                           " stopped: ", proto::ExitReason::Kind_Name(exit.reason().kind()),
                           exit.reason().detail().empty() ? "" : " (", exit.reason().detail(),
                           exit.reason().detail().empty() ? "" : ")"));
}

bool ActorCell::AddWatcher(ActorCell* watcher, proto::ExitReason* final_reason) {
  Extras* live = LiveExtras();
  if (live == nullptr) {  // finished, sealed: with no detail (that would live in extras)
    *final_reason = MakeReason(FinalKind(), std::string());
    return false;
  }
  Extras& x = *live;
  MutexLock lock(x.mu);
  if (x.terminated) {
    *final_reason = x.final_reason;
    return false;
  }
  x.watchers.emplace_back(watcher);
  return true;
}

void ActorCell::RemoveWatcher(ActorCell* watcher) {
  Extras* x = extras_if_any();
  if (x == nullptr) return;  // never watched, or finished
  MutexLock lock(x->mu);
  auto it = std::find_if(x->watchers.begin(), x->watchers.end(),
                         [&](const AddressablePtr& w) { return w.get() == watcher; });
  if (it != x->watchers.end()) x->watchers.erase(it);
}

bool ActorCell::AddLink(ActorCell* other, proto::ExitReason* final_reason) {
  Extras* live = LiveExtras();
  if (live == nullptr) {
    *final_reason = MakeReason(FinalKind(), std::string());
    return false;
  }
  Extras& x = *live;
  MutexLock lock(x.mu);
  if (x.terminated) {
    *final_reason = x.final_reason;
    return false;
  }
  for (const AddressablePtr& linked : x.links) {
    if (linked.get() == other) return true;
  }
  x.links.emplace_back(other);
  return true;
}

bool ActorCell::RemoveLink(const Addressable* other) {
  Extras* x = extras_if_any();
  if (x == nullptr) return false;
  MutexLock lock(x->mu);
  auto it = std::find_if(x->links.begin(), x->links.end(),
                         [&](const AddressablePtr& l) { return l.get() == other; });
  if (it == x->links.end()) return false;
  x->links.erase(it);
  return true;
}

// -- behaviour and stash -------------------------------------------------------------

void ActorCell::Become(Behavior behavior, BecomeMode mode) {
  Extras& x = extras();
  if (mode == BecomeMode::kStack) {
    x.stacked.push_back(std::move(behavior_));
  } else {
    x.retired.push_back(std::move(behavior_));  // its handler may be running now
  }
  behavior_ = std::move(behavior);
}

void ActorCell::Unbecome() {
  Extras* x = extras_if_any();
  if (x == nullptr || x->stacked.empty()) return;
  x->retired.push_back(std::move(behavior_));
  behavior_ = std::move(x->stacked.back());
  x->stacked.pop_back();
}

void ActorCell::Stash() {
  if (current_ == nullptr) {  // a bug in the caller, but not worth a crash
    LogError(ActorLog(), "Stash() outside a handler, or twice for one message: ignored");
    return;
  }
  extras().stash.PushBack(current_.release());
}

void ActorCell::UnstashAll() {
  Extras* x = extras_if_any();
  if (x == nullptr || x->stash.empty()) return;
  // Stashed mail goes before what was unstashed earlier and not yet handled.
  MailboxNodeList merged = std::move(x->stash);
  merged.Append(std::move(x->unstashed));
  x->unstashed = std::move(merged);
}

void ActorCell::DeadLetterCurrent(DeadLetterReason reason) {
  if (current_ == nullptr) return;
  system()->dead_letters().Publish(std::move(current_), reason, this);
}

}  // namespace troupe::actor_internal
