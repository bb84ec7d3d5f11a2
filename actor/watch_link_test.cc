// Monitors (Watch/Down) and links (Link/Exit, TrapExits): a Down for every
// kind of stop, at once for the dead, never after Unwatch; links that take
// a partner down on failure only, and exits trapped as messages.

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "base/stress.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/event_log.h"
#include "testing/eventually.h"
#include "testing/matchers.h"
#include "testing/test_probe.h"
#include "threads/thread.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);

std::string KindOf(const proto::ExitReason& reason) {
  return proto::ExitReason::Kind_Name(reason.kind());
}

proto::ExitReason Reason(proto::ExitReason::Kind kind, std::string detail = "") {
  proto::ExitReason reason;
  reason.set_kind(kind);
  reason.set_detail(std::move(detail));
  return reason;
}

// Does what it is told: "stop", "throw", "spawn-linked-failure"; replies to
// "ping" with "pong".
class Puppet : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<std::string>([this](const std::string& command) -> std::string {
      if (command == "stop") Stop();
      if (command == "throw") throw std::runtime_error("told to throw");
      return "pong";
    });
  }
};

// Watches or links whatever it is sent (as a WatchThis/LinkThis) and logs
// every Down and Exit it receives as "down <kind> <detail>" or "exit ...".
struct WatchThis {
  ActorRef target;
};
struct UnwatchThis {
  ActorRef target;
};
struct LinkThis {
  ActorRef target;
};
struct UnlinkThis {
  ActorRef target;
};

class Observer : public Actor {
 public:
  Observer(testkit::EventLog* log, bool trap_exits) : log_(log), trap_exits_(trap_exits) {}

 protected:
  void OnStart() override { TrapExits(trap_exits_); }
  Behavior MakeBehavior() override {
    return Behavior()
        .On<WatchThis>([this](const WatchThis& w) { Watch(w.target); })
        .On<UnwatchThis>([this](const UnwatchThis& w) { Unwatch(w.target); })
        .On<LinkThis>([this](const LinkThis& l) { Link(l.target); })
        .On<UnlinkThis>([this](const UnlinkThis& l) { Unlink(l.target); })
        .On<std::string>([](const std::string& s) { return s; })  // a barrier for asks
        .On<proto::Down>([this](const proto::Down& down) {
          EXPECT_EQ(Sender().id(), down.actor().id());
          log_->Add(absl::StrCat("down ", KindOf(down.reason()), " ", down.reason().detail()));
        })
        .On<proto::Exit>([this](const proto::Exit& exit) {
          EXPECT_EQ(Sender().id(), exit.from().id());
          log_->Add(absl::StrCat("exit ", KindOf(exit.reason()), " ", exit.reason().detail()));
        });
  }
  void OnStop() override { log_->Add("observer stopped"); }

 private:
  testkit::EventLog* log_;
  bool trap_exits_;
};

// Makes sure every message the observer was sent before this has been
// handled (ordinary mail is FIFO per sender; Down and Exit overtake it).
void Barrier(const ActorRef& observer) {
  EXPECT_TRUE(observer.Ask<std::string>(std::string("barrier"), kWait).Get().ok());
}

TEST(WatchTest, DownCarriesEveryKindOfStop) {
  ActorSystem system;
  ActorSystem other;  // its shutdown is watched from here
  testkit::TestProbe probe(system, "probe", kWait);
  ActorRef normal = system.Spawn<Puppet>();
  ActorRef failing = system.Spawn<Puppet>();
  ActorRef killed = system.Spawn<Puppet>();
  ActorRef shut_down = other.Spawn<Puppet>();
  for (const ActorRef& target : {normal, failing, killed, shut_down}) probe.Watch(target);

  normal.Tell(std::string("stop"));
  EXPECT_THAT(probe.ExpectDown(normal).reason(),
              testkit::EqualsProto(Reason(proto::ExitReason::NORMAL)));
  failing.Tell(std::string("throw"));
  EXPECT_THAT(probe.ExpectDown(failing).reason(),
              testkit::EqualsProto(Reason(proto::ExitReason::FAILURE, "told to throw")));
  proto::Kill kill;
  kill.set_detail("by the test");
  killed.Tell(kill);
  EXPECT_THAT(probe.ExpectDown(killed).reason(),
              testkit::EqualsProto(Reason(proto::ExitReason::KILLED, "by the test")));
  other.Shutdown();
  EXPECT_THAT(probe.ExpectDown(shut_down).reason(),
              testkit::EqualsProto(Reason(proto::ExitReason::SYSTEM_SHUTDOWN)));
  EXPECT_EQ(probe.last_sender(), shut_down);  // a Down comes from the actor that stopped
}

