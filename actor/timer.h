// -----------------------------------------------------------------------------
// File: timer.h
// -----------------------------------------------------------------------------
//
// Timed sends: `ActorSystem::SendAfter()` and `SendPeriodically()` return a
// `TimerHandle`, which cancels the pending send.
//
//   troupe::TimerHandle tick =
//       system.SendPeriodically(worker, Tick(), absl::Milliseconds(100));
//   ...
//   tick.Cancel();  // true if a send was still pending
//
// Timers run on the system's Clock (threads/clock.h): real time by default,
// virtual time under the test kit. A periodic timer stops by itself when
// its target has stopped (the first send that fails ends it).

#ifndef TROUPE_ACTOR_TIMER_H_
#define TROUPE_ACTOR_TIMER_H_

#include <memory>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "actor/message.h"
#include "threads/clock.h"

namespace troupe {

namespace actor_internal {
struct TimerState;
}  // namespace actor_internal

// A pending send-after or periodic send. Copyable; every copy cancels the
// same timer. Dropping the handle does not cancel it.
class TimerHandle {
 public:
  TimerHandle() = default;

  // TimerHandle::Cancel()
  //
  // Stops the timer. True if a send was still pending (it will not happen).
  bool Cancel();

  // False once a one-shot timer fired, or after Cancel(), or when a periodic
  // timer's target stopped.
  bool active() const;

 private:
  friend TimerHandle ScheduleSend(Clock& clock, const ActorRef& to, absl::Duration delay,
                                  absl::Duration period,
                                  absl::AnyInvocable<EnvelopePtr()> make_envelope);
  explicit TimerHandle(std::shared_ptr<actor_internal::TimerState> state)
      : state_(std::move(state)) {}
  std::shared_ptr<actor_internal::TimerState> state_;
};

// ScheduleSend()
//
// What SendAfter() and SendPeriodically() call: delivers `make_envelope()`
// to `to` after `delay`, then, if `period` is not zero, every `period`
// until cancelled or until a send fails. A send to an empty ref is a dead
// letter at once.
TimerHandle ScheduleSend(Clock& clock, const ActorRef& to, absl::Duration delay,
                         absl::Duration period, absl::AnyInvocable<EnvelopePtr()> make_envelope);

}  // namespace troupe

#endif  // TROUPE_ACTOR_TIMER_H_
