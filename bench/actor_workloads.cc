// Actor messaging workloads A1-A4, A7 and K1 (ask + co_await) of
// bench/WORKLOADS.md (A5 and A6,
// spawning, are in actor_spawn_workloads.cc). Protobuf messages where the
// workload sends data (A1, A3, A7), with a plain-C++ row beside A1 and A3.
// Every workload checks its own result; the actor system has the default
// worker count (one per core).

#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "async/future.h"
#include "async/task.h"
#include "bench/actor_bench.pb.h"
#include "bench/harness.h"
#include "bench/process.h"
#include "threads/latch.h"
#include "threads/notification.h"

namespace troupe::bench {
namespace {

// -- A1 pingpong ---------------------------------------------------------------

constexpr int64_t kRoundTrips = 1'000'000;

// Bounces `Msg` with the peer until the count reaches zero. Generic over the
// message so that the protobuf and plain-C++ rows run the same code.
template <typename Msg>
class Bouncer : public Actor {
 public:
  explicit Bouncer(Notification* done) : done_(done) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .template On<ActorRef>([this](const ActorRef& peer) { peer_ = peer; })
        .template On<Msg>([this](Msg& msg) {
          if (Count(msg) == 0) {
            done_->Notify();
            return;
          }
          SetCount(msg, Count(msg) - 1);
          peer_.Tell(std::move(msg));
        });
  }

 private:
  static int64_t Count(const Msg& m) {
    if constexpr (std::is_same_v<Msg, int64_t>) {
      return m;
    } else {
      return m.count();
    }
  }
  static void SetCount(Msg& m, int64_t c) {
    if constexpr (std::is_same_v<Msg, int64_t>) {
      m = c;
    } else {
      m.set_count(c);
    }
  }

  Notification* done_;
  ActorRef peer_;
};

// `traced`: with the system's tracing on (actor/tracing.h), for the cost
// of recording each send and activation.
template <typename Msg>
absl::StatusOr<double> PingPong(bool traced = false) {
  Notification done;
  ActorSystem system;
  if (traced) system.StartTracing();
  ActorRef a = system.Spawn<Bouncer<Msg>>(&done);
  ActorRef b = system.Spawn<Bouncer<Msg>>(&done);
  a.Tell(b);
  b.Tell(a);
  Msg first{};
  if constexpr (std::is_same_v<Msg, int64_t>) {
    first = 2 * kRoundTrips;
  } else {
    first.set_count(2 * kRoundTrips);
  }
  const int64_t start = NowNanos();
  a.Tell(std::move(first));
  if (!done.WaitForNotificationFor(absl::Minutes(5))) {
    return absl::DeadlineExceededError("A1: the ball stopped");
  }
  const int64_t elapsed = NowNanos() - start;
  return static_cast<double>(elapsed) / (2 * kRoundTrips);
}

// One workload per row, so that a profiler can run exactly one of them
// (valgrind --tool=callgrind bench --filter='^A1$').
absl::StatusOr<Rows> A1() {
  absl::StatusOr<double> proto = PingPong<Ping>();
  if (!proto.ok()) return proto.status();
  return Rows{{"A1", *proto}};
}

// -- K1 ask + co_await ------------------------------------------------------------

// Answers a Ping with a Pong.
class Answerer : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Ping>([](const Ping& ping) {
      Pong pong;
      pong.set_count(ping.count());
      return pong;
    });
  }
};

// Asked for `n` rounds, it asks the answerer n times, one after the other,
// awaiting each reply in its handler's task.
class Awaiter : public Actor {
 public:
  explicit Awaiter(ActorRef answerer) : answerer_(std::move(answerer)) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Ping>([this](const Ping& rounds) -> Task<Pong> {
      int64_t sum = 0;
      for (int64_t i = 0; i < rounds.count(); ++i) {
        Ping ping;
        ping.set_count(i);
        absl::StatusOr<Pong> pong = co_await answerer_.Ask<Pong>(ping);  // no timeout
        if (!pong.ok()) co_return pong.status();
        sum += pong->count();
      }
      Pong total;
      total.set_count(sum);
      co_return total;
    });
  }

 private:
  const ActorRef answerer_;
};

// K1: per ask: the request, the reply (handed to the awaiting task through
// the future's state) and the handler's resumption as a step of the asker.
absl::StatusOr<Rows> K1() {
  constexpr int64_t kAsks = 1'000'000;
  ActorSystem system;
  ActorRef awaiter = system.Spawn<Awaiter>(system.Spawn<Answerer>());
  Ping rounds;
  rounds.set_count(kAsks);
  const int64_t start = NowNanos();
  absl::StatusOr<Pong> total = awaiter.Ask<Pong>(rounds, absl::Minutes(5)).Get();
  const int64_t elapsed = NowNanos() - start;
  if (!total.ok()) return total.status();
  if (total->count() != kAsks * (kAsks - 1) / 2) return absl::InternalError("K1: wrong sum");
  return Rows{{"K1", static_cast<double>(elapsed) / kAsks}};
}

