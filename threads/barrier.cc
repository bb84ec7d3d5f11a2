#include "threads/barrier.h"

#include "base/check.h"

namespace troupe {

Barrier::Barrier(int64_t participants) : participants_(participants) {
  TROUPE_CHECK(participants >= 1, "Barrier needs a participant, got {}", participants);
}

bool Barrier::ArriveAndWait() {
  MutexLock lock(mu_);
  if (++waiting_ == participants_) {
    waiting_ = 0;
    ++round_;
    round_done_.SignalAll();
    return true;
  }
  const uint64_t my_round = round_;
  while (round_ == my_round) round_done_.Wait(mu_);
  return false;
}

}  // namespace troupe
