// -----------------------------------------------------------------------------
// File: virtual_clock.h
// -----------------------------------------------------------------------------
//
// `VirtualClock`: a troupe::Clock whose time moves only when a test says so.
// Timers (SendAfter, SendPeriodically, ask timeouts, supervisor backoff)
// fire inside Advance(), on the calling thread, in due-time order (ties in
// the order they were scheduled), so a test of a 30-second timeout runs in
// microseconds and the same way every time.
//
//   auto clock = std::make_unique<troupe::testkit::VirtualClock>();
//   troupe::testkit::VirtualClock* time = clock.get();
//   options.clock = std::move(clock);            // ActorSystemOptions
//   ...
//   time->Advance(absl::Seconds(30));            // fires what fell due
//
// TestKit (test_kit.h) sets one up for you. Time starts at the Unix epoch.
//
// Thread-safety: every method may be called from any thread; callbacks run
// with no lock held, so they may schedule more timers.

#ifndef TROUPE_TESTING_VIRTUAL_CLOCK_H_
#define TROUPE_TESTING_VIRTUAL_CLOCK_H_

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "threads/clock.h"
#include "threads/mutex.h"

namespace troupe::testkit {

class VirtualClock final : public Clock {
 public:
  absl::Time Now() const override;
  TimerId ScheduleAt(absl::Time when, Callback callback) override;
  bool Cancel(TimerId id) override;
  void Shutdown() override;

  // VirtualClock::Advance()
  //
  // Moves time forward by `d`, firing each timer that falls due, at its due
  // time (Now() inside a callback is the timer's time). Returns how many
  // fired. Timers a callback schedules within the span fire too.
  int Advance(absl::Duration d);

  // The due time of the earliest pending timer, or InfiniteFuture().
  absl::Time NextTimer() const;
  int pending_timers() const;

 private:
  mutable Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::UnixEpoch();
  TimerId last_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::pair<absl::Time, TimerId>, Callback> timers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::testkit

#endif  // TROUPE_TESTING_VIRTUAL_CLOCK_H_
