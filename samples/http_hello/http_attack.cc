// http_attack: hostile peers against an HTTP server on loopback, each beside
// a well-behaved client that must keep being served. The test script runs
// it against both modes of http_hello (bounded in time, loopback only).
//
//   http_attack --port=N --attack=nonreader|halfclose|slowloris|resets|hold [--connections=N]
//
// Prints what it saw and exits 0 only if the server held up:
//   nonreader  pipelines requests for 2 s and never reads the answers;
//   halfclose  N clients each send a request and shut down their sending
//              side: every one must get its answer;
//   slowloris  N clients trickle a request a byte at a time: the server
//              must let them go (within 30 s) while serving the good client;
//   resets     N clients send half a request and reset the connection;
//   hold       N clients connect and hold the connection (past a descriptor
//              or connection limit), then let go: the server must serve
//              the good client afterwards.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/blocking_socket.h"

namespace {

constexpr char kRequest[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

int port = 0;

// One keep-alive-less request on a fresh connection: true if answered 200.
bool GoodRequest() {
  const int fd = troupe::net::ConnectBlocking(static_cast<uint16_t>(port), absl::Seconds(5));
  if (fd < 0) {
    std::printf("good request failed: connect: %s\n", std::strerror(errno));
    return false;
  }
  const bool sent = troupe::net::SendAll(fd, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
  std::string reply;
  char buffer[4096];
  ssize_t n = 0;
  while (sent && (n = recv(fd, buffer, sizeof(buffer), 0)) > 0) reply.append(buffer, n);
  const int error = errno;
  close(fd);
  if (reply.rfind("HTTP/1.1 200 OK", 0) == 0) return true;
  std::printf("good request failed: %s (reply: \"%s\"; %s)\n", sent ? "answer" : "send",
              reply.substr(0, 60).c_str(), n < 0 ? std::strerror(error) : "closed");
  return false;
}

// The good client: a request every 100 ms while `running`.
struct GoodClient {
  std::atomic<bool> running{true};
  std::atomic<int> asked{0};
  std::atomic<int> served{0};
  std::thread thread{[this] {
    while (running.load()) {
      const int index = asked.fetch_add(1);
      const absl::Time start = absl::Now();
      if (GoodRequest()) served.fetch_add(1);
      const absl::Duration took = absl::Now() - start;
      if (took > absl::Milliseconds(200)) {
        std::printf("good request %d took %s\n", index, absl::FormatDuration(took).c_str());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }};
  bool Finish() {
    running.store(false);
    thread.join();
    std::printf("good client: %d of %d requests served\n", served.load(), asked.load());
    return asked.load() > 0 && served.load() == asked.load();
  }
};

bool NonReader() {
  GoodClient good;
  const int fd = troupe::net::ConnectBlocking(static_cast<uint16_t>(port), absl::Seconds(1));
  if (fd < 0) return false;
  std::string burst;
  for (int i = 0; i < 256; ++i) burst += kRequest;
  int64_t sent = 0;
  const absl::Time end = absl::Now() + absl::Seconds(2);
  while (absl::Now() < end) {  // sends until the server stops reading (1 s send timeout)
    if (!troupe::net::SendAll(fd, burst)) break;
    sent += static_cast<int64_t>(burst.size());
  }
  std::printf("non-reader sent %lld bytes of pipelined requests, read none\n",
              static_cast<long long>(sent));
  std::fflush(stdout);
  // The script reads the server's memory now (READY line), then we go.
  std::printf("READY\n");
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const bool ok = good.Finish();
  close(fd);
  return ok;
}

bool HalfClose(int connections) {
  int answered = 0;
  for (int i = 0; i < connections; ++i) {
    const int fd = troupe::net::ConnectBlocking(static_cast<uint16_t>(port), absl::Seconds(10));
    if (fd < 0) continue;
    std::string reply;
    if (troupe::net::SendAll(fd, kRequest) && shutdown(fd, SHUT_WR) == 0) {
      char buffer[4096];
      ssize_t n;
      while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) reply.append(buffer, n);
    }
    close(fd);
    if (reply.rfind("HTTP/1.1 200 OK", 0) == 0) ++answered;
  }
  std::printf("half-closed clients answered: %d of %d\n", answered, connections);
  return answered == connections;
}

bool Slowloris(int connections) {
  GoodClient good;
  std::vector<int> fds;
  for (int i = 0; i < connections; ++i) {
    const int fd = troupe::net::ConnectBlocking(static_cast<uint16_t>(port), absl::Seconds(1));
    if (fd >= 0) fds.push_back(fd);
  }
  // A byte every 200 ms each, never a whole request; count the ones the
  // server lets go (a send fails, or a read sees the close).
  const std::string request = kRequest;
  std::vector<bool> gone(fds.size(), false);
  size_t let_go = 0;
  const absl::Time end = absl::Now() + absl::Seconds(30);
  for (size_t byte = 0; let_go < fds.size() && absl::Now() < end; ++byte) {
    for (size_t i = 0; i < fds.size(); ++i) {
      if (gone[i]) continue;
      char c = request[byte % (request.size() - 4)];  // never the blank line
      char probe;
      const bool closed = send(fds[i], &c, 1, MSG_NOSIGNAL) != 1 ||
                          recv(fds[i], &probe, 1, MSG_DONTWAIT) == 0 || (errno == ECONNRESET);
      if (closed) {
        gone[i] = true;
        ++let_go;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (int fd : fds) close(fd);
  std::printf("slowloris clients let go by the server: %zu of %zu\n", let_go, fds.size());
  return good.Finish() && let_go == fds.size() && !fds.empty();
}

bool Resets(int connections) {
  GoodClient good;
  for (int i = 0; i < connections; ++i) {
    const int fd = troupe::net::ConnectBlocking(static_cast<uint16_t>(port), absl::Seconds(1));
    if (fd < 0) continue;
    (void)troupe::net::SendAll(fd, i % 2 == 0 ? "GET / HTTP/1.1\r\nHo" : kRequest);
    linger hard{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    close(fd);  // a reset, mid-request or mid-answer
  }
  std::printf("reset %d connections\n", connections);
  return good.Finish();
}

bool Hold(int connections) {
  std::vector<int> fds;
  for (int i = 0; i < connections; ++i) {
    const int fd = troupe::net::ConnectBlocking(static_cast<uint16_t>(port), absl::Seconds(1));
    if (fd >= 0) fds.push_back(fd);
  }
  std::printf("holding %zu connections\n", fds.size());
  // Long enough for a slow server (a sanitizer, a loaded machine) to accept
  // up to its descriptor limit and hit it.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (int fd : fds) close(fd);
  // The server has descriptors again: it must be serving (within 10 s).
  const absl::Time end = absl::Now() + absl::Seconds(10);
  while (absl::Now() < end) {
    if (GoodRequest()) {
      std::printf("served after the hold\n");
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::printf("not served after the hold\n");
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string attack;
  int connections = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--port=", 0) == 0 && absl::SimpleAtoi(arg.substr(7), &port)) continue;
    if (arg.rfind("--attack=", 0) == 0) {
      attack = arg.substr(9);
      continue;
    }
    if (arg.rfind("--connections=", 0) == 0 && absl::SimpleAtoi(arg.substr(14), &connections))
      continue;
    std::fprintf(stderr, "usage: http_attack --port=N --attack=NAME [--connections=N]\n");
    return 2;
  }
  bool ok = false;
  if (attack == "nonreader") {
    ok = NonReader();
  } else if (attack == "halfclose") {
    ok = HalfClose(connections);
  } else if (attack == "slowloris") {
    ok = Slowloris(connections);
  } else if (attack == "resets") {
    ok = Resets(connections);
  } else if (attack == "hold") {
    ok = Hold(connections);
  } else {
    std::fprintf(stderr, "http_attack: unknown --attack\n");
    return 2;
  }
  std::printf("%s: %s\n", attack.c_str(), ok ? "held up" : "FAILED");
  return ok ? 0 : 1;
}
