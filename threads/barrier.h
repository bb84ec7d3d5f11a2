// -----------------------------------------------------------------------------
// File: barrier.h
// -----------------------------------------------------------------------------
//
// `Barrier`: a reusable rendezvous for a fixed number of threads. Each round,
// every participant calls `ArriveAndWait()`; all are released together when
// the last one arrives, and the barrier is ready for the next round.
//
//   troupe::Barrier step(kThreads);
//   for (int round = 0; round < kRounds; ++round) {
//     Compute(round);
//     if (step.ArriveAndWait()) MergeResults(round);  // exactly one thread
//   }
//
// Memory ordering: everything each participant wrote before arriving in a
// round is visible to every participant after that round's wait returns
// (the round is closed under the barrier's mutex).

#ifndef TROUPE_THREADS_BARRIER_H_
#define TROUPE_THREADS_BARRIER_H_

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe {

class Barrier {
 public:
  // `participants` must be >= 1.
  explicit Barrier(int64_t participants);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // Barrier::ArriveAndWait()
  //
  // Blocks until all participants of this round have arrived. Returns true in
  // exactly one of them (the last to arrive), false in the others.
  bool ArriveAndWait() ABSL_LOCKS_EXCLUDED(mu_);

  int64_t participants() const { return participants_; }

 private:
  const int64_t participants_;
  Mutex mu_;
  CondVar round_done_;
  int64_t waiting_ ABSL_GUARDED_BY(mu_) = 0;
  // Which round is filling. A waiter waits for it to change rather than for
  // waiting_ to reach a value, so that a fast thread starting the next round
  // cannot strand a slow one still leaving this round.
  uint64_t round_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace troupe

#endif  // TROUPE_THREADS_BARRIER_H_
