// samples/pipeline: producer -> parse -> filter -> aggregate, three times.
//
//   bazel run --config=opt //samples/pipeline
//
// First with threads joined by bounded channels (backpressure: a fast stage
// waits on a full channel), then with one actor per stage (protobuf
// messages; bounded mailboxes, and every sender waits for room: the
// producer thread in TellWithin, the stages' handler tasks in co_await
// Send), then as a chain of stream adapters with a Buffer between stages
// (pipelines.h). The records are "key,value" lines; the filter drops
// values divisible by 3; the sink sums per key. Each prints its throughput,
// and their totals must agree with each other and with the expected sums.

#include <cstdint>
#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "samples/pipeline/pipelines.h"

int main() {
  using namespace pipeline;  // NOLINT: a sample's main
  const Sums expected = Expected();

  absl::Time start = absl::Now();
  const Sums channels = WithChannels();
  const double channel_rate = kRecords / absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("channels: %lld records through 3 bounded channels: %.0f records/s\n",
              static_cast<long long>(kRecords), channel_rate);

  start = absl::Now();
  int64_t kept = 0;
  uint32_t deepest = 0;
  const Sums actors = WithActors(&kept, &deepest);
  const double actor_rate = kRecords / absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("actors:   %lld records through 3 actors: %.0f records/s (%lld kept)\n",
              static_cast<long long>(kRecords), actor_rate, static_cast<long long>(kept));
  // Past the capacity only by exempt mail: a stage's one suspended handler
  // task is resumed through its own mailbox (docs/overload.md).
  std::printf("actors:   deepest mailbox %u (capacity %zu, plus exempt task resumptions)\n",
              deepest, kCapacity);

  start = absl::Now();
  const Sums streams = WithStreams();
  const double stream_rate = kRecords / absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("streams:  %lld records through 3 buffered stream stages: %.0f records/s\n",
              static_cast<long long>(kRecords), stream_rate);

  const bool ok = channels == expected && actors == expected && streams == expected;
  std::printf("all three totals match the expected sums over %d keys: %s\n", kKeys,
              ok ? "yes" : "NO");
  return ok ? 0 : 1;
}
