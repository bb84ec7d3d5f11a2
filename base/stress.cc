#include "base/stress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace troupe {

std::optional<double> ParseStressScale(std::string_view text) {
  std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size() || !std::isfinite(value) || value <= 0) {
    return std::nullopt;
  }
  return value;
}

double StressScale() {
  // A function-local static: initialised once, thread-safely, on first use.
  static const double scale = [] {
    const char* text = std::getenv(kStressScaleEnv);
    if (text == nullptr) return 1.0;
    if (std::optional<double> parsed = ParseStressScale(text)) return *parsed;
    std::fprintf(stderr, "troupe: ignoring %s=\"%s\": not a positive number\n", kStressScaleEnv,
                 text);
    return 1.0;
  }();
  return scale;
}

int64_t ScaledCount(int64_t count, int64_t minimum) {
  const auto scaled =
      static_cast<int64_t>(std::llround(static_cast<double>(count) * StressScale()));
  return std::max(scaled, minimum);
}

}  // namespace troupe
