#include "testing/eventually.h"

#include "absl/time/clock.h"

namespace troupe::testkit {

::testing::AssertionResult Eventually(absl::FunctionRef<bool()> predicate, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!predicate()) {
    if (absl::Now() >= deadline) {
      return ::testing::AssertionFailure() << "still false after " << timeout;
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  return ::testing::AssertionSuccess();
}

void WaitUntilStopped(const ActorRef& actor, absl::Duration timeout) {
  ASSERT_TRUE(Eventually([&] { return !actor.IsAlive(); }, timeout))
      << actor.ToString() << " did not stop";
}

void WaitForLiveActors(const ActorSystem& system, int64_t n, absl::Duration timeout) {
  ASSERT_TRUE(Eventually([&] { return system.live_actors() == n; }, timeout))
      << "live actors: " << system.live_actors() << ", waiting for " << n;
}

}  // namespace troupe::testkit
