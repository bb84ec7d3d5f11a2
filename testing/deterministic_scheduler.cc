#include "testing/deterministic_scheduler.h"

#include <utility>
#include <vector>

namespace troupe::testkit {
namespace {

// The scheduler whose step is running on this thread, if any.
thread_local const DeterministicScheduler* current_step = nullptr;

}  // namespace

DeterministicScheduler::DeterministicScheduler(uint64_t seed) : seed_(seed), random_(seed) {}

void DeterministicScheduler::Schedule(Schedulable* runnable, Priority /*priority*/) {
  MutexLock lock(mu_);
  ready_.push_back(runnable);
}

bool DeterministicScheduler::IsCurrentThread() const { return current_step == this; }

bool DeterministicScheduler::Step() {
  Schedulable* next = nullptr;
  {
    MutexLock lock(mu_);
    if (ready_.empty()) return false;
    size_t pick = 0;
    if (seed_ != 0 && ready_.size() > 1) {
      pick = std::uniform_int_distribution<size_t>(0, ready_.size() - 1)(random_);
    }
    next = ready_[pick];
    ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(pick));
  }
  const DeterministicScheduler* outer = std::exchange(current_step, this);
  next->RunTurn();
  current_step = outer;
  return true;
}

int DeterministicScheduler::RunUntilIdle(int max_steps) {
  int steps = 0;
  while (steps < max_steps && Step()) ++steps;
  return steps;
}

int DeterministicScheduler::waiting() const {
  MutexLock lock(mu_);
  return static_cast<int>(ready_.size());
}

void DeterministicScheduler::ForEachWaiting(absl::FunctionRef<void(const Schedulable&)> fn) const {
  std::vector<Schedulable*> waiting;
  {
    MutexLock lock(mu_);
    waiting.assign(ready_.begin(), ready_.end());
  }
  for (const Schedulable* runnable : waiting) fn(*runnable);
}

}  // namespace troupe::testkit
