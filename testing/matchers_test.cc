// The protobuf and status matchers: what they accept, what they reject,
// and that their explanations show the messages in text format.

#include "testing/matchers.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actor/testdata/test_messages.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace troupe::testkit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

test::Add AddOf(int64_t value, int32_t sender) {
  test::Add add;
  add.set_value(value);
  add.set_sender(sender);
  return add;
}

template <typename Matcher, typename T>
std::string Explain(const Matcher& matcher, const T& value) {
  ::testing::StringMatchResultListener listener;
  ::testing::ExplainMatchResult(matcher, value, &listener);
  return listener.str();
}

TEST(MatchersTest, EqualsProtoComparesEveryField) {
  EXPECT_THAT(AddOf(1, 2), EqualsProto(AddOf(1, 2)));
  EXPECT_THAT(AddOf(1, 2), Not(EqualsProto(AddOf(1, 3))));
  EXPECT_THAT(AddOf(1, 2), Not(EqualsProto(AddOf(1, 0))));
  EXPECT_THAT(Explain(EqualsProto(AddOf(1, 3)), AddOf(1, 2)),
              HasSubstr("which is troupe.test.Add { value: 1 sender: 2 }"));
  EXPECT_THAT(Explain(EqualsProto(AddOf(1, 3)), AddOf(1, 2)), HasSubstr("sender: 3 -> 2"));
}

TEST(MatchersTest, PartiallyEqualsProtoComparesTheFieldsSet) {
  test::Add only_value;
  only_value.set_value(1);
  EXPECT_THAT(AddOf(1, 2), PartiallyEqualsProto(only_value));
  EXPECT_THAT(AddOf(2, 2), Not(PartiallyEqualsProto(only_value)));
  EXPECT_THAT(test::Total(), Not(PartiallyEqualsProto(only_value)));  // another type
  EXPECT_THAT(Explain(PartiallyEqualsProto(only_value), test::Total()),
              HasSubstr("a different message type"));
}

TEST(MatchersTest, StatusMatchers) {
  const absl::Status late = absl::DeadlineExceededError("ask timed out after 1s");
  EXPECT_THAT(late, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(late, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("timed out")));
  EXPECT_THAT(late, Not(StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("stopped"))));
  EXPECT_THAT(late, Not(StatusIs(absl::StatusCode::kUnavailable)));
  EXPECT_THAT(late, Not(IsOk()));
  EXPECT_THAT(absl::OkStatus(), IsOk());

  absl::StatusOr<test::Add> value = AddOf(4, 0);
  absl::StatusOr<test::Add> error = absl::UnavailableError("receiver stopped");
  EXPECT_THAT(value, IsOk());
  EXPECT_THAT(value, IsOkAndHolds(EqualsProto(AddOf(4, 0))));
  EXPECT_THAT(value, Not(IsOkAndHolds(EqualsProto(AddOf(5, 0)))));
  EXPECT_THAT(error, Not(IsOkAndHolds(::testing::_)));
  EXPECT_THAT(error, StatusIs(absl::StatusCode::kUnavailable, "receiver stopped"));
  EXPECT_THAT(Explain(IsOkAndHolds(::testing::_), error), HasSubstr("receiver stopped"));
  EXPECT_THAT(absl::StatusOr<int>(3), IsOkAndHolds(3));
}

}  // namespace
}  // namespace troupe::testkit