TEST(WatchTest, WatchesRacingStopsEachGiveOneDown) {
  const int64_t targets = ScaledCount(2000, 200);
  ActorSystem system;
  testkit::TestProbe probe(system, "probe", kWait);
  std::vector<ActorRef> refs;
  for (int64_t i = 0; i < targets; ++i) refs.push_back(system.Spawn<Puppet>());
  // Stops race the watches: each watch lands before, during or after its
  // target's end, and yields one Down all the same.
  Thread<void> stopper("stopper", [&] {
    for (const ActorRef& ref : refs) ref.Tell(std::string("stop"));
  });
  for (const ActorRef& ref : refs) probe.Watch(ref);
  ASSERT_TRUE(stopper.Join().ok());
  absl::flat_hash_set<uint64_t> down;
  for (int64_t i = 0; i < targets; ++i) {
    proto::Down d = probe.ExpectMessage<proto::Down>();
    EXPECT_EQ(d.reason().kind(), proto::ExitReason::NORMAL);
    EXPECT_TRUE(down.insert(d.actor().id()).second) << "two Downs for " << d.actor().id();
  }
  probe.ExpectNoMessage(absl::Milliseconds(50));
}

TEST(WatchTest, WatchingTheDeadDeliversDownAtOnce) {
  testkit::EventLog log;
  ActorSystem system;
  ActorRef observer = system.Spawn<Observer>(&log, false);
  ActorRef target = system.Spawn<Puppet>();
  target.Tell(std::string("throw"));
  testkit::WaitUntilStopped(target);
  testkit::WaitForLiveActors(system, 1);

  observer.Tell(WatchThis{target});
  EXPECT_THAT(log.WaitForSize(1), ElementsAre("down FAILURE told to throw"));
  observer.Tell(WatchThis{ActorRef()});
  EXPECT_THAT(log.WaitForSize(2)[1], "down NORMAL empty ref");
}

TEST(WatchTest, TwoWatchesAreOneAndUnwatchSilences) {
  testkit::EventLog log;
  ActorSystem system;
  ActorRef observer = system.Spawn<Observer>(&log, false);
  ActorRef twice = system.Spawn<Puppet>();
  ActorRef unwatched = system.Spawn<Puppet>();
  observer.Tell(WatchThis{twice});
  observer.Tell(WatchThis{twice});
  observer.Tell(WatchThis{unwatched});
  observer.Tell(UnwatchThis{unwatched});
  Barrier(observer);

  unwatched.Tell(std::string("stop"));
  twice.Tell(std::string("stop"));
  testkit::WaitForLiveActors(system, 1);
  Barrier(observer);  // any Down sent has been handled by now
  EXPECT_THAT(log.Snapshot(), ElementsAre("down NORMAL "));
}

TEST(LinkTest, AFailureTakesTheLinkedActorDown) {
  testkit::EventLog log;
  testkit::EventLog watch_log;
  ActorSystem system;
  ActorRef linked = system.Spawn<Observer>(&log, false);
  ActorRef watcher = system.Spawn<Observer>(&watch_log, false);
  ActorRef partner = system.Spawn<Puppet>();
  linked.Tell(LinkThis{partner});
  watcher.Tell(WatchThis{linked});
  Barrier(linked);
  Barrier(watcher);

  partner.Tell(std::string("throw"));
  testkit::WaitUntilStopped(linked);
  EXPECT_THAT(log.WaitForSize(1), ElementsAre("observer stopped"));
  std::vector<std::string> downs = watch_log.WaitForSize(1);
  EXPECT_THAT(downs[0], HasSubstr("down LINKED_EXIT linked actor Puppet#"));
  EXPECT_THAT(downs[0], HasSubstr("stopped: FAILURE (told to throw)"));
}

