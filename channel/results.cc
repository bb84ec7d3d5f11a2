#include "channel/results.h"

namespace troupe {

std::string_view ToString(SendErrorReason reason) {
  switch (reason) {
    case SendErrorReason::kFull:
      return "full";
    case SendErrorReason::kClosed:
      return "closed";
    case SendErrorReason::kTimedOut:
      return "timed out";
  }
  return "unknown";
}

std::string_view ToString(RecvError error) {
  switch (error) {
    case RecvError::kEmpty:
      return "empty";
    case RecvError::kClosed:
      return "closed";
    case RecvError::kTimedOut:
      return "timed out";
  }
  return "unknown";
}

}  // namespace troupe
