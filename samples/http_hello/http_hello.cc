// samples/http_hello: a minimal HTTP/1.1 server whose connections are actors,
// beside the thread-per-connection version it replaces.
//
//   bazel run --config=opt //samples/http_hello -- --port=8080                 # actors
//   bazel run --config=opt //samples/http_hello -- --port=8080 --mode=threads  # a thread each
//   wrk -t2 -c100 -d10s http://127.0.0.1:8080/
//
// GET anything: 200 "Hello, World!", with keep-alive (HTTP/1.1's default)
// and pipelining. A malformed request gets 400, a head over 8 KiB 431, a
// method other than GET 405; 400 and 431 close the connection. Prints
// "listening on <address>" and serves until SIGINT/SIGTERM.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "base/log_limiter.h"
#include "base/logging.h"
#include "net/blocking_socket.h"
#include "net/listener.h"
#include "net/reactor.h"
#include "samples/http_hello/http_parser.h"

namespace {

// A lock-free atomic: safe in a signal handler, and (unlike a volatile
// sig_atomic_t) also when the signal lands on another thread than main's.
std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free);
void OnSignal(int) { stop_requested.store(true, std::memory_order_relaxed); }

std::string ErrorResponse(int status) {
  return status == 431 ? http_hello::Response(431, "Request Header Fields Too Large",
                                              "header too large\n", false)
                       : http_hello::Response(400, "Bad Request", "bad request\n", false);
}

// The limits a server facing the open internet wants; flags may shorten
// them (the hostile-peer test does).
struct Limits {
  int max_connections = 4096;
  absl::Duration request_timeout = absl::Seconds(10);  // the first request, and each one
  size_t min_rate = 1024;                              // bytes/s while a request is under way
  absl::Duration idle_timeout = absl::Seconds(60);
};
Limits limits;

// -- actors ---------------------------------------------------------------------------

class HttpConnection : public troupe::Actor {
 public:
  explicit HttpConnection(troupe::net::Connection c) : connection_(std::move(c)) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<troupe::net::Received>([this](const troupe::net::Received& r) {
          parser_.Push(r.data);
          std::string out;
          while (std::optional<http_hello::HttpParser::Request> request = parser_.Next()) {
            connection_.FrameReceived();  // for the request deadline and the rate limit
            out += http_hello::Answer(*request);
            if (!request->keep_alive) {
              closing_ = true;
              break;
            }
          }
          if (parser_.failed()) {
            out += ErrorResponse(parser_.error_status());
            closing_ = true;
          }
          if (!out.empty()) connection_.Write(std::move(out));
          if (closing_) connection_.Close();  // after what was written
        })
        .On<troupe::net::Closed>([this](const troupe::net::Closed&) { Stop(); });
  }

 private:
  troupe::net::Connection connection_;
  http_hello::HttpParser parser_;
  bool closing_ = false;
};

int ServeWithActors(const std::string& port) {
  troupe::ActorSystem system;
  troupe::net::Reactor reactor(system);
  troupe::net::ListenOptions options;
  options.address = absl::StrCat("127.0.0.1:", port);
  // The limits (net/listener.h, net/connection.h): a cap on connections, a
  // first request in time, no trickling a request, idle keep-alives closed.
  options.max_connections = limits.max_connections;
  options.connection.first_frame_timeout = limits.request_timeout;
  options.connection.min_receive_rate = limits.min_rate;
  options.connection.receive_rate_window = limits.request_timeout;
  options.connection.idle_timeout = limits.idle_timeout;
  auto listener = troupe::net::Listen(reactor, options, [&](troupe::net::Connection c) {
    return system.Spawn<HttpConnection>(std::move(c));
  });
  if (!listener.ok()) {
    std::fprintf(stderr, "http_hello: %s\n", listener.status().ToString().c_str());
    return 1;
  }
  std::printf("listening on %s (actors)\n", listener->address().ToString().c_str());
  std::fflush(stdout);
  while (!stop_requested.load(std::memory_order_relaxed)) absl::SleepFor(absl::Milliseconds(20));
  reactor.Shutdown();
  return 0;
}

// -- a thread per connection ---------------------------------------------------------------
//
// The baseline users compare against, so it gets the same protections as
// the actors mode: at most limits.max_connections connections at once (the rest are
// refused, as max_connections does), the same request deadlines (socket
// receive timeouts), and an acceptor that survives running out of
// descriptors or threads: it logs (once a second) and backs off.

std::atomic<int> live_threads{0};

