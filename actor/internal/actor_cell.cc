#include "actor/internal/actor_cell.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor_system.h"
#include "actor/hooks.h"
#include "base/logging.h"

namespace troupe::actor_internal {

ActorCell*& ConstructingCell() {
  thread_local ActorCell* cell = nullptr;
  return cell;
}

ActorCell*& CurrentDedicatedCell() {
  thread_local ActorCell* cell = nullptr;
  return cell;
}

struct ActorCell::Extras {
  std::string name;  // set at construction only
  std::string stop_detail;
  std::vector<Behavior> stacked;  // kStack behaviours under behavior_
  std::vector<Behavior> retired;  // replaced while a handler ran; freed after it
  MailboxNodeList stash;
  MailboxNodeList unstashed;  // handed out before the mailbox's mail
  Mutex children_mu;
  absl::flat_hash_set<ActorCell*> children ABSL_GUARDED_BY(children_mu);
  std::shared_ptr<Scheduler> own_scheduler;  // a dedicated actor's
};

namespace {

// A stop or kill for an actor that is stopping anyway has nothing left to
// do: it is not a lost message, so it is not a dead letter.
bool IsRedundantStop(const Envelope& envelope) {
  return envelope.Is<proto::Stop>() || envelope.Is<proto::Kill>();
}

void DeadLetterAll(ActorSystem* system, MailboxNodeList& list, const Addressable* receiver) {
  while (MailboxNode* node = list.PopFront()) {
    EnvelopePtr envelope(static_cast<Envelope*>(node));
    if (IsRedundantStop(*envelope)) continue;
    system->dead_letters().Publish(std::move(envelope), DeadLetterReason::kDroppedAtStop, receiver);
  }
}

}  // namespace

// The actor's storage starts at the first 16-byte boundary after the cell.
constexpr size_t kActorOffset = (sizeof(ActorCell) + 15) / 16 * 16;
// Idle actors are meant to cost <= 256 bytes each (bench A6): watch the cell.
static_assert(sizeof(ActorCell) <= 192, "ActorCell grew: check bench A6");

constexpr size_t kPoolUnit = 32;  // a multiple of the pool's size classes

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
    : Addressable(system, id), parent_(parent), named_(!name.empty()) {
  if (named_) extras().name = std::move(name);
}

ActorCell::~ActorCell() { DestroyActor(); }

ActorCell::Extras& ActorCell::extras() {
  if (extras_ == nullptr) extras_ = std::make_unique<Extras>();
  return *extras_;
}

std::string ActorCell::name() const { return named_ ? extras_->name : std::string("actor"); }

Scheduler* ActorCell::scheduler() const {
  return dedicated_ ? extras_->own_scheduler.get() : &system()->scheduler();
}

void ActorCell::Start(Actor* actor, std::shared_ptr<Scheduler> own_scheduler) {
  if (own_scheduler != nullptr) {
    extras().own_scheduler = std::move(own_scheduler);
    dedicated_ = true;
  }
  actor_ = actor;
  scheduler()->Schedule(this);
}

void ActorCell::DestroyActor() {
  if (actor_ == nullptr) return;
  Actor* actor = std::exchange(actor_, nullptr);
  actor->~Actor();  // its storage belongs to the cell
}

void ActorCell::StopUnstarted(proto::ExitReason::Kind kind, std::string detail) {
  started_ = true;
  stop_kind_ = static_cast<uint8_t>(kind);
  extras().stop_detail = std::move(detail);
  Finish();
}

bool ActorCell::Deliver(std::unique_ptr<Envelope> envelope) {
  if (ActorHooks* hooks = system()->hooks())
    hooks->OnSend(ActorRef(AddressablePtr(this)), *envelope);
  switch (mailbox_.Push(envelope.get())) {
    case PushResult::kPushed:
      envelope.release();  // the mailbox has it now
      return true;
    case PushResult::kWokeOwner:
      envelope.release();
      scheduler()->Schedule(this);
      return true;
    case PushResult::kClosed:
      break;
  }
  if (IsRedundantStop(*envelope)) return false;
  system()->dead_letters().Publish(std::move(envelope), DeadLetterReason::kReceiverStopped, this);
  return false;
}

void ActorCell::RunTurn() {
  if (!started_) [[unlikely]] {
    started_ = true;
    if (!StartIncarnation() || stopping_) {
      Finish();
      return;
    }
  }
  ActorHooks* const hooks = system()->hooks();
  int budget = system()->throughput();
  while (budget > 0) {
    Envelope* next = Next();
    if (next == nullptr) break;
    --budget;
    Handle(next, hooks);
    if (stopping_) [[unlikely]] {
      Finish();
      return;
    }
  }
  // Idle only if nothing is left anywhere; TryBlock() fails if mail slipped
  // in. Out of budget: run again behind the others (fairness).
  const bool unstashed = extras_ != nullptr && !extras_->unstashed.empty();
  if (!unstashed && mailbox_.TryBlock()) return;
  if (budget == 0) {
    scheduler()->Yield(this);
  } else {
    scheduler()->Schedule(this);
  }
}

bool ActorCell::StartIncarnation() {
  try {
    behavior_ = actor_->MakeBehavior();
    actor_->OnStart();
    return true;
  } catch (const std::exception& e) {
    Fail(nullptr, e.what());
  } catch (...) {
    Fail(nullptr, "unknown exception");
  }
  return false;
}

inline Envelope* ActorCell::Next() {
  if (extras_ != nullptr && !extras_->unstashed.empty()) [[unlikely]] {
    return static_cast<Envelope*>(extras_->unstashed.PopFront());
  }
  return static_cast<Envelope*>(mailbox_.Pop());
}

inline void ActorCell::Handle(Envelope* envelope, ActorHooks* hooks) {
  const MessageType& type = envelope->type();
  current_.reset(envelope);
  if (hooks != nullptr) hooks->OnActivate(ActorRef(AddressablePtr(this)), *envelope);
  try {
    if (envelope->lane == MailboxNode::Lane::kSystem) [[unlikely]] {
      HandleSystem(*envelope);
    } else if (&type == &MessageTypeOf<Continuation>()) [[unlikely]] {
      std::move(envelope->As<Continuation>().run)();
    } else {
      Dispatch(*envelope);
    }
  } catch (const std::exception& e) {
    Fail(current_.get(), e.what());
  } catch (...) {
    Fail(current_.get(), "unknown exception");
  }
  if (hooks != nullptr) hooks->OnActivated(ActorRef(AddressablePtr(this)), type);
  current_.reset();
  if (extras_ != nullptr) extras_->retired.clear();
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
    RequestStop(reason.kind() == proto::ExitReason::KIND_UNSPECIFIED ? proto::ExitReason::NORMAL
                                                                     : reason.kind(),
                reason.detail());
  } else if (envelope.Is<proto::Kill>()) {
    RequestStop(proto::ExitReason::KILLED, envelope.As<proto::Kill>().detail());
  } else {
    Dispatch(envelope);  // Down and Exit are the actor's to handle
  }
}

