// Overload workloads of bench/WORKLOADS.md: A3's counting into a bounded
// mailbox, O1 with a producer that waits for room (TellWithin), O2 with one
// that retries what is refused (TryTell); O3, a high-priority actor's
// round trip while A4's actors are flooded.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "bench/actor_bench.pb.h"
#include "bench/harness.h"
#include "bench/process.h"
#include "bench/summer.h"
#include "threads/notification.h"
#include "threads/priority.h"
#include "threads/thread.h"

namespace troupe::bench {
namespace {

constexpr int64_t kCount = 10'000'000;
constexpr uint32_t kCapacity = 1024;

// Counts 1..N into an AddSummer with a mailbox of `capacity` (0:
// unbounded), each message sent by `send(summer, add)` (which must get it
// in, one way or another), then asks for the sum. Returns messages/s; the
// peak RSS is the caller's to read. A template, so that the send is inlined
// as in A3's loop: an indirect call per message would be the bench's cost,
// not troupe's.
template <typename SendFn>
absl::StatusOr<double> CountInto(const char* row, uint32_t capacity, SendFn send) {
  ResetPeakRss();
  ActorSystem system;
  SpawnOptions options;
  options.mailbox_capacity = capacity;
  ActorRef summer = system.Spawn<AddSummer>(std::move(options));
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
// Messages/s and peak RSS.
absl::StatusOr<Rows> WaitForABoundedMailbox() {
  absl::StatusOr<double> rate = CountInto("O1", kCapacity, [](const ActorRef& summer, Add& add) {
    return summer.TellWithin(add, absl::InfiniteFuture());
  });
  if (!rate.ok()) return rate.status();
  return Rows{{"O1", *rate}, {"O1-rss", PeakRssBytes() / 1048576.0}};
}

// A3's counting (unbounded, Tell), for O1's ratio.
absl::StatusOr<Rows> CountUnbounded() {
  absl::StatusOr<double> rate = CountInto("O1-A3", 0, [](const ActorRef& summer, Add& add) {
    summer.Tell(std::move(add));
    return absl::OkStatus();
  });
  if (!rate.ok()) return rate.status();
  return Rows{{"O1-A3", *rate}};
}

// O1, then A3's counting, each in a fresh process as the A3 row is, in the
// same repetition: the target is a ratio, and this machine's speed moves
// by 2x from one minute to the next. (In one process the second count
// would find the node pool warmed by the first.)
absl::StatusOr<Rows> BoundedBesideUnbounded() {
  absl::StatusOr<Rows> bounded = InChildProcess(WaitForABoundedMailbox);
  if (!bounded.ok()) return bounded.status();
  absl::StatusOr<Rows> unbounded = InChildProcess(CountUnbounded);
  if (!unbounded.ok()) return unbounded.status();
  Rows rows = *std::move(bounded);
  const double o1 = rows.front().value, a3 = unbounded->front().value;
  rows.push_back({"O1-A3", a3});
  rows.push_back({"O1/A3", o1 / a3});
  return rows;
}

// O2: the producer sends with TryTell (OverflowPolicy::Reject); a refused
// message comes back and is sent again after a yield, so nothing is lost
// and memory stays bounded. Messages/s, refusals, and peak RSS (beside
// A3-rss, the unbounded mailbox's).
absl::StatusOr<Rows> RetryIntoABoundedMailbox() {
  int64_t refused = 0;
  absl::StatusOr<double> rate =
      CountInto("O2", kCapacity, [&refused](const ActorRef& summer, Add& add) {
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

// -- O3: priorities under a flood -----------------------------------------------

// Answers every int at once, to its sender.
class Echo : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([](int v) { return v; });
  }
};

struct StartPinging {};

// The ping actor O3 times: on StartPinging, sends kRoundTrips ints to the
// echo one at a time, timing each round trip, then opens `done`.
class Pinger : public Actor {
 public:
  Pinger(ActorRef echo, std::vector<int64_t>* nanos, Notification* done)
      : echo_(std::move(echo)), nanos_(nanos), done_(done) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<StartPinging>([this](const StartPinging&) { Ping(); })
        .On<int>([this](int) {
          nanos_->push_back(NowNanos() - sent_at_);
          if (nanos_->size() < static_cast<size_t>(kRoundTrips)) {
            Ping();
          } else {
            done_->Notify();
          }
        });
  }

 private:
  static constexpr int kRoundTrips = 2000;
  void Ping() {
    sent_at_ = NowNanos();
    echo_.Tell(static_cast<int>(nanos_->size()), Self());
  }

  ActorRef echo_;
  std::vector<int64_t>* nanos_;
  Notification* done_;
  int64_t sent_at_ = 0;
};

// A4's actor: trivial work per message.
class Flooded : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int64_t>([this](int64_t v) { work_ += v * 31 + 7; });
  }

