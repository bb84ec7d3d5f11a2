// Send-after and periodic sends, in virtual time: the test kit's clock moves
// only when the test says so, so "not yet", "exactly now" and "never" are
// exact, whatever the load on the machine.

#include "actor/timer.h"

#include <string>

#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "gtest/gtest.h"
#include "testing/test_kit.h"

namespace troupe {
namespace {

class Ticks : public Actor {
 public:
  explicit Ticks(int* ticks) : ticks_(ticks) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<std::string>([this](const std::string&) { ++*ticks_; })
        .On<int>([this](int) { Stop(); });
  }

 private:
  int* const ticks_;
};

TEST(TimerTest, SendAfterDeliversOnceAfterTheDelay) {
  testkit::TestKit kit;
  int ticks = 0;
  ActorRef actor = kit.system().Spawn<Ticks>(&ticks);
  TimerHandle timer = kit.system().SendAfter(actor, std::string("tick"), absl::Milliseconds(30));
  EXPECT_TRUE(timer.active());
  kit.AdvanceTime(absl::Milliseconds(29));
  EXPECT_EQ(ticks, 0);
  EXPECT_TRUE(timer.active());
  kit.AdvanceTime(absl::Milliseconds(1));
  EXPECT_EQ(ticks, 1);
  EXPECT_FALSE(timer.active());
  EXPECT_FALSE(timer.Cancel());
  kit.AdvanceTime(absl::Hours(1));
  EXPECT_EQ(ticks, 1);
}

TEST(TimerTest, CancelledSendNeverArrives) {
  testkit::TestKit kit;
  int ticks = 0;
  ActorRef actor = kit.system().Spawn<Ticks>(&ticks);
  TimerHandle timer = kit.system().SendAfter(actor, std::string("tick"), absl::Milliseconds(20));
  kit.AdvanceTime(absl::Milliseconds(19));
  EXPECT_TRUE(timer.Cancel());
  EXPECT_FALSE(timer.active());
  EXPECT_FALSE(timer.Cancel());  // once
  kit.AdvanceTime(absl::Hours(1));
  EXPECT_EQ(ticks, 0);
  EXPECT_EQ(kit.clock().pending_timers(), 0);
}

TEST(TimerTest, PeriodicSendsEveryPeriodUntilCancelled) {
  testkit::TestKit kit;
  int ticks = 0;
  ActorRef actor = kit.system().Spawn<Ticks>(&ticks);
  TimerHandle timer =
      kit.system().SendPeriodically(actor, std::string("tick"), absl::Milliseconds(5));
  kit.AdvanceTime(absl::Milliseconds(4));
  EXPECT_EQ(ticks, 0);  // the first after one period
  for (int i = 1; i <= 5; ++i) {
    kit.AdvanceTime(absl::Milliseconds(5));
    EXPECT_EQ(ticks, i);
  }
  EXPECT_TRUE(timer.Cancel());
  kit.AdvanceTime(absl::Hours(1));
  EXPECT_EQ(ticks, 5);
  EXPECT_FALSE(timer.active());
}

TEST(TimerTest, PeriodicTimerEndsWhenItsTargetStops) {
  testkit::TestKit kit;
  int ticks = 0;
  ActorRef actor = kit.system().Spawn<Ticks>(&ticks);
  TimerHandle timer =
      kit.system().SendPeriodically(actor, std::string("tick"), absl::Milliseconds(2));
  kit.AdvanceTime(absl::Milliseconds(2));
  EXPECT_EQ(ticks, 1);
  actor.Tell(1);  // stops it
  kit.RunUntilIdle();
  EXPECT_FALSE(actor.IsAlive());
  EXPECT_TRUE(timer.active());  // it learns at its next send
  kit.AdvanceTime(absl::Milliseconds(2));
  EXPECT_FALSE(timer.active());
  EXPECT_EQ(kit.clock().pending_timers(), 0);
  EXPECT_EQ(kit.system().dead_letters().count(DeadLetterReason::kReceiverStopped), 1);
}

TEST(TimerTest, ASendToAnEmptyRefIsADeadLetterAtOnce) {
  testkit::TestKit kit;
  // No sender, so no system of its own: the process-wide sink counts it.
  const int64_t before = OrphanDeadLetters().count(DeadLetterReason::kEmptyRef);
  TimerHandle timer = kit.system().SendAfter(ActorRef(), std::string("tick"), absl::Seconds(1));
  EXPECT_FALSE(timer.active());
  EXPECT_EQ(kit.clock().pending_timers(), 0);
  EXPECT_EQ(OrphanDeadLetters().count(DeadLetterReason::kEmptyRef), before + 1);
}

TEST(TimerTest, ManyTimersFireInDeadlineOrder) {
  testkit::TestKit kit;
  constexpr int kTimers = 2000;
  int ticks = 0;
  ActorRef actor = kit.system().Spawn<Ticks>(&ticks);
  for (int i = kTimers - 1; i >= 0; --i) {  // scheduled last-first
    (void)kit.system().SendAfter(actor, std::string("tick"), absl::Microseconds(i * 10));
  }
  kit.AdvanceTime(absl::Microseconds(10 * (kTimers / 2) - 1));
  EXPECT_EQ(ticks, kTimers / 2);
  kit.AdvanceTime(absl::Seconds(1));
  EXPECT_EQ(ticks, kTimers);
}

}  // namespace
}  // namespace troupe
