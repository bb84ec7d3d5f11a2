#include "actor/timer.h"

#include <utility>

#include "absl/base/thread_annotations.h"
#include "actor/internal/addressable.h"
#include "threads/mutex.h"

namespace troupe {

namespace actor_internal {

// A send-after or periodic send. `active` and `id` are guarded by `mu`; the
// lock order is TimerState::mu, then the clock's own lock.
struct TimerState {
  explicit TimerState(Clock* c) : clock(c) {}
  Clock* const clock;
  Mutex mu;
  bool active ABSL_GUARDED_BY(mu) = true;
  TimerId id ABSL_GUARDED_BY(mu) = 0;
};

namespace {

void ArmSend(const std::shared_ptr<TimerState>& state, ActorRef to, absl::Time when,
             absl::Duration period, absl::AnyInvocable<EnvelopePtr()> make_envelope)
    ABSL_LOCKS_EXCLUDED(state->mu) {
  MutexLock lock(state->mu);
  if (!state->active) return;
  state->id = state->clock->ScheduleAt(
      when, [state, to, when, period, make = std::move(make_envelope)]() mutable {
        {
          MutexLock lock(state->mu);
          if (!state->active) return;  // cancelled after it fired
          if (period == absl::ZeroDuration()) state->active = false;
        }
        const bool delivered = to.target()->Deliver(make());
        if (period == absl::ZeroDuration()) return;
        if (delivered) {
          ArmSend(state, std::move(to), when + period, period, std::move(make));
        } else {
          MutexLock lock(state->mu);  // the target stopped: so does the timer
          state->active = false;
        }
      });
  if (state->id == 0) state->active = false;  // the clock has shut down
}

}  // namespace
}  // namespace actor_internal

bool TimerHandle::Cancel() {
  if (state_ == nullptr) return false;
  MutexLock lock(state_->mu);
  if (!state_->active) return false;
  state_->active = false;
  state_->clock->Cancel(state_->id);
  return true;
}

bool TimerHandle::active() const {
  if (state_ == nullptr) return false;
  MutexLock lock(state_->mu);
  return state_->active;
}

TimerHandle ScheduleSend(Clock& clock, const ActorRef& to, absl::Duration delay,
                         absl::Duration period, absl::AnyInvocable<EnvelopePtr()> make_envelope) {
  auto state = std::make_shared<actor_internal::TimerState>(&clock);
  if (!to) {
    actor_internal::Send(to.target(), make_envelope());  // an empty ref: a dead letter now
    MutexLock lock(state->mu);
    state->active = false;
    return TimerHandle(std::move(state));
  }
  actor_internal::ArmSend(state, to, clock.Now() + delay, period, std::move(make_envelope));
  return TimerHandle(std::move(state));
}

}  // namespace troupe
