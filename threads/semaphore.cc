#include "threads/semaphore.h"

#include "base/check.h"
#include "threads/internal/futex.h"

namespace troupe {

Semaphore::Semaphore(int64_t permits) : permits_(permits) {
  TROUPE_CHECK(permits >= 0, "Semaphore needs a non-negative count, got {}", permits);
}

void Semaphore::Release(int64_t n) {
  TROUPE_DCHECK(n >= 1);
  // release: pairs with the acquiring CAS in TryAcquire().
  permits_.fetch_add(n, std::memory_order_release);
  // seq_cst pair with TryAcquireUntil(): "epoch_++ ; read sleepers_" against
  // "sleepers_++ ; read epoch_ ; re-check permits_" (Dekker): one side sees
  // the other, so a sleeper is either woken or does not sleep.
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) != 0) {
    threads_internal::FutexWake(&epoch_, n > 0x7fffffff ? 0x7fffffff : static_cast<int>(n));
  }
}

bool Semaphore::TryAcquire() {
  int64_t permits = permits_.load(std::memory_order_relaxed);
  while (permits > 0) {
    // acquire: the permit's Release() happens-before us.
    if (permits_.compare_exchange_weak(permits, permits - 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

bool Semaphore::TryAcquireUntil(absl::Time deadline) {
  while (true) {
    if (TryAcquire()) return true;
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    const uint32_t epoch = epoch_.load(std::memory_order_seq_cst);
    if (TryAcquire()) {
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      return true;
    }
    const bool in_time = threads_internal::FutexWait(&epoch_, epoch, deadline);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    if (!in_time) return TryAcquire();
  }
}

}  // namespace troupe
