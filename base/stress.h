// -----------------------------------------------------------------------------
// File: stress.h
// -----------------------------------------------------------------------------
//
// The stress-scale knob. Stress tests size their work as `ScaledCount(n)`, so
// one test binary runs full size in a plain build and smaller under the
// sanitizers, which are 5-20x slower. The factor comes from the environment:
//
//   TROUPE_STRESS_SCALE=0.1 bazel test --config=tsan //...
//
//   const int64_t kMessages = troupe::ScaledCount(1'000'000);
//
// The factor defaults to 1. A value that does not parse as a positive number
// is reported once on stderr and ignored.

#ifndef TROUPE_BASE_STRESS_H_
#define TROUPE_BASE_STRESS_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace troupe {

// The name of the environment variable read by `StressScale()`.
inline constexpr char kStressScaleEnv[] = "TROUPE_STRESS_SCALE";

// StressScale()
//
// The factor from TROUPE_STRESS_SCALE, read once per process. Thread-safe.
double StressScale();

// ScaledCount()
//
// `count * StressScale()`, rounded, and never below `minimum` (so a tiny
// scale still exercises the code).
int64_t ScaledCount(int64_t count, int64_t minimum = 1);

// ParseStressScale()
//
// Parses a scale factor: a finite number > 0. Exposed for tests.
std::optional<double> ParseStressScale(std::string_view text);

}  // namespace troupe

#endif  // TROUPE_BASE_STRESS_H_