TEST(LinkTest, LinksWorkBothWays) {
  testkit::EventLog log;
  ActorSystem system;
  ActorRef linker = system.Spawn<Observer>(&log, false);
  ActorRef partner = system.Spawn<Puppet>();
  linker.Tell(LinkThis{partner});
  Barrier(linker);
  // A kill is an abnormal end: the partner goes with the linker.
  linker.Tell(proto::Kill());
  testkit::WaitUntilStopped(partner);
}

TEST(LinkTest, NormalStopsDoNotPropagate) {
  testkit::EventLog log;
  ActorSystem system;
  ActorRef linked = system.Spawn<Observer>(&log, false);
  ActorRef partner = system.Spawn<Puppet>();
  linked.Tell(LinkThis{partner});
  Barrier(linked);
  partner.Tell(std::string("stop"));
  testkit::WaitForLiveActors(system, 1);
  Barrier(linked);
  EXPECT_TRUE(linked.IsAlive());
  EXPECT_TRUE(log.Snapshot().empty());
}

TEST(LinkTest, TrappedExitsArriveAsMessages) {
  testkit::EventLog log;
  ActorSystem system;
  ActorRef trapper = system.Spawn<Observer>(&log, true);
  ActorRef failing = system.Spawn<Puppet>();
  ActorRef normal = system.Spawn<Puppet>();
  trapper.Tell(LinkThis{failing});
  trapper.Tell(LinkThis{normal});
  Barrier(trapper);
  failing.Tell(std::string("throw"));
  EXPECT_THAT(log.WaitForSize(1), ElementsAre("exit FAILURE told to throw"));
  normal.Tell(std::string("stop"));
  EXPECT_THAT(log.WaitForSize(2)[1], "exit NORMAL ");
  Barrier(trapper);
  EXPECT_TRUE(trapper.IsAlive());
}

TEST(LinkTest, UnlinkedActorsStayUp) {
  testkit::EventLog log;
  ActorSystem system;
  ActorRef linked = system.Spawn<Observer>(&log, false);
  ActorRef partner = system.Spawn<Puppet>();
  linked.Tell(LinkThis{partner});
  linked.Tell(UnlinkThis{partner});
  Barrier(linked);
  partner.Tell(std::string("throw"));
  testkit::WaitForLiveActors(system, 1);
  Barrier(linked);
  EXPECT_TRUE(linked.IsAlive());
}

TEST(LinkTest, LinkingToTheDeadDeliversExitAtOnce) {
  testkit::EventLog log;
  ActorSystem system;
  ActorRef trapper = system.Spawn<Observer>(&log, true);
  ActorRef dead = system.Spawn<Puppet>();
  dead.Tell(std::string("throw"));
  testkit::WaitUntilStopped(dead);
  testkit::WaitForLiveActors(system, 1);
  trapper.Tell(LinkThis{dead});
  EXPECT_THAT(log.WaitForSize(1), ElementsAre("exit FAILURE told to throw"));

  ActorRef linker = system.Spawn<Observer>(&log, false);
  linker.Tell(LinkThis{dead});
  testkit::WaitUntilStopped(linker);  // an abnormal Exit, not trapped
}

// The same policy as Watch(): an empty ref is an actor that has stopped,
// NORMAL. A trapper sees the Exit; a non-trapper ignores it and stays up.
TEST(LinkTest, LinkingToAnEmptyRefDeliversANormalExitAtOnce) {
  testkit::EventLog log;
  ActorSystem system;
  ActorRef trapper = system.Spawn<Observer>(&log, true);
  trapper.Tell(LinkThis{ActorRef()});
  EXPECT_THAT(log.WaitForSize(1), ElementsAre("exit NORMAL empty ref"));

  ActorRef linker = system.Spawn<Observer>(&log, false);
  linker.Tell(LinkThis{ActorRef()});
  Barrier(linker);
  EXPECT_TRUE(linker.IsAlive());
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kUnhandled), 0);
  linker.Tell(proto::Stop());
  testkit::WaitUntilStopped(linker);  // and it stops cleanly, with nobody to tell
  EXPECT_THAT(log.Snapshot(), ElementsAre("exit NORMAL empty ref", "observer stopped"));
}

}  // namespace
}  // namespace troupe
