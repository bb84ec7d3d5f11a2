#include "actor/internal/system_link.h"

#include <utility>

#include "actor/dead_letters.h"
#include "actor/hooks.h"
#include "actor/internal/cell_environment.h"
#include "actor/message.h"
#include "actor/tracing.h"
#include "base/logging.h"
#include "threads/atomics.h"

namespace troupe::actor_internal {

SystemLink::SystemLink(CellEnvironment* env, std::string name, std::shared_ptr<ActorHooks> hooks)
    : env_(env),
      name_(std::move(name)),
      hooks_(std::move(hooks)),
      tracer_(std::make_unique<Tracer>(name_)) {}

SystemLink::~SystemLink() = default;

void SystemLink::SetObserveFlag(uint8_t flag, bool on) {
  if (on) {
    observe_.fetch_or(flag, std::memory_order_relaxed);
  } else {
    observe_.fetch_and(static_cast<uint8_t>(~flag), std::memory_order_relaxed);
  }
}

SystemLink::Pass SystemLink::Enter() {
  passes_.fetch_add(1, std::memory_order_seq_cst);  // Dekker with Close(): see the file comment
  if (closed_.load(std::memory_order_seq_cst)) {
    passes_.fetch_sub(1, std::memory_order_release);
    return Pass();
  }
  return Pass(this);
}

void SystemLink::Close() {
  observe_.store(0, std::memory_order_relaxed);
  closed_.store(true, std::memory_order_seq_cst);
  // The load (seq_cst, so also acquire) that reads 0 pairs with each pass's
  // release on return: what a holder did with the system happens before the
  // system's members are destroyed.
  Backoff backoff;
  while (passes_.load(std::memory_order_seq_cst) != 0) backoff.Snooze();
}

void PublishDeadLetter(SystemLink* link, std::unique_ptr<Envelope> envelope,
                       DeadLetterReason reason, const Addressable* receiver) {
  if (link == nullptr) {
    OrphanDeadLetters().Publish(std::move(envelope), reason, receiver);
    return;
  }
  if (SystemLink::Pass pass = link->Enter()) {
    pass.env()->PublishDeadLetter(std::move(envelope), reason, receiver);
    return;
  }
  static std::atomic<bool> logged{false};
  if (!logged.exchange(true, std::memory_order_relaxed)) {
    LogWarning(ActorLog(),
               "an ActorRef was used after its ActorSystem '{}' was destroyed: such mail is "
               "dropped and counted (OrphanDeadLetters(), reason \"{}\"); asks fail with "
               "kUnavailable. Logged once per process.",
               link->name(), DeadLetterReasonName(DeadLetterReason::kSystemGone));
  }
  OrphanDeadLetters().Publish(std::move(envelope), DeadLetterReason::kSystemGone, receiver);
}

}  // namespace troupe::actor_internal
