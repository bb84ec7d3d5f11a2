#include "actor/behavior.h"

#include <utility>

#include "actor/internal/cell_environment.h"
#include "base/logging.h"

namespace troupe {

std::string_view BecomeModeName(BecomeMode mode) {
  switch (mode) {
    case BecomeMode::kReplace:
      return "replace";
    case BecomeMode::kStack:
      return "stack";
  }
  return "unknown";
}
namespace actor_internal {

bool Addressable::DeliverReply(EnvelopePtr reply, Addressable* from) {
  reply->set_sender(AddressablePtr(from));
  return Deliver(std::move(reply));
}

bool Addressable::DeliverReplyValue(const MessageType& /*type*/, void* /*value*/, Addressable* from,
                                    absl::FunctionRef<EnvelopePtr()> make_envelope) {
  return DeliverReply(make_envelope(), from);
}

void Reply(const Envelope& request, Addressable* self, EnvelopePtr reply) {
  if (const AddressablePtr& to = request.sender()) {
    to->DeliverReply(std::move(reply), self);
    return;
  }
  self->env()->PublishDeadLetter(std::move(reply), DeadLetterReason::kNoReceiver, nullptr);
}

void ReplyReturned(const Envelope& request, Addressable* self, EnvelopePtr reply) {
  if (request.sender()) {
    Reply(request, self, std::move(reply));
  } else if (reply->Is<absl::Status>()) {
    LogWarning(ActorLog(), "{}#{} failed a {} that had no sender: {}", self->name(), self->id(),
               request.type().name(), reply->As<absl::Status>().ToString());
  }
}

}  // namespace actor_internal

void Behavior::Add(const MessageType* type, Handler handler) {
  if (Handler* existing = Find(*type)) {
    *existing = std::move(handler);
    return;
  }
  entries_.push_back(Entry{type, std::move(handler)});
  if (index_ != nullptr) {
    index_->emplace(type, entries_.size() - 1);
  } else if (entries_.size() > kLinearHandlers) {
    index_ = std::make_unique<absl::flat_hash_map<const MessageType*, size_t>>();
    for (size_t i = 0; i < entries_.size(); ++i) index_->emplace(entries_[i].type, i);
  }
}

}  // namespace troupe
