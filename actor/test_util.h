// -----------------------------------------------------------------------------
// File: test_util.h
// -----------------------------------------------------------------------------
//
// Helpers for the actor layer's own tests (testonly).
//
//   ActorRef actor = system.Spawn<Worker>();
//   actor.Tell(troupe::proto::Stop());
//   troupe::WaitUntilStopped(actor);   // fails the test after 30 s

#ifndef TROUPE_ACTOR_TEST_UTIL_H_
#define TROUPE_ACTOR_TEST_UTIL_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "gtest/gtest.h"

namespace troupe {

// Polls until `actor` has stopped, or fails the test after `timeout`.
inline void WaitUntilStopped(const ActorRef& actor, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (actor.IsAlive() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_FALSE(actor.IsAlive()) << actor.ToString() << " did not stop within " << timeout;
}

}  // namespace troupe

#endif  // TROUPE_ACTOR_TEST_UTIL_H_
