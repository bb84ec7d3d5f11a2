// Limits that keep one misbehaving client (or a thousand) from taking a
// server's connections: a cap per listener, a deadline for the first
// complete request, and a minimum receive rate (issue 18, item 8).

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "gtest/gtest.h"
#include "net/blocking_socket.h"
#include "net/connection.h"
#include "net/framing.h"
#include "net/listener.h"
#include "net/reactor.h"
#include "testing/eventually.h"

namespace troupe::net {
namespace {

constexpr absl::Duration kWait = absl::Seconds(30);

struct Closes {
  std::atomic<int> by_reason[8] = {};
  std::atomic<int> total{0};
};

// Echoes lines and reports each complete one to the connection.
class FramedEcho : public Actor {
 public:
  FramedEcho(Connection connection, Closes* closes)
      : connection_(std::move(connection)), closes_(closes) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Received>([this](const Received& r) {
          if (!lines_.Push(r.data).ok()) return connection_.Abort("line too long");
          while (auto line = lines_.Next()) {
            connection_.FrameReceived();
            connection_.Write(LineFramer::Frame(*line).value());
          }
        })
        .On<Closed>([this](const Closed& c) {
          closes_->by_reason[static_cast<int>(c.reason)].fetch_add(1);
          closes_->total.fetch_add(1);
          Stop();
        });
  }

 private:
  Connection connection_;
  Closes* closes_;
  LineFramer lines_;
};

struct Server {
  Server(ListenOptions options, Closes* closes) : reactor(system) {
    absl::StatusOr<Listener> l = Listen(reactor, std::move(options), [this, closes](Connection c) {
      return system.Spawn<FramedEcho>(std::move(c), closes);
    });
    EXPECT_TRUE(l.ok()) << l.status();
    if (l.ok()) listener = *l;
  }
  ~Server() { reactor.Shutdown(); }

  ActorSystem system;
  Reactor reactor;
  Listener listener;
};

void WaitUntil(const std::function<bool()>& done) { ASSERT_TRUE(testkit::Eventually(done, kWait)); }

bool Echoes(int fd, const std::string& line) {
  return SendAll(fd, line + "\n") && RecvExactly(fd, line.size() + 1) == line + "\n";
}

// True once the server has closed the connection (EOF or reset).
bool SeesClose(int fd) {
  char buffer[256];
  while (true) {
    const ssize_t got = recv(fd, buffer, sizeof(buffer), 0);
    if (got > 0) continue;
    if (got < 0 && errno == EINTR) continue;
    return got == 0 || errno == ECONNRESET;
  }
}

TEST(LimitsTest, AtMaxConnectionsNewOnesAreRefusedAndOpenOnesServed) {
  Closes closes;
  ListenOptions options;
  options.max_connections = 3;
  Server server(options, &closes);
  std::vector<int> served;
  for (int i = 0; i < 3; ++i) {
    served.push_back(ConnectBlocking(server.listener.port()));
    ASSERT_TRUE(Echoes(served.back(), absl::StrCat("client ", i)));
  }
  for (int i = 0; i < 2; ++i) {
    const int refused = ConnectBlocking(server.listener.port());  // the kernel accepts it...
    ASSERT_GE(refused, 0);
    EXPECT_TRUE(SeesClose(refused));  // ...and the listener closes it at once
    close(refused);
  }
  WaitUntil([&] { return server.listener.refused() == 2u; });
  for (int fd : served) EXPECT_TRUE(Echoes(fd, "still served"));
  close(served.back());
  served.pop_back();
  WaitUntil([&] { return server.listener.open_connections() == 2; });
  const int next = ConnectBlocking(server.listener.port());
  EXPECT_TRUE(Echoes(next, "room again"));
  close(next);
  for (int fd : served) close(fd);
}

TEST(LimitsTest, NoCompleteRequestInTimeClosesTheConnection) {
  Closes closes;
  ListenOptions options;
  options.connection.first_frame_timeout = absl::Milliseconds(200);
  Server server(options, &closes);
  const int silent = ConnectBlocking(server.listener.port());
  const int partial = ConnectBlocking(server.listener.port());
  const int prompt = ConnectBlocking(server.listener.port());
  ASSERT_TRUE(SendAll(partial, "GET / HTTP/1.1"));  // and never the end of it
  ASSERT_TRUE(Echoes(prompt, "hello"));
  EXPECT_TRUE(SeesClose(silent));
  EXPECT_TRUE(SeesClose(partial));
  WaitUntil([&] { return closes.by_reason[static_cast<int>(CloseReason::kTimedOut)].load() == 2; });
  // The prompt client completed a request in time: the deadline is over for it.
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_TRUE(Echoes(prompt, "still here"));
  for (int fd : {silent, partial, prompt}) close(fd);
}

TEST(LimitsTest, APeerThatTricklesARequestIsLetGoAndAQuietOneIsNot) {
  Closes closes;
  ListenOptions options;
  options.connection.min_receive_rate = 100;  // bytes a second
  options.connection.receive_rate_window = absl::Milliseconds(200);
  Server server(options, &closes);
  const int slow = ConnectBlocking(server.listener.port());
  const int quiet = ConnectBlocking(server.listener.port());
  ASSERT_TRUE(Echoes(quiet, "a complete request"));
  // A byte every 50 ms (20 bytes/s), never a complete line: slowloris.
  bool closed = false;
  const absl::Time deadline = absl::Now() + kWait;
  while (!closed && absl::Now() < deadline) {
    if (!SendAll(slow, "x")) closed = true;
    absl::SleepFor(absl::Milliseconds(50));
    closed = closed || closes.by_reason[static_cast<int>(CloseReason::kTimedOut)].load() > 0;
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(SeesClose(slow));
  // The quiet client sent nothing all that time, with no request under way:
  // not slow, just idle. It is still served.
  EXPECT_TRUE(Echoes(quiet, "another request"));
  EXPECT_EQ(closes.by_reason[static_cast<int>(CloseReason::kTimedOut)].load(), 1);
  for (int fd : {slow, quiet}) close(fd);
}

}  // namespace
}  // namespace troupe::net
