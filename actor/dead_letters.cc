#include "actor/dead_letters.h"

#include <utility>

#include "actor/internal/actor_cell.h"
#include "actor/internal/addressable.h"
#include "actor/internal/turn_context.h"
#include "actor/message.h"
#include "base/logging.h"

namespace troupe {

std::string_view DeadLetterReasonName(DeadLetterReason reason) {
  switch (reason) {
    case DeadLetterReason::kReceiverStopped:
      return "receiver stopped";
    case DeadLetterReason::kDroppedAtStop:
      return "dropped at stop";
    case DeadLetterReason::kUnhandled:
      return "unhandled";
    case DeadLetterReason::kHandlerFailed:
      return "handler failed";
    case DeadLetterReason::kNoReceiver:
      return "no receiver";
    case DeadLetterReason::kEmptyRef:
      return "empty ref";
    case DeadLetterReason::kSystemGone:
      return "system shut down";
    case DeadLetterReason::kMailboxFull:
      return "mailbox full";
    case DeadLetterReason::kNodeUnreachable:
      return "node unreachable";
    case DeadLetterReason::kNotSerializable:
      return "not serializable";
    case DeadLetterReason::kUnknownType:
      return "unknown type";
    case DeadLetterReason::kTooLarge:
      return "too large";
  }
  return "unknown";
}

void DeadLetters::Publish(std::unique_ptr<Envelope> envelope, DeadLetterReason reason,
                          const actor_internal::Addressable* receiver) {
  counts_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  // Charged to the actor whose turn this is: the sender of mail to a stopped
  // actor, or the receiver that did not handle it.
  if (actor_internal::ActorCell* cell = actor_internal::RunningCell()) cell->CountDeadLetter();
  if (int64_t unlogged; log_limiter_.ShouldLog(&unlogged)) {
    LogInfo(ActorLog(), "dead letter ({}): {} to {}{}", DeadLetterReasonName(reason),
            envelope->type().name(), receiver != nullptr ? receiver->name() : std::string("nobody"),
            LogLimiter::Skipped(unlogged));
  }
  // The sender hears of it last: an ask's continuation may run inline here.
  if (const actor_internal::AddressablePtr& sender = envelope->sender()) {
    sender->Undelivered(*envelope, reason);
  }
}

int64_t DeadLetters::total() const {
  int64_t sum = 0;
  for (const std::atomic<int64_t>& c : counts_) sum += c.load(std::memory_order_relaxed);
  return sum;
}

}  // namespace troupe