void SetReceiveTimeout(int fd, absl::Duration timeout) {
  timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

void ServeOne(int fd) {
  http_hello::HttpParser parser;
  char buffer[16 << 10];
  bool open = true;
  // A request must be complete within request_timeout of its first byte
  // (of the connection's start, for the first one): a peer that trickles
  // bytes does not hold a thread. The receive timeout is set once (a
  // syscall per request would tax the baseline): silence that long, between
  // requests too, ends the connection.
  SetReceiveTimeout(fd, limits.request_timeout);
  absl::Time request_started = absl::Now();
  bool request_under_way = true;
  while (open) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // closed, reset, or timed out
    const absl::Time now = absl::Now();
    if (!request_under_way) {
      request_under_way = true;
      request_started = now;
    } else if (now - request_started > limits.request_timeout) {
      break;  // trickled: too slow
    }
    parser.Push(std::string_view(buffer, static_cast<size_t>(n)));
    std::string out;
    while (std::optional<http_hello::HttpParser::Request> request = parser.Next()) {
      request_under_way = parser.partial() > 0;
      request_started = now;
      out += http_hello::Answer(*request);
      if (!request->keep_alive) {
        open = false;
        break;
      }
    }
    if (parser.failed()) {
      out += ErrorResponse(parser.error_status());
      open = false;
    }
    if (!out.empty() && !troupe::net::SendAll(fd, out)) break;
  }
  // A lingering close: stop sending, then read what the client still sends
  // (for a second at most), so that closing does not reset the connection
  // and destroy an error reply before the client reads it.
  shutdown(fd, SHUT_WR);
  SetReceiveTimeout(fd, absl::Seconds(1));
  while (recv(fd, buffer, sizeof(buffer), 0) > 0) {
  }
  close(fd);
}

void AcceptLoop(int fd, const std::atomic<bool>& stopping) {
  troupe::LogLimiter accept_log;
  troupe::LogLimiter refuse_log;
  troupe::LogLimiter spawn_log;
  absl::Duration backoff = absl::Milliseconds(10);
  while (!stopping.load()) {
    const int client = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (stopping.load()) return;
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      // Out of descriptors, memory or buffers: the connection waits in the
      // backlog; try again later instead of spinning or giving up.
      if (int64_t skipped; accept_log.ShouldLog(&skipped)) {
        troupe::LogWarning("accept: {}; retrying in {}{}", std::strerror(errno),
                           absl::FormatDuration(backoff), troupe::LogLimiter::Skipped(skipped));
      }
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(1));
      continue;
    }
    backoff = absl::Milliseconds(10);
    if (live_threads.load() >= limits.max_connections) {
      close(client);
      if (int64_t skipped; refuse_log.ShouldLog(&skipped)) {
        troupe::LogWarning("{} connections open, the limit: refusing new ones{}",
                           limits.max_connections, troupe::LogLimiter::Skipped(skipped));
      }
      continue;
    }
    const int on = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    live_threads.fetch_add(1);
    try {
      std::thread([client] {
        ServeOne(client);
        live_threads.fetch_sub(1);
      }).detach();  // the design troupe replaces
    } catch (const std::system_error& e) {
      live_threads.fetch_sub(1);
      close(client);
      if (int64_t skipped; spawn_log.ShouldLog(&skipped)) {
        troupe::LogWarning("cannot start a thread for a connection ({}): closed it{}", e.what(),
                           troupe::LogLimiter::Skipped(skipped));
      }
      absl::SleepFor(backoff);
    }
  }
}

int ServeWithThreads(const std::string& port_text) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(std::stoi(port_text)));
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 1024) != 0) {
    std::fprintf(stderr, "http_hello: bind/listen: %s\n", std::strerror(errno));
    return 1;
  }
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  std::printf("listening on 127.0.0.1:%d (threads)\n", ntohs(address.sin_port));
  std::fflush(stdout);
  std::atomic<bool> stopping{false};
  std::thread acceptor([fd, &stopping] { AcceptLoop(fd, stopping); });
  while (!stop_requested.load(std::memory_order_relaxed)) absl::SleepFor(absl::Milliseconds(20));
  stopping.store(true);
  shutdown(fd, SHUT_RDWR);  // wakes accept()
  acceptor.join();
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string port = "0";
  std::string mode = "actors";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--port=", 0) == 0) {
      port = arg.substr(7);
    } else if (arg.rfind("--mode=", 0) == 0) {
      mode = arg.substr(7);
    } else if (arg.rfind("--max-connections=", 0) == 0 &&
               absl::SimpleAtoi(arg.substr(18), &limits.max_connections)) {
    } else if (arg.rfind("--request-timeout=", 0) == 0 &&
               absl::ParseDuration(arg.substr(18), &limits.request_timeout)) {
    } else if (arg.rfind("--min-rate=", 0) == 0 &&
               absl::SimpleAtoi(arg.substr(11), &limits.min_rate)) {
    } else {
      std::fprintf(stderr,
                   "usage: http_hello [--port=N] [--mode=actors|threads] [--max-connections=N]\n"
                   "                  [--request-timeout=10s] [--min-rate=BYTES_PER_S]\n");
      return 2;
    }
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  if (mode == "actors") return ServeWithActors(port);
  if (mode == "threads") return ServeWithThreads(port);
  std::fprintf(stderr, "http_hello: --mode is actors or threads\n");
  return 2;
}
