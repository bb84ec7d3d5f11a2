// The reactor end to end on loopback: many concurrent clients, tiny socket
// buffers, garbage and over-long lines, resets, backpressure, idle timeouts
// and shutdown with connections open. Clients are plain blocking sockets on
// test threads; servers are connection actors.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "base/stress.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/blocking_socket.h"
#include "net/connect.h"
#include "net/connection.h"
#include "net/framing.h"
#include "net/listener.h"
#include "net/reactor.h"
#include "testing/event_log.h"
#include "testing/eventually.h"
#include "testing/test_kit.h"
#include "threads/thread.h"

namespace troupe::net {
namespace {

constexpr absl::Duration kWait = absl::Seconds(30);

// -- servers ----------------------------------------------------------------------

// What the servers saw, across all their connections.
struct ServerLog {
  std::atomic<int> opened{0};
  std::atomic<int> closed{0};
  std::atomic<int> closed_by_reason[static_cast<int>(CloseReason::kOutputOverflow) + 1] = {};

  // "kReset:1 ..." for every reason seen: what a failed expectation shows.
  std::string Reasons() const {
    std::string out;
    for (int r = 0; r <= static_cast<int>(CloseReason::kOutputOverflow); ++r) {
      if (const int n = closed_by_reason[r].load(); n > 0) {
        absl::StrAppend(&out, std::string(CloseReasonName(static_cast<CloseReason>(r))), ":", n,
                        " ");
      }
    }
    return out;
  }
  std::atomic<int64_t> bytes{0};
  std::atomic<size_t> max_unprocessed{0};
};

// Echoes each line back; aborts the connection on an over-long line.
class LineEcho : public Actor {
 public:
  LineEcho(Connection connection, ServerLog* log)
      : connection_(std::move(connection)), log_(log), lines_(1024) {
    log_->opened.fetch_add(1);
  }

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Received>([this](const Received& r) {
          log_->bytes.fetch_add(static_cast<int64_t>(r.data.size()));
          if (absl::Status s = lines_.Push(r.data); !s.ok()) {
            connection_.Abort(std::string(s.message()));
            return;
          }
          std::string out;
          while (std::optional<std::string> line = lines_.Next()) {
            absl::StatusOr<std::string> framed = LineFramer::Frame(*line);
            if (!framed.ok()) {
              connection_.Abort(std::string(framed.status().message()));
              return;
            }
            out += *framed;
          }
          connection_.Write(std::move(out));
        })
        .On<Closed>([this](const Closed& c) {
          // The reason first: a test that sees `closed` reads the reasons.
          log_->closed_by_reason[static_cast<int>(c.reason)].fetch_add(1);
          log_->closed.fetch_add(1);
          Stop();
        });
  }

 private:
  Connection connection_;
  ServerLog* log_;
  LineFramer lines_;
};

// Echoes raw bytes; on "flood:N" writes N bytes instead. Optionally slow,
// recording how much unprocessed input the reactor let pile up.
class RawEcho : public Actor {
 public:
  RawEcho(Connection connection, ServerLog* log, absl::Duration delay_per_message)
      : connection_(std::move(connection)), log_(log), delay_(delay_per_message) {
    log_->opened.fetch_add(1);
  }

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Received>([this](const Received& r) {
          const size_t unprocessed = connection_.unprocessed_input();
          size_t seen = log_->max_unprocessed.load();
          while (unprocessed > seen &&
                 !log_->max_unprocessed.compare_exchange_weak(seen, unprocessed)) {
          }
          log_->bytes.fetch_add(static_cast<int64_t>(r.data.size()));
          if (delay_ > absl::ZeroDuration()) {
            absl::SleepFor(delay_);
            return;  // a sink: nothing echoed
          }
          if (r.data.rfind("flood:", 0) == 0) {
            const size_t n = std::stoul(r.data.substr(6));
            for (size_t sent = 0; sent < n; sent += 1 << 16)
              connection_.Write(std::string(1 << 16, 'f'));
            return;
          }
          connection_.Write(r.data);
        })
        .On<Closed>([this](const Closed& c) {
          // The reason first: a test that sees `closed` reads the reasons.
          log_->closed_by_reason[static_cast<int>(c.reason)].fetch_add(1);
          log_->closed.fetch_add(1);
          Stop();
        });
  }

