#include "channel/internal/context.h"

#include "threads/atomics.h"
#include "threads/internal/futex.h"

namespace troupe::channel_internal {

std::shared_ptr<Context> Context::Current() {
  thread_local std::shared_ptr<Context> context = std::make_shared<Context>();
  context->Reset();
  return context;
}

void Context::Reset() {
  selected_.store(kWaiting, std::memory_order_relaxed);
  packet_.store(nullptr, std::memory_order_relaxed);
}

void Context::Unpark() {
  // seq_cst pairs with the owner's load of wake_ before it re-checks
  // selected_: either the owner sees the selection or the futex word moved.
  wake_.fetch_add(1, std::memory_order_seq_cst);
  threads_internal::FutexWake(&wake_, 1);
}

OperationToken Context::WaitUntil(absl::Time deadline) {
  // Spin briefly first: the partner of a rendezvous or of a nearly empty
  // channel usually answers within a microsecond, far sooner than a futex
  // sleep and wake-up would.
  Backoff backoff;
  while (!backoff.ShouldPark()) {
    if (OperationToken token = selected()) return token;
    backoff.Snooze();
  }
  while (true) {
    const uint32_t seen = wake_.load(std::memory_order_seq_cst);
    if (OperationToken token = selected()) return token;
    if (!threads_internal::FutexWait(&wake_, seen, deadline)) {
      if (TrySelect(kAborted)) return kAborted;
      return selected();  // someone selected us just as time ran out
    }
  }
}

}  // namespace troupe::channel_internal
