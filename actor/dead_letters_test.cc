#include "actor/dead_letters.h"

#include <memory>
#include <string>

#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/message.h"
#include "base/log_capture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace troupe {
namespace {

using ::testing::HasSubstr;

class DeadLettersTest : public ::testing::Test {
 protected:
  std::string Output() { return capture_.Output(); }
  LogCapture capture_;
};

TEST_F(DeadLettersTest, CountsPerReasonAndRateLimitsTheLog) {
  DeadLetters letters;
  for (int i = 0; i < 1000; ++i) {
    letters.Publish(MakeEnvelope(i), DeadLetterReason::kUnhandled, nullptr);
  }
  letters.Publish(MakeEnvelope(std::string("x")), DeadLetterReason::kReceiverStopped, nullptr);
  EXPECT_EQ(letters.count(DeadLetterReason::kUnhandled), 1000);
  EXPECT_EQ(letters.count(DeadLetterReason::kReceiverStopped), 1);
  EXPECT_EQ(letters.count(DeadLetterReason::kHandlerFailed), 0);
  EXPECT_EQ(letters.total(), 1001);
  // Within one second: the first line only.
  EXPECT_EQ(Output(), "info [actor] dead letter (unhandled): int to nobody\n");
}

TEST_F(DeadLettersTest, EveryReasonHasAName) {
  for (int r = 0; r < kDeadLetterReasonCount; ++r) {
    EXPECT_NE(DeadLetterReasonName(static_cast<DeadLetterReason>(r)), "unknown");
  }
}

TEST_F(DeadLettersTest, EmptyRefMailIsCounted) {
  const int64_t before = OrphanDeadLetters().count(DeadLetterReason::kEmptyRef);
  ActorRef().Tell(1);
  EXPECT_EQ(OrphanDeadLetters().count(DeadLetterReason::kEmptyRef), before + 1);
  EXPECT_THAT(Output(), HasSubstr("(empty ref): int to nobody"));
}

}  // namespace
}  // namespace troupe