 private:
  Connection connection_;
  ServerLog* log_;
  absl::Duration delay_;
};

// -- clients ------------------------------------------------------------------------

int ConnectTo(uint16_t port, int buffer_bytes = 0) {
  const int fd = ConnectBlocking(port, kWait, buffer_bytes);
  EXPECT_GE(fd, 0) << std::strerror(errno);
  return fd;
}

// True once the peer has closed (EOF or reset) within the socket timeout.
bool SeesClose(int fd) {
  char buffer[4096];
  while (true) {
    const ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got > 0) continue;
    if (got < 0 && errno == EINTR) continue;
    return got == 0 || errno == ECONNRESET;
  }
}

void WaitFor(const std::atomic<int>& counter, int n) {
  ASSERT_TRUE(testkit::Eventually([&] { return counter.load() >= n; }, kWait))
      << counter.load() << " of " << n;
}

struct Server {
  explicit Server(ServerLog* log, ListenOptions options = ListenOptions(),
                  absl::Duration delay = absl::ZeroDuration(), bool lines = true)
      : reactor(system) {
    absl::StatusOr<Listener> l = Listen(reactor, std::move(options), [=, this](Connection c) {
      return lines ? system.Spawn<LineEcho>(std::move(c), log)
                   : system.Spawn<RawEcho>(std::move(c), log, delay);
    });
    EXPECT_TRUE(l.ok()) << l.status();
    if (l.ok()) listener = *l;
  }
  ~Server() { reactor.Shutdown(); }

  ActorSystem system;
  Reactor reactor;
  Listener listener;
};

// -- tests ----------------------------------------------------------------------------

TEST(EchoTest, ManyConcurrentClientsGetEveryLineBack) {
  const int clients = static_cast<int>(ScaledCount(500, 100));
  constexpr int kThreads = 10;
  constexpr int kLines = 20;
  ServerLog log;
  Server server(&log);
  const uint16_t port = server.listener.port();

  // Every client connects first, so that all are open at once.
  std::vector<int> fds;
  for (int i = 0; i < clients; ++i) fds.push_back(ConnectTo(port));
  std::atomic<int> failures{0};
  std::vector<Thread<void>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back("client", [&, t] {
      for (int round = 0; round < kLines; ++round) {
        for (int c = t; c < clients; c += kThreads) {
          const std::string line = absl::StrCat("client ", c, " line ", round, " ",
                                                std::string(static_cast<size_t>(c % 97), 'x'));
          const std::string framed = LineFramer::Frame(line).value();
          if (!SendAll(fds[static_cast<size_t>(c)], framed) ||
              RecvExactly(fds[static_cast<size_t>(c)], framed.size()) != framed) {
            failures.fetch_add(1);
          }
        }
      }
    });
  }
  for (Thread<void>& thread : threads) ASSERT_TRUE(thread.Join().ok());
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log.opened.load(), clients);
  for (int fd : fds) close(fd);
  WaitFor(log.closed, clients);
  EXPECT_EQ(log.closed_by_reason[static_cast<int>(CloseReason::kPeerClosed)].load(), clients);
}

