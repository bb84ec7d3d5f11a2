// -----------------------------------------------------------------------------
// File: describe.h
// -----------------------------------------------------------------------------
//
// Text for test failures and traces: a message in protobuf text format, an
// exit reason in words.
//
//   troupe::testkit::DescribeMessage(envelope);   // "test.Add { value: 2 }"
//   troupe::testkit::DescribeExitReason(reason);  // "FAILURE (went boom)"

#ifndef TROUPE_TESTING_DESCRIBE_H_
#define TROUPE_TESTING_DESCRIBE_H_

#include <string>

#include "actor/message.h"
#include "actor/system.pb.h"
#include "google/protobuf/message.h"

namespace troupe::testkit {

// "<full name> { <short text format> }" for a protobuf message.
std::string DescribeProto(const google::protobuf::Message& message);

// DescribeProto() of the message if it is a protobuf one, else its type name.
std::string DescribeMessage(const Envelope& envelope);

std::string DescribeExitReason(const proto::ExitReason& reason);

}  // namespace troupe::testkit

#endif  // TROUPE_TESTING_DESCRIBE_H_
