#include "base/check.h"

#include <cstdio>
#include <cstdlib>

namespace troupe::base_internal {

void CheckFailed(const char* file, int line, const char* condition, const std::string& message) {
  // stderr directly, not the logger: a failed check may come from inside the
  // logger, or during static destruction when the logger is gone.
  std::fprintf(stderr, "%s:%d: TROUPE_CHECK failed: %s%s%s\n", file, line, condition,
               message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace troupe::base_internal
