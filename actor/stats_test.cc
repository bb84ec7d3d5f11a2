// Stats and DumpState: exact counts in deterministic runs (the test kit),
// states seen on a real pool, and snapshots taken while actors churn.

#include "actor/stats.h"

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/supervisor.h"
#include "base/log_capture.h"
#include "base/stress.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/event_log.h"
#include "testing/eventually.h"
#include "testing/test_kit.h"
#include "threads/latch.h"
#include "threads/notification.h"
#include "threads/thread.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testkit::TestKit;

// Counts what it is sent; "throw" fails; "send-to" forwards a string to a
// ref it was given; "spawn" makes a named child.
struct SendTo {
  ActorRef target;
};
struct Block {
  Notification* started;
  Notification* release;
  bool to_child = false;  // pass it on to the last child spawned
};

class Worker : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<std::string>([this](const std::string& command) {
          if (command == "throw") throw std::runtime_error("told to");
          if (command == "spawn") child_ = Spawn<Worker>(SpawnOptions{.name = "child"});
          if (command == "slow") absl::SleepFor(absl::Milliseconds(2));
        })
        .On<SendTo>([](const SendTo& send) { send.target.Tell(std::string("hello")); })
        .On<Block>([this](const Block& block) {
          if (block.to_child) {
            child_.Tell(Block{block.started, block.release});
            return;
          }
          block.started->Notify();
          block.release->WaitForNotification();
        });
  }

 private:
  ActorRef child_;
};

const ActorStats& Find(const SystemStats& stats, const ActorRef& ref) {
  for (const ActorStats& actor : stats.actors) {
    if (actor.id == ref.id()) return actor;
  }
  static const ActorStats missing;
  ADD_FAILURE() << "no stats for " << ref.ToString();
  return missing;
}

TEST(StatsTest, CountsAreExactInADeterministicRun) {
  TestKit kit;
  ActorRef parent = kit.system().Spawn<Worker>(SpawnOptions{.name = "parent"});
  parent.Tell(std::string("spawn"));
  parent.Tell(std::string("spawn"));
  kit.RunUntilIdle();
  for (int i = 0; i < 5; ++i) parent.Tell(std::string("noop"));

  SystemStats stats = kit.system().Stats();
  ASSERT_EQ(stats.actors.size(), 3u);
  EXPECT_EQ(stats.system, "test");
  EXPECT_TRUE(stats.workers.empty());  // the kit's scheduler has no threads
  const ActorStats& before = Find(stats, parent);
  EXPECT_EQ(before.name, "parent");
  EXPECT_EQ(before.parent, 0u);
  EXPECT_EQ(before.state, ActorState::kScheduled);
  EXPECT_EQ(before.mailbox_depth, 5u);
  EXPECT_EQ(before.messages_handled, 2u);
  EXPECT_EQ(stats.actors[1].name, "child");
  EXPECT_EQ(stats.actors[1].parent, parent.id());
  EXPECT_EQ(stats.actors[1].state, ActorState::kIdle);

  kit.Step();
  kit.Step();
  EXPECT_EQ(Find(kit.system().Stats(), parent).mailbox_depth, 3u);
  EXPECT_EQ(Find(kit.system().Stats(), parent).messages_handled, 4u);
  kit.RunUntilIdle();
  const SystemStats stats_after = kit.system().Stats();
  const ActorStats& after = Find(stats_after, parent);
  EXPECT_EQ(after.state, ActorState::kIdle);
  EXPECT_EQ(after.mailbox_depth, 0u);
  EXPECT_EQ(after.messages_handled, 7u);
  EXPECT_EQ(after.handler_time, absl::ZeroDuration());  // timing is off
}

TEST(StatsTest, DeadLettersAreChargedToTheTurnTheyAroseIn) {
  LogCapture quiet;
  TestKit kit;
  ActorRef sender = kit.system().Spawn<Worker>();
  ActorRef gone = kit.system().Spawn<Worker>();
  gone.Tell(proto::Stop());
  kit.RunUntilIdle();
  for (int i = 0; i < 3; ++i) sender.Tell(SendTo{gone});
  kit.RunUntilIdle();
  const SystemStats stats = kit.system().Stats();
  EXPECT_EQ(Find(stats, sender).dead_letters_caused, 3u);  // sent to a stopped actor
  EXPECT_EQ(stats.dead_letters, 3);

  gone.Tell(1);    // from the test's thread: charged to no actor
  sender.Tell(2);  // an int: nobody handles it, so it is the receiver's
  kit.RunUntilIdle();
  EXPECT_EQ(Find(kit.system().Stats(), sender).dead_letters_caused, 4u);
  EXPECT_EQ(kit.system().Stats().dead_letters, 5);
}

