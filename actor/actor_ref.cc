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

}  // namespace actor_internal
}  // namespace troupe
