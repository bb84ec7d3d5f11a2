// co_await ActorRef::Send (send.h): the out-of-line half, which knows the
// actor cell.

#include "actor/send.h"

#include "absl/strings/str_cat.h"
#include "actor/internal/actor_cell.h"

namespace troupe::actor_internal {

PushResult ParkSend(Addressable& target, SendWait& wait, EnvelopePtr& envelope) {
  // Only a cell waits (SendEnvelopeAwaiter::await_ready): kFull came from
  // its bounded mailbox, whose limit was set before it was published.
  MailboxLimit& limit = *target.AsCell()->mailbox_limit();
  wait.waiter.message = &envelope;
  wait.waiter.task = &wait;
  return limit.EnqueueTask(&wait.waiter, [&] { return target.TryDeliver(envelope); });
}

bool LeaveSend(Addressable& target, SendWait& wait) {
  return target.AsCell()->mailbox_limit()->Leave(&wait.waiter);
}

absl::Status SendFailed(PushResult result, const Addressable& target, bool cancelled) {
  const std::string who = absl::StrCat(target.name(), "#", target.id());
  if (result == PushResult::kClosed) {
    return absl::UnavailableError(absl::StrCat("Send to ", who, ": it has stopped"));
  }
  if (cancelled) {
    return absl::CancelledError(
        absl::StrCat("Send to ", who, ": the task was cancelled while the mailbox was full"));
  }
  // Refused without a wait: the receiver has no line to wait in.
  return absl::ResourceExhaustedError(
      absl::StrCat("Send to ", who, ": its queue is full and it has no line to wait in"));
}

}  // namespace troupe::actor_internal