TEST(StatsTest, RestartsLinksAndWatchersAreListed) {
  LogCapture quiet;
  TestKit kit;
  SupervisorOptions options;
  options.max_restarts = 10;
  ActorRef supervisor =
      kit.system().Spawn<Supervisor>(options, std::vector<ChildSpec>{ChildSpec::Of<Worker>("w")});
  kit.RunUntilIdle();
  const SystemStats first = kit.system().Stats();
  ASSERT_EQ(first.actors.size(), 2u);
  const uint64_t child_id = first.actors[1].id;
  EXPECT_EQ(first.actors[1].parent, supervisor.id());

  absl::StatusOr<std::vector<SupervisedChild>> children =
      kit.Ask<std::vector<SupervisedChild>>(supervisor, WhichChildren());
  ASSERT_TRUE(children.ok()) << children.status();
  ASSERT_EQ(children->size(), 1u);
  const ActorRef child = (*children)[0].ref;
  child.Tell(std::string("throw"));
  kit.RunUntilIdle();
  child.Tell(std::string("throw"));
  kit.RunUntilIdle();
  const SystemStats stats = kit.system().Stats();
  EXPECT_EQ(Find(stats, child).id, child_id);
  EXPECT_EQ(Find(stats, child).restarts, 2u);
}

// Watches (or links) the actor it is given.
struct WatchIt {
  ActorRef target;
  bool link;
};
class Watcher : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<WatchIt>([this](const WatchIt& it) {
      if (it.link) {
        Link(it.target);
      } else {
        Watch(it.target);
      }
    });
  }
};

TEST(StatsTest, WatchersAndLinksAreListedBothWays) {
  TestKit kit;
  ActorRef target = kit.system().Spawn<Worker>();
  ActorRef watcher = kit.system().Spawn<Watcher>();
  ActorRef linked = kit.system().Spawn<Watcher>();
  watcher.Tell(WatchIt{target, false});
  linked.Tell(WatchIt{target, true});
  kit.RunUntilIdle();
  const SystemStats stats = kit.system().Stats();
  EXPECT_THAT(Find(stats, target).watchers, ElementsAre(watcher.id()));
  EXPECT_THAT(Find(stats, target).links, ElementsAre(linked.id()));
  EXPECT_THAT(Find(stats, linked).links, ElementsAre(target.id()));
}

TEST(StatsTest, HandlerTimeIsMeasuredOnlyWhileTimingIsOn) {
  TestKit kit;
  ActorRef worker = kit.system().Spawn<Worker>();
  worker.Tell(std::string("slow"));
  kit.RunUntilIdle();
  EXPECT_EQ(Find(kit.system().Stats(), worker).handler_time, absl::ZeroDuration());

  kit.system().SetHandlerTiming(true);
  for (int i = 0; i < 3; ++i) worker.Tell(std::string("slow"));
  kit.RunUntilIdle();
  const SystemStats stats = kit.system().Stats();
  EXPECT_TRUE(stats.handler_timing);
  EXPECT_GE(Find(stats, worker).handler_time, absl::Milliseconds(6));
  EXPECT_THAT(kit.system().DumpState(), HasSubstr("in handlers"));
}

TEST(StatsTest, DumpStateListsTheTreeWithStatesAndDepths) {
  TestKit kit;
  ActorRef parent = kit.system().Spawn<Worker>(SpawnOptions{.name = "parent"});
  ActorRef loner = kit.system().Spawn<Worker>(SpawnOptions{.name = "loner"});
  parent.Tell(std::string("spawn"));
  kit.RunUntilIdle();
  loner.Tell(std::string("noop"));
  loner.Tell(std::string("noop"));
  const std::string dump = kit.system().DumpState();
  EXPECT_THAT(dump, HasSubstr("actor system 'test' at "));
  EXPECT_THAT(dump, HasSubstr("3 live actors, 0 dead letters\npool: "));
  EXPECT_THAT(dump, HasSubstr(" carved, "));
  EXPECT_THAT(dump, HasSubstr(" given back\n"));
  EXPECT_THAT(dump, HasSubstr("actors:\n"
                              "  parent#1  idle  mailbox 0  handled 1\n"
                              "    child#3  idle  mailbox 0  handled 0\n"
                              "  loner#2  scheduled  mailbox 2  handled 0\n"));
}

