// Remote workloads R1–R3 of bench/WORKLOADS.md: two nodes on this machine,
// each in a process of its own, over gRPC on loopback. The far node is
// forked from the measuring process before either starts a thread.

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "bench/actor_bench.pb.h"
#include "bench/harness.h"
#include "bench/process.h"
#include "remote/node.h"
#include "threads/notification.h"

namespace troupe::bench {
namespace {

constexpr char kToken[] = "bench-token";
constexpr int kSinks = 1000;

// Far side: Ping -> Pong to the sender.
class Echo : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Ping>([](const Ping& ping) {
      Pong pong;
      pong.set_count(ping.count());
      return pong;
    });
  }
};

// Far side: counts Adds into a shared total; GetSum answers it.
class Sink : public Actor {
 public:
  explicit Sink(std::atomic<int64_t>* total) : total_(total) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Add>(
            [this](const Add& add) { total_->fetch_add(add.value(), std::memory_order_relaxed); })
        .On<GetSum>([this](const GetSum&) {
          Sum sum;
          sum.set_value(total_->load(std::memory_order_relaxed));
          return sum;
        });
  }

 private:
  std::atomic<int64_t>* total_;
};

// The far node's process: it prints its address, serves until its quit
// pipe closes, then prints its peak RSS.
class FarNode {
 public:
  static absl::StatusOr<FarNode> Start() {
    int up[2];
    int down[2];
    if (pipe(up) != 0 || pipe(down) != 0) return absl::InternalError("pipe");
    const pid_t pid = fork();
    if (pid < 0) return absl::InternalError("fork");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      close(up[0]);
      close(down[1]);
      Serve(up[1], down[0]);
      _exit(0);
    }
    close(up[1]);
    close(down[0]);
    FarNode far(pid, up[0], down[1]);
    absl::StatusOr<std::string> line = far.ReadLine();
    if (!line.ok()) return line.status();
    far.address_ = *line;
    return far;
  }

  FarNode(FarNode&& other) noexcept
      : pid_(std::exchange(other.pid_, -1)),
        from_(std::exchange(other.from_, -1)),
        to_(std::exchange(other.to_, -1)),
        address_(std::move(other.address_)) {}
  ~FarNode() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (from_ >= 0) close(from_);
    if (to_ >= 0) close(to_);
  }

  const std::string& address() const { return address_; }

  // Ends the far process; its peak RSS in MiB.
  absl::StatusOr<double> Finish() {
    close(std::exchange(to_, -1));
    absl::StatusOr<std::string> line = ReadLine();
    waitpid(std::exchange(pid_, -1), nullptr, 0);
    if (!line.ok()) return line.status();
    double mib;
    if (!absl::SimpleAtod(*line, &mib)) return absl::InternalError("far node: bad peak RSS");
    return mib;
  }

 private:
  FarNode(pid_t pid, int from, int to) : pid_(pid), from_(from), to_(to) {}

  static void Serve(int up, int down) {
    std::atomic<int64_t> total{0};
    {
      ActorSystem system;
      remote::NodeOptions options;
      options.cluster_token = kToken;
      auto node = remote::Node::Start(system, options);
      if (!node.ok()) _exit(1);
      (void)system.registry().Register("echo", system.Spawn<Echo>());
      for (int i = 0; i < kSinks; ++i) {
        (void)system.registry().Register(absl::StrCat("sink", i), system.Spawn<Sink>(&total));
      }
      const std::string line = (*node)->address() + "\n";
      if (write(up, line.data(), line.size()) < 0) _exit(1);
      char c;
      while (read(down, &c, 1) > 0) {
      }
      (*node)->Shutdown();
    }
    const std::string peak = absl::StrCat(PeakRssBytes() / 1048576.0, "\n");
    if (write(up, peak.data(), peak.size()) < 0) _exit(1);
  }

  absl::StatusOr<std::string> ReadLine() {
    std::string line;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    char c;
    while (absl::Now() < deadline) {
      pollfd pfd{from_, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      if (read(from_, &c, 1) != 1) return absl::UnavailableError("far node ended");
      if (c == '\n') return line;
      line.push_back(c);
    }
    return absl::DeadlineExceededError("far node: no answer");
  }

  pid_t pid_;
  int from_;
  int to_;
  std::string address_;
};

// Near side of R1: keeps `window` pings in flight to the echo until
// `total` pongs have come back.
class Pinger : public Actor {
 public:
  Pinger(ActorRef echo, int64_t total, int64_t window, Notification* done)
      : echo_(std::move(echo)), total_(total), window_(window), done_(done) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<GetSum>([this](const GetSum&) {
          for (int64_t i = 0; i < window_; ++i) SendPing();
        })
        .On<Pong>([this](const Pong&) {
          if (++received_ == total_) done_->Notify();
          if (sent_ < total_) SendPing();
        });
  }

 private:
  void SendPing() {
    Ping ping;
    ping.set_count(sent_++);
    Send(echo_, ping);
  }

  ActorRef echo_;
  const int64_t total_;
  const int64_t window_;
  Notification* done_;
  int64_t sent_ = 0;
  int64_t received_ = 0;
};

remote::NodeOptions NearOptions() {
  remote::NodeOptions options;
  options.cluster_token = kToken;
  return options;
}