TEST(EchoTest, TinyBuffersAndSmallReadsStillDeliverEveryByte) {
  ServerLog log;
  ListenOptions options;
  options.connection.read_chunk = 997;  // partial reads everywhere
  Server server(&log, options, absl::ZeroDuration(), /*lines=*/false);
  const int fd = ConnectTo(server.listener.port(), /*buffer_bytes=*/4096);
  const size_t total = static_cast<size_t>(ScaledCount(4 << 20, 256 << 10));
  std::string payload(total, '\0');
  for (size_t i = 0; i < total; ++i) payload[i] = static_cast<char>((i * 131) % 251);
  // Write and read at once: the echo cannot all fit in the buffers.
  Thread<bool> writer("writer", [&] { return SendAll(fd, payload); });
  const std::string echoed = RecvExactly(fd, total);
  ASSERT_TRUE(*writer.Join());
  EXPECT_EQ(echoed.size(), total);
  EXPECT_TRUE(echoed == payload) << "the echo differs";
  close(fd);
}

TEST(EchoTest, GarbageAndOverLongLinesDropOnlyThatClient) {
  ServerLog log;
  Server server(&log);
  const uint16_t port = server.listener.port();
  const int good = ConnectTo(port);
  const int bad = ConnectTo(port);
  std::string garbage(5000, '\0');
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 7 + 1);
  for (char& c : garbage) {
    if (c == '\n') c = 'x';  // one long binary line, never ended
  }
  ASSERT_TRUE(SendAll(bad, garbage));
  EXPECT_TRUE(SeesClose(bad));  // aborted: over 1024 bytes without an end
  const std::string framed = LineFramer::Frame(std::string("\x01\x02 binary is fine", 18)).value();
  ASSERT_TRUE(SendAll(good, framed));
  EXPECT_EQ(RecvExactly(good, framed.size()), framed);
  WaitFor(log.closed, 1);
  EXPECT_EQ(log.closed_by_reason[static_cast<int>(CloseReason::kAborted)].load(), 1);
  close(good);
  close(bad);
}

TEST(EchoTest, APeerThatResetsMidWriteIsSurvived) {
  ServerLog log;
  Server server(&log, ListenOptions(), absl::ZeroDuration(), /*lines=*/false);
  const uint16_t port = server.listener.port();
  const int flood = ConnectTo(port, 4096);
  // 8 MiB: megabytes still to send when the reset comes, and under the 16 MiB
  // pending-output limit, so the close is the reset's and never an overflow
  // (with more than the limit, a loaded machine could abort it first).
  ASSERT_TRUE(SendAll(flood, "flood:" + std::to_string(8 << 20)));
  EXPECT_EQ(RecvExactly(flood, 10000).size(), 10000u);  // it is writing to us
  linger hard{1, 0};
  setsockopt(flood, SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
  close(flood);  // reset while it still has megabytes to send
  WaitFor(log.closed, 1);
  const int reset = log.closed_by_reason[static_cast<int>(CloseReason::kReset)].load() +
                    log.closed_by_reason[static_cast<int>(CloseReason::kError)].load();
  EXPECT_EQ(reset, 1) << log.Reasons();
  // And it serves the next client.
  const int next = ConnectTo(port);
  ASSERT_TRUE(SendAll(next, "still here"));
  EXPECT_EQ(RecvExactly(next, 10), "still here");
  close(next);
}

TEST(EchoTest, BackpressureBoundsUnprocessedInput) {
  ServerLog log;
  ListenOptions options;
  options.connection.max_unprocessed_input = 256 << 10;
  options.connection.read_chunk = 64 << 10;
  // A slow sink: 1 ms per message, while the client sends as fast as it can.
  Server server(&log, options, absl::Milliseconds(1), /*lines=*/false);
  const int fd = ConnectTo(server.listener.port());
  const size_t total = static_cast<size_t>(ScaledCount(100 << 20, 8 << 20));
  const std::string block(1 << 20, 'b');
  for (size_t sent = 0; sent < total; sent += block.size()) ASSERT_TRUE(SendAll(fd, block));
  close(fd);
  WaitFor(log.closed, 1);
  EXPECT_EQ(log.bytes.load(), static_cast<int64_t>(total));
  // Never more than the limit plus one read in flight.
  EXPECT_LE(log.max_unprocessed.load(), (256u << 10) + (64u << 10));
  EXPECT_GT(log.max_unprocessed.load(), 0u);
}

// Writes `bytes` when told anything, asks to hear when it is all written,
// and logs the output notifications it gets.
class Flooder : public Actor {
 public:
  Flooder(Connection connection, size_t bytes, testkit::EventLog* log)
      : connection_(std::move(connection)), bytes_(bytes), log_(log) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Received>([this](const Received&) {
          for (size_t sent = 0; sent < bytes_; sent += 4096)
            connection_.Write(std::string(4096, 'w'));
          connection_.NotifyWhenWritten();
        })
        .On<OutputHigh>([this](const OutputHigh& high) {
          log_->Add(high.pending > 64 << 10 ? "high" : "high too early");
        })
        .On<OutputDrained>([this](const OutputDrained&) { log_->Add("drained"); })
        .On<WriteDone>([this](const WriteDone&) { log_->Add("written"); })
        .On<Closed>([this](const Closed&) { Stop(); });
  }

 private:
  Connection connection_;
  size_t bytes_;
  testkit::EventLog* log_;
};

