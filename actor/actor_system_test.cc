// The ActorSystem: children, failures, dedicated actors, shutdown, hooks,
// and the scheduler and clock seams.

#include "actor/actor_system.h"

#include <atomic>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/testdata/test_messages.pb.h"
#include "base/log_capture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/deterministic_scheduler.h"
#include "testing/event_log.h"
#include "testing/eventually.h"
#include "testing/virtual_clock.h"
#include "threads/latch.h"
#include "threads/notification.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;

constexpr absl::Duration kWait = absl::Seconds(30);

// Counts OnStop calls; spawns children on request; throws on "throw".
class Node : public Actor {
 public:
  explicit Node(std::atomic<int>* stops, int children = 0) : stops_(stops), children_(children) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<std::string>([](const std::string& s) {
          if (s == "throw") throw std::runtime_error("handler blew up");
        })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          std::vector<ActorRef> refs = kids_;
          return refs;
        });
  }
  void OnStart() override {
    for (int i = 0; i < children_; ++i) kids_.push_back(Spawn<Node>(stops_, 0));
  }
  void OnStop() override { stops_->fetch_add(1); }

 private:
  std::atomic<int>* stops_;
  int children_;
  std::vector<ActorRef> kids_;
};

std::vector<ActorRef> ChildrenOf(const ActorRef& parent) {
  absl::StatusOr<std::vector<ActorRef>> kids =
      parent.Ask<std::vector<ActorRef>>(test::GetTotal(), kWait).Get();
  EXPECT_TRUE(kids.ok()) << kids.status();
  return kids.ok() ? *kids : std::vector<ActorRef>();
}

TEST(ActorSystemTest, StoppingAParentStopsItsChildren) {
  std::atomic<int> stops{0};
  ActorSystem system;
  ActorRef parent = system.Spawn<Node>(&stops, 3);
  std::vector<ActorRef> kids = ChildrenOf(parent);
  ASSERT_EQ(kids.size(), 3u);
  for (const ActorRef& kid : kids) EXPECT_TRUE(kid.IsAlive());
  parent.Tell(proto::Stop());
  for (const ActorRef& kid : kids) testkit::WaitUntilStopped(kid);
  testkit::WaitUntilStopped(parent);
  testkit::WaitForLiveActors(system, 0);
  EXPECT_EQ(stops.load(), 4);
}

TEST(ActorSystemTest, ExceptionInAHandlerStopsOnlyThatActor) {
  std::atomic<int> stops{0};
  ActorSystem system;
  ActorRef failing = system.Spawn<Node>(&stops);
  ActorRef healthy = system.Spawn<Node>(&stops);
  failing.Tell(std::string("throw"));
  failing.Tell(std::string("after"));
  testkit::WaitUntilStopped(failing);
  EXPECT_EQ(stops.load(), 1);  // OnStop ran for the failed actor
  EXPECT_TRUE(healthy.IsAlive());
  EXPECT_TRUE(ChildrenOf(healthy).empty());  // still answers
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kHandlerFailed), 1);
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kDroppedAtStop) +
                system.dead_letters().count(DeadLetterReason::kReceiverStopped),
            1);
}

TEST(ActorSystemTest, LoggerOptionReceivesTheSystemsLog) {
  LogCapture capture(LogCapture::kDoNotInstall);
  ActorSystemOptions options;
  options.logger = capture.logger();
  std::atomic<int> stops{0};
  {
    ActorSystem system(std::move(options));
    ActorRef failing = system.Spawn<Node>(&stops);
    failing.Tell(std::string("throw"));
    testkit::WaitUntilStopped(failing);
  }
  EXPECT_NE(
      capture.Output().find("error [actor] Node#1 <std::string>: handler failed: handler blew up"),
      std::string::npos)
      << capture.Output();
}

class ThrowsInConstructor : public Actor {
 public:
  ThrowsInConstructor() { throw std::invalid_argument("bad config"); }

 protected:
  Behavior MakeBehavior() override { return Behavior(); }
};

class ThrowsInOnStart : public Actor {
 protected:
  Behavior MakeBehavior() override { return Behavior(); }
  void OnStart() override { throw std::runtime_error("cannot start"); }
};

TEST(ActorSystemTest, FailuresWhileStartingStopTheActor) {
  ActorSystem system;
  ActorRef a = system.Spawn<ThrowsInConstructor>();
  EXPECT_TRUE(static_cast<bool>(a));
  EXPECT_FALSE(a.IsAlive());
  a.Tell(std::string("x"));
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kReceiverStopped), 1);
  ActorRef b = system.Spawn<ThrowsInOnStart>();
  testkit::WaitUntilStopped(b);
  testkit::WaitForLiveActors(system, 0);
}

