// -----------------------------------------------------------------------------
// File: notification.h
// -----------------------------------------------------------------------------
//
// `Notification`: a one-shot event. Any number of threads wait; one thread
// notifies, once.
//
//   troupe::Notification started;
//   troupe::Thread worker("worker", [&] { started.Notify(); Serve(); });
//   started.WaitForNotification();
//
// Memory ordering: everything the notifier wrote before `Notify()` is
// visible to a thread after its wait returns true (release/acquire on the
// state word). Use this, not absl::Notification, which Debian builds without
// ThreadSanitizer instrumentation.

#ifndef TROUPE_THREADS_NOTIFICATION_H_
#define TROUPE_THREADS_NOTIFICATION_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace troupe {

class Notification {
 public:
  Notification() = default;
  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;

  // Notification::Notify()
  //
  // Wakes every waiter. Calling it twice is a bug (TROUPE_DCHECK).
  void Notify();

  // Notification::HasBeenNotified()
  //
  // Non-blocking; true (with acquire semantics) once Notify() has run.
  bool HasBeenNotified() const { return state_.load(std::memory_order_acquire) != kWaiting; }

  // Notification::WaitForNotification()
  //
  // Blocks until Notify() has run.
  void WaitForNotification() const { WaitForNotificationUntil(absl::InfiniteFuture()); }

  // Notification::WaitForNotificationFor() / ...Until()
  //
  // Blocks until notified (true) or the time runs out (false).
  bool WaitForNotificationFor(absl::Duration timeout) const {
    return WaitForNotificationUntil(absl::Now() + timeout);
  }
  bool WaitForNotificationUntil(absl::Time deadline) const;

 private:
  static constexpr uint32_t kWaiting = 0;
  static constexpr uint32_t kNotified = 1;
  // Mutable: waiting does not change the logical state, but the futex needs a
  // non-const word.
  mutable std::atomic<uint32_t> state_{kWaiting};
};

}  // namespace troupe

#endif  // TROUPE_THREADS_NOTIFICATION_H_
