// Stream workloads S1-S2 of bench/WORKLOADS.md (async/stream.h).

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "async/block_on.h"
#include "async/stream.h"
#include "bench/harness.h"
#include "samples/pipeline/pipelines.h"

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

// S2: samples/pipeline's four stages as streams with Buffer(1024) between
// them, and as threads joined by bounded channels, in the same repetition.
absl::StatusOr<Rows> BufferedPipeline() {
  const pipeline::Sums expected = pipeline::Expected();
  int64_t start = NowNanos();
  const pipeline::Sums streams = pipeline::WithStreams();
  const int64_t streams_elapsed = NowNanos() - start;
  start = NowNanos();
  const pipeline::Sums channels = pipeline::WithChannels();
  const int64_t channels_elapsed = NowNanos() - start;
  if (streams != expected || channels != expected) return absl::InternalError("S2: wrong sums");
  const double streams_rate = pipeline::kRecords * 1e3 / static_cast<double>(streams_elapsed);
  const double channels_rate = pipeline::kRecords * 1e3 / static_cast<double>(channels_elapsed);
  return Rows{
      {"S2", streams_rate}, {"S2-chan", channels_rate}, {"S2/chan", streams_rate / channels_rate}};
}

[[maybe_unused]] const bool registered = [] {
  RegisterWorkload(
      {{{"S1", "fused Range -> Map -> Filter -> Fold, 10^7 ints, one task", "ns/item", "<= 3"},
        {"S1-loop", "  the same as a plain loop", "ns/item", "report"}},
       FusedPipeline});
  RegisterWorkload(
      {{{"S2", "samples/pipeline as streams, Buffer(1024) between stages", "M records/s",
         ">= S2-chan"},
        {"S2-chan", "  the same as threads and bounded(1024) channels", "M records/s", ""},
        {"S2/chan", "  S2 / S2-chan, same repetition", "ratio", ">= 1"}},
       BufferedPipeline});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
