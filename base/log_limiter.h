// -----------------------------------------------------------------------------
// File: log_limiter.h
// -----------------------------------------------------------------------------
//
// `LogLimiter`: at most one log line per interval from one source, and a
// count of the lines it held back, so that a flood of the same event (a
// crashing handler, a restart loop, dead letters) costs one line a second,
// not one line an event.
//
//   troupe::LogLimiter failures_;   // one per source: a member, a static
//   ...
//   if (int64_t skipped; failures_.ShouldLog(&skipped)) {
//     troupe::LogError("handler failed: {}{}", what, troupe::LogLimiter::Skipped(skipped));
//   }
//
// The first event logs; then at most one per interval, which reports how
// many were not logged since the previous line.
//
// Thread-safety: any thread. Lock-free: a relaxed CAS on the next allowed
// time picks exactly one thread per interval (the time only throttles, so
// relaxed suffices), and the held-back count is a relaxed counter.

#ifndef TROUPE_BASE_LOG_LIMITER_H_
#define TROUPE_BASE_LOG_LIMITER_H_

#include <atomic>
#include <cstdint>
#include <string>

namespace troupe {

class LogLimiter {
 public:
  explicit LogLimiter(int64_t interval_nanos = 1'000'000'000) : interval_nanos_(interval_nanos) {}
  LogLimiter(const LogLimiter&) = delete;
  LogLimiter& operator=(const LogLimiter&) = delete;

  // LogLimiter::ShouldLog()
  //
  // True if this event may log now; `*skipped` is then how many events were
  // held back since the last line that logged. False counts the event as
  // held back.
  bool ShouldLog(int64_t* skipped);

  // " (N more not logged)", or "" for none: the suffix for a logged line.
  static std::string Skipped(int64_t skipped);

 private:
  const int64_t interval_nanos_;
  std::atomic<int64_t> next_log_nanos_{0};  // steady-clock time
  std::atomic<int64_t> held_back_{0};
};

}  // namespace troupe

#endif  // TROUPE_BASE_LOG_LIMITER_H_
