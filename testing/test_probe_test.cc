// TestProbe, in both modes: expecting messages (with matchers), replying,
// watching, and catching the missing and the unexpected.

#include "testing/test_probe.h"

#include <string>

#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/testdata/test_messages.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "testing/matchers.h"
#include "testing/test_kit.h"

namespace troupe::testkit {
namespace {

// Answers Ping with Pong, with the same seq.
class Echo : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<test::Ping>([](const test::Ping& ping) {
      test::Pong pong;
      pong.set_seq(ping.seq());
      return pong;
    });
  }
};

test::Ping PingOf(int64_t seq) {
  test::Ping ping;
  ping.set_seq(seq);
  return ping;
}

test::Pong PongOf(int64_t seq) {
  test::Pong pong;
  pong.set_seq(seq);
  return pong;
}

TEST(TestProbeTest, DeterministicMode) {
  TestKit kit;
  TestProbe probe(kit);
  ActorRef echo = kit.system().Spawn<Echo>();
  probe.Send(echo, PingOf(1));
  EXPECT_EQ(probe.pending(), 0u);                       // nothing has run yet
  test::Pong pong = probe.ExpectMessage<test::Pong>();  // runs the kit
  EXPECT_EQ(pong.seq(), 1);
  EXPECT_EQ(probe.last_sender(), echo);
  probe.Send(echo, PingOf(2));
  probe.ExpectMessageThat<test::Pong>(EqualsProto(PongOf(2)));
  probe.ExpectNoMessage();

  probe.Watch(echo);
  echo.Tell(proto::Kill());
  proto::Down down = probe.ExpectDown(echo);
  EXPECT_EQ(down.reason().kind(), proto::ExitReason::KILLED);
}

TEST(TestProbeTest, RealThreadMode) {
  ActorSystem system;
  TestProbe probe(system, "probe", absl::Seconds(30));
  ActorRef echo = system.Spawn<Echo>();
  probe.Send(echo, PingOf(1));
  EXPECT_EQ(probe.ExpectMessage<test::Pong>().seq(), 1);
  EXPECT_EQ(probe.last_sender(), echo);
  probe.Send(echo, PingOf(2));
  probe.ExpectMessageThat<test::Pong>(PartiallyEqualsProto(PongOf(2)));
  probe.ExpectNoMessage(absl::Milliseconds(20));

  probe.Watch(echo);
  echo.Tell(proto::Stop());
  EXPECT_EQ(probe.ExpectDown(echo).reason().kind(), proto::ExitReason::NORMAL);
}

TEST(TestProbeTest, AProbeCanBeAskedAndReply) {
  TestKit kit;
  TestProbe probe(kit);
  Future<test::Pong> answer = probe.ref().Ask<test::Pong>(PingOf(5), absl::Seconds(1));
  EXPECT_EQ(probe.ExpectMessage<test::Ping>().seq(), 5);
  probe.Reply(PongOf(6));
  kit.RunUntilIdle();
  ASSERT_TRUE(answer.IsReady());
  EXPECT_THAT(answer.Get(), IsOkAndHolds(EqualsProto(PongOf(6))));
}

TEST(TestProbeTest, CatchesAMissingMessage) {
  TestKit kit;
  TestProbe probe(kit);
  EXPECT_NONFATAL_FAILURE(probe.ExpectMessage<test::Pong>(),
                          "expected a troupe.test.Pong, but nothing arrived before the system "
                          "went idle");
  ActorSystem system;
  TestProbe real(system, "real", absl::Milliseconds(10));
  EXPECT_NONFATAL_FAILURE(real.ExpectMessage<test::Pong>(), "but nothing arrived within 10ms");
}

TEST(TestProbeTest, CatchesAnUnexpectedMessage) {
  TestKit kit;
  TestProbe probe(kit);
  probe.ref().Tell(PingOf(3));
  EXPECT_NONFATAL_FAILURE(probe.ExpectNoMessage(),
                          "expected no message, got troupe.test.Ping { seq: 3 }");
  probe.ref().Tell(PingOf(4));
  EXPECT_NONFATAL_FAILURE(probe.ExpectMessage<test::Pong>(),
                          "expected a troupe.test.Pong, got troupe.test.Ping { seq: 4 }");
  probe.ref().Tell(PongOf(5));
  EXPECT_NONFATAL_FAILURE(probe.ExpectMessageThat<test::Pong>(EqualsProto(PongOf(6))),
                          "(troupe.test.Pong { seq: 5 }) does not match: expected one that "
                          "equals troupe.test.Pong { seq: 6 }");
}

TEST(TestProbeTest, CatchesTheWrongDown) {
  TestKit kit;
  TestProbe probe(kit);
  ActorRef first = kit.system().Spawn<Echo>();
  ActorRef second = kit.system().Spawn<Echo>();
  probe.Watch(first);
  first.Tell(proto::Stop());
  EXPECT_NONFATAL_FAILURE(probe.ExpectDown(second), "expected the Down of Echo#3");
}

}  // namespace
}  // namespace troupe::testkit
