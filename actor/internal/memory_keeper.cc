#include "actor/internal/memory_keeper.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>

#include "mailbox/node_pool.h"

namespace troupe::actor_internal {

void MemoryKeeper::Start() {
  if (interval_ <= absl::ZeroDuration()) return;
  MutexLock lock(mu_);
  if (!stopped_) ScheduleCheckLocked();
}

void MemoryKeeper::Stop() {
  MutexLock lock(mu_);
  stopped_ = true;
  if (timer_ != 0) clock_.Cancel(timer_);  // a check that already began is waited for
  timer_ = 0;
  while (checking_) check_done_.Wait(mu_);
}

int64_t MemoryKeeper::released_bytes() const {
  MutexLock lock(mu_);
  return released_bytes_;
}

void MemoryKeeper::ScheduleCheckLocked() {
  timer_ = clock_.ScheduleAt(clock_.Now() + interval_, [this] { Check(); });
}

void MemoryKeeper::Check() {
  const size_t free_bytes = GetPoolMemoryStats().depot_free_bytes;
  bool release = false;
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    checking_ = true;
    if (free_bytes > high_water_) {
      ++checks_above_;
    } else {
      checks_above_ = 0;
      checks_before_sweep_ = kChecksBeforeSweep;
    }
    if (checks_above_ >= checks_before_sweep_ && !releasing_) {
      checks_above_ = 0;
      releasing_ = true;
      release = true;
    }
    ScheduleCheckLocked();
  }
  // Outside the lock: a scheduler without threads runs the task right here.
  if (release) scheduler_.RunInBackground([this] { Release(); });
  MutexLock lock(mu_);
  checking_ = false;
  check_done_.SignalAll();
}

void MemoryKeeper::Release() {
  const size_t released = ReleaseFreePoolMemory(high_water_);
#if defined(__GLIBC__)
  if (released > 0) malloc_trim(0);
#endif
  const size_t left = GetPoolMemoryStats().depot_free_bytes;
  MutexLock lock(mu_);
  releasing_ = false;
  released_bytes_ += static_cast<int64_t>(released);
  checks_before_sweep_ = left <= high_water_
                             ? kChecksBeforeSweep
                             : std::min(2 * checks_before_sweep_, kMaxChecksBetweenSweeps);
}

}  // namespace troupe::actor_internal
