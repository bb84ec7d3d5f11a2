#include "actor/actor.h"

#include <utility>

#include "actor/internal/actor_cell.h"
#include "base/check.h"

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

actor_internal::Addressable* Actor::SelfAddress() const { return cell_; }

ActorRef Actor::Sender() const { return ActorRef(cell_->current().sender()); }

ActorSystem& Actor::system() const { return *cell_->system(); }

Envelope& Actor::CurrentEnvelope() const { return cell_->current(); }

void Actor::ReplyError(absl::Status status) { Reply(std::move(status)); }

ActorRef Actor::SpawnChild(SpawnOptions options, ActorFactory factory) {
  return system().SpawnActor(std::move(options), cell_, factory);
}

void Actor::Stop() { cell_->RequestStop(proto::ExitReason::NORMAL, std::string()); }

void Actor::Become(Behavior behavior, BecomeMode mode) { cell_->Become(std::move(behavior), mode); }

void Actor::Unbecome() { cell_->Unbecome(); }

void Actor::Stash() { cell_->Stash(); }

void Actor::UnstashAll() { cell_->UnstashAll(); }

}  // namespace troupe
