// Actor workloads A5 (fjcreate) and A6 (idle actor memory) of
// bench/WORKLOADS.md: what spawning costs, in time and in memory. Both run in
// a forked child (bench/process.h), so their memory figures are their own.

#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "bench/actor_bench.pb.h"
#include "bench/harness.h"
#include "bench/process.h"
#include "threads/latch.h"
#include "threads/notification.h"

namespace troupe::bench {
namespace {

// -- A5 fjcreate ---------------------------------------------------------------

constexpr int64_t kCreated = 1'000'000;

class Collector : public Actor {
 public:
  explicit Collector(Notification* done) : done_(done) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Pong>([this](const Pong& pong) {
      sum_ += pong.count();
      if (++replies_ == kCreated) {
        if (sum_ == kCreated * (kCreated + 1) / 2) done_->Notify();
      }
    });
  }

 private:
  Notification* done_;
  int64_t replies_ = 0;
  int64_t sum_ = 0;
};

class OneShot : public Actor {
 public:
  explicit OneShot(ActorRef collector) : collector_(std::move(collector)) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Ping>([this](const Ping& ping) {
      Pong pong;
      pong.set_count(ping.count());
      collector_.Tell(std::move(pong));
      Stop();
    });
  }

 private:
  ActorRef collector_;
};

absl::StatusOr<Rows> A5() {
  ResetPeakRss();
  Notification done;
  ActorSystem system;
  ActorRef collector = system.Spawn<Collector>(&done);
  const int64_t start = NowNanos();
  for (int64_t i = 1; i <= kCreated; ++i) {
    ActorRef actor = system.Spawn<OneShot>(collector);
    Ping ping;
    ping.set_count(i);
    actor.Tell(std::move(ping));
  }
  if (!done.WaitForNotificationFor(absl::Minutes(5))) {
    return absl::DeadlineExceededError("A5: replies missing");
  }
  const int64_t elapsed = NowNanos() - start;
  const int64_t peak = PeakRssBytes();
  return Rows{{"A5", kCreated * 1e3 / static_cast<double>(elapsed)}, {"A5-rss", peak / 1048576.0}};
}

// -- A6 idle actor memory ------------------------------------------------------

constexpr int64_t kIdle = 1'000'000;

class Sleeper : public Actor {
 public:
  Sleeper(std::atomic<int64_t>* started, std::atomic<int64_t>* woke)
      : started_(started), woke_(woke) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int64_t>([this](int64_t v) { woke_->fetch_add(v); });
  }
  void OnStart() override { started_->fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t>* started_;
  std::atomic<int64_t>* woke_;
};

absl::StatusOr<Rows> A6() {
  std::atomic<int64_t> started{0}, woke{0};
  ActorSystem system;
  // Warm up the allocator and the pool's threads first, outside the measure.
  system.Spawn<Sleeper>(&started, &woke).Tell(int64_t{0});
  while (started.load() < 1) absl::SleepFor(absl::Milliseconds(1));
  // Memory freed by earlier workloads would be reused without showing in
  // RSS: hand it back to the system first, so that the delta is the actors'.
  malloc_trim(0);
  const int64_t before = RssBytes();
  std::vector<ActorRef> sleepers;
  sleepers.reserve(kIdle);
  for (int64_t i = 0; i < kIdle; ++i) sleepers.push_back(system.Spawn<Sleeper>(&started, &woke));
  while (started.load() < kIdle + 1) absl::SleepFor(absl::Milliseconds(1));
  const int64_t after = RssBytes();
  for (const ActorRef& s : sleepers) s.Tell(int64_t{1});
  const absl::Time deadline = absl::Now() + absl::Minutes(5);
  while (woke.load() < kIdle && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  if (woke.load() != kIdle) return absl::InternalError(absl::StrCat("A6: woke ", woke.load()));
  return Rows{{"A6", static_cast<double>(after - before) / kIdle}};
}

[[maybe_unused]] const bool registered = [] {
  RegisterWorkload(
      {{{"A5", "fjcreate, 10^6 actors spawned, one message each", "M actors/s", ">= 2.5"},
        {"A5-rss", "fjcreate, peak RSS", "MiB", ""}},
       [] { return InChildProcess(A5); }});
  RegisterWorkload(
      {{{"A6", "idle actor memory, 10^6 actors (RSS delta / N)", "bytes/actor", "<= 256"}},
       [] { return InChildProcess(A6); }});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
