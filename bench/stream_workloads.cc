// Stream workloads S1-S3 of bench/WORKLOADS.md (async/stream.h).

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "async/block_on.h"
#include "async/stream.h"
#include "bench/harness.h"

namespace troupe::bench {
namespace {

constexpr int64_t kItems = 10'000'000;

// What S1 computes: the sum of 3x over the x in [0, n) for which 3x is even.
int64_t ExpectedSum(int64_t n) {
  const int64_t evens = (n + 1) / 2;  // 0, 2, 4, ...
  return 3 * 2 * (evens * (evens - 1) / 2);
}

// The end of the range, read through a volatile so that neither loop is
// folded into a constant at compile time.
int64_t ItemCount() {
  static volatile int64_t items = kItems;
  return items;
}

// S1: Range -> Map -> Filter -> Fold in one task, and the same plain loop.
absl::StatusOr<Rows> FusedPipeline() {
  const int64_t n = ItemCount();
  int64_t start = NowNanos();
  absl::StatusOr<int64_t> fused =
      BlockOn(Range<int64_t>(0, n)
                  .Map([](int64_t x) { return 3 * x; })
                  .Filter([](int64_t x) { return x % 2 == 0; })
                  .Fold(int64_t{0}, [](int64_t sum, int64_t x) { return sum + x; }));
  const int64_t fused_elapsed = NowNanos() - start;
  if (!fused.ok()) return fused.status();

  start = NowNanos();
  int64_t plain = 0;
  for (int64_t x = 0; x < n; ++x) {
    const int64_t y = 3 * x;
    if (y % 2 == 0) plain += y;
  }
  const int64_t plain_elapsed = NowNanos() - start;

  if (*fused != ExpectedSum(n) || plain != ExpectedSum(n)) {
    return absl::InternalError("S1: wrong sum");
  }
  return Rows{{"S1", static_cast<double>(fused_elapsed) / n},
              {"S1-loop", static_cast<double>(plain_elapsed) / n}};
}

[[maybe_unused]] const bool registered = [] {
  RegisterWorkload(
      {{{"S1", "fused Range -> Map -> Filter -> Fold, 10^7 ints, one task", "ns/item", "<= 3"},
        {"S1-loop", "  the same as a plain loop", "ns/item", "report"}},
       FusedPipeline});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
