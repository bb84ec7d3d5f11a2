// -----------------------------------------------------------------------------
// File: test_util.h
// -----------------------------------------------------------------------------
//
// Helpers for the actor layer's own tests (testonly).
//
//   ActorRef actor = system.Spawn<Worker>();
//   actor.Tell(troupe::proto::Stop());
//   troupe::WaitUntilStopped(actor);   // fails the test after 30 s
//   troupe::WaitForLiveActors(system, 0);  // ... and has finished ending
//
//   troupe::EventLog log;              // actors Add(), the test waits
//   EXPECT_THAT(log.WaitForSize(3), ElementsAre("a", "b", "c"));
//
// (For step-by-step runs in virtual time, see testing/test_kit.h.)

#ifndef TROUPE_ACTOR_TEST_UTIL_H_
#define TROUPE_ACTOR_TEST_UTIL_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "actor/actor_system.h"
#include "gtest/gtest.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe {

// Polls until `actor` has stopped, or fails the test after `timeout`.
inline void WaitUntilStopped(const ActorRef& actor, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (actor.IsAlive() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_FALSE(actor.IsAlive()) << actor.ToString() << " did not stop within " << timeout;
}

// Polls until `system` has exactly `n` live actors, or fails the test after
// `timeout`. An actor is dead (IsAlive() false) from the start of its end;
// it leaves the live set last, after its Down, Exits and dead letters: wait
// for this before counting those.
inline void WaitForLiveActors(const ActorSystem& system, int64_t n,
                              absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (system.live_actors() != n && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(system.live_actors(), n) << "live actors did not reach " << n << " within " << timeout;
}

// A thread-safe list of events that a test waits for.
class EventLog {
 public:
  void Add(std::string event) {
    MutexLock lock(mu_);
    events_.push_back(std::move(event));
    cv_.SignalAll();
  }
  // Waits until there are at least `n` events (failing the test after
  // `timeout`), and returns them all.
  std::vector<std::string> WaitForSize(size_t n, absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time deadline = absl::Now() + timeout;
    MutexLock lock(mu_);
    while (events_.size() < n) {
      if (!cv_.WaitUntil(mu_, deadline) && absl::Now() >= deadline) break;
    }
    EXPECT_GE(events_.size(), n) << "timed out waiting for events";
    return events_;
  }
  std::vector<std::string> Snapshot() {
    MutexLock lock(mu_);
    return events_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe

#endif  // TROUPE_ACTOR_TEST_UTIL_H_