// A dedicated actor may block in a handler; the pool's actors carry on.
class Blocker : public Actor {
 public:
  Blocker(Notification* entered, Notification* release) : entered_(entered), release_(release) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<std::string>([this](const std::string&) {
      on_dedicated_ = system().scheduler().IsCurrentThread() == false;
      entered_->Notify();
      release_->WaitForNotification();
    });
  }

 private:
  Notification* entered_;
  Notification* release_;
  bool on_dedicated_ = false;
};

TEST(ActorSystemTest, DedicatedActorsMayBlock) {
  ActorSystemOptions options;
  options.workers = 1;
  ActorSystem system(std::move(options));
  std::vector<Notification> entered(3), release(3);
  std::vector<ActorRef> blockers;
  for (int i = 0; i < 3; ++i) {
    blockers.push_back(system.SpawnDedicated<Blocker>(&entered[i], &release[i]));
    blockers.back().Tell(std::string("block"));
  }
  for (Notification& n : entered) ASSERT_TRUE(n.WaitForNotificationFor(kWait));
  // All three block at once, and the single pool worker is still free.
  std::atomic<int> stops{0};
  ActorRef node = system.Spawn<Node>(&stops);
  EXPECT_TRUE(ChildrenOf(node).empty());
  for (Notification& n : release) n.Notify();
  system.Shutdown();
  for (const ActorRef& b : blockers) EXPECT_FALSE(b.IsAlive());
}

// Slow to start, so that mail queues up before shutdown.
class Slow : public Actor {
 public:
  Slow(Notification* entered, Notification* release, std::atomic<int>* stops)
      : entered_(entered), release_(release), stops_(stops) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([this](int) {
      entered_->Notify();
      release_->WaitForNotification();
    });
  }
  void OnStop() override { stops_->fetch_add(1); }

 private:
  Notification* entered_;
  Notification* release_;
  std::atomic<int>* stops_;
};

TEST(ActorSystemTest, ShutdownStopsEveryActorAndCountsQueuedMail) {
  std::atomic<int> stops{0};
  Notification entered, release, unused;
  ActorSystem system;
  ActorRef slow = system.Spawn<Slow>(&entered, &release, &stops);
  std::vector<ActorRef> idle;
  for (int i = 0; i < 50; ++i) idle.push_back(system.Spawn<Slow>(&unused, &unused, &stops));
  slow.Tell(0);
  ASSERT_TRUE(entered.WaitForNotificationFor(kWait));
  for (int i = 1; i <= 10; ++i) slow.Tell(i);  // queued behind the blocked handler
  Thread<void> releaser("releaser", [&] {
    absl::SleepFor(absl::Milliseconds(20));
    release.Notify();
  });
  system.Shutdown();
  ASSERT_TRUE(releaser.Join().ok());
  EXPECT_EQ(stops.load(), 51);
  EXPECT_EQ(system.live_actors(), 0);
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kDroppedAtStop), 10);
  // After shutdown: spawns never run, and mail is counted.
  ActorRef late = system.Spawn<Slow>(&unused, &unused, &stops);
  EXPECT_FALSE(late.IsAlive());
  late.Tell(1);
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kReceiverStopped), 1);
  EXPECT_TRUE(system.AwaitTermination(absl::Seconds(1)));
}

class ShutsDownTheSystem : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([this](int) { system().Shutdown(); });
  }
};

TEST(ActorSystemTest, ShutdownFromAHandlerAndAwaitTermination) {
  ActorSystem system;
  ActorRef actor = system.Spawn<ShutsDownTheSystem>();
  EXPECT_FALSE(system.AwaitTermination(absl::Milliseconds(10)));
  actor.Tell(1);
  EXPECT_TRUE(system.AwaitTermination(kWait));
  EXPECT_TRUE(system.IsShuttingDown());
  EXPECT_EQ(system.live_actors(), 0);
}

