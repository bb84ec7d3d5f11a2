// Overload workloads of bench/WORKLOADS.md: A3's counting into a bounded
// mailbox, O1 with a producer that waits for room (TellWithin), O2 with one
// that retries what is refused (TryTell).

#include <cstdint>
#include <thread>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "bench/actor_bench.pb.h"
#include "bench/harness.h"
#include "bench/process.h"

namespace troupe::bench {
namespace {

constexpr int64_t kCount = 10'000'000;
constexpr uint32_t kCapacity = 1024;

// Sums what it is told; answers GetSum.
class BoundedSummer : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Add>([this](const Add& add) { sum_ += add.value(); })
        .On<GetSum>([this](const GetSum&) {
          Sum sum;
          sum.set_value(sum_);
          return sum;
        });
  }

 private:
  int64_t sum_ = 0;
};

// Counts 1..N into a BoundedSummer (capacity 1024), each message sent by
// `send` (which must get it in, one way or another), then asks for the
// sum. Returns messages/s; the peak RSS is the caller's to read.
absl::StatusOr<double> CountInto(const char* row,
                                 absl::FunctionRef<absl::Status(const ActorRef&, Add&)> send) {
  ResetPeakRss();
  ActorSystem system;
  SpawnOptions options;
  options.mailbox_capacity = kCapacity;
  ActorRef summer = system.Spawn<BoundedSummer>(std::move(options));
  const int64_t start = NowNanos();
  for (int64_t i = 1; i <= kCount; ++i) {
    Add add;
    add.set_value(i);
    if (absl::Status sent = send(summer, add); !sent.ok()) return sent;
  }
  absl::StatusOr<Sum> sum = summer.Ask<Sum>(GetSum(), absl::Minutes(5)).Get();
  const int64_t elapsed = NowNanos() - start;
  if (!sum.ok()) return sum.status();
  if (sum->value() != kCount * (kCount + 1) / 2) {
    return absl::InternalError(absl::StrCat(row, ": sum ", sum->value()));
  }
  return kCount * 1e9 / static_cast<double>(elapsed) / 1e6;
}

// O1: the producer waits in TellWithin whenever the mailbox is full.
// Messages/s (beside A3's, unbounded, in the same run) and peak RSS.
absl::StatusOr<Rows> WaitForABoundedMailbox() {
  absl::StatusOr<double> rate = CountInto("O1", [](const ActorRef& summer, Add& add) {
    return summer.TellWithin(add, absl::InfiniteFuture());
  });
  if (!rate.ok()) return rate.status();
  return Rows{{"O1", *rate}, {"O1-rss", PeakRssBytes() / 1048576.0}};
}

// O2: the producer sends with TryTell (OverflowPolicy::Reject); a refused
// message comes back and is sent again after a yield, so nothing is lost
// and memory stays bounded. Messages/s, refusals, and peak RSS (beside
// A3-rss, the unbounded mailbox's).
absl::StatusOr<Rows> RetryIntoABoundedMailbox() {
  int64_t refused = 0;
  absl::StatusOr<double> rate = CountInto("O2", [&refused](const ActorRef& summer, Add& add) {
    while (!summer.TryTell(add).ok()) {
      ++refused;
      std::this_thread::yield();  // the actor needs the core more than we do
    }
    return absl::OkStatus();
  });
  if (!rate.ok()) return rate.status();
  return Rows{{"O2", *rate},
              {"O2-refused", static_cast<double>(refused)},
              {"O2-rss", PeakRssBytes() / 1048576.0}};
}

[[maybe_unused]] const bool registered = [] {
  RegisterWorkload({{{"O1", "A3 into a bounded mailbox (1024), producer waits in TellWithin",
                      "M msg/s", ">= 0.9 x A3"},
                     {"O1-rss", "  peak RSS", "MiB", "<= 32"}},
                    [] { return InChildProcess(WaitForABoundedMailbox); }});
  RegisterWorkload({{{"O2", "A3 into a bounded mailbox (1024, reject), producer retries TryTell",
                      "M msg/s", "report"},
                     {"O2-refused", "  refusals (each one retried)", "count", "report"},
                     {"O2-rss", "  peak RSS (A3-rss: the unbounded mailbox)", "MiB", "report"}},
                    [] { return InChildProcess(RetryIntoABoundedMailbox); }});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