// K1 with A1 run right after it, in the same repetition: K1's target is a
// multiple of A1, and the machine changes speed from one minute to the
// next, so only a ratio taken in one sitting says whether it is met.
absl::StatusOr<Rows> K1BesideA1() {
  absl::StatusOr<Rows> rows = K1();
  if (!rows.ok()) return rows.status();
  absl::StatusOr<double> a1 = PingPong<Ping>();
  if (!a1.ok()) return a1.status();
  const double k1 = rows->front().value;
  rows->push_back({"K1-A1", *a1});
  rows->push_back({"K1/A1", k1 / (4 * *a1)});  // an A1 round trip is two messages
  return rows;
}

absl::StatusOr<Rows> A1Plain() {
  absl::StatusOr<double> plain = PingPong<int64_t>();
  if (!plain.ok()) return plain.status();
  return Rows{{"A1-plain", *plain}};
}

absl::StatusOr<Rows> A1Traced() {
  absl::StatusOr<double> traced = PingPong<Ping>(/*traced=*/true);
  if (!traced.ok()) return traced.status();
  return Rows{{"A1-traced", *traced}};
}

// -- A2 threadring -------------------------------------------------------------

constexpr int kRingSize = 503;
constexpr int64_t kHops = 10'000'000;

class RingNode : public Actor {
 public:
  RingNode(int index, std::atomic<int>* finisher, Notification* done)
      : index_(index), finisher_(finisher), done_(done) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<ActorRef>([this](const ActorRef& next) { next_ = next; })
        .On<int64_t>([this](int64_t token) {
          if (token == 0) {
            finisher_->store(index_, std::memory_order_relaxed);
            done_->Notify();
            return;
          }
          next_.Tell(token - 1);
        });
  }

 private:
  const int index_;
  std::atomic<int>* finisher_;
  Notification* done_;
  ActorRef next_;
};

absl::StatusOr<Rows> A2() {
  Notification done;
  std::atomic<int> finisher{-1};
  ActorSystem system;
  std::vector<ActorRef> ring;
  for (int i = 0; i < kRingSize; ++i) ring.push_back(system.Spawn<RingNode>(i, &finisher, &done));
  for (int i = 0; i < kRingSize; ++i) ring[i].Tell(ring[(i + 1) % kRingSize]);
  const int64_t start = NowNanos();
  ring[0].Tell(kHops);
  if (!done.WaitForNotificationFor(absl::Minutes(5))) {
    return absl::DeadlineExceededError("A2: the token stopped");
  }
  const int64_t elapsed = NowNanos() - start;
  if (finisher.load() != kHops % kRingSize) {
    return absl::InternalError(absl::StrCat("A2: token ended at ", finisher.load()));
  }
  return Rows{{"A2", static_cast<double>(elapsed) / kHops}};
}

// -- A3 counting ---------------------------------------------------------------

constexpr int64_t kCount = 10'000'000;

template <typename Msg>
class Summer : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .template On<Msg>([this](const Msg& m) {
          if constexpr (std::is_same_v<Msg, int64_t>) {
            sum_ += m;
          } else {
            sum_ += m.value();
          }
        })
        .template On<GetSum>([this](const GetSum&) {
          Sum sum;
          sum.set_value(sum_);
          return sum;
        });
  }

 private:
  int64_t sum_ = 0;
};

template <typename Msg>
absl::StatusOr<double> Counting(int64_t* peak_rss) {
  ResetPeakRss();
  ActorSystem system;
  ActorRef summer = system.Spawn<Summer<Msg>>();
  const int64_t start = NowNanos();
  for (int64_t i = 1; i <= kCount; ++i) {
    if constexpr (std::is_same_v<Msg, int64_t>) {
      summer.Tell(i);
    } else {
      Add add;
      add.set_value(i);
      summer.Tell(std::move(add));
    }
  }
  absl::StatusOr<Sum> sum = summer.Ask<Sum>(GetSum(), absl::Minutes(5)).Get();
  const int64_t elapsed = NowNanos() - start;
  if (!sum.ok()) return sum.status();
  if (sum->value() != kCount * (kCount + 1) / 2) {
    return absl::InternalError(absl::StrCat("A3: sum ", sum->value()));
  }
  *peak_rss = PeakRssBytes();
  return kCount * 1e9 / static_cast<double>(elapsed) / 1e6;
}

absl::StatusOr<Rows> A3() {
  int64_t rss_proto = 0, rss_plain = 0;
  absl::StatusOr<double> proto = Counting<Add>(&rss_proto);
  if (!proto.ok()) return proto.status();
  absl::StatusOr<double> plain = Counting<int64_t>(&rss_plain);
  if (!plain.ok()) return plain.status();
  return Rows{{"A3", *proto}, {"A3-plain", *plain}, {"A3-rss", rss_proto / 1048576.0}};
}

