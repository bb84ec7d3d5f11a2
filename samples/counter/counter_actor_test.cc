// The counter actor under the test kit: the README's "testing your actors"
// example, step by step in virtual time.

#include "samples/counter/counter_actor.h"

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "samples/counter/counter.pb.h"
#include "testing/matchers.h"
#include "testing/test_kit.h"
#include "testing/test_probe.h"
#include "threads/notification.h"

namespace {

using troupe::testkit::EqualsProto;
using troupe::testkit::IsOkAndHolds;
using troupe::testkit::StatusIs;

counter::Increment IncrementBy(int64_t by) {
  counter::Increment increment;
  increment.set_by(by);
  return increment;
}

counter::Count CountOf(int64_t value) {
  counter::Count count;
  count.set_value(value);
  return count;
}

TEST(CounterTest, CountsAndAnswers) {
  troupe::Notification never_held;
  troupe::testkit::TestKit kit;  // deterministic, in virtual time
  troupe::testkit::TestProbe probe(kit);
  troupe::ActorRef counter = kit.system().Spawn<Counter>(&never_held);
  kit.RunUntilIdle();  // the probe and the counter start

  counter.Tell(IncrementBy(5));
  EXPECT_EQ(kit.Queued().size(), 1u);  // queued, not yet handled
  kit.Step();                          // exactly one message
  EXPECT_TRUE(kit.Queued().empty());

  probe.Send(counter, counter::Get());  // the reply comes to the probe
  EXPECT_EQ(probe.ExpectMessage<counter::Count>().value(), 5);
  probe.ExpectNoMessage();

  // kit.Ask runs the system until the reply comes.
  EXPECT_THAT(kit.Ask<counter::Count>(counter, IncrementBy(2)),
              IsOkAndHolds(EqualsProto(CountOf(7))));
  EXPECT_THAT(kit.Ask<counter::Count>(counter, IncrementBy(-1)),
              StatusIs(absl::StatusCode::kInvalidArgument, "increment by -1: must be > 0"));
  // The probe never replies: 30 s of virtual time pass at once.
  EXPECT_THAT(kit.Ask<counter::Count>(probe.ref(), counter::Get(), absl::Seconds(30)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  probe.ExpectMessage<counter::Get>();  // what the probe was asked

  probe.Watch(counter);
  counter.Tell(troupe::proto::Kill());
  EXPECT_EQ(probe.ExpectDown(counter).reason().kind(), troupe::proto::ExitReason::KILLED);
}

}  // namespace
