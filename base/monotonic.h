// -----------------------------------------------------------------------------
// File: monotonic.h
// -----------------------------------------------------------------------------
//
// `MonotonicNanos()`: the steady clock in nanoseconds, for measuring spans
// (idle time, handler time, trace timestamps, log throttling). Not a time
// of day; only differences mean anything.
//
//   const int64_t start = troupe::MonotonicNanos();
//   Work();
//   const int64_t took = troupe::MonotonicNanos() - start;

#ifndef TROUPE_BASE_MONOTONIC_H_
#define TROUPE_BASE_MONOTONIC_H_

#include <chrono>
#include <cstdint>

namespace troupe {

inline int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace troupe

#endif  // TROUPE_BASE_MONOTONIC_H_