 private:
  int64_t work_ = 0;
};

constexpr int kFloodedActors = 60;  // A4's

struct Latencies {
  double p50_us = 0;
  double p99_us = 0;
};

// One run of a Pinger and an Echo, both at `priority`.
absl::StatusOr<Latencies> RoundTrips(ActorSystem& system, Priority priority) {
  SpawnOptions echo_options;
  echo_options.priority = priority;
  ActorRef echo = system.Spawn<Echo>(std::move(echo_options));
  std::vector<int64_t> nanos;  // the pinger's; read after `done`
  Notification done;
  SpawnOptions pinger_options;
  pinger_options.priority = priority;
  ActorRef pinger = system.Spawn<Pinger>(std::move(pinger_options), echo, &nanos, &done);
  pinger.Tell(StartPinging{});
  if (!done.WaitForNotificationFor(absl::Minutes(2))) {
    return absl::DeadlineExceededError("O3: the round trips did not finish in 2 minutes");
  }
  std::sort(nanos.begin(), nanos.end());
  return Latencies{nanos[nanos.size() / 2] / 1e3, nanos[nanos.size() * 99 / 100] / 1e3};
}

// The round trips at `priority`: idle, then while a thread floods A4's 60
// actors (round robin, as A4's producer, for as long as the round trips
// take).
absl::StatusOr<std::pair<Latencies, Latencies>> IdleAndFlooded(Priority priority) {
  ActorSystem system;
  absl::StatusOr<Latencies> idle = RoundTrips(system, priority);
  if (!idle.ok()) return idle.status();
  // Bounded mailboxes and a producer that waits for room: the actors stay
  // flooded and memory stays bounded, however slow they are.
  std::vector<ActorRef> flooded;
  for (int i = 0; i < kFloodedActors; ++i) {
    SpawnOptions bounded;
    bounded.mailbox_capacity = 10'000;
    flooded.push_back(system.Spawn<Flooded>(std::move(bounded)));
  }
  std::atomic<bool> stop{false};
  Thread<void> flooder("flooder", [&] {
    for (int64_t m = 0; !stop.load(std::memory_order_relaxed); ++m) {
      for (const ActorRef& actor : flooded) {
        int64_t message = m;
        (void)actor.TellWithin(message, absl::Milliseconds(100));
      }
    }
  });
  absl::SleepFor(absl::Milliseconds(100));  // the flood is on: every actor has a backlog
  absl::StatusOr<Latencies> busy = RoundTrips(system, priority);
  stop.store(true);
  (void)flooder.Join();
  if (!busy.ok()) return busy.status();
  return std::make_pair(*idle, *busy);
}

absl::StatusOr<Rows> PriorityUnderAFlood() {
  absl::StatusOr<std::pair<Latencies, Latencies>> high = IdleAndFlooded(Priority::kHigh);
  if (!high.ok()) return high.status();
  absl::StatusOr<std::pair<Latencies, Latencies>> normal = IdleAndFlooded(Priority::kNormal);
  if (!normal.ok()) return normal.status();
  return Rows{{"O3-idle-p50", high->first.p50_us},
              {"O3-idle-p99", high->first.p99_us},
              {"O3-high-p50", high->second.p50_us},
              {"O3-high-p99", high->second.p99_us},
              {"O3", high->second.p99_us / high->first.p99_us},
              {"O3-normal-p50", normal->second.p50_us},
              {"O3-normal-p99", normal->second.p99_us}};
}

[[maybe_unused]] const bool registered = [] {
  RegisterWorkload({{{"O1", "A3 into a bounded mailbox (1024), producer waits in TellWithin",
                      "M msg/s", ">= 0.9 x O1-A3"},
                     {"O1-rss", "  peak RSS", "MiB", "<= 32"},
                     {"O1-A3", "  A3's counting (unbounded, Tell), same repetition", "M msg/s", ""},
                     {"O1/A3", "  O1 / O1-A3", "ratio", ">= 0.9"}},
                    BoundedBesideUnbounded});
  RegisterWorkload({{{"O2", "A3 into a bounded mailbox (1024, reject), producer retries TryTell",
                      "M msg/s", "report"},
                     {"O2-refused", "  refusals (each one retried)", "count", "report"},
                     {"O2-rss", "  peak RSS (A3-rss: the unbounded mailbox)", "MiB", "report"}},
                    [] { return InChildProcess(RetryIntoABoundedMailbox); }});
  RegisterWorkload(
      {{{"O3-idle-p50", "high-priority ping actor's round trip, idle system: p50", "us", "report"},
        {"O3-idle-p99", "  p99", "us", "report"},
        {"O3-high-p50", "  while A4's 60 actors are flooded: p50", "us", "report"},
        {"O3-high-p99", "  p99", "us", "report"},
        {"O3", "  flooded p99 / idle p99", "x", "<= 10"},
        {"O3-normal-p50", "  the same at normal priority, flooded: p50", "us", "report"},
        {"O3-normal-p99", "  p99", "us", "report"}},
       [] { return InChildProcess(PriorityUnderAFlood); }});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
