// TestKit: step-by-step runs, inspection of what is queued, virtual time,
// and the same trace every time (FIFO, or seeded random order).

#include "testing/test_kit.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/supervisor.h"
#include "actor/testdata/test_messages.pb.h"
#include "base/log_capture.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "testing/matchers.h"

namespace troupe::testkit {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class Counter : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Add>([this](const test::Add& add) { total_ += add.value(); })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          test::Total total;
          total.set_value(total_);
          return total;
        });
  }

 private:
  int64_t total_ = 0;
};

test::Add AddOf(int64_t value) {
  test::Add add;
  add.set_value(value);
  return add;
}

TEST(TestKitTest, NothingRunsUntilTheTestSteps) {
  TestKit kit;
  ActorRef counter = kit.system().Spawn<Counter>();
  counter.Tell(AddOf(2));
  counter.Tell(AddOf(3));
  std::vector<QueuedMessage> queued = kit.Queued();
  ASSERT_EQ(queued.size(), 2u);
  EXPECT_EQ(queued[0].to, counter);
  EXPECT_EQ(queued[0].type, "troupe.test.Add");
  EXPECT_EQ(queued[0].text, "troupe.test.Add { value: 2 }");
  EXPECT_THAT(kit.DescribeQueued(), HasSubstr("Counter#1 <- troupe.test.Add { value: 3 }"));

  EXPECT_TRUE(kit.Step());  // one message: the first Add
  ASSERT_EQ(kit.Queued().size(), 1u);
  EXPECT_EQ(kit.Queued()[0].text, "troupe.test.Add { value: 3 }");
  EXPECT_EQ(kit.RunUntilIdle(), 1);
  EXPECT_FALSE(kit.Step());

  test::Total five;
  five.set_value(5);
  EXPECT_THAT(kit.Ask<test::Total>(counter, test::GetTotal()), IsOkAndHolds(EqualsProto(five)));
}

// ActorRef::Ask().Get() waits for a reply only this thread could produce:
// it fails at once, saying what to use, instead of hanging the test.
TEST(TestKitTest, BlockingOnAnAskFailsAtOnceAndSaysWhatToUse) {
  TestKit kit;
  ActorRef counter = kit.system().Spawn<Counter>();
  Future<test::Total> total = counter.Ask<test::Total>(test::GetTotal(), absl::Seconds(1));
  EXPECT_FALSE(total.WaitFor(absl::Hours(1)));  // returns at once, not ready
  absl::StatusOr<test::Total> got = total.GetFor(absl::Hours(1));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  got = counter.Ask<test::Total>(test::GetTotal(), absl::Seconds(1)).Get();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("use TestKit::Ask()"));

  // Once the kit has run, the first future holds its reply, and Get() returns it.
  kit.RunUntilIdle();
  ASSERT_TRUE(total.IsReady());
  EXPECT_TRUE(total.Get().ok());
}

// Replies after a delay it measures on the system's clock.
class SlowEcho : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Ping>([this](const test::Ping& ping) {
          pending_.push_back({Sender(), ping.seq()});
          system().SendAfter(Self(), std::string("reply"), absl::Seconds(30));
        })
        .On<std::string>([this](const std::string&) {
          test::Pong pong;
          pong.set_seq(pending_.front().second);
          pending_.front().first.Tell(pong, Self());
          pending_.erase(pending_.begin());
        });
  }

 private:
  std::vector<std::pair<ActorRef, int64_t>> pending_;
};

