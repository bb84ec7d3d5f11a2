#include "actor/internal/ask.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/actor_system.h"

namespace troupe::actor_internal {

uint64_t ScheduleAskTimeout(ActorSystem* system, absl::Duration timeout,
                            absl::AnyInvocable<void()> on_timeout) {
  Clock& clock = system->clock();
  return clock.ScheduleAt(clock.Now() + timeout, [fn = std::move(on_timeout)]() mutable { fn(); });
}

void CancelAskTimeout(ActorSystem* system, uint64_t timer) { system->clock().Cancel(timer); }

void PublishLateReply(ActorSystem* system, std::unique_ptr<Envelope> reply,
                      const Addressable* receiver) {
  system->dead_letters().Publish(std::move(reply), DeadLetterReason::kNoReceiver, receiver);
}

absl::Status WrongReplyType(const MessageType& expected, const MessageType& got,
                            const Addressable& target) {
  return absl::InvalidArgumentError(absl::StrCat("ask to ", target.name(), "#", target.id(),
                                                 ": expected a reply of type ", expected.name(),
                                                 ", got ", got.name()));
}

absl::Status AskUndelivered(const MessageType& request, DeadLetterReason reason,
                            const Addressable& target) {
  return absl::UnavailableError(
      absl::StrCat("ask ", request.name(), " to ", target.name(), "#", target.id(),
                   " failed: ", std::string(DeadLetterReasonName(reason))));
}

absl::Status AskTimedOut(const MessageType& request, absl::Duration timeout,
                         const Addressable& target) {
  return absl::DeadlineExceededError(absl::StrCat("ask ", request.name(), " to ", target.name(),
                                                  "#", target.id(), " timed out after ",
                                                  absl::FormatDuration(timeout)));
}

}  // namespace troupe::actor_internal
