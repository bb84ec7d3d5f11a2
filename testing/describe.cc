#include "testing/describe.h"

#include "absl/strings/str_cat.h"

namespace troupe::testkit {

std::string DescribeProto(const google::protobuf::Message& message) {
  const std::string text = message.ShortDebugString();
  return text.empty() ? absl::StrCat(message.GetTypeName(), " {}")
                      : absl::StrCat(message.GetTypeName(), " { ", text, " }");
}

std::string DescribeMessage(const Envelope& envelope) {
  if (const google::protobuf::Message* proto = envelope.AsProtobuf()) return DescribeProto(*proto);
  return envelope.type().name();
}

std::string DescribeExitReason(const proto::ExitReason& reason) {
  std::string text = proto::ExitReason::Kind_Name(reason.kind());
  if (!reason.detail().empty()) absl::StrAppend(&text, " (", reason.detail(), ")");
  return text;
}

}  // namespace troupe::testkit
