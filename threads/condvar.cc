#include "threads/condvar.h"

#include "threads/internal/futex.h"

namespace troupe {

bool CondVar::WaitUntil(Mutex& mu, absl::Time deadline) {
  // seq_cst on waiters_ and sequence_ (here and in Signal): the waiter does
  // "waiters_++ ; read sequence_" and the signaller "sequence_++ ; read
  // waiters_". Under seq_cst at least one sees the other's write, so either
  // the signaller sees a waiter and wakes it, or the waiter reads the new
  // sequence and does not sleep.
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  const uint32_t sequence = sequence_.load(std::memory_order_seq_cst);
  mu.Unlock();
  const bool woke = threads_internal::FutexWait(&sequence_, sequence, deadline);
  waiters_.fetch_sub(1, std::memory_order_relaxed);
  mu.Lock();
  return woke || deadline > absl::Now();
}

void CondVar::Signal() {
  sequence_.fetch_add(1, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) != 0) {
    threads_internal::FutexWake(&sequence_, 1);
  }
}

void CondVar::SignalAll() {
  sequence_.fetch_add(1, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) != 0) {
    threads_internal::FutexWakeAll(&sequence_);
  }
}

}  // namespace troupe
