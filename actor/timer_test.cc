// Send-after and periodic sends through the real clock.

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "gtest/gtest.h"
#include "threads/latch.h"

namespace troupe {
namespace {

class Ticks : public Actor {
 public:
  explicit Ticks(std::atomic<int>* ticks, Latch* latch = nullptr) : ticks_(ticks), latch_(latch) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<std::string>([this](const std::string&) {
          ticks_->fetch_add(1);
          // A periodic timer keeps ticking until the test cancels it, which
          // on a loaded machine may be well after the latch opened. This
          // actor is the latch's only counter, so the check cannot race.
          if (latch_ != nullptr && !latch_->TryWait()) latch_->CountDown();
        })
        .On<int>([this](int) { Stop(); });
  }

 private:
  std::atomic<int>* ticks_;
  Latch* latch_;
};

TEST(TimerTest, SendAfterDeliversOnceAfterTheDelay) {
  std::atomic<int> ticks{0};
  Latch latch(1);
  ActorSystem system;
  ActorRef actor = system.Spawn<Ticks>(&ticks, &latch);
  const absl::Time start = absl::Now();
  TimerHandle timer = system.SendAfter(actor, std::string("tick"), absl::Milliseconds(30));
  EXPECT_TRUE(timer.active());
  ASSERT_TRUE(latch.WaitFor(absl::Seconds(30)));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(30));
  EXPECT_FALSE(timer.active());
  EXPECT_FALSE(timer.Cancel());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(ticks.load(), 1);
}

TEST(TimerTest, CancelledSendNeverArrives) {
  std::atomic<int> ticks{0};
  ActorSystem system;
  ActorRef actor = system.Spawn<Ticks>(&ticks);
  TimerHandle timer = system.SendAfter(actor, std::string("tick"), absl::Milliseconds(20));
  EXPECT_TRUE(timer.Cancel());
  absl::SleepFor(absl::Milliseconds(60));
  EXPECT_EQ(ticks.load(), 0);
}

TEST(TimerTest, PeriodicSendsUntilCancelled) {
  std::atomic<int> ticks{0};
  Latch five(5);
  ActorSystem system;
  ActorRef actor = system.Spawn<Ticks>(&ticks, &five);
  TimerHandle timer = system.SendPeriodically(actor, std::string("tick"), absl::Milliseconds(5));
  ASSERT_TRUE(five.WaitFor(absl::Seconds(30)));
  EXPECT_TRUE(timer.Cancel());
  absl::SleepFor(absl::Milliseconds(10));  // a send racing the cancel may still land
  const int after_cancel = ticks.load();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(ticks.load(), after_cancel);
}

TEST(TimerTest, PeriodicTimerEndsWhenItsTargetStops) {
  std::atomic<int> ticks{0};
  ActorSystem system;
  ActorRef actor = system.Spawn<Ticks>(&ticks);
  TimerHandle timer = system.SendPeriodically(actor, std::string("tick"), absl::Milliseconds(2));
  actor.Tell(1);  // stops it
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (timer.active() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_FALSE(timer.active());
  EXPECT_LE(system.dead_letters().count(DeadLetterReason::kReceiverStopped), 1);
}

TEST(TimerTest, ManyTimersShareOneThread) {
  constexpr int kTimers = 2000;
  std::atomic<int> ticks{0};
  Latch all(kTimers);
  ActorSystem system;
  ActorRef actor = system.Spawn<Ticks>(&ticks, &all);
  for (int i = 0; i < kTimers; ++i) {
    (void)system.SendAfter(actor, std::string("tick"), absl::Microseconds(i * 10));
  }
  ASSERT_TRUE(all.WaitFor(absl::Seconds(30)));
  EXPECT_EQ(ticks.load(), kTimers);
}

}  // namespace
}  // namespace troupe
