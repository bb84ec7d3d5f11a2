#include "threads/notification.h"

#include "base/check.h"
#include "threads/internal/futex.h"

namespace troupe {

void Notification::Notify() {
  // release: publishes what the notifier wrote to waiters' acquire loads.
  const uint32_t previous = state_.exchange(kNotified, std::memory_order_release);
  TROUPE_DCHECK(previous == kWaiting, "Notification::Notify() called twice");
  (void)previous;
  threads_internal::FutexWakeAll(&state_);
}

bool Notification::WaitForNotificationUntil(absl::Time deadline) const {
  while (!HasBeenNotified()) {
    if (!threads_internal::FutexWait(&state_, kWaiting, deadline)) return HasBeenNotified();
  }
  return true;
}

}  // namespace troupe
