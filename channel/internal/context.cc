#include "channel/internal/context.h"

#include "threads/atomics.h"
#include "threads/internal/futex.h"

namespace troupe::channel_internal {

std::shared_ptr<ThreadContext> ThreadContext::Current() {
  thread_local std::shared_ptr<ThreadContext> context = std::make_shared<ThreadContext>();
  context->Reset();
  return context;
}

void Context::Reset() { selected_.store(kWaiting, std::memory_order_relaxed); }

void ThreadContext::Wake() {
  if (sleeping_.exchange(0, std::memory_order_seq_cst) == 1) {
    threads_internal::FutexWake(&sleeping_, 1);
  }
}

OperationToken ThreadContext::WaitUntil(absl::Time deadline) {
  // Spin briefly first: the partner of a rendezvous or of a nearly empty
  // channel usually answers within a microsecond, far sooner than a futex
  // sleep and wake-up would.
  Backoff backoff;
  while (!backoff.ShouldPark()) {
    if (OperationToken token = selected()) return token;
    backoff.Snooze();
  }
  while (true) {
    sleeping_.store(1, std::memory_order_seq_cst);
    if (OperationToken token = selected_.load(std::memory_order_seq_cst)) {
      sleeping_.store(0, std::memory_order_relaxed);
      return token;
    }
    const bool in_time = threads_internal::FutexWait(&sleeping_, 1, deadline);
    sleeping_.store(0, std::memory_order_relaxed);
    if (OperationToken token = selected()) return token;
    if (!in_time) {
      if (TrySelect(kAborted)) return kAborted;
      return selected();  // someone selected us just as time ran out
    }
  }
}

}  // namespace troupe::channel_internal
