// -----------------------------------------------------------------------------
// File: eventually.h
// -----------------------------------------------------------------------------
//
// Waiting in a real-time test for something other threads will make true,
// with a deadline: the test fails, never hangs.
//
//   ASSERT_TRUE(troupe::testkit::Eventually([&] { return counter.load() == 10; }))
//       << "the counter stayed at " << counter.load();
//   troupe::testkit::WaitUntilStopped(actor);         // fails the test after 30 s
//   troupe::testkit::WaitForLiveActors(system, 0);    // every actor has finished ending
//
// The default timeout is long (30 s) because it only matters when a test
// is about to fail: on a loaded machine a correct test may need seconds,
// and a passing one returns as soon as the predicate holds. A test that
// needs a step-by-step run instead uses the test kit (test_kit.h), where
// nothing waits for real time.

#ifndef TROUPE_TESTING_EVENTUALLY_H_
#define TROUPE_TESTING_EVENTUALLY_H_

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "actor/actor_system.h"
#include "gtest/gtest.h"

namespace troupe::testkit {

inline constexpr absl::Duration kEventuallyTimeout = absl::Seconds(30);

// Eventually()
//
// Polls `predicate` (first at once, then every millisecond) until it returns
// true: success; or until `timeout` has passed: a failure that says how long
// it waited. For ASSERT_TRUE / EXPECT_TRUE.
::testing::AssertionResult Eventually(absl::FunctionRef<bool()> predicate,
                                      absl::Duration timeout = kEventuallyTimeout);

// WaitUntilStopped()
//
// Fails the test unless `actor` stops within `timeout`.
void WaitUntilStopped(const ActorRef& actor, absl::Duration timeout = kEventuallyTimeout);

// WaitForLiveActors()
//
// Fails the test unless `system` has exactly `n` live actors within
// `timeout`. An actor is dead (IsAlive() false) from the start of its end;
// it leaves the live set last, after its Down, Exits and dead letters: wait
// for this before counting those.
void WaitForLiveActors(const ActorSystem& system, int64_t n,
                       absl::Duration timeout = kEventuallyTimeout);

}  // namespace troupe::testkit

#endif  // TROUPE_TESTING_EVENTUALLY_H_