TEST(EchoTest, OutputNotificationsTellASlowReaderFromAFastOne) {
  testkit::EventLog events;
  ActorSystem system;
  Reactor reactor(system);
  ListenOptions options;
  options.connection.output_high_water = 64 << 10;
  constexpr size_t kBytes = 4 << 20;
  absl::StatusOr<Listener> listener = Listen(reactor, options, [&](Connection c) {
    return system.Spawn<Flooder>(std::move(c), kBytes, &events);
  });
  ASSERT_TRUE(listener.ok());
  const int fd = ConnectTo(listener->port(), /*buffer_bytes=*/4096);
  ASSERT_TRUE(SendAll(fd, "go"));
  EXPECT_EQ(events.WaitForSize(1)[0], "high");  // before we read a byte
  EXPECT_EQ(RecvExactly(fd, kBytes).size(), kBytes);
  // As we read, output drains; writes still arriving may pass the mark
  // again. Every high is followed by a drain, and everything is written.
  const absl::Time deadline = absl::Now() + kWait;
  std::vector<std::string> all;
  do {
    all = events.Snapshot();
  } while (std::count(all.begin(), all.end(), "written") == 0 && absl::Now() < deadline);
  absl::SleepFor(absl::Milliseconds(20));  // a last "drained" may trail "written"
  all = events.Snapshot();
  EXPECT_EQ(std::count(all.begin(), all.end(), "high"),
            std::count(all.begin(), all.end(), "drained"));
  EXPECT_EQ(std::count(all.begin(), all.end(), "written"), 1);
  EXPECT_EQ(std::count(all.begin(), all.end(), "high too early"), 0);
  close(fd);
  reactor.Shutdown();
}

TEST(EchoTest, IdleConnectionsTimeOut) {
  ServerLog log;
  ListenOptions options;
  options.connection.idle_timeout = absl::Milliseconds(100);
  Server server(&log, options);
  const int quiet = ConnectTo(server.listener.port());
  EXPECT_TRUE(SeesClose(quiet));
  WaitFor(log.closed, 1);
  EXPECT_EQ(log.closed_by_reason[static_cast<int>(CloseReason::kTimedOut)].load(), 1);
  close(quiet);
}

