// Stream workloads S1-S3 of bench/WORKLOADS.md (async/stream.h,
// actor/actor_stream.h).

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_stream.h"
#include "actor/actor_system.h"
#include "actor/stream_protocol.pb.h"
#include "async/block_on.h"
#include "async/stream.h"
#include "bench/actor_bench.pb.h"
#include "bench/harness.h"
#include "bench/process.h"
#include "bench/summer.h"
#include "samples/pipeline/pipelines.h"
#include "threads/notification.h"

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

// -- S3: actor -> actor stream with credit, beside A3 -----------------------------

constexpr uint32_t kS3Window = 1024;

// What the receiving actor saw, read once its Done is notified.
struct Received {
  int64_t sum = 0;
  uint64_t worst_outstanding = 0;  // granted and not yet taken: its live items
  absl::Status end;
  Notification done;
};

// Takes a stream's Adds in its handlers, with a StreamInlet's credit.
class StreamSummer : public Actor {
 public:
  explicit StreamSummer(Received* received) : inlet_(kS3Window), received_(received) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<proto::StreamOpen>([this](const proto::StreamOpen&) { (void)inlet_.Accept(Sender()); })
        .On<Add>([this](const Add& add) {
          sum_ += add.value();
          worst_ = std::max(worst_, inlet_.outstanding());
          inlet_.Consumed();
        })
        .On<proto::StreamDone>([this](const proto::StreamDone& done) {
          received_->sum = sum_;
          received_->worst_outstanding = worst_;
          received_->end = inlet_.Finish(done);
          received_->done.Notify();
        });
  }

 private:
  StreamInlet inlet_;
  Received* received_;
  int64_t sum_ = 0;
  uint64_t worst_ = 0;
};

Add AddOf(int64_t value) {
  Add add;
  add.set_value(value);
  return add;
}

// Streams 1..n as Adds to the actor it is given, from its own Go task.
class StreamSource : public Actor {
 public:
  StreamSource(int64_t n, ActorRef to) : n_(n), to_(std::move(to)) {}

 protected:
  void OnStart() override { Go(ToActor(Range<int64_t>(1, n_ + 1).Map(AddOf), to_)); }
  Behavior MakeBehavior() override { return Behavior(); }

 private:
  const int64_t n_;
  const ActorRef to_;
};

absl::StatusOr<Rows> ActorToActorStream() {
  const int64_t n = ItemCount();
  const int64_t expected = n * (n + 1) / 2;
  ActorSystem system;

  Received received;
  int64_t start = NowNanos();
  ActorRef summer = system.Spawn<StreamSummer>(&received);
  system.Spawn<StreamSource>(n, summer);
  if (!received.done.WaitForNotificationFor(absl::Minutes(5))) {
    return absl::DeadlineExceededError("S3: the stream did not end");
  }
  const int64_t stream_elapsed = NowNanos() - start;
  if (!received.end.ok()) return received.end;
  if (received.sum != expected) return absl::InternalError(absl::StrCat("S3: sum ", received.sum));

  start = NowNanos();
  ActorRef counter = system.Spawn<AddSummer>();
  for (int64_t i = 1; i <= n; ++i) counter.Tell(AddOf(i));
  absl::StatusOr<Sum> sum = counter.Ask<Sum>(GetSum(), absl::Minutes(5)).Get();
  const int64_t counting_elapsed = NowNanos() - start;
  if (!sum.ok()) return sum.status();
  if (sum->value() != expected)
    return absl::InternalError(absl::StrCat("S3-A3: sum ", sum->value()));

  const double stream_rate = n * 1e3 / static_cast<double>(stream_elapsed);
  const double counting_rate = n * 1e3 / static_cast<double>(counting_elapsed);
  return Rows{{"S3", stream_rate},
              {"S3-A3", counting_rate},
              {"S3/A3", stream_rate / counting_rate},
              {"S3-live", static_cast<double>(received.worst_outstanding)}};
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
  RegisterWorkload(
      {{{"S3", "actor -> actor stream with credit (ToActor, StreamInlet), 10^7 Adds", "M msg/s",
         ">= 0.8 x S3-A3"},
        {"S3-A3", "  A3's counting (a thread tells 10^7 Adds), same repetition", "M msg/s", ""},
        {"S3/A3", "  S3 / S3-A3", "ratio", ">= 0.8"},
        {"S3-live", "  the receiver's most items granted and not yet taken", "items",
         "<= 1024 (the window)"}},
       [] { return InChildProcess(ActorToActorStream); }});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