TEST(TestKitTest, TimeoutsHappenInVirtualTime) {
  TestKit kit;
  ActorRef echo = kit.system().Spawn<SlowEcho>();
  test::Ping ping;
  ping.set_seq(7);

  // A 10 s ask of a 30 s echo times out, without waiting 10 s.
  const absl::Time start = absl::Now();
  EXPECT_THAT(kit.Ask<test::Pong>(echo, ping, absl::Seconds(10)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(kit.Now(), absl::UnixEpoch() + absl::Seconds(10));

  // A 60 s ask gets the answer at 30 s of virtual time.
  test::Pong pong;
  pong.set_seq(7);
  EXPECT_THAT(kit.Ask<test::Pong>(echo, ping, absl::Seconds(60)), IsOkAndHolds(EqualsProto(pong)));
  EXPECT_EQ(kit.Now(), absl::UnixEpoch() + absl::Seconds(40));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // real time barely moved
}

// A small scenario with several actors talking: a supervisor's children
// relay hops to each other and one fails on the way.
class Relay : public Actor {
 public:
  explicit Relay(int index) : index_(index) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<std::vector<ActorRef>>([this](const std::vector<ActorRef>& peers) { peers_ = peers; })
        .On<test::Hop>([this](const test::Hop& hop) {
          if (hop.remaining() == 13) throw std::runtime_error("unlucky");
          if (hop.remaining() == 0 || peers_.empty()) return;  // a restarted relay has no peers
          test::Hop next;
          next.set_remaining(hop.remaining() - 1);
          peers_[(index_ + hop.remaining()) % peers_.size()].Tell(next, Self());
        });
  }

 private:
  int index_;
  std::vector<ActorRef> peers_;
};

std::vector<std::string> RunScenario(uint64_t seed) {
  TestKit kit(TestKitOptions{.seed = seed});
  std::vector<ChildSpec> specs;
  for (int i = 0; i < 4; ++i) specs.push_back(ChildSpec::Of<Relay>(absl::StrCat("relay", i), i));
  ActorRef supervisor = kit.system().Spawn<Supervisor>(SupervisorOptions(), std::move(specs));
  absl::StatusOr<std::vector<SupervisedChild>> children =
      kit.Ask<std::vector<SupervisedChild>>(supervisor, WhichChildren());
  EXPECT_TRUE(children.ok());
  std::vector<ActorRef> peers;
  for (const SupervisedChild& child : *children) peers.push_back(child.ref);
  for (const ActorRef& peer : peers) peer.Tell(peers);
  for (int i = 0; i < 3; ++i) {
    test::Hop hop;
    hop.set_remaining(20 + i);
    peers[static_cast<size_t>(i)].Tell(hop);
  }
  kit.RunUntilIdle();
  return kit.Trace();
}

TEST(TestKitTest, TheSameScenarioGivesTheSameTraceEveryTime) {
  LogCapture quiet;  // the failures are part of the scenario
  const std::vector<std::string> first = RunScenario(/*seed=*/0);
  EXPECT_THAT(first, Contains(HasSubstr("restart relay")));
  EXPECT_THAT(first, Contains("handle relay1#3: troupe.test.Hop"));
  for (int run = 0; run < 1000; ++run) {
    ASSERT_EQ(RunScenario(0), first) << "run " << run;
  }
}

TEST(TestKitTest, ASeedGivesItsOwnOrderAndReplaysIt) {
  LogCapture quiet;
  const std::vector<std::string> fifo = RunScenario(0);
  const std::vector<std::string> seeded = RunScenario(42);
  EXPECT_NE(seeded, fifo);  // another interleaving ...
  for (int run = 0; run < 100; ++run) {
    ASSERT_EQ(RunScenario(42), seeded) << "run " << run;  // ... the same one each time
  }
  int differing = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) differing += RunScenario(seed) != seeded;
  EXPECT_GT(differing, 10);  // seeds explore different orders
}

TEST(TestKitTest, AFailureUnderASeedNamesTheSeed) {
  EXPECT_NONFATAL_FAILURE(
      {
        TestKit kit(TestKitOptions{.seed = 1234});
        ADD_FAILURE() << "something went wrong";
      },
      "TestKit seed 1234");
}

TEST(TestKitTest, TheTraceTellsWhatHappened) {
  TestKit kit;
  ActorRef counter = kit.system().Spawn<Counter>(SpawnOptions{.name = "counter"});
  counter.Tell(AddOf(1));
  kit.RunUntilIdle();
  counter.Tell(proto::Stop());
  kit.RunUntilIdle();
  EXPECT_THAT(kit.Trace(),
              ElementsAre("spawn counter#1", "send outside -> counter#1: troupe.test.Add",
                          "handle counter#1: troupe.test.Add",
                          "send outside -> counter#1: troupe.proto.Stop",
                          "handle counter#1: troupe.proto.Stop", "stop counter#1: NORMAL"));
}

TEST(TestKitTest, ABusySystemFailsRunUntilIdleInsteadOfHanging) {
  struct Spinner : public Actor {
    Behavior MakeBehavior() override {
      return Behavior().On<int>([this](int n) { Self().Tell(n + 1); });
    }
  };
  TestKit kit(TestKitOptions{.max_steps = 100});
  ActorRef spinner = kit.system().Spawn<Spinner>();
  spinner.Tell(0);
  EXPECT_NONFATAL_FAILURE(kit.RunUntilIdle(), "still busy after 100 steps");
  spinner.Tell(proto::Kill());  // so that the kit can shut down
}

}  // namespace
}  // namespace troupe::testkit
