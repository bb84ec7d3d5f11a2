#include "actor/internal/ask.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/internal/cell_environment.h"

namespace troupe::actor_internal {

uint64_t ScheduleAskTimeout(SystemLink* link, absl::Duration timeout,
                            absl::AnyInvocable<void()> on_timeout) {
  SystemLink::Pass pass = link != nullptr ? link->Enter() : SystemLink::Pass();
  if (!pass) return 0;  // no system, no clock: the send will fail the ask
  Clock& clock = pass.env()->clock();
  return clock.ScheduleAt(clock.Now() + timeout, [fn = std::move(on_timeout)]() mutable { fn(); });
}

void CancelAskTimeout(SystemLink* link, uint64_t timer) {
  // A system that is gone took its clock, and the timer, with it.
  if (SystemLink::Pass pass = link != nullptr ? link->Enter() : SystemLink::Pass()) {
    pass.env()->clock().Cancel(timer);
  }
}

void PublishLateReply(SystemLink* link, std::unique_ptr<Envelope> reply,
                      const Addressable* receiver) {
  PublishDeadLetter(link, std::move(reply), DeadLetterReason::kNoReceiver, receiver);
}

absl::Status AskAbandoned(const MessageType& request, SystemLink* link, const Addressable& target) {
  // No system (gone, or never one) counts as shut down.
  bool shut_down = true;
  if (SystemLink::Pass pass = link != nullptr ? link->Enter() : SystemLink::Pass()) {
    shut_down = pass.env()->IsShuttingDown();
  }
  return absl::UnavailableError(absl::StrCat(
      "ask ", request.name(), " to ", target.name(), "#", target.id(),
      shut_down ? absl::StrCat(" failed: the actor system '", link != nullptr ? link->name() : "",
                               "' shut down before a reply came")
                : std::string(" failed: the request was dropped without a reply")));
}

absl::Status WrongReplyType(const MessageType& expected, const MessageType& got,
                            const Addressable& target) {
  return absl::InvalidArgumentError(absl::StrCat("ask to ", target.name(), "#", target.id(),
                                                 ": expected a reply of type ", expected.name(),
                                                 ", got ", got.name()));
}

absl::Status AskUndelivered(const MessageType& request, DeadLetterReason reason,
                            const Addressable& target) {
  std::string message =
      absl::StrCat("ask ", request.name(), " to ", target.name(), "#", target.id(),
                   " failed: ", std::string(DeadLetterReasonName(reason)));
  // A full mailbox is overload, which may pass: worth a retry later.
  if (reason == DeadLetterReason::kMailboxFull) return absl::ResourceExhaustedError(message);
  // The request itself cannot cross to another node: retrying cannot help.
  if (reason == DeadLetterReason::kNotSerializable || reason == DeadLetterReason::kTooLarge)
    return absl::InvalidArgumentError(message);
  return absl::UnavailableError(message);
}

absl::Status AskTimedOut(const MessageType& request, absl::Duration timeout,
                         const Addressable& target) {
  return absl::DeadlineExceededError(absl::StrCat("ask ", request.name(), " to ", target.name(),
                                                  "#", target.id(), " timed out after ",
                                                  absl::FormatDuration(timeout)));
}

}  // namespace troupe::actor_internal
