// -----------------------------------------------------------------------------
// File: matchers.h
// -----------------------------------------------------------------------------
//
// GoogleTest matchers for protobuf messages and for troupe's errors
// (absl::Status / absl::StatusOr). Failures print messages in text format.
//
//   using namespace troupe::testkit;
//   EXPECT_THAT(reply, EqualsProto(expected));            // every field
//   EXPECT_THAT(reply, PartiallyEqualsProto(expected));   // the fields set in `expected`
//   EXPECT_THAT(future.Get(), StatusIs(absl::StatusCode::kDeadlineExceeded));
//   EXPECT_THAT(future.Get(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("stopped")));
//   EXPECT_THAT(kit.Ask<Total>(counter, Get()), IsOkAndHolds(EqualsProto(total)));
//   EXPECT_THAT(status, IsOk());
//
// "Partially" compares only what `expected` sets: in proto3, a scalar left
// at its default is not compared.

#ifndef TROUPE_TESTING_MATCHERS_H_
#define TROUPE_TESTING_MATCHERS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "google/protobuf/message.h"
#include "testing/describe.h"

namespace troupe::testkit {

namespace matchers_internal {

// Compares `actual` with `expected`; explains any difference to `listener`.
bool ProtoEquals(const google::protobuf::Message& expected, const google::protobuf::Message& actual,
                 bool partial, ::testing::MatchResultListener* listener);

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace matchers_internal

MATCHER_P(EqualsProto, expected,
          std::string(negation ? "doesn't equal " : "equals ") + DescribeProto(expected)) {
  return matchers_internal::ProtoEquals(expected, arg, /*partial=*/false, result_listener);
}

MATCHER_P(PartiallyEqualsProto, expected,
          std::string(negation ? "doesn't have the fields of " : "has the fields of ") +
              DescribeProto(expected)) {
  return matchers_internal::ProtoEquals(expected, arg, /*partial=*/true, result_listener);
}

MATCHER(IsOk, std::string(negation ? "is an error" : "is OK")) {
  const absl::Status& status = matchers_internal::StatusOf(arg);
  if (!status.ok()) *result_listener << "which is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code,
          std::string(negation ? "doesn't have code " : "has code ") +
              absl::StatusCodeToString(code)) {
  const absl::Status& status = matchers_internal::StatusOf(arg);
  *result_listener << "which is " << status;
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string(negation ? "doesn't have code " : "has code ") +
               absl::StatusCodeToString(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher, negation)) {
  const absl::Status& status = matchers_internal::StatusOf(arg);
  *result_listener << "which is " << status;
  return status.code() == code && ::testing::Matches(::testing::SafeMatcherCast<std::string>(
                                      message_matcher))(std::string(status.message()));
}

MATCHER_P(IsOkAndHolds, value_matcher,
          std::string(negation ? "is an error or holds a value that "
                               : "is OK and holds a value that ") +
              "matches the given matcher") {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace troupe::testkit

#endif  // TROUPE_TESTING_MATCHERS_H_
