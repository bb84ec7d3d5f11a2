// Network workload N1 (issue #8): echo of 64-byte line-framed messages over
// loopback, 100 connections, messages per second, against three servers
// driven by the same client in the same run:
//   N1          troupe: one reactor thread, one actor per connection;
//   N1-threads  thread-per-connection blocking echo, the design troupe
//               replaces, built here;
//   N1-go       Go's net package, a goroutine per connection (the anchor's
//               `n1server`), when TROUPE_N1_GO_SERVER names its binary.
// Each server splits lines and writes each complete one back.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "bench/harness.h"
#include "net/blocking_socket.h"
#include "net/framing.h"
#include "net/listener.h"
#include "net/reactor.h"
#include "threads/mutex.h"

namespace troupe::bench {
namespace {

constexpr int kConnections = 100;
constexpr int kClientThreads = 4;
constexpr int kMessagesPerConnection = 2000;
constexpr int kWindow = 8;  // messages in flight per connection
constexpr size_t kMessageBytes = 64;

// -- the client -------------------------------------------------------------------

// Drives every connection: a window of messages out, the same back, checked
// byte for byte. Returns messages per second.
absl::StatusOr<double> RunClient(uint16_t port) {
  std::vector<int> fds;
  for (int i = 0; i < kConnections; ++i) {
    const int fd = net::ConnectBlocking(port);
    if (fd < 0) {
      for (int open : fds) close(open);
      return absl::UnavailableError(absl::StrCat("N1: connect: ", std::strerror(errno)));
    }
    fds.push_back(fd);
  }
  std::atomic<int> failures{0};
  const int64_t start = NowNanos();
  std::vector<std::thread> threads;
  for (int t = 0; t < kClientThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string out(kWindow * kMessageBytes, 'm');
      std::string in(out.size(), '\0');
      for (int w = 0; w < kWindow; ++w) out[(w + 1) * kMessageBytes - 1] = '\n';
      for (int round = 0; round < kMessagesPerConnection / kWindow; ++round) {
        out[0] = static_cast<char>('a' + round % 26);  // each round differs
        for (int c = t; c < kConnections; c += kClientThreads) {
          if (!net::SendAll(fds[static_cast<size_t>(c)], out)) failures++;
        }
        for (int c = t; c < kConnections; c += kClientThreads) {
          if (!net::RecvAll(fds[static_cast<size_t>(c)], in.data(), in.size()) || in != out) {
            failures++;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const int64_t elapsed = NowNanos() - start;
  for (int fd : fds) close(fd);
  if (failures.load() != 0) {
    return absl::DataLossError(absl::StrCat("N1: ", failures.load(), " failed exchanges"));
  }
  const double messages = static_cast<double>(kConnections) * kMessagesPerConnection;
  return messages / (static_cast<double>(elapsed) / 1e9);
}

// -- troupe's server ------------------------------------------------------------------

class LineEcho : public Actor {
 public:
  explicit LineEcho(net::Connection connection) : connection_(std::move(connection)) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<net::Received>([this](const net::Received& r) {
          if (!lines_.Push(r.data).ok()) return connection_.Abort("line too long");
          std::string out;
          while (std::optional<std::string> line = lines_.Next()) {
            out += *line;
            out.push_back('\n');
          }
          if (!out.empty()) connection_.Write(std::move(out));
        })
        .On<net::Closed>([this](const net::Closed&) { Stop(); });
  }

 private:
  net::Connection connection_;
  net::LineFramer lines_{4096};
};

absl::StatusOr<double> TroupeServer() {
  ActorSystem system;
  net::Reactor reactor(system);
  absl::StatusOr<net::Listener> listener =
      net::Listen(reactor, net::ListenOptions(),
                  [&system](net::Connection c) { return system.Spawn<LineEcho>(std::move(c)); });
  if (!listener.ok()) return listener.status();
  absl::StatusOr<double> rate = RunClient(listener->port());
  reactor.Shutdown();
  return rate;
}

// -- a thread per connection ----------------------------------------------------------

absl::StatusOr<double> ThreadPerConnectionServer() {
  const int listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listen_fd, 1024) != 0) {
    close(listen_fd);
    return absl::UnavailableError("N1-threads: cannot listen");
  }
  socklen_t length = sizeof(address);
  getsockname(listen_fd, reinterpret_cast<sockaddr*>(&address), &length);
  Mutex mu;
  std::vector<std::thread> connections;
  std::thread acceptor([&] {
    while (true) {
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // the listening socket was shut down
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      MutexLock lock(mu);
      connections.emplace_back([fd] {
        std::string pending;
        char buffer[64 << 10];
        while (true) {
          const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) break;
          pending.append(buffer, static_cast<size_t>(n));
          const size_t end = pending.rfind('\n');
          if (end == std::string::npos) continue;
          if (!net::SendAll(fd, std::string_view(pending).substr(0, end + 1)))
            break;  // every complete line
          pending.erase(0, end + 1);
        }
        close(fd);
      });
    }
  });
  absl::StatusOr<double> rate = RunClient(ntohs(address.sin_port));
  shutdown(listen_fd, SHUT_RDWR);
  acceptor.join();
  close(listen_fd);
  MutexLock lock(mu);
  for (std::thread& thread : connections) thread.join();
  return rate;
}

// -- Go's net package -------------------------------------------------------------------

// Starts `binary n1server`, which prints its port and serves until killed.
absl::StatusOr<double> GoServer(const char* binary) {
  int out[2];
  if (pipe(out) != 0) return absl::InternalError("pipe");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(binary, binary, "n1server", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  char line[64] = {};
  size_t got = 0;
  while (got < sizeof(line) - 1) {
    const ssize_t n = read(out[0], line + got, 1);
    if (n <= 0 || line[got] == '\n') break;
    got += static_cast<size_t>(n);
  }
  close(out[0]);
  const int port = std::atoi(line);
  absl::StatusOr<double> rate =
      port > 0 ? RunClient(static_cast<uint16_t>(port))
               : absl::UnavailableError(absl::StrCat("N1-go: ", binary, " gave no port"));
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  return rate;
}

absl::StatusOr<Rows> N1() {
  absl::StatusOr<double> troupe_rate = TroupeServer();
  if (!troupe_rate.ok()) return troupe_rate.status();
  absl::StatusOr<double> threads_rate = ThreadPerConnectionServer();
  if (!threads_rate.ok()) return threads_rate.status();
  Rows rows = {{"N1", *troupe_rate / 1e3}, {"N1-threads", *threads_rate / 1e3}};
  if (const char* go = std::getenv("TROUPE_N1_GO_SERVER"); go != nullptr && *go != '\0') {
    absl::StatusOr<double> go_rate = GoServer(go);
    if (!go_rate.ok()) return go_rate.status();
    rows.push_back({"N1-go", *go_rate / 1e3});
  }
  return rows;
}

const bool registered = RegisterWorkload(
    {{{"N1", "echo 64-byte lines, 100 connections, troupe (1 I/O thread)", "K msgs/s", ""},
      {"N1-threads", "the same, a thread per connection", "K msgs/s", ""},
      {"N1-go", "the same, Go net (TROUPE_N1_GO_SERVER=anchor binary)", "K msgs/s", ""}},
     N1});

}  // namespace
}  // namespace troupe::bench
