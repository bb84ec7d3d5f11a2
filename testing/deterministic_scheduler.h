// -----------------------------------------------------------------------------
// File: deterministic_scheduler.h
// -----------------------------------------------------------------------------
//
// `DeterministicScheduler`: a troupe::Scheduler with no threads. Actor turns
// wait in a queue until the test runs them, one at a time, on its own
// thread: in FIFO order, or (with a non-zero seed) in a seeded random order
// that explores other interleavings and replays exactly from the seed.
//
//   auto scheduler = std::make_unique<troupe::testkit::DeterministicScheduler>(/*seed=*/0);
//   troupe::testkit::DeterministicScheduler* steps = scheduler.get();
//   options.scheduler = std::move(scheduler);   // ActorSystemOptions
//   ...
//   steps->Step();            // one turn
//   steps->RunUntilIdle();    // every turn there is, and what they cause
//
// TestKit (test_kit.h) sets one up for you, with throughput 1 so that a
// step is exactly one message.
//
// Thread-safety: Schedule() may be called from any thread (a test may send
// from a helper thread); Step() and RunUntilIdle() from one thread at a time.

#ifndef TROUPE_TESTING_DETERMINISTIC_SCHEDULER_H_
#define TROUPE_TESTING_DETERMINISTIC_SCHEDULER_H_

#include <cstdint>
#include <deque>
#include <random>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "actor/scheduler.h"
#include "threads/mutex.h"

namespace troupe::testkit {

class DeterministicScheduler final : public Scheduler {
 public:
  // seed 0: turns run in the order they were scheduled. Otherwise each step
  // picks one of the waiting turns with a generator seeded by `seed`.
  explicit DeterministicScheduler(uint64_t seed = 0);

  // Priorities are ignored: the order is the one the seed says.
  void Schedule(Schedulable* runnable, Priority priority) override;
  // Runs until idle: an actor system shutting down runs to its end.
  void Shutdown() override { RunUntilIdle(); }
  // True inside a step, so that code run by a turn knows it is on the
  // system's thread (a handler's Shutdown() then only starts the shutdown).
  bool IsCurrentThread() const override;

  // DeterministicScheduler::Step()
  //
  // Runs one waiting turn. False if none was waiting.
  bool Step();

  // DeterministicScheduler::RunUntilIdle()
  //
  // Steps until no turn waits, or `max_steps` have run (an actor that keeps
  // sending to itself never goes idle). Returns the number of steps.
  int RunUntilIdle(int max_steps = 1'000'000);

  int waiting() const;
  // Calls `fn` on each waiting turn, in queue order (not the random pick).
  void ForEachWaiting(absl::FunctionRef<void(const Schedulable&)> fn) const;
  uint64_t seed() const { return seed_; }

 private:
  const uint64_t seed_;
  mutable Mutex mu_;
  std::deque<Schedulable*> ready_ ABSL_GUARDED_BY(mu_);
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::testkit

#endif  // TROUPE_TESTING_DETERMINISTIC_SCHEDULER_H_
