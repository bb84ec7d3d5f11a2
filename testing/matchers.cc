#include "testing/matchers.h"

#include "google/protobuf/util/message_differencer.h"

namespace troupe::testkit::matchers_internal {

bool ProtoEquals(const google::protobuf::Message& expected, const google::protobuf::Message& actual,
                 bool partial, ::testing::MatchResultListener* listener) {
  *listener << "which is " << DescribeProto(actual);
  if (expected.GetDescriptor() != actual.GetDescriptor()) {
    *listener << ", a different message type";
    return false;
  }
  google::protobuf::util::MessageDifferencer differencer;
  if (partial) differencer.set_scope(google::protobuf::util::MessageDifferencer::PARTIAL);
  std::string differences;
  differencer.ReportDifferencesToString(&differences);
  if (differencer.Compare(expected, actual)) return true;
  *listener << "; differences (expected -> actual):\n" << differences;
  return false;
}

}  // namespace troupe::testkit::matchers_internal