absl::StatusOr<Rows> PipelinedPingPong() {
  constexpr int64_t kMessages = 1'000'000;
  constexpr int64_t kWindow = 2000;
  absl::StatusOr<FarNode> far = FarNode::Start();
  if (!far.ok()) return far.status();
  ActorSystem system;
  auto node = remote::Node::Start(system, NearOptions());
  if (!node.ok()) return node.status();
  absl::StatusOr<ActorRef> echo = (*node)->Lookup("echo@" + far->address());
  if (!echo.ok()) return echo.status();
  // One round trip first: the stream is open before the clock starts.
  if (!echo->Ask<Pong>(Ping(), absl::Seconds(30)).Get().ok()) {
    return absl::UnavailableError("R1: the far node does not answer");
  }
  Notification done;
  ActorRef pinger = system.Spawn<Pinger>(*echo, kMessages, kWindow, &done);
  const int64_t start = NowNanos();
  pinger.Tell(GetSum());
  if (!done.WaitForNotificationFor(absl::Minutes(2))) {
    return absl::DeadlineExceededError("R1: pongs missing");
  }
  const double seconds = (NowNanos() - start) / 1e9;
  (*node)->Shutdown();
  return Rows{{"R1", 2 * kMessages / seconds / 1e6}};
}

absl::StatusOr<Rows> AskRoundTrips() {
  constexpr int kAsks = 100'000;
  absl::StatusOr<FarNode> far = FarNode::Start();
  if (!far.ok()) return far.status();
  ActorSystem system;
  auto node = remote::Node::Start(system, NearOptions());
  if (!node.ok()) return node.status();
  absl::StatusOr<ActorRef> echo = (*node)->Lookup("echo@" + far->address());
  if (!echo.ok()) return echo.status();
  std::vector<int64_t> nanos;
  nanos.reserve(kAsks);
  for (int i = 0; i < kAsks + 1000; ++i) {
    const int64_t start = NowNanos();
    if (!echo->Ask<Pong>(Ping(), absl::Seconds(30)).Get().ok()) {
      return absl::UnavailableError("R2: an ask failed");
    }
    if (i >= 1000) nanos.push_back(NowNanos() - start);  // the first 1000 warm up
  }
  std::sort(nanos.begin(), nanos.end());
  (*node)->Shutdown();
  return Rows{{"R2-p50", nanos[nanos.size() / 2] / 1e3},
              {"R2-p99", nanos[nanos.size() * 99 / 100] / 1e3}};
}

absl::StatusOr<Rows> ManyActorsTold() {
  constexpr int kPerSink = 1000;
  absl::StatusOr<FarNode> far = FarNode::Start();
  if (!far.ok()) return far.status();
  double near_peak = 0;
  double seconds = 0;
  {
    ActorSystem system;
    auto node = remote::Node::Start(system, NearOptions());
    if (!node.ok()) return node.status();
    std::vector<ActorRef> sinks;
    for (int i = 0; i < kSinks; ++i) {
      absl::StatusOr<ActorRef> sink = (*node)->Lookup(absl::StrCat("sink", i, "@", far->address()));
      if (!sink.ok()) return sink.status();
      sinks.push_back(*sink);
    }
    if (!sinks[0].Ask<Sum>(GetSum(), absl::Seconds(30)).Get().ok()) {
      return absl::UnavailableError("R3: the far node does not answer");
    }
    const int64_t start = NowNanos();
    Add one;
    one.set_value(1);
    for (int round = 0; round < kPerSink; ++round) {
      for (const ActorRef& sink : sinks) sink.Tell(one);
    }
    // Asked after the tells on the same stream: it sees all of them counted
    // once each sink has handled its share, so poll until it does.
    int64_t counted = 0;
    const absl::Time deadline = absl::Now() + absl::Minutes(2);
    while (counted < int64_t{kSinks} * kPerSink && absl::Now() < deadline) {
      absl::StatusOr<Sum> sum = sinks.back().Ask<Sum>(GetSum(), absl::Seconds(30)).Get();
      if (!sum.ok()) return sum.status();
      counted = sum->value();
    }
    if (counted != int64_t{kSinks} * kPerSink) {
      return absl::DataLossError(absl::StrCat("R3: ", counted, " of ", kSinks * kPerSink));
    }
    seconds = (NowNanos() - start) / 1e9;
    (*node)->Shutdown();
    near_peak = PeakRssBytes() / 1048576.0;
  }
  absl::StatusOr<double> far_peak = far->Finish();
  if (!far_peak.ok()) return far_peak.status();
  return Rows{{"R3", int64_t{kSinks} * kPerSink / seconds / 1e6},
              {"R3-rss-near", near_peak},
              {"R3-rss-far", *far_peak}};
}

[[maybe_unused]] const bool registered = [] {
  RegisterWorkload(
      {{{"R1", "pipelined remote ping-pong, 10^6 each way, window 2000, counted both ways",
         "M msg/s", ">= 2.7"}},
       [] { return InChildProcess(PipelinedPingPong); }});
  RegisterWorkload(
      {{{"R2-p50", "remote ask round trip, one at a time, 10^5 asks: median", "us", "<= 100"},
        {"R2-p99", "the same: 99th percentile", "us", "<= 500"}},
       [] { return InChildProcess(AskRoundTrips); }});
  RegisterWorkload({{{"R3", "1000 remote actors each told 1000 messages", "M msg/s", ""},
                     {"R3-rss-near", "peak RSS of the sending node", "MiB", ""},
                     {"R3-rss-far", "peak RSS of the receiving node", "MiB", ""}},
                    [] { return InChildProcess(ManyActorsTold); }});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