// -- A4 fjthrput ---------------------------------------------------------------

constexpr int kThroughputActors = 60;
constexpr int64_t kPerActor = 100'000;

class Worker : public Actor {
 public:
  explicit Worker(Latch* done) : done_(done) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int64_t>([this](int64_t v) {
      work_ += v * 31 + 7;  // trivial work
      if (++seen_ == kPerActor) done_->CountDown();
    });
  }

 private:
  Latch* done_;
  int64_t seen_ = 0;
  int64_t work_ = 0;
};

absl::StatusOr<Rows> A4() {
  Latch done(kThroughputActors);
  ActorSystem system;
  std::vector<ActorRef> workers;
  for (int i = 0; i < kThroughputActors; ++i) workers.push_back(system.Spawn<Worker>(&done));
  const int64_t start = NowNanos();
  for (int64_t m = 0; m < kPerActor; ++m) {
    for (const ActorRef& w : workers) w.Tell(m);
  }
  if (!done.WaitFor(absl::Minutes(5))) return absl::DeadlineExceededError("A4: lost messages");
  const int64_t elapsed = NowNanos() - start;
  return Rows{{"A4", kThroughputActors * kPerActor * 1e3 / static_cast<double>(elapsed)}};
}

// -- A7 big --------------------------------------------------------------------

constexpr int kBigActors = 1000;
constexpr int64_t kPingsEach = 1000;

class BigNode : public Actor {
 public:
  BigNode(int index, const std::vector<ActorRef>* peers, Latch* done)
      : peers_(peers), done_(done), rng_(static_cast<uint32_t>(index) * 2654435761u + 1) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Ping>([this](Ping& ping) {  // from a peer: answer it
          Pong pong;
          pong.set_count(ping.count());
          Reply(std::move(pong));
        })
        .On<Pong>([this](const Pong&) {  // our ping answered: the next one
          if (++answered_ == kPingsEach) {
            done_->CountDown();
          } else {
            SendPing();
          }
        })
        .On<int>([this](int) { SendPing(); });  // start
  }

 private:
  void SendPing() {
    Ping ping;
    ping.set_count(answered_);
    Send((*peers_)[rng_() % peers_->size()], std::move(ping));
  }

  const std::vector<ActorRef>* peers_;
  Latch* done_;
  std::minstd_rand rng_;
  int64_t answered_ = 0;
};

absl::StatusOr<Rows> A7() {
  Latch done(kBigActors);
  ActorSystem system;
  std::vector<ActorRef> peers;
  peers.reserve(kBigActors);
  for (int i = 0; i < kBigActors; ++i) peers.push_back(system.Spawn<BigNode>(i, &peers, &done));
  const int64_t start = NowNanos();
  for (const ActorRef& p : peers) p.Tell(0);
  if (!done.WaitFor(absl::Minutes(5))) return absl::DeadlineExceededError("A7: pings lost");
  const int64_t elapsed = NowNanos() - start;
  const double messages = 2.0 * kBigActors * kPingsEach;
  return Rows{{"A7", messages * 1e3 / static_cast<double>(elapsed)}};
}

[[maybe_unused]] const bool registered = [] {
  RegisterWorkload({{{"A1", "pingpong, 10^6 round trips, protobuf Ping", "ns/msg", "<= 60"}}, A1});
  RegisterWorkload({{{"A1-plain", "pingpong, plain int64 message", "ns/msg", "<= 60"}}, A1Plain});
  RegisterWorkload(
      {{{"A1-traced", "A1 with tracing on (ring buffers, flows)", "ns/msg", "report"}}, A1Traced});
  RegisterWorkload({{{"K1", "an actor asks another and co_awaits the reply, 10^6 times", "ns/ask",
                      "<= 2 x A1 round trip (4 x A1)"},
                     {"K1-A1", "A1 in the same repetition", "ns/msg", ""},
                     {"K1/A1", "K1 / (2 x A1 round trip = 4 x A1)", "ratio", "<= 1"}},
                    K1BesideA1});
  RegisterWorkload({{{"A2", "threadring, 503 actors, 10^7 hops", "ns/hop", "<= 60"}}, A2});
  RegisterWorkload({{{"A3", "counting, 10^7 protobuf Add to one actor", "M msg/s", ">= 30"},
                     {"A3-plain", "counting, plain int64", "M msg/s", ">= 30"},
                     {"A3-rss", "counting, peak RSS (protobuf row)", "MiB", ""}},
                    [] { return InChildProcess(A3); }});
  RegisterWorkload({{{"A4", "fjthrput, 60 actors x 10^5 messages", "M msg/s", ">= 20"}}, A4});
  RegisterWorkload(
      {{{"A7", "big, 1000 actors x 1000 pings to random peers", "M msg/s", ">= 20"}}, A7});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
