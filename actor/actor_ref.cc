#include "actor/actor_ref.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor_system.h"
#include "actor/internal/actor_cell.h"
#include "base/logging.h"

namespace troupe {

std::string ActorRef::ToString() const {
  if (!target_) return "<empty>";
  return absl::StrCat(target_->name(), "#", target_->id());
}

DeadLetters& OrphanDeadLetters() {
  static DeadLetters* const letters = new DeadLetters();  // leaked: usable during exit
  return *letters;
}

namespace actor_internal {

void SendToEmptyRef(EnvelopePtr envelope) {
  // No receiver, so no system of its own: the sender's system counts it
  // (through its link: the sender's ref may have outlived it).
  SystemLink* link = envelope->sender() ? envelope->sender()->link() : nullptr;
  if (link != nullptr && link->closed()) link = nullptr;  // then as if sent from outside
  PublishDeadLetter(link, std::move(envelope), DeadLetterReason::kEmptyRef, nullptr);
}

}  // namespace actor_internal

absl::Status ActorRef::SetPriority(Priority priority) const {
  if (!target_) return absl::InvalidArgumentError("SetPriority through an empty ActorRef");
  if (!IsValidPriority(priority)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SetPriority(", static_cast<int>(priority), "): not a priority"));
  }
  actor_internal::ActorCell* cell = target_->AsCell();
  if (cell == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SetPriority: ", ToString(),
        " is not an actor of this process (an ask's reply, or an actor on another node)"));
  }
  cell->SetPriority(priority);
  return absl::OkStatus();
}

namespace actor_internal {

absl::Status EmptyRefError(const char* operation) {
  return absl::InvalidArgumentError(absl::StrCat(operation, " through an empty ActorRef"));
}

absl::Status TryTellFailed(PushResult result, const MessageType& type, const Addressable& target) {
  if (result == PushResult::kFull) {
    return absl::ResourceExhaustedError(absl::StrCat("TryTell ", type.name(), " to ", target.name(),
                                                     "#", target.id(), ": its mailbox is full"));
  }
  return absl::UnavailableError(absl::StrCat("TryTell ", type.name(), " to ", target.name(), "#",
                                             target.id(), ": it has stopped"));
}

}  // namespace actor_internal
}  // namespace troupe