TEST(EchoTest, IdleTimeoutsFollowTheSystemClockSoTestsUseVirtualTime) {
  ServerLog log;
  testkit::TestKit kit;
  Reactor reactor(kit.system());
  ListenOptions options;
  options.connection.idle_timeout = absl::Seconds(30);
  absl::StatusOr<Listener> listener = Listen(reactor, options, [&](Connection c) {
    return kit.system().Spawn<LineEcho>(std::move(c), &log);
  });
  ASSERT_TRUE(listener.ok());
  const int quiet = ConnectTo(listener->port());
  // Until the loop arms the timer.
  ASSERT_TRUE(testkit::Eventually([&] { return kit.clock().pending_timers() != 0; }, kWait));
  ASSERT_EQ(kit.clock().pending_timers(), 1);
  kit.AdvanceTime(absl::Seconds(29));
  char byte;
  EXPECT_EQ(recv(quiet, &byte, 1, MSG_DONTWAIT), -1);  // still open: nothing to read
  EXPECT_EQ(errno, EAGAIN);
  kit.AdvanceTime(absl::Seconds(1));  // 30 s of silence, at once
  EXPECT_TRUE(SeesClose(quiet));
  EXPECT_TRUE(testkit::Eventually(
      [&] {
        kit.RunUntilIdle();  // the Closed arrives from the I/O thread
        return log.closed.load() != 0;
      },
      kWait));
  EXPECT_EQ(log.closed_by_reason[static_cast<int>(CloseReason::kTimedOut)].load(), 1);
  close(quiet);
  reactor.Shutdown();
}

TEST(EchoTest, ShutdownClosesEveryOpenConnection) {
  ServerLog log;
  std::vector<int> fds;
  {
    Server server(&log);
    for (int i = 0; i < 20; ++i) fds.push_back(ConnectTo(server.listener.port()));
    WaitFor(log.opened, 20);
    server.reactor.Shutdown();
    WaitFor(log.closed, 20);
    EXPECT_EQ(log.closed_by_reason[static_cast<int>(CloseReason::kShutdown)].load(), 20);
  }
  for (int fd : fds) {
    EXPECT_TRUE(SeesClose(fd));
    close(fd);
  }
}

// The server runs in a child process whose descriptor limit is low, so
// that accept() meets EMFILE; the parent plays the clients.
TEST(EchoTest, RunningOutOfDescriptorsIsSurvived) {
  int port_pipe[2];
  ASSERT_EQ(pipe(port_pipe), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(port_pipe[0]);
    ServerLog log;
    auto server = std::make_unique<Server>(&log);
    const uint16_t port = server->listener.port();
    // Room for what is open now and a few connections more.
    int highest = 0;
    for (int fd = 0; fd < 1024; ++fd) {
      if (fcntl(fd, F_GETFD) != -1) highest = fd;
    }
    rlimit limit{static_cast<rlim_t>(highest + 1 + 4), static_cast<rlim_t>(highest + 1 + 4)};
    setrlimit(RLIMIT_NOFILE, &limit);
    (void)!write(port_pipe[1], &port, sizeof(port));
    close(port_pipe[1]);
    absl::SleepFor(absl::Seconds(60));  // the parent kills us
    _exit(0);
  }
  close(port_pipe[1]);
  uint16_t port = 0;
  ASSERT_EQ(read(port_pipe[0], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)));
  close(port_pipe[0]);

  // More clients than the server has descriptors: the extra ones are
  // accepted and closed at once, and the server keeps going.
  std::vector<int> fds;
  for (int i = 0; i < 12; ++i) fds.push_back(ConnectTo(port));
  int served = 0;
  int dropped = 0;
  for (int fd : fds) {
    const std::string line = "are you there?\n";
    if (SendAll(fd, line) && RecvExactly(fd, line.size()) == line) {
      ++served;
    } else {
      ++dropped;
    }
  }
  EXPECT_GT(served, 0);
  EXPECT_GT(dropped, 0);
  for (int fd : fds) close(fd);
  absl::SleepFor(absl::Milliseconds(100));  // the server closes its ends
  // Descriptors are free again: a new client is served.
  const int again = ConnectTo(port);
  ASSERT_TRUE(SendAll(again, "back\n"));
  EXPECT_EQ(RecvExactly(again, 5), "back\n");
  close(again);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
}

