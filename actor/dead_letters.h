// -----------------------------------------------------------------------------
// File: dead_letters.h
// -----------------------------------------------------------------------------
//
// `DeadLetters`: where every message that could not be delivered or handled
// ends up, counted per reason and logged. Nothing in troupe drops a message
// silently.
//
//   troupe::ActorSystem system;
//   ...
//   int64_t unhandled = system.dead_letters().count(troupe::DeadLetterReason::kUnhandled);
//   int64_t all = system.dead_letters().total();
//
// Logging is rate-limited: the first dead letter is logged at info level,
// then at most one line per second, which says how many went unlogged.
// When a dead letter was an ask, the asker's future fails at once with the
// reason instead of waiting for its timeout.
//
// Thread-safety: every method may be called from any thread.

#ifndef TROUPE_ACTOR_DEAD_LETTERS_H_
#define TROUPE_ACTOR_DEAD_LETTERS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "base/cache_line.h"
#include "base/log_limiter.h"
#include "base/stringify.h"

namespace troupe {

class Envelope;
namespace actor_internal {
class Addressable;
}  // namespace actor_internal

enum class DeadLetterReason : uint8_t {
  kReceiverStopped,  // sent to an actor that had already stopped
  kDroppedAtStop,    // still queued (or stashed) when its receiver stopped
  kUnhandled,        // the receiver had no handler for its type
  kHandlerFailed,    // its handler threw: the actor failed on it
  kNoReceiver,       // a reply with no one to reply to, or a late ask reply
  kEmptyRef,         // sent through an empty ActorRef
  kSystemGone,       // sent through a ref that outlived its ActorSystem (OrphanDeadLetters)
  kMailboxFull,      // refused by a bounded mailbox (OverflowPolicy::Reject)
  // remote/ (docs/remote.md):
  kNodeUnreachable,  // for a remote actor whose node could not be reached, or left
  kNotSerializable,  // a value that is not a protobuf message, sent to a remote actor
  kUnknownType,      // arrived from another node as a type this process does not know
  kTooLarge,         // bigger, serialised, than a frame to another node may be
};
inline constexpr int kDeadLetterReasonCount = 12;

// "receiver stopped", "dropped at stop", ...
std::string_view DeadLetterReasonName(DeadLetterReason reason);
template <typename Sink>
void AbslStringify(Sink& sink, DeadLetterReason reason) {
  sink.Append(DeadLetterReasonName(reason));
}

class DeadLetters {
 public:
  DeadLetters() = default;
  DeadLetters(const DeadLetters&) = delete;
  DeadLetters& operator=(const DeadLetters&) = delete;

  // DeadLetters::Publish()
  //
  // Takes `envelope`, which could not reach `receiver` (may be null), counts
  // it, tells its sender (an ask fails), logs it (rate-limited) and frees it.
  void Publish(std::unique_ptr<Envelope> envelope, DeadLetterReason reason,
               const actor_internal::Addressable* receiver);

  // The number published so far with `reason`, and with any reason.
  int64_t count(DeadLetterReason reason) const {
    return counts_[static_cast<size_t>(reason)].load(std::memory_order_relaxed);
  }
  int64_t total() const;

 private:
  std::array<std::atomic<int64_t>, kDeadLetterReasonCount> counts_{};
  alignas(kCacheLineSize) LogLimiter log_limiter_;
};

// OrphanDeadLetters()
//
// Mail that belongs to no live system is counted here, process-wide: mail
// sent through an empty ActorRef with no sender (kEmptyRef), and mail sent
// through a ref that outlived its ActorSystem (kSystemGone).
DeadLetters& OrphanDeadLetters();

}  // namespace troupe

#endif  // TROUPE_ACTOR_DEAD_LETTERS_H_
