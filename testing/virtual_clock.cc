#include "testing/virtual_clock.h"

#include <utility>

namespace troupe::testkit {

absl::Time VirtualClock::Now() const {
  MutexLock lock(mu_);
  return now_;
}

TimerId VirtualClock::ScheduleAt(absl::Time when, Callback callback) {
  MutexLock lock(mu_);
  if (shut_down_) return 0;  // Clock's contract: 0 means "will never fire"
  const TimerId id = ++last_id_;
  timers_.emplace(std::make_pair(when, id), std::move(callback));
  return id;
}

bool VirtualClock::Cancel(TimerId id) {
  MutexLock lock(mu_);
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    if (it->first.second == id) {
      timers_.erase(it);
      return true;
    }
  }
  return false;
}

void VirtualClock::Shutdown() {
  std::map<std::pair<absl::Time, TimerId>, Callback> dropped;
  {
    MutexLock lock(mu_);
    shut_down_ = true;
    dropped.swap(timers_);
  }
  // Destroyed unlocked: a callback's captures may release actors.
}

int VirtualClock::Advance(absl::Duration d) {
  int fired = 0;
  mu_.Lock();
  const absl::Time target = now_ + d;
  while (!timers_.empty() && timers_.begin()->first.first <= target) {
    auto first = timers_.begin();
    if (first->first.first > now_) now_ = first->first.first;
    Callback callback = std::move(first->second);
    timers_.erase(first);
    mu_.Unlock();
    std::move(callback)();
    ++fired;
    mu_.Lock();
  }
  if (target > now_) now_ = target;
  mu_.Unlock();
  return fired;
}

absl::Time VirtualClock::NextTimer() const {
  MutexLock lock(mu_);
  return timers_.empty() ? absl::InfiniteFuture() : timers_.begin()->first.first;
}

int VirtualClock::pending_timers() const {
  MutexLock lock(mu_);
  return static_cast<int>(timers_.size());
}

}  // namespace troupe::testkit