// Hooks see spawns, sends, activations and stops.
class CountingHooks : public ActorHooks {
 public:
  void OnSpawn(const ActorRef&, const ActorRef&) override { spawns.fetch_add(1); }
  void OnSend(const ActorRef&, const Envelope&) override { sends.fetch_add(1); }
  void OnActivate(const ActorRef&, const Envelope&) override { activations.fetch_add(1); }
  void OnActivated(const ActorRef&, const MessageType&) override { activated.fetch_add(1); }
  void OnStop(const ActorRef&, const proto::ExitReason& reason) override {
    if (reason.kind() == proto::ExitReason::SYSTEM_SHUTDOWN) stops.fetch_add(1);
  }
  std::atomic<int> spawns{0}, sends{0}, activations{0}, activated{0}, stops{0};
};

TEST(ActorSystemTest, HooksObserveTheHotPaths) {
  auto hooks = std::make_shared<CountingHooks>();
  ActorSystemOptions options;
  options.hooks = hooks;
  std::atomic<int> stops{0};
  {
    ActorSystem system(std::move(options));
    ActorRef node = system.Spawn<Node>(&stops);
    for (int i = 0; i < 10; ++i) node.Tell(std::string("x"));
    ChildrenOf(node);  // one ask: a send there, a reply send back
    system.Shutdown();
  }
  EXPECT_EQ(hooks->spawns.load(), 1);
  EXPECT_EQ(hooks->sends.load(), 10 + 1 + 1);  // + the shutdown's stop
  EXPECT_EQ(hooks->activations.load(), 12);
  EXPECT_EQ(hooks->activated.load(), 12);
  EXPECT_EQ(hooks->stops.load(), 1);
}

// -- the seams: a manual scheduler and a fake clock -----------------------------

class Recorder : public Actor {
 public:
  explicit Recorder(std::vector<std::string>* log) : log_(log) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<std::string>([this](const std::string& s) { log_->push_back(s); });
  }

 private:
  std::vector<std::string>* log_;
};

// The seams themselves, with the test kit's scheduler and clock plugged in
// by hand (testing/test_kit.h wraps them for everyday use).
TEST(ActorSystemTest, ASchedulerAndAClockFromOutsideMakeRunsDeterministic) {
  auto scheduler = std::make_unique<testkit::DeterministicScheduler>();
  auto clock = std::make_unique<testkit::VirtualClock>();
  testkit::DeterministicScheduler* manual = scheduler.get();
  testkit::VirtualClock* fake = clock.get();
  ActorSystemOptions options;
  options.scheduler = std::move(scheduler);
  options.clock = std::move(clock);
  options.throughput = 2;
  ActorSystem system(std::move(options));

  std::vector<std::string> log;
  ActorRef recorder = system.Spawn<Recorder>(&log);
  recorder.Tell(std::string("a"));
  recorder.Tell(std::string("b"));
  recorder.Tell(std::string("c"));
  EXPECT_TRUE(log.empty());              // nothing runs until the test says so
  EXPECT_EQ(manual->RunUntilIdle(), 2);  // throughput 2: a, b; then c
  EXPECT_THAT(log, ElementsAre("a", "b", "c"));

  TimerHandle once = system.SendAfter(recorder, std::string("timer"), absl::Seconds(30));
  TimerHandle tick = system.SendPeriodically(recorder, std::string("tick"), absl::Seconds(10));
  fake->Advance(absl::Seconds(29));
  manual->RunUntilIdle();
  EXPECT_THAT(log, ElementsAre("a", "b", "c", "tick", "tick"));
  fake->Advance(absl::Seconds(1));
  manual->RunUntilIdle();
  // Both due at 30 s: the one scheduled first fires first.
  EXPECT_THAT(log, ElementsAre("a", "b", "c", "tick", "tick", "timer", "tick"));
  EXPECT_FALSE(once.active());
  EXPECT_TRUE(tick.Cancel());
  EXPECT_FALSE(tick.Cancel());
  fake->Advance(absl::Minutes(5));
  manual->RunUntilIdle();
  EXPECT_EQ(log.size(), 7u);

  // An ask times out in virtual time.
  Future<std::string> reply = recorder.Ask<std::string>(test::Hop(), absl::Seconds(5));
  manual->RunUntilIdle();  // unhandled: fails at once
  EXPECT_EQ(reply.Get().status().code(), absl::StatusCode::kUnavailable);
  Future<test::Pong> never = recorder.Ask<test::Pong>(std::string("hi"), absl::Seconds(5));
  manual->RunUntilIdle();
  EXPECT_FALSE(never.IsReady());
  fake->Advance(absl::Seconds(5));
  EXPECT_EQ(never.Get().status().code(), absl::StatusCode::kDeadlineExceeded);
  system.Shutdown();
}

}  // namespace
}  // namespace troupe
