// A bounded mailbox: the limit's counters, and the cell carrying out its
// overflow policy (the design: internal/mailbox_limit.h, docs/overload.md).

#include "actor/internal/mailbox_limit.h"

#include <memory>
#include <utility>

#include "absl/time/clock.h"
#include "actor/internal/actor_cell.h"
#include "base/logging.h"

namespace troupe::actor_internal {

static_assert(SpawnOptions::kMaxMailboxCapacity == Mailbox::kMaxCapacity,
              "SpawnOptions promises what the mailbox enforces");

bool MailboxLimit::CountRefusal(std::atomic<uint64_t>* counter, uint64_t* since) {
  counter->fetch_add(1, std::memory_order_relaxed);
  const int64_t now = absl::GetCurrentTimeNanos();
  int64_t next = next_log_nanos_.load(std::memory_order_relaxed);
  if (now < next) return false;
  // One sender wins the second; relaxed: the counts are statistics.
  if (!next_log_nanos_.compare_exchange_strong(next, now + 1'000'000'000,
                                               std::memory_order_relaxed)) {
    return false;
  }
  const uint64_t total = rejected.load(std::memory_order_relaxed) +
                         dropped.load(std::memory_order_relaxed) +
                         redirected.load(std::memory_order_relaxed);
  *since = total - logged_refusals_.exchange(total, std::memory_order_relaxed);
  return true;
}

void ActorCell::LimitMailbox(uint32_t capacity, OverflowPolicy policy) {
  extras().limit = std::make_unique<MailboxLimit>(capacity, std::move(policy));
  mailbox_.EnableBound();
  spawn_flags_.store(spawn_flags_.load(std::memory_order_relaxed) | kBoundedMailbox,
                     std::memory_order_relaxed);
}

namespace {

// The thread is delivering a redirected message: a second overflow on its
// way is rejected, not redirected again (two actors redirecting to each
// other would otherwise bounce it forever).
thread_local bool redirecting = false;

const char* PolicyName(OverflowPolicy::Kind kind) {
  switch (kind) {
    case OverflowPolicy::Kind::kReject:
      return "rejecting";
    case OverflowPolicy::Kind::kDropNewest:
      return "dropping";
    case OverflowPolicy::Kind::kRedirect:
      return "redirecting";
  }
  return "refusing";
}

}  // namespace

bool ActorCell::Overflow(std::unique_ptr<Envelope> envelope) {
  MailboxLimit& limit = *extras_.load(std::memory_order_acquire)->limit;
  OverflowPolicy::Kind kind = limit.policy.kind();
  if (kind == OverflowPolicy::Kind::kRedirect && redirecting) kind = OverflowPolicy::Kind::kReject;
  std::atomic<uint64_t>* counter = kind == OverflowPolicy::Kind::kReject       ? &limit.rejected
                                   : kind == OverflowPolicy::Kind::kDropNewest ? &limit.dropped
                                                                               : &limit.redirected;
  if (uint64_t since = 0; limit.CountRefusal(counter, &since)) {
    LogWarning(ActorLog(), "{}#{} is shedding load: mailbox full (capacity {}), {} {} in the last second",
               name(), id(), limit.capacity, PolicyName(kind), since);
  }
  switch (kind) {
    case OverflowPolicy::Kind::kRedirect: {
      redirecting = true;
      const bool delivered = limit.policy.redirect_to().target()->Deliver(std::move(envelope));
      redirecting = false;
      return delivered;
    }
    case OverflowPolicy::Kind::kDropNewest:
      // Not published, but an ask must not wait for a reply that cannot come.
      if (const AddressablePtr& sender = envelope->sender()) {
        sender->Undelivered(*envelope, DeadLetterReason::kMailboxFull);
      }
      return false;
    case OverflowPolicy::Kind::kReject:
      break;
  }
  PublishDeadLetter(link(), std::move(envelope), DeadLetterReason::kMailboxFull, this);
  return false;
}

}  // namespace troupe::actor_internal
