// ActorCell's hot path: making and freeing a cell, delivering mail, running
// a turn and dispatching each message. The rest of the cell is in the files
// named in actor_cell.h.

#include "actor/internal/actor_cell.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "actor/hooks.h"
#include "actor/internal/child_signals.h"
#include "actor/internal/system_link.h"
#include "actor/tracing.h"
#include "base/check.h"
#include "base/logging.h"
#include "base/monotonic.h"
#include "mailbox/node_pool.h"

namespace troupe::actor_internal {

// The block: the mailbox's stack word, the cell, then the actor's storage
// at the first 16-byte boundary after the cell. The word leads so that its
// cache line holds nothing the turn writes: blocks are 16-byte aligned, so
// the line ends at most 64 bytes into the block, within the word and the
// cell's first 56 bytes (Addressable, the scheduler's vtable pointer, the
// live-set links), which a send reads anyway and the turn only reads; it
// may start up to 48 bytes before the block, in another one
// (docs/architecture.md, "Cache lines"). Create() checks the 56.
constexpr size_t kCellOffset = ActorCell::kMailStackBytes;
constexpr size_t kActorOffset = (kCellOffset + sizeof(ActorCell) + 15) / 16 * 16;
static_assert(kCellOffset % alignof(ActorCell) == 0);
// Idle actors are meant to cost <= 256 bytes each (bench A6): watch the cell.
static_assert(kCellOffset + sizeof(ActorCell) <= 208, "ActorCell grew: check bench A6");

constexpr size_t kPoolUnit = 16;  // the pool's size classes are multiples of it

ActorCell* ActorCell::Create(SystemLink* link, uint64_t id, std::string name, ActorCell* parent,
                             size_t actor_size, uint32_t type_name) {
  // offsetof on a class with virtual functions: GCC and Clang compute it as
  // for any other (conditionally supported, hence the warning).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
  static_assert(kCellOffset + offsetof(ActorCell, mailbox_) >= 64,
                "the turn's first fields would share the stack word's cache line");
#pragma GCC diagnostic pop
  const size_t total = kActorOffset + actor_size;
  const size_t units = total <= kMaxPooledSize ? (total + kPoolUnit - 1) / kPoolUnit : 0;
  char* block =
      static_cast<char*>(units != 0 ? PoolAllocate(units * kPoolUnit) : ::operator new(total));
  new (block) MailboxStack(MailboxInitialState::kRunning);
  auto* cell = new (block + kCellOffset) ActorCell(link, id, std::move(name), parent, type_name);
  cell->pool_units_ = static_cast<uint8_t>(units);
  return cell;
}

void ActorCell::Destroy() {
  const size_t pooled = pool_units_ * kPoolUnit;
  char* block = reinterpret_cast<char*>(this) - kCellOffset;
  MailboxStack* stack = &mail_stack();
  this->~ActorCell();
  std::destroy_at(stack);
  if (pooled != 0) {
    PoolFree(block, pooled);
  } else {
    ::operator delete(block);
  }
}

void* ActorCell::actor_storage() {
  return reinterpret_cast<char*>(this) - kCellOffset + kActorOffset;
}

ActorCell::ActorCell(SystemLink* link, uint64_t id, std::string name, ActorCell* parent,
                     uint32_t type_name)
    : Addressable(link, id), parent_(parent) {
  // Past 65535 classes (the cell keeps 16 bits), the class goes unnamed.
  type_name_ = type_name <= UINT16_MAX ? static_cast<uint16_t>(type_name) : 0;
  if (!name.empty()) {
    spawn_flags_.store(kNamed, std::memory_order_relaxed);
    extras().name = std::move(name);
  }
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

std::string ActorCell::name() const {
  return named() ? extras_if_any()->name : TypeNameAt(type_name_);
}

Scheduler* ActorCell::scheduler() const {
  return (spawn_flags_.load(std::memory_order_relaxed) & kDedicated) != 0
             ? extras_if_any()->turn.own_scheduler.get()
             : &env()->scheduler();
}

void ActorCell::SetPriority(Priority priority) {
  // A CAS: two SetPriority() calls must not mix their bits.
  uint8_t flags = spawn_flags_.load(std::memory_order_relaxed);
  const auto bits = static_cast<uint8_t>(static_cast<uint8_t>(priority) << kPriorityShift);
  while (!spawn_flags_.compare_exchange_weak(flags, (flags & ~kPriorityMask) | bits,
                                             std::memory_order_relaxed)) {
  }
}

void ActorCell::Start(Actor* actor, std::shared_ptr<Scheduler> own_scheduler) {
  if (own_scheduler != nullptr) {
    turn().own_scheduler = std::move(own_scheduler);
    spawn_flags_.fetch_or(kDedicated, std::memory_order_relaxed);
  }
  actor_ = actor;
  scheduler()->Schedule(this, priority());
}

void ActorCell::DestroyActor() {
  if (actor_ == nullptr) return;
  Actor* actor = std::exchange(actor_, nullptr);
  actor->~Actor();  // its storage belongs to the cell
}

void ActorCell::AddChild(ActorCell* child) { turn().children.Add(child); }

// -- delivery ------------------------------------------------------------------------

namespace {
// A system-lane message (a lifecycle signal) for an actor that has stopped
// is moot, not lost: it is dropped, not dead-lettered.
bool IsMootWhenStopped(const Envelope& envelope) {
  return envelope.lane() == MailboxNode::Lane::kSystem;
}
}  // namespace

[[gnu::noinline]] void ActorCell::ObserveSend(Envelope& envelope, uint8_t observe) {
  if ((observe & kObserveHooks) != 0) {
    link()->hooks()->OnSend(ActorRef(AddressablePtr(this)), envelope);
  }
  if ((observe & kObserveTrace) != 0) {
    const ActorCell* from = RunningCell();
    link()->tracer().RecordSend(envelope, id(), from != nullptr ? from->id() : 0);
  }
}

// The mailbox was open, so the actor has not finished and its system (which
// waits for every actor to finish) exists. But once Schedule() publishes the
// turn, the actor may run and finish, and the system shut down and free its
// scheduler while Schedule() is still waking a worker. A sender in a turn of
// the same system holds the shutdown up anyway (its own actor has not
// finished); any other sender holds a pass (SystemLink::Enter) until
// Schedule() returns, which the system's destructor waits for.
inline void ActorCell::Wake() {
  const ActorCell* sender = RunningCell();
  if (sender != nullptr && sender->link() == link()) [[likely]] {
    scheduler()->Schedule(this, priority());
  } else {
    WakeFromOutside();
  }
}

[[gnu::noinline]] void ActorCell::WakeFromOutside() {
  const SystemLink::Pass pass = link()->Enter();
  TROUPE_DCHECK(static_cast<bool>(pass), "a push woke an actor whose system is gone");
  scheduler()->Schedule(this, priority());
}

template <bool kBounded>
[[gnu::always_inline]] inline PushResult ActorCell::Push(Envelope& envelope) {
  // The send path's whole cost of observation while it is off: one relaxed load.
  // It reads the link, never the environment: this ref may have outlived it.
  if (const uint8_t observe = link()->observe_flags(); observe != 0) [[unlikely]] {
    ObserveSend(envelope, observe);
  }
  const bool system_lane = envelope.lane() == MailboxNode::Lane::kSystem;
  const PushResult pushed = kBounded ? PushLimited(envelope) : mail_stack().Push(&envelope);
  // From here on the envelope may be the owner's already: not touched.
  switch (pushed) {
    case PushResult::kPushed:
      if (system_lane) [[unlikely]]
        system_mail_.store(true, std::memory_order_release);
      break;
    case PushResult::kWokeOwner:
      Wake();
      break;
    case PushResult::kClosed:
    case PushResult::kFull:
      break;
  }
  return pushed;
}

[[gnu::always_inline]] inline PushResult ActorCell::PushLimited(Envelope& envelope) {
  // The capacity sits beside the flags the send has just read, set before
  // publication (LimitMailbox), so every sender sees it. Nothing else is
  // read: the high-water mark is the owner's to keep (RunTurn).
  const PushResult pushed = mail_stack().PushBounded(&envelope, mailbox_capacity_);
  if (pushed != PushResult::kFull) [[likely]]
    return pushed;
  return PushExempt(envelope);
}

[[gnu::noinline]] PushResult ActorCell::PushExempt(Envelope& envelope) {
  // Exempt from the bound (the mailbox exempts the system lane itself): an
  // Actor::Ask continuation, which is the reply to something this actor
  // already accepted, and mail the actor sends itself from its own turn,
  // which it could not otherwise be sure to get. Looked at only once the
  // bound refuses: with room, an exempt push and a bounded one are the same
  // push (both count in the bound), so the common case skips the checks.
  if (envelope.Is<Continuation>() || RunningCell() == this) return mail_stack().Push(&envelope);
  return PushResult::kFull;
}

bool ActorCell::Deliver(std::unique_ptr<Envelope> envelope) {
  // A bounded mailbox's whole cost to the others: one flag test.
  if ((spawn_flags_.load(std::memory_order_relaxed) & kBoundedMailbox) != 0) [[unlikely]] {
    return DeliverBounded(envelope.release());
  }
  const PushResult pushed = Push<false>(*envelope);
  if (pushed != PushResult::kClosed) [[likely]] {
    envelope.release();  // the mailbox has it now
    return true;
  }
  return Undeliverable(envelope.release());
}

[[gnu::noinline]] bool ActorCell::DeliverBounded(Envelope* raw) {
  const PushResult pushed = Push<true>(*raw);
  if (pushed == PushResult::kPushed || pushed == PushResult::kWokeOwner) return true;
  if (pushed == PushResult::kFull) return Overflow(std::unique_ptr<Envelope>(raw));
  return Undeliverable(raw);
}

[[gnu::noinline]] bool ActorCell::Undeliverable(Envelope* raw) {
  std::unique_ptr<Envelope> envelope(raw);
  if (IsMootWhenStopped(*envelope)) return false;
  // Closed: the system may be gone too; the link knows.
  PublishDeadLetter(link(), std::move(envelope), DeadLetterReason::kReceiverStopped, this);
  return false;
}

PushResult ActorCell::TryDeliver(std::unique_ptr<Envelope>& envelope) {
  const PushResult pushed = (spawn_flags_.load(std::memory_order_relaxed) & kBoundedMailbox) != 0
                                ? Push<true>(*envelope)
                                : Push<false>(*envelope);
  if (pushed == PushResult::kPushed || pushed == PushResult::kWokeOwner) envelope.release();
  return pushed;
}

size_t ActorCell::TryDeliverRun(std::vector<std::unique_ptr<Envelope>>& run, size_t from,
                                PushResult* result) {
  const size_t n = run.size() - from;
  // One by one: a bounded mailbox counts each against its capacity, an
  // observer sees each send, and a system signal takes its own lane.
  const bool one_by_one = n < 2 ||
                          (spawn_flags_.load(std::memory_order_relaxed) & kBoundedMailbox) != 0 ||
                          link()->observe_flags() != 0 ||
                          std::any_of(run.begin() + static_cast<ptrdiff_t>(from), run.end(),
                                      [](const std::unique_ptr<Envelope>& e) {
                                        return e->lane() == MailboxNode::Lane::kSystem;
                                      });
  if (one_by_one) return Addressable::TryDeliverRun(run, from, result);
  const PushResult pushed =
      mail_stack().PushRun([&](size_t i) -> MailboxNode* { return run[from + i].get(); }, n);
  *result = pushed;
  if (pushed == PushResult::kClosed) return 0;
  for (size_t i = from; i < run.size(); ++i) (void)run[i].release();  // the mailbox's now
  if (pushed == PushResult::kWokeOwner) Wake();
  return n;
}

void ActorCell::ForEachQueued(absl::FunctionRef<void(const Envelope&)> fn) const {
  if (Extras* x = extras_if_any(); x != nullptr && state_.running()) {
    for (const MailboxNode* node = x->turn.behaviors.first_unstashed(); node != nullptr;
         node = node->next()) {
      fn(static_cast<const Envelope&>(*node));
    }
  }
  if (Extras* x = extras_if_any(); x != nullptr && x->turn.tasks != nullptr) {
    for (const MailboxNode* node = x->turn.tasks->held.front(); node != nullptr;
         node = node->next()) {
      fn(static_cast<const Envelope&>(*node));
    }
  }
  mailbox_.ForEachQueued(mail_stack(),
                         [&](const MailboxNode& node) { fn(static_cast<const Envelope&>(node)); });
}

ActorRef ActorCell::Owner() const { return ActorRef(AddressablePtr(const_cast<ActorCell*>(this))); }

// -- turns ---------------------------------------------------------------------------

void ActorCell::RunTurn() {
  const RunningTurn running(this);
  if (!state_.started) [[unlikely]] {
    state_.started = true;
    if (state_.supervised) ConstructIncarnation();
    if (!state_.stopping) StartIncarnation();
  }
  if (state_.MustEnd()) [[unlikely]] {
    if (EndIncarnation()) return;
  }
  const uint8_t observe = link()->observe_flags();  // once per turn
  int budget = env()->throughput();
  uint32_t peak = 0;  // a bounded mailbox's depth high-water mark in this turn (Pop)
  while (budget > 0) {
    Envelope* next = Next(&peak);
    if (next == nullptr) break;
    --budget;
    if (state_.running()) [[likely]] {
      if (state_.gated && next->lane() == MailboxNode::Lane::kOrdinary) [[unlikely]] {
        HoldWhileGated(next);
      } else {
        Handle(next, observe);
      }
    } else if (HandleBetween(next)) {
      return;
    }
    if (state_.MustEnd()) [[unlikely]] {
      if (EndIncarnation()) return;
    }
  }
  // Idle only if nothing is left anywhere; TryBlock() fails if mail slipped
  // in. Out of budget: run again behind the others (fairness). Mail held
  // between incarnations waits for the next one: it does not keep us busy.
  Extras* x = extras_if_any();
  // (Unstashed mail waits while a handler is suspended: it is not work now.)
  const bool unstashed =
      x != nullptr && x->turn.behaviors.has_unstashed() && state_.running() && !state_.gated;
  const uint8_t flags = spawn_flags_.load(std::memory_order_relaxed);
  if ((flags & kBoundedMailbox) != 0) [[unlikely]] {
    // What this turn handled is room for bounded senders now, also for
    // those waiting (woken before TryBlock(): once idle, the cell is not
    // ours to touch).
    mailbox_.Refresh(mail_stack(), &peak);
    WakeWaitingSenders(peak);
  }
  if (!unstashed && mailbox_.TryBlock(mail_stack())) return;
  if (budget == 0) {
    scheduler()->Yield(this, PriorityOf(flags));
  } else {
    scheduler()->Schedule(this, PriorityOf(flags));
  }
}

void ActorCell::StartIncarnation(const proto::ExitReason* restarted_after) {
  try {
    behavior_ = actor_->MakeBehavior();
    if (restarted_after != nullptr) actor_->OnRestart(*restarted_after);
    actor_->OnStart();
  } catch (const std::exception& e) {
    Fail(nullptr, e.what());
  } catch (...) {
    Fail(nullptr, "unknown exception");
  }
}

// Inlined into RunTurn's loop, once per message (callgrind A1: left out of
// line it costs ~14 instructions a message).
[[gnu::always_inline]] inline Envelope* ActorCell::Next(uint32_t* peak) {
  Extras* x = extras_if_any();
  // Unstashed mail has been looked at once already: while a handler is
  // suspended it stays where it is (moving it to the held list and back on
  // every handler would cost O(queue) each time).
  if (x != nullptr && x->turn.behaviors.has_unstashed() && state_.running() && !state_.gated)
      [[unlikely]] {
    return static_cast<Envelope*>(x->turn.behaviors.NextUnstashed());
  }
  if (system_mail_.load(std::memory_order_relaxed)) [[unlikely]] {
    system_mail_.store(false, std::memory_order_relaxed);
    mailbox_.Fetch(mail_stack(), peak);  // lifecycle signals overtake the mail already cached
  }
  return static_cast<Envelope*>(mailbox_.Pop(mail_stack(), peak));
}

inline void ActorCell::Handle(Envelope* envelope, uint8_t observe) {
  current_.reset(envelope);
  if (observe == 0) [[likely]] {
    Invoke(*envelope);
  } else {
    InvokeObserved(*envelope, observe);
  }
  current_.reset();
  // Behaviours replaced while a handler's task is suspended stay: its
  // frame refers to the handler's closure.
  if (Extras* x = extras_if_any();
      x != nullptr && (x->turn.tasks == nullptr || x->turn.tasks->handlers() == 0)) {
    x->turn.behaviors.ClearRetired();
  }
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
  ActorHooks* const hooks = (observe & kObserveHooks) != 0 ? link()->hooks() : nullptr;
  if (hooks != nullptr) hooks->OnActivate(ActorRef(AddressablePtr(this)), envelope);
  const uint64_t flow = envelope.trace_flow();
  const bool timed = (observe & (kObserveTiming | kObserveTrace)) != 0;
  const int64_t start = timed ? MonotonicNanos() : 0;
  Invoke(envelope);
  if (timed) {
    const int64_t end = MonotonicNanos();
    if ((observe & kObserveTiming) != 0) extras().stats.AddHandlerNanos(end - start);
    if ((observe & kObserveTrace) != 0) {
      link()->tracer().RecordActivation(
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
  } else if (envelope.Is<TaskStep>()) {
    RunTaskStep(envelope.As<TaskStep>());
  } else if (envelope.Is<TaskClosure>()) {
    RunTaskStep(envelope.As<TaskClosure>());
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

void ActorCell::Fail(const Envelope* envelope, std::string what) {
  // The log tag names the actor and the message (see AppendRunningActorTag);
  // a crash loop logs one line a second, with the count of the rest.
  if (int64_t skipped; env()->failure_log().ShouldLog(&skipped)) {
    LogError(ActorLog(), "{}: {}{}", envelope != nullptr ? "handler failed" : "failed starting",
             what, LogLimiter::Skipped(skipped));
  }
  if (envelope != nullptr && current_ != nullptr)
    DeadLetterCurrent(DeadLetterReason::kHandlerFailed);
  RequestStop(proto::ExitReason::FAILURE, std::move(what));
}

void ActorCell::DeadLetterCurrent(DeadLetterReason reason) {
  if (current_ == nullptr) return;
  env()->PublishDeadLetter(std::move(current_), reason, this);
}

}  // namespace troupe::actor_internal
