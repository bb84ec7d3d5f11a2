#include "base/log_limiter.h"

#include "absl/strings/str_cat.h"
#include "base/monotonic.h"

namespace troupe {

bool LogLimiter::ShouldLog(int64_t* skipped) {
  const int64_t now = MonotonicNanos();
  int64_t next = next_log_nanos_.load(std::memory_order_relaxed);
  if (now < next || !next_log_nanos_.compare_exchange_strong(next, now + interval_nanos_,
                                                             std::memory_order_relaxed)) {
    held_back_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  *skipped = held_back_.exchange(0, std::memory_order_relaxed);
  return true;
}

std::string LogLimiter::Skipped(int64_t skipped) {
  return skipped > 0 ? absl::StrCat(" (", skipped, " more not logged)") : std::string();
}

}  // namespace troupe