TEST(StatsTest, ShowsWhichWorkerRunsAnActorAndWhoWaitsForChildren) {
  ActorSystemOptions options;
  options.workers = 2;
  ActorSystem system(std::move(options));
  ActorRef parent = system.Spawn<Worker>(SpawnOptions{.name = "parent"});
  parent.Tell(std::string("spawn"));
  Notification started, release;
  parent.Tell(Block{&started, &release, /*to_child=*/true});
  started.WaitForNotification();  // the child is stuck in a handler

  SystemStats stats = system.Stats();
  ASSERT_EQ(stats.actors.size(), 2u);
  const ActorStats& child = stats.actors[1];
  EXPECT_EQ(child.state, ActorState::kRunning);
  ASSERT_GE(child.worker, 0);
  ASSERT_EQ(stats.workers.size(), 2u);
  EXPECT_NE(stats.workers[static_cast<size_t>(child.worker)].running_job, nullptr);
  const std::string dump = FormatDumpState(stats);
  EXPECT_THAT(dump, HasSubstr(absl::StrCat("worker ", child.worker, "  running child#")));
  EXPECT_THAT(dump, HasSubstr(absl::StrCat("child#", child.id, "  running on worker ")));

  // Stopped, the parent waits for its child's end: "ending".
  parent.Tell(proto::Stop());
  EXPECT_TRUE(testkit::Eventually(
      [&] { return Find(system.Stats(), parent).state == ActorState::kEnding; }));
  EXPECT_EQ(Find(system.Stats(), parent).state, ActorState::kEnding);
  EXPECT_THAT(system.DumpState(), HasSubstr("parent#1  ending"));
  release.Notify();
  testkit::WaitForLiveActors(system, 0);
}

// Snapshots taken while actors are spawned, messaged and stopped on every
// side: no crash, no race (TSAN), and numbers that stay within bounds.
TEST(StatsStressTest, SnapshotsWhileActorsChurn) {
  ActorSystemOptions options;
  options.workers = 2;
  ActorSystem system(std::move(options));
  system.SetHandlerTiming(true);
  const int rounds = static_cast<int>(ScaledCount(2000, 100));
  std::atomic<bool> done{false};
  std::atomic<int64_t> snapshots{0};
  std::atomic<bool> observer_ended{false};
  Thread<void> observer("observer", [&] {
    [&] {  // a failed ASSERT returns from here, and the churn stops too
      while (!done.load(std::memory_order_acquire)) {
        const SystemStats stats = system.Stats();
        for (const ActorStats& actor : stats.actors) {
          ASSERT_LE(actor.mailbox_depth, 64u);
          ASSERT_LE(actor.messages_handled, 64u);
        }
        ASSERT_NE(FormatDumpState(stats).find("actors:\n"), std::string::npos);
        snapshots.fetch_add(1, std::memory_order_relaxed);
      }
    }();
    observer_ended.store(true, std::memory_order_relaxed);
  });
  // On a loaded machine the observer may not run for a while: the churn goes
  // on until it has overlapped a few snapshots, however long that takes.
  for (int i = 0; i < rounds || (snapshots.load(std::memory_order_relaxed) < 3 &&
                                 !observer_ended.load(std::memory_order_relaxed));
       ++i) {
    ActorRef worker = system.Spawn<Worker>();
    for (int m = 0; m < 8; ++m) worker.Tell(std::string(m % 4 == 0 ? "spawn" : "noop"));
    worker.Tell(proto::Stop());
  }
  testkit::WaitForLiveActors(system, 0);
  done.store(true, std::memory_order_release);
  ASSERT_TRUE(observer.Join().ok());
  EXPECT_TRUE(system.Stats().actors.empty());
}

}  // namespace
}  // namespace troupe
