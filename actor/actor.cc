#include "actor/actor.h"

#include <utility>

#include "actor/actor_system.h"
#include "actor/internal/actor_cell.h"
#include "actor/internal/turn_context.h"
#include "base/check.h"
#include "base/logging.h"

namespace troupe {

Actor::Actor() : cell_(actor_internal::ConstructingCell()) {
  TROUPE_CHECK(cell_ != nullptr, "an Actor is constructed only by Spawn<T>()");
  actor_internal::ConstructingCell() = nullptr;  // a member actor must not claim it too
}

Actor::~Actor() = default;

void Actor::OnUnhandled(Envelope& envelope) {
  cell_->DeadLetterCurrent(DeadLetterReason::kUnhandled);
}

ActorRef Actor::Self() const { return ActorRef(actor_internal::AddressablePtr(cell_)); }

ActorRef Actor::Sender() const {
  const Envelope* current = cell_->current();
  return current != nullptr ? ActorRef(current->sender()) : ActorRef();
}

ActorSystem& Actor::system() const { return *cell_->env()->system(); }

void Actor::ReplyEnvelope(EnvelopePtr reply) {
  if (const Envelope* current = cell_->current()) {
    actor_internal::Reply(*current, cell_, std::move(reply));
    return;
  }
  LogWarning(ActorLog(), "{}: Reply() outside a handler has no one to reply to", Self().ToString());
  cell_->env()->PublishDeadLetter(std::move(reply), DeadLetterReason::kNoReceiver, nullptr);
}

void Actor::ReplyError(absl::Status status) { Reply(std::move(status)); }

ActorRef Actor::SpawnChild(SpawnOptions options, ActorFactory factory) {
  return cell_->env()->SpawnChild(cell_, std::move(options), factory);
}

void Actor::Stop() { cell_->RequestStop(proto::ExitReason::NORMAL, std::string()); }

void Actor::Become(Behavior behavior, BecomeMode mode) { cell_->Become(std::move(behavior), mode); }

void Actor::Unbecome() { cell_->Unbecome(); }

void Actor::Watch(const ActorRef& other) { cell_->Watch(other.target()); }

void Actor::Unwatch(const ActorRef& other) { cell_->Unwatch(other.target()); }

void Actor::Link(const ActorRef& other) { cell_->Link(other.target()); }

void Actor::Unlink(const ActorRef& other) { cell_->Unlink(other.target()); }

void Actor::TrapExits(bool trap) { cell_->TrapExits(trap); }

void Actor::Stash() { cell_->Stash(); }

void Actor::UnstashAll() { cell_->UnstashAll(); }

EnvelopePtr Actor::TakeMessage() { return cell_->TakeCurrent(); }

}  // namespace troupe
