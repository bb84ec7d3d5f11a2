// Stop semantics: a parent's stop runs its children's OnStop first
// (bottom-up), a stopped supervisor stops its tree in reverse start order
// (at system shutdown, every subtree bottom-up, all at once), a kill
// overtakes mail the actor has already fetched, and an actor that is
// stopping cannot leave orphans behind.

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/supervisor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/event_log.h"
#include "testing/eventually.h"
#include "threads/latch.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;

constexpr absl::Duration kWait = absl::Seconds(30);

// Spawns a chain of `depth` descendants below itself; logs its OnStop.
class Node : public Actor {
 public:
  Node(testkit::EventLog* log, std::string name, int depth)
      : log_(log), name_(std::move(name)), depth_(depth) {}

 protected:
  void OnStart() override {
    if (depth_ > 0) Spawn<Node>(log_, absl::StrCat(name_, "/child"), depth_ - 1);
    log_->Add(absl::StrCat(name_, " started"));
  }
  void OnStop() override { log_->Add(absl::StrCat(name_, " stopped")); }
  Behavior MakeBehavior() override {
    return Behavior().On<std::string>([this](const std::string&) { Stop(); });
  }

 private:
  testkit::EventLog* log_;
  std::string name_;
  int depth_;
};

TEST(LifecycleTest, ChildrenStopBeforeTheirParent) {
  testkit::EventLog log;
  ActorSystem system;
  ActorRef root = system.Spawn<Node>(&log, "root", 2);
  log.WaitForSize(3);  // all three started
  root.Tell(std::string("stop"));
  testkit::WaitUntilStopped(root);
  std::vector<std::string> events = log.WaitForSize(6);
  EXPECT_THAT(std::vector<std::string>(events.begin() + 3, events.end()),
              ElementsAre("root/child/child stopped", "root/child stopped", "root stopped"));
  testkit::WaitForLiveActors(system, 0);
}

TEST(LifecycleTest, StoppingASupervisorStopsItsTreeInReverseStartOrder) {
  testkit::EventLog log;
  ActorSystem system;
  std::vector<ChildSpec> specs;
  for (const char* name : {"first", "second", "third"}) {
    specs.push_back(ChildSpec::Of<Node>(name, &log, std::string(name), 1));
  }
  ActorRef supervisor = system.Spawn<Supervisor>(SupervisorOptions(), std::move(specs));
  log.WaitForSize(6);
  supervisor.Tell(proto::Stop());
  testkit::WaitUntilStopped(supervisor);
  std::vector<std::string> events = log.Snapshot();
  ASSERT_EQ(events.size(), 12u);
  EXPECT_THAT(std::vector<std::string>(events.begin() + 6, events.end()),
              ElementsAre("third/child stopped", "third stopped", "second/child stopped",
                          "second stopped", "first/child stopped", "first stopped"));
}

// At system shutdown a supervisor tells all its children at once (one at a
// time, each waiting for a pool round, is unbounded under load: see
// lifetime_test); each subtree still stops bottom-up.
TEST(LifecycleTest, ShutdownStopsEverySubtreeBottomUp) {
  testkit::EventLog log;
  {
    ActorSystem system;
    std::vector<ChildSpec> specs;
    for (const char* name : {"first", "second", "third"}) {
      specs.push_back(ChildSpec::Of<Node>(name, &log, std::string(name), 1));
    }
    system.Spawn<Supervisor>(SupervisorOptions(), std::move(specs));
    log.WaitForSize(6);
  }  // the destructor shuts down
  std::vector<std::string> events = log.Snapshot();
  ASSERT_EQ(events.size(), 12u);
  std::vector<std::string> stops(events.begin() + 6, events.end());
  auto position = [&](const std::string& event) {
    return std::find(stops.begin(), stops.end(), event) - stops.begin();
  };
  for (const char* name : {"first", "second", "third"}) {
    const std::string child = absl::StrCat(name, "/child stopped");
    const std::string parent = absl::StrCat(name, " stopped");
    ASSERT_LT(position(child), 6) << child << " missing";
    ASSERT_LT(position(parent), 6) << parent << " missing";
    EXPECT_LT(position(child), position(parent)) << name;
  }
}

// Blocks in its first handler until the gate opens; counts the rest.
class Blocker : public Actor {
 public:
  Blocker(Latch* entered, Latch* open, std::atomic<int>* handled)
      : entered_(entered), open_(open), handled_(handled) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([this](int) {
      if (handled_->fetch_add(1) == 0) {
        entered_->CountDown();
        open_->Wait();
      }
    });
  }

 private:
  Latch* entered_;
  Latch* open_;
  std::atomic<int>* handled_;
};

TEST(LifecycleTest, AKillOvertakesMailAlreadyFetched) {
  for (int round = 0; round < 20; ++round) {
    Latch entered(1);
    Latch open(1);
    std::atomic<int> handled{0};
    ActorSystem system;
    ActorRef actor = system.Spawn<Blocker>(&entered, &open, &handled);
    // The first message wakes the actor; the rest arrive while it runs, and
    // some may already sit in its fetched batch when the kill comes.
    for (int i = 0; i < 50; ++i) actor.Tell(i);
    entered.Wait();
    actor.Tell(proto::Kill());
    open.CountDown();
    testkit::WaitForLiveActors(system, 0);  // its queued mail is dead-lettered by then
    EXPECT_EQ(handled.load(), 1);
    EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kDroppedAtStop), 49);
  }
}

// Tries to spawn a child from OnStop, which would outlive it.
class LateSpawner : public Actor {
 public:
  explicit LateSpawner(ActorRef* late) : late_(late) {}

 protected:
  void OnStop() override { *late_ = Spawn<Node>(nullptr, "late", 0); }
  Behavior MakeBehavior() override {
    return Behavior().On<std::string>([this](const std::string&) { Stop(); });
  }

 private:
  ActorRef* late_;
};

TEST(LifecycleTest, AStoppingActorCannotSpawnOrphans) {
  ActorRef late;
  ActorSystem system;
  ActorRef spawner = system.Spawn<LateSpawner>(&late);
  spawner.Tell(std::string("stop"));
  testkit::WaitUntilStopped(spawner);
  ASSERT_TRUE(late);
  testkit::WaitUntilStopped(late);  // never started: it is stopped at once
  testkit::WaitForLiveActors(system, 0);
}

TEST(LifecycleTest, ShutdownFromInsideAHandlerStillStopsTheTree) {
  struct ShutsDown : public Actor {
    Behavior MakeBehavior() override {
      return Behavior().On<std::string>([this](const std::string&) { system().Shutdown(); });
    }
  };
  testkit::EventLog log;
  ActorSystem system;
  system.Spawn<Node>(&log, "tree", 3);
  log.WaitForSize(4);
  system.Spawn<ShutsDown>().Tell(std::string("now"));
  ASSERT_TRUE(system.AwaitTermination(kWait));
  EXPECT_EQ(log.Snapshot().size(), 8u);
  EXPECT_EQ(system.live_actors(), 0);
}

}  // namespace
}  // namespace troupe
