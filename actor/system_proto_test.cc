// Proves the protobuf wiring end to end: protoc from the toolchain generated
// this code, and it links and runs against the system's libprotobuf.
#include <string>

#include "actor/system.pb.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

TEST(SystemProtoTest, DownRoundTripsThroughTheWireFormat) {
  proto::Down down;
  down.mutable_actor()->set_id(42);
  down.mutable_actor()->set_name("worker-7");
  down.mutable_reason()->set_kind(proto::ExitReason::FAILURE);
  down.mutable_reason()->set_detail("division by zero");

  std::string wire;
  ASSERT_TRUE(down.SerializeToString(&wire));
  EXPECT_FALSE(wire.empty());

  proto::Down parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.actor().id(), 42u);
  EXPECT_EQ(parsed.actor().name(), "worker-7");
  EXPECT_EQ(parsed.reason().kind(), proto::ExitReason::FAILURE);
  EXPECT_EQ(parsed.reason().detail(), "division by zero");
  EXPECT_EQ(parsed.SerializeAsString(), wire);
}

TEST(SystemProtoTest, MessagesCarryTheirFullNamesForDispatch) {
  // The actor layer dispatches protobuf messages by type; the descriptor's full
  // name is what a log line or a dead letter reports.
  EXPECT_EQ(proto::Exit::descriptor()->full_name(), "troupe.proto.Exit");
  EXPECT_EQ(proto::Stop::GetDescriptor()->full_name(), "troupe.proto.Stop");
}

TEST(SystemProtoTest, GarbageDoesNotParse) {
  proto::Exit exit;
  EXPECT_FALSE(exit.ParseFromString(std::string("\xff\xff\xff\xff", 4)));
}

}  // namespace
}  // namespace troupe
