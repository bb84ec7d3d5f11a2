#include "channel/results.h"

namespace troupe {

std::string_view SendErrorName(SendError error) {
  switch (error) {
    case SendError::kFull:
      return "full";
    case SendError::kClosed:
      return "closed";
    case SendError::kTimedOut:
      return "timed out";
    case SendError::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

std::string_view RecvErrorName(RecvError error) {
  switch (error) {
    case RecvError::kEmpty:
      return "empty";
    case RecvError::kClosed:
      return "closed";
    case RecvError::kTimedOut:
      return "timed out";
    case RecvError::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace troupe
