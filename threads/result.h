// -----------------------------------------------------------------------------
// File: result.h
// -----------------------------------------------------------------------------
//
// `Result<T>`: what running a closure that returns T hands back —
// `absl::StatusOr<T>`, or `absl::Status` for void — and the helper that
// turns an exception the closure threw into an error status. Thread, Future
// and the pool share them, so an exception never crosses a troupe API.
//
//   troupe::Result<int> r = troupe::threads_internal::RunCapturingExceptions(fn, "my task");
//   // fn threw std::runtime_error("boom"): r.status() is
//   //   INTERNAL: exception in my task: boom

#ifndef TROUPE_THREADS_RESULT_H_
#define TROUPE_THREADS_RESULT_H_

#include <string_view>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace troupe {

template <typename T>
struct ResultOf {
  using type = absl::StatusOr<T>;
};
template <>
struct ResultOf<void> {
  using type = absl::Status;
};
template <typename T>
using Result = typename ResultOf<T>::type;

namespace threads_internal {

// Turns the exception in flight into a kInternal status with its what().
absl::Status StatusFromCurrentException(std::string_view context);

// Runs `fn` and captures its return value or exception as a Result.
template <typename Fn, typename T = std::invoke_result_t<Fn&>>
Result<T> RunCapturingExceptions(Fn& fn, std::string_view context) {
  try {
    if constexpr (std::is_void_v<T>) {
      fn();
      return absl::OkStatus();
    } else {
      return Result<T>(fn());
    }
  } catch (...) {
    return StatusFromCurrentException(context);
  }
}

}  // namespace threads_internal
}  // namespace troupe

#endif  // TROUPE_THREADS_RESULT_H_
