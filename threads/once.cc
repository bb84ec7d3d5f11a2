#include "threads/once.h"

#include "threads/internal/futex.h"

namespace troupe {

bool Once::BeginOrWait() {
  while (true) {
    uint32_t state = state_.load(std::memory_order_acquire);
    if (state == kDone) return false;
    if (state == kIdle) {
      if (state_.compare_exchange_strong(state, kRunning, std::memory_order_acquire,
                                         std::memory_order_acquire)) {
        return true;
      }
      continue;
    }
    threads_internal::FutexWait(&state_, kRunning);
  }
}

void Once::Finish(bool ok) {
  // release: publishes the function's effects to the acquire loads above.
  state_.store(ok ? kDone : kIdle, std::memory_order_release);
  threads_internal::FutexWakeAll(&state_);
}

}  // namespace troupe
