// Async workloads of bench/WORKLOADS.md: K0, the cost of one await.
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "async/block_on.h"
#include "async/task.h"
#include "bench/harness.h"

namespace troupe::bench {
namespace {

constexpr int64_t kAwaits = 10'000'000;

Task<int64_t> Identity(int64_t value) { co_return value; }

Task<int64_t> AwaitInALoop(int64_t n) {
  int64_t sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += *co_await Identity(i);
  co_return sum;
}

// K0: one task awaits 10^7 tasks that finish at once: per await, a frame
// allocated and freed, two trampoline transfers and a result moved out.
absl::StatusOr<Rows> SynchronousAwaits() {
  const int64_t start = NowNanos();
  absl::StatusOr<int64_t> sum = BlockOn(AwaitInALoop(kAwaits));
  const int64_t elapsed = NowNanos() - start;
  if (!sum.ok() || *sum != kAwaits * (kAwaits - 1) / 2) {
    return absl::InternalError(absl::StrCat("K0: wrong sum ", sum.status().ToString()));
  }
  return Rows{{"K0", static_cast<double>(elapsed) / kAwaits}};
}

const bool registered = [] {
  RegisterWorkload({{{"K0", "a task awaits 10^7 tasks that finish at once", "ns/await", ""}},
                    SynchronousAwaits});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
