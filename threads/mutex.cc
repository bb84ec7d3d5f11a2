#include "threads/mutex.h"

#include "base/check.h"
#include "threads/atomics.h"
#include "threads/internal/futex.h"

namespace troupe {

bool Mutex::LockSlow(absl::Time deadline) {
  // Spin a little first: critical sections are usually short, and a futex
  // sleep plus wake costs microseconds.
  Backoff backoff;
  for (int i = 0; i < 8; ++i) {
    uint32_t expected = kUnlocked;
    if (state_.load(std::memory_order_relaxed) == kUnlocked &&
        state_.compare_exchange_weak(expected, kLocked, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      return true;
    }
    backoff.Spin();
  }
  // Mark the mutex contended before sleeping, so the holder's Unlock() wakes
  // us. Once marked we must keep taking it as kContended (not kLocked): we
  // cannot know whether other sleepers remain.
  // acquire: pairs with Unlock()'s release when the exchange finds it free.
  while (state_.exchange(kContended, std::memory_order_acquire) != kUnlocked) {
    if (!threads_internal::FutexWait(&state_, kContended, deadline)) {
      // Timed out. One last try, so a lock freed right at the deadline wins.
      uint32_t expected = kUnlocked;
      return state_.compare_exchange_strong(expected, kContended, std::memory_order_acquire,
                                            std::memory_order_relaxed);
    }
  }
  return true;
}

void Mutex::WakeOne() { threads_internal::FutexWake(&state_, 1); }

void Mutex::AssertHeld() const {
  TROUPE_DCHECK(state_.load(std::memory_order_relaxed) != kUnlocked,
                "Mutex::AssertHeld() on an unlocked mutex");
}

}  // namespace troupe
