// -----------------------------------------------------------------------------
// File: check.h
// -----------------------------------------------------------------------------
//
// `TROUPE_CHECK` and `TROUPE_DCHECK`: assertions for broken preconditions and
// invariants, which are bugs, not errors (errors are `absl::Status`). Debian's
// Abseil 20220623 has no absl/log, hence troupe's own.
//
//   TROUPE_CHECK(fd >= 0);
//   TROUPE_CHECK(n <= capacity_, "batch of {} exceeds capacity {}", n, capacity_);
//   TROUPE_DCHECK(owner_thread_ == std::this_thread::get_id());
//
// A failed check prints the file, line, condition and optional message to
// stderr and aborts. `TROUPE_DCHECK` is checked only when NDEBUG is not
// defined; otherwise its condition is compiled (so it cannot rot) but never
// evaluated.

#ifndef TROUPE_BASE_CHECK_H_
#define TROUPE_BASE_CHECK_H_

#include <string>
#include <utility>

#include "absl/base/optimization.h"
#include "fmt/format.h"

namespace troupe::base_internal {

// Prints the failure and aborts.
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              const std::string& message);

inline std::string CheckMessage() { return std::string(); }

template <typename... Args>
std::string CheckMessage(fmt::format_string<Args...> format, Args&&... args) {
  return fmt::format(format, std::forward<Args>(args)...);
}

}  // namespace troupe::base_internal

// The failure branch is a lambda called in place, cold and never inlined, so
// that building its message (a std::string, fmt's formatting, the cleanup
// when they unwind) lives out of line too: where the check is used it costs
// a compare and a not-taken call, and a small function that checks (an
// accessor such as RecvResult::value()) stays small enough to inline.
#define TROUPE_INTERNAL_CHECK_FAILURE_ATTRIBUTES __attribute__((noreturn, cold, noinline))

#define TROUPE_CHECK(condition, ...)                                                              \
  do {                                                                                            \
    if (ABSL_PREDICT_FALSE(!(condition))) {                                                       \
      [&]() TROUPE_INTERNAL_CHECK_FAILURE_ATTRIBUTES {                                            \
        ::troupe::base_internal::CheckFailed(__FILE__, __LINE__, #condition,                      \
                                             ::troupe::base_internal::CheckMessage(__VA_ARGS__)); \
      }();                                                                                        \
    }                                                                                             \
  } while (false)

#ifdef NDEBUG
#define TROUPE_DCHECK(condition, ...) \
  do {                                \
    if (false) {                      \
      (void)(condition);              \
    }                                 \
  } while (false)
#else
#define TROUPE_DCHECK(condition, ...) TROUPE_CHECK(condition, ##__VA_ARGS__)
#endif

#endif  // TROUPE_BASE_CHECK_H_
