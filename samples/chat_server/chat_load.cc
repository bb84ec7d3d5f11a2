// samples/chat_server: chat_load, a load client for chat_server.
//
//   bazel run //samples/chat_server:chat_load -- --port=7000 --clients=50 --lines=20
//
// Opens `clients` connections, has each send `lines` lines, and checks that
// every client receives every line (its own included) exactly once. Each
// line carries its send time, so the receipt gives a latency. Reports
// lines delivered per second and latency percentiles. With --misbehave it
// first opens three bad clients (one sends an over-long line, one binary
// garbage, one half a line and hangs up) that the server must drop without
// disturbing the rest. With --halfclose=N, N clients each say one line and
// shut down their sending side: each must still hear its line from the
// room. Exits 0 only if every line arrived.

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "net/blocking_socket.h"
#include "threads/barrier.h"

namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int Connect(int port) {
  const int fd = troupe::net::ConnectBlocking(static_cast<uint16_t>(port));
  if (fd < 0) {
    std::fprintf(stderr, "chat_load: connect: %s\n", std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

// True if the server closes the connection within the receive timeout.
bool Dropped(int fd) {
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) continue;  // broadcasts before it was dropped
    if (n < 0 && errno == EINTR) continue;
    return n == 0 || errno == ECONNRESET;
  }
}

struct ClientResult {
  int64_t received = 0;
  int64_t duplicates = 0;
  std::vector<int64_t> latencies;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int clients = 50;
  int lines = 20;
  bool misbehave = false;
  int halfclose = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&](const char* flag, int* out) {
      const std::string prefix = absl::StrCat(flag, "=");
      return arg.rfind(prefix, 0) == 0 && absl::SimpleAtoi(arg.substr(prefix.size()), out);
    };
    if (value("--port", &port) || value("--clients", &clients) || value("--lines", &lines) ||
        value("--halfclose", &halfclose))
      continue;
    if (arg == "--misbehave") {
      misbehave = true;
      continue;
    }
    std::fprintf(
        stderr,
        "usage: chat_load --port=N [--clients=50] [--lines=20] [--misbehave] [--halfclose=N]\n");
    return 2;
  }
  if (port <= 0 || clients <= 0 || lines <= 0) {
    std::fprintf(stderr, "chat_load: --port is required; counts must be positive\n");
    return 2;
  }

  if (misbehave) {
    const int long_line = Connect(port);
    const int binary = Connect(port);
    const int half = Connect(port);
    // A burst the server reads in many pieces, queued before it handles the
    // first: a server that logs per piece of a client it is dropping
    // (rather than once per client) shows here.
    troupe::net::SendAll(long_line, std::string(1 << 20, 'x') + "\n");
    troupe::net::SendAll(binary, std::string("\x01\x02\x03\xff garbage\n", 14));
    troupe::net::SendAll(half, "half a li");
    close(half);  // hangs up mid-line
    const bool dropped = Dropped(long_line) && Dropped(binary);
    std::printf("bad clients dropped by the server: %s\n", dropped ? "yes" : "no");
    close(long_line);
    close(binary);
    if (!dropped) return 1;
  }

  if (halfclose > 0) {
    // Clients that say one line and shut down their sending side: each must
    // still hear its own line from the room before the server closes.
    int answered = 0;
    for (int c = 0; c < halfclose; ++c) {
      const int fd = Connect(port);
      const std::string text = absl::StrCat("last words ", c);
      std::string got;
      char buffer[4096];
      ssize_t n;
      if (troupe::net::SendAll(fd, text + "\n") && shutdown(fd, SHUT_WR) == 0) {
        while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0)
          got.append(buffer, static_cast<size_t>(n));
      }
      close(fd);
      if (got.find(": " + text + "\n") != std::string::npos) ++answered;
    }
    std::printf("half-closed clients that heard their line: %d of %d\n", answered, halfclose);
    if (answered != halfclose) return 1;
  }

  // Everyone connects, and is welcomed into the room, before anyone speaks.
  std::vector<int> fds;
  for (int c = 0; c < clients; ++c) fds.push_back(Connect(port));
  const int64_t expected = static_cast<int64_t>(clients) * lines;
  std::vector<ClientResult> results(static_cast<size_t>(clients));
  troupe::Barrier ready(clients);
  std::atomic<int64_t> start{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      const int fd = fds[static_cast<size_t>(c)];
      ClientResult& result = results[static_cast<size_t>(c)];
      std::string pending;
      char buffer[16 << 10];
      // Reads lines until `count` of those starting with `tag` have come.
      auto read_until = [&](const std::string& tag, int64_t count, auto&& on_line) {
        int64_t seen = 0;
        while (seen < count) {
          size_t end;
          while ((end = pending.find('\n')) != std::string::npos) {
            const std::string line = pending.substr(0, end);
            pending.erase(0, end + 1);
            if (line.find(tag) != std::string::npos) {
              ++seen;
              on_line(line);
            }
          }
          if (seen >= count) break;
          const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) return false;
          pending.append(buffer, static_cast<size_t>(n));
        }
        return true;
      };
      // In the room once welcomed; everyone speaks once all are in.
      if (!read_until("*** welcome", 1, [](const std::string&) {})) return;
      ready.ArriveAndWait();
      int64_t expected_zero = 0;
      start.compare_exchange_strong(expected_zero, NowNanos());
      for (int l = 0; l < lines; ++l) {
        troupe::net::SendAll(fd, absl::StrCat("msg ", c, " ", l, " ", NowNanos(), "\n"));
      }
      std::vector<char> seen(static_cast<size_t>(expected), 0);
      read_until(": msg ", expected, [&](const std::string& line) {
        std::vector<std::string> parts = absl::StrSplit(line.substr(line.find(": msg ") + 6), ' ');
        int sender = 0, index = 0;
        int64_t sent_at = 0;
        if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &sender) ||
            !absl::SimpleAtoi(parts[1], &index) || !absl::SimpleAtoi(parts[2], &sent_at)) {
          return;
        }
        const size_t slot =
            static_cast<size_t>(sender) * static_cast<size_t>(lines) + static_cast<size_t>(index);
        if (slot >= seen.size()) return;
        if (seen[slot]++ != 0) {
          ++result.duplicates;
          return;
        }
        ++result.received;
        result.latencies.push_back(NowNanos() - sent_at);
      });
    });
  }
  for (std::thread& t : threads) t.join();
  const int64_t elapsed = NowNanos() - start.load();
  for (int fd : fds) close(fd);

  int64_t received = 0;
  int64_t duplicates = 0;
  int complete = 0;
  std::vector<int64_t> latencies;
  for (const ClientResult& r : results) {
    received += r.received;
    duplicates += r.duplicates;
    complete += r.received == expected;
    latencies.insert(latencies.end(), r.latencies.begin(), r.latencies.end());
  }
  std::sort(latencies.begin(), latencies.end());
  const auto percentile = [&](double p) -> double {
    if (latencies.empty()) return 0;
    return static_cast<double>(latencies[static_cast<size_t>(p * (latencies.size() - 1))]) / 1e3;
  };
  std::printf("%d clients x %d lines: %lld deliveries in %.3f s = %.0f lines/s\n", clients, lines,
              static_cast<long long>(received), static_cast<double>(elapsed) / 1e9,
              static_cast<double>(received) / (static_cast<double>(elapsed) / 1e9));
  std::printf("latency us: p50 %.0f, p90 %.0f, p99 %.0f, max %.0f\n", percentile(0.5),
              percentile(0.9), percentile(0.99), percentile(1.0));
  if (complete == clients && duplicates == 0) {
    std::printf("all %d clients received all %lld lines\n", clients,
                static_cast<long long>(expected));
    return 0;
  }
  std::printf("only %d of %d clients received every line (%lld duplicates)\n", complete, clients,
              static_cast<long long>(duplicates));
  return 1;
}
