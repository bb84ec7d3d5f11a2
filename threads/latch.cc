#include "threads/latch.h"

#include "base/check.h"
#include "threads/internal/futex.h"

namespace troupe {

Latch::Latch(int64_t count) : count_(count) {
  TROUPE_CHECK(count >= 0, "Latch count must not be negative, got {}", count);
  if (count == 0) open_.store(1, std::memory_order_relaxed);
}

void Latch::CountDown(int64_t n) {
  // acq_rel: release publishes this thread's writes; acquire (on the last
  // decrement) gathers every earlier counter's writes before opening.
  const int64_t before = count_.fetch_sub(n, std::memory_order_acq_rel);
  TROUPE_DCHECK(before >= n, "Latch counted below zero ({} - {})", before, n);
  if (before == n) {
    open_.store(1, std::memory_order_release);
    threads_internal::FutexWakeAll(&open_);
  }
}

bool Latch::WaitUntil(absl::Time deadline) const {
  while (open_.load(std::memory_order_acquire) == 0) {
    if (!threads_internal::FutexWait(&open_, 0, deadline)) {
      return open_.load(std::memory_order_acquire) != 0;
    }
  }
  return true;
}

}  // namespace troupe
