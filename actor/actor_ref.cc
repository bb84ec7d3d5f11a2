#include "actor/actor_ref.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor_system.h"
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
  // No receiver, so no system of its own: the sender's system counts it.
  ActorSystem* system = envelope->sender() ? envelope->sender()->system() : nullptr;
  DeadLetters& letters = system != nullptr ? system->dead_letters() : OrphanDeadLetters();
  letters.Publish(std::move(envelope), DeadLetterReason::kEmptyRef, nullptr);
}

void Reply(const Envelope& request, Addressable* self, EnvelopePtr reply) {
  if (const AddressablePtr& to = request.sender()) {
    reply->set_sender(AddressablePtr(self));
    to->Deliver(std::move(reply));
    return;
  }
  self->system()->dead_letters().Publish(std::move(reply), DeadLetterReason::kNoReceiver, nullptr);
}

void ReplyReturned(const Envelope& request, Addressable* self, EnvelopePtr reply) {
  if (request.sender()) {
    Reply(request, self, std::move(reply));
  } else if (reply->Is<absl::Status>()) {
    LogWarning("{}#{} failed a {} that had no sender: {}", self->name(), self->id(),
               request.type().name(), reply->As<absl::Status>().ToString());
  }
}

}  // namespace actor_internal
}  // namespace troupe