void ActorCell::Fail(const Envelope* envelope, std::string what) {
  LogError("actor {} failed {}: {}", ActorRef(AddressablePtr(this)).ToString(),
           envelope != nullptr ? absl::StrCat("handling ", envelope->type().name())
                               : std::string("starting"),
           what);
  if (envelope != nullptr && current_ != nullptr)
    DeadLetterCurrent(DeadLetterReason::kHandlerFailed);
  RequestStop(proto::ExitReason::FAILURE, std::move(what));
}

void ActorCell::RequestStop(proto::ExitReason::Kind kind, std::string detail) {
  if (stopping_) return;  // the first reason wins
  stopping_ = true;
  stop_kind_ = static_cast<uint8_t>(kind);
  if (!detail.empty()) extras().stop_detail = std::move(detail);
}

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
  if (extras_ == nullptr || extras_->stacked.empty()) return;
  extras_->retired.push_back(std::move(behavior_));
  behavior_ = std::move(extras_->stacked.back());
  extras_->stacked.pop_back();
}

void ActorCell::Stash() {
  if (current_ == nullptr) {  // a bug in the caller, but not worth a crash
    LogError("{}#{}: Stash() outside a handler, or twice for one message: ignored", name(), id());
    return;
  }
  extras().stash.PushBack(current_.release());
}

void ActorCell::UnstashAll() {
  if (extras_ == nullptr || extras_->stash.empty()) return;
  // Stashed mail goes before what was unstashed earlier and not yet handled.
  MailboxNodeList merged = std::move(extras_->stash);
  merged.Append(std::move(extras_->unstashed));
  extras_->unstashed = std::move(merged);
}

void ActorCell::DeadLetterCurrent(DeadLetterReason reason) {
  if (current_ == nullptr) return;
  system()->dead_letters().Publish(std::move(current_), reason, this);
}

void ActorCell::AddChild(ActorCell* child) {
  Extras& x = extras();
  MutexLock lock(x.children_mu);
  x.children.insert(child);
}

void ActorCell::RemoveChild(ActorCell* child) {
  // extras_ exists: AddChild() made it before the child was started.
  MutexLock lock(extras_->children_mu);
  extras_->children.erase(child);
}

void ActorCell::Finish() {
  proto::ExitReason reason;
  reason.set_kind(static_cast<proto::ExitReason::Kind>(stop_kind_));
  if (extras_ != nullptr) reason.set_detail(extras_->stop_detail);

  if (actor_ != nullptr) {
    try {
      actor_->OnStop();
    } catch (const std::exception& e) {
      LogError("actor {} threw from OnStop: {}", ActorRef(AddressablePtr(this)).ToString(),
               e.what());
    } catch (...) {
      LogError("actor {} threw from OnStop", ActorRef(AddressablePtr(this)).ToString());
    }
  }

  // Children: each gets a stop that overtakes its mail.
  if (extras_ != nullptr) {
    std::vector<ActorRef> children;
    {
      MutexLock lock(extras_->children_mu);
      for (ActorCell* child : extras_->children) children.emplace_back(AddressablePtr(child));
    }
    for (const ActorRef& child : children) {
      proto::Stop stop;
      stop.mutable_reason()->set_kind(reason.kind() == proto::ExitReason::SYSTEM_SHUTDOWN
                                          ? proto::ExitReason::SYSTEM_SHUTDOWN
                                          : proto::ExitReason::NORMAL);
      stop.mutable_reason()->set_detail("parent stopped");
      child.Tell(std::move(stop));
    }
  }

  // Dead from here on: Tell() dead-letters, the registry drops our names.
  stopped_.store(true, std::memory_order_seq_cst);
  MailboxNodeList rest = mailbox_.Close();
  if (registered_.load(std::memory_order_seq_cst)) system()->registry().UnregisterAll(this);
  if (ActorHooks* hooks = system()->hooks()) hooks->OnStop(ActorRef(AddressablePtr(this)), reason);

  if (extras_ != nullptr) {
    DeadLetterAll(system(), extras_->unstashed, this);
    DeadLetterAll(system(), extras_->stash, this);
    extras_->stacked.clear();
  }
  DeadLetterAll(system(), rest, this);
  behavior_ = Behavior();
  DestroyActor();

  if (parent_) static_cast<ActorCell*>(parent_.get())->RemoveChild(this);
  system()->OnActorStopped(this);  // last: it may drop the last ref to this cell
}

}  // namespace troupe::actor_internal
