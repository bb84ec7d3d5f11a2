#include "async/stream.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "async/internal/context.h"
#include "async/sleep.h"
#include "threads/result.h"

namespace troupe {
namespace async_internal {

absl::Status StatusFromStageException() {
  return threads_internal::StatusFromCurrentException("a stream stage");
}

absl::Status NoExecutorError(std::string_view adapter) {
  return absl::FailedPreconditionError(
      absl::StrCat(std::string(adapter),
                   " starts tasks on the executor of the task that pulls the stream; "
                   "this one has none (BlockOn): pull it from a Go task or a TaskScope"));
}

absl::Status ConsumerCancelled() {
  return absl::CancelledError("the stream's consumer was cancelled");
}

}  // namespace async_internal

Stream<int64_t> Interval(absl::Duration period) {
  if (period <= absl::ZeroDuration()) {
    co_yield EndStream(absl::InvalidArgumentError(
        absl::StrCat("Interval(", absl::FormatDuration(period), "): the period must be positive")));
  }
  async_internal::TaskContext* context = co_await async_internal::ThisContext();
  const absl::Time start = context->clock().Now();
  for (int64_t tick = 0;; ++tick) {
    // From the start, not from the last wake-up, so that lateness does not add up.
    if (absl::Status slept = co_await SleepUntil(start + (tick + 1) * period); !slept.ok()) {
      co_yield EndStream(std::move(slept));
    }
    co_yield tick;
  }
}

Stream<std::string> FileLines(std::string path) {
  std::ifstream file(path);
  if (!file.is_open()) {
    const int error = errno;
    co_yield EndStream(absl::Status(
        error == ENOENT ? absl::StatusCode::kNotFound : absl::StatusCode::kFailedPrecondition,
        absl::StrCat("FileLines: cannot open ", path, ": ", std::strerror(error))));
  }
  std::string line;
  while (std::getline(file, line)) co_yield std::move(line);
  if (file.bad()) {
    co_yield EndStream(absl::DataLossError(absl::StrCat("FileLines: error reading ", path)));
  }
}

}  // namespace troupe
