#include "channel/broadcast.h"

namespace troupe {

std::string_view BroadcastErrorName(BroadcastError error) {
  switch (error) {
    case BroadcastError::kEmpty:
      return "empty";
    case BroadcastError::kLagged:
      return "lagged";
    case BroadcastError::kClosed:
      return "closed";
    case BroadcastError::kTimedOut:
      return "timed out";
  }
  return "unknown";
}

}  // namespace troupe
