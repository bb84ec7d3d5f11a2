#include "actor/registry.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "base/stress.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/event_log.h"
#include "testing/eventually.h"
#include "threads/thread.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;

class Idle : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([](int) {});
  }
};

TEST(RegistryTest, RegisterLookupUnregister) {
  ActorSystem system;
  ActorRef a = system.Spawn<Idle>();
  Registry& registry = system.registry();
  EXPECT_TRUE(registry.Register("a", a).ok());
  EXPECT_TRUE(registry.Register("also-a", a).ok());
  EXPECT_EQ(registry.Lookup("a"), a);
  EXPECT_EQ(registry.Lookup("nobody"), ActorRef());
  EXPECT_THAT(registry.Names(), ElementsAre("a", "also-a"));
  EXPECT_TRUE(registry.Unregister("also-a"));
  EXPECT_FALSE(registry.Unregister("also-a"));
  EXPECT_THAT(registry.Names(), ElementsAre("a"));
}

TEST(RegistryTest, BadInputIsAClearError) {
  ActorSystem system;
  ActorRef a = system.Spawn<Idle>();
  ActorRef b = system.Spawn<Idle>();
  Registry& registry = system.registry();
  EXPECT_EQ(registry.Register("", a).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Register("x", ActorRef()).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(registry.Register("x", a).ok());
  EXPECT_EQ(registry.Register("x", b).code(), absl::StatusCode::kAlreadyExists);
  b.Tell(proto::Stop());
  testkit::WaitUntilStopped(b);
  EXPECT_EQ(registry.Register("y", b).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RegistryTest, StoppingUnregistersEveryName) {
  ActorSystem system;
  ActorRef a = system.Spawn<Idle>();
  ASSERT_TRUE(system.registry().Register("one", a).ok());
  ASSERT_TRUE(system.registry().Register("two", a).ok());
  a.Tell(proto::Stop());
  testkit::WaitUntilStopped(a);
  EXPECT_EQ(system.registry().Lookup("one"), ActorRef());
  EXPECT_TRUE(system.registry().Names().empty());
}

// Registering races with the actor stopping: afterwards no name may point
// to a stopped actor, whichever side won.
TEST(RegistryStressTest, RegisterRacingStopLeavesNoStaleName) {
  const int rounds = static_cast<int>(ScaledCount(2000, 100));
  ActorSystem system;
  for (int i = 0; i < rounds; ++i) {
    ActorRef a = system.Spawn<Idle>();
    const std::string name = absl::StrCat("actor-", i);
    Thread<void> stopper("stopper", [a] { a.Tell(proto::Stop()); });
    absl::Status status = system.registry().Register(name, a);
    ASSERT_TRUE(stopper.Join().ok());
    testkit::WaitUntilStopped(a);
    EXPECT_EQ(system.registry().Lookup(name), ActorRef()) << "round " << i << ": " << status;
  }
}

}  // namespace
}  // namespace troupe
