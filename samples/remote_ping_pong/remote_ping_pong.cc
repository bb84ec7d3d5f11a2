// Pipelined ping-pong between two processes over troupe's remote layer:
// the "pong" process serves an echo actor registered as "echo"; the "ping"
// process keeps a window of pings in flight to it through a remote ref and
// prints the rate, counted both ways (Proto.Actor's remote benchmark shape).
//
//   bazel run //samples/remote_ping_pong -- 1000000        # both, forked
//   remote_ping_pong --serve 127.0.0.1:4100 &               # or by hand:
//   remote_ping_pong --ping 127.0.0.1:4100 1000000
//
// Prints "<n> pings and <n> pongs in <t>: <r> M messages/s".

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "remote/node.h"
#include "samples/remote_ping_pong/ping_pong.pb.h"
#include "threads/notification.h"

namespace {

using remote_ping_pong::Ping;
using remote_ping_pong::Pong;

constexpr char kToken[] = "remote-ping-pong";
constexpr int64_t kWindow = 2000;

class Echo : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<Ping>([](const Ping& ping) {
      Pong pong;
      pong.set_seq(ping.seq());
      return pong;  // back to Sender(), on the other node
    });
  }
};

// Keeps kWindow pings in flight until `total` pongs are back.
class Pinger : public troupe::Actor {
 public:
  Pinger(troupe::ActorRef echo, int64_t total, troupe::Notification* done)
      : echo_(std::move(echo)), total_(total), done_(done) {}

 protected:
  void OnStart() override {
    for (int64_t i = 0; i < kWindow && sent_ < total_; ++i) SendPing();
  }
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<Pong>([this](const Pong&) {
      if (++received_ == total_) {
        done_->Notify();
        return;
      }
      if (sent_ < total_) SendPing();
    });
  }

 private:
  void SendPing() {
    Ping ping;
    ping.set_seq(++sent_);
    Send(echo_, ping);
  }

  troupe::ActorRef echo_;
  const int64_t total_;
  troupe::Notification* done_;
  int64_t sent_ = 0;
  int64_t received_ = 0;
};

troupe::remote::NodeOptions Options(std::string listen) {
  troupe::remote::NodeOptions options;
  options.listen_address = std::move(listen);
  options.cluster_token = kToken;
  return options;
}

// The pong side: serves until its standard input closes (or it is killed).
int Serve(const std::string& listen, bool announce) {
  troupe::ActorSystem system;
  auto node = troupe::remote::Node::Start(system, Options(listen));
  if (!node.ok()) {
    std::cerr << "remote_ping_pong: " << node.status() << "\n";
    return 1;
  }
  if (!system.registry().Register("echo", system.Spawn<Echo>()).ok()) return 1;
  if (announce) std::cout << (*node)->address() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

int PingAt(const std::string& address, int64_t total) {
  troupe::ActorSystem system;
  auto node = troupe::remote::Node::Start(system, Options("127.0.0.1:0"));
  if (!node.ok()) {
    std::cerr << "remote_ping_pong: " << node.status() << "\n";
    return 1;
  }
  absl::StatusOr<troupe::ActorRef> echo = (*node)->Lookup("echo@" + address);
  if (!echo.ok()) {
    std::cerr << "remote_ping_pong: " << echo.status() << "\n";
    return 1;
  }
  // Wait until the echo answers (the other process may still be starting).
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!echo->Ask<Pong>(Ping(), absl::Seconds(1)).Get().ok()) {
    if (absl::Now() > deadline) {
      std::cerr << "remote_ping_pong: no echo at " << address << "\n";
      return 1;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  troupe::Notification done;
  const absl::Time start = absl::Now();
  system.Spawn<Pinger>(*echo, total, &done);
  if (!done.WaitForNotificationFor(absl::Seconds(120))) {
    std::cerr << "remote_ping_pong: pongs missing after 120 s\n";
    return 1;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("%lld pings and %lld pongs in %s: %.2f M messages/s\n", static_cast<long long>(total),
              static_cast<long long>(total), absl::FormatDuration(absl::Now() - start).c_str(),
              2.0 * total / seconds / 1e6);
  std::printf("dead letters: %lld\n", static_cast<long long>(system.dead_letters().total()));
  return 0;
}

bool ParseCount(std::string_view text, int64_t* count) {
  return absl::SimpleAtoi(std::string(text), count) && *count > 0;
}

// Both sides: the pong process forked from this one (before any thread).
int Both(int64_t total) {
  int to_child[2];
  int from_child[2];
  if (pipe(to_child) != 0 || pipe(from_child) != 0) return 1;
  const pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    close(to_child[1]);
    close(from_child[0]);
    _exit(Serve("127.0.0.1:0", /*announce=*/true));
  }
  close(to_child[0]);
  close(from_child[1]);
  std::string address;
  char c;
  while (read(from_child[0], &c, 1) == 1 && c != '\n') address.push_back(c);
  int rc = address.empty() ? 1 : PingAt(address, total);
  close(to_child[1]);  // the pong process ends when its input closes
  int status = 0;
  waitpid(pid, &status, 0);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view usage =
      "usage: remote_ping_pong <count> | --serve <host:port> | --ping <host:port> <count>\n";
  int64_t total = 0;
  if (argc == 2 && ParseCount(argv[1], &total)) return Both(total);
  if (argc == 3 && std::string_view(argv[1]) == "--serve") return Serve(argv[2], true);
  if (argc == 4 && std::string_view(argv[1]) == "--ping" && ParseCount(argv[3], &total)) {
    return PingAt(argv[2], total);
  }
  std::cerr << usage;
  return 2;
}