TEST(EchoTest, ListenReportsBadAddressesAndPortsInUse) {
  ActorSystem system;
  Reactor reactor(system);
  auto factory = [&](Connection c) { return ActorRef(); };
  ListenOptions nowhere;
  nowhere.address = "nowhere:80";
  EXPECT_EQ(Listen(reactor, nowhere, factory).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<Listener> first = Listen(reactor, ListenOptions(), factory);
  ASSERT_TRUE(first.ok());
  ListenOptions same;
  same.address = absl::StrCat("127.0.0.1:", first->port());
  EXPECT_EQ(Listen(reactor, same, factory).status().code(), absl::StatusCode::kUnavailable);
}

// A client actor: sends its lines on start, logs what comes back.
class LineClient : public Actor {
 public:
  LineClient(Connection connection, std::string lines, std::atomic<int>* lines_back)
      : connection_(std::move(connection)), lines_(std::move(lines)), lines_back_(lines_back) {}

 protected:
  void OnStart() override { connection_.Write(lines_); }
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Received>([this](const Received& r) {
          ASSERT_TRUE(framer_.Push(r.data).ok());
          while (framer_.Next()) lines_back_->fetch_add(1);
        })
        .On<Closed>([this](const Closed&) { Stop(); });
  }
  void OnStop() override { connection_.Close(); }

 private:
  Connection connection_;
  std::string lines_;
  std::atomic<int>* lines_back_;
  LineFramer framer_;
};

TEST(ConnectTest, AClientActorTalksToAServerActor) {
  ServerLog log;
  Server server(&log);
  std::atomic<int> lines_back{0};
  ConnectOptions options;
  options.address = absl::StrCat("127.0.0.1:", server.listener.port());
  Future<ActorRef> client = Connect(server.reactor, options, [&](Connection c) {
    return server.system.Spawn<LineClient>(std::move(c), "one\ntwo\nthree\n", &lines_back);
  });
  absl::StatusOr<ActorRef> actor = client.Get();
  ASSERT_TRUE(actor.ok()) << actor.status();
  WaitFor(lines_back, 3);
  EXPECT_EQ(log.opened.load(), 1);
}

TEST(ConnectTest, RefusedAndMalformedConnectsFailTheFuture) {
  ActorSystem system;
  Reactor reactor(system);
  auto never = [](Connection) -> ActorRef {
    ADD_FAILURE() << "the factory ran for a failed connect";
    return ActorRef();
  };
  // A port that was just free: nothing listens there.
  uint16_t free_port;
  {
    absl::StatusOr<Listener> probe = Listen(reactor, ListenOptions(), never);
    ASSERT_TRUE(probe.ok());
    free_port = probe->port();
    probe->Close();
  }
  absl::SleepFor(absl::Milliseconds(20));  // the close runs on the I/O thread
  ConnectOptions refused;
  refused.address = absl::StrCat("127.0.0.1:", free_port);
  EXPECT_EQ(Connect(reactor, refused, never).Get().status().code(), absl::StatusCode::kUnavailable);
  ConnectOptions malformed;
  malformed.address = "not an address";
  EXPECT_EQ(Connect(reactor, malformed, never).Get().status().code(),
            absl::StatusCode::kInvalidArgument);
  reactor.Shutdown();
  EXPECT_EQ(Connect(reactor, refused, never).Get().status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ConnectTest, ASilentServerMeansATimeout) {
  // A listening socket that never accepts, its backlog filled: the
  // kernel drops further SYNs, so a connect neither succeeds nor fails.
  const int deaf = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(deaf, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(deaf, 0), 0);
  socklen_t length = sizeof(address);
  getsockname(deaf, reinterpret_cast<sockaddr*>(&address), &length);
  const uint16_t port = ntohs(address.sin_port);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    fillers.push_back(fd);
  }
  ActorSystem system;
  Reactor reactor(system);
  ConnectOptions options;
  options.address = absl::StrCat("127.0.0.1:", port);
  options.timeout = absl::Milliseconds(200);
  absl::StatusOr<ActorRef> result =
      Connect(reactor, options, [](Connection) { return ActorRef(); }).Get();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded) << result.status();
  reactor.Shutdown();
  for (int fd : fillers) close(fd);
  close(deaf);
}

}  // namespace
}  // namespace troupe::net
