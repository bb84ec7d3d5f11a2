#include "async/stream.h"

#include "absl/status/status.h"
#include "threads/result.h"

namespace troupe::async_internal {

absl::Status StatusFromStageException() {
  return threads_internal::StatusFromCurrentException("a stream stage");
}

}  // namespace troupe::async_internal
