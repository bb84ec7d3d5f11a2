// Runs cluster_chat as it is meant to run: a real etcd, a room node and two
// gateway nodes, each its own process, and TCP clients on both gateways.
// Lines cross gateways; a gateway killed with SIGKILL takes its members out
// of the room (the room hears NODE_DOWN), and the others carry on.

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "net/blocking_socket.h"
#include "remote/testdata/child_process.h"
#include "remote/testdata/etcd_server.h"

namespace {

using troupe::remote::testdata::ChildProcess;
using troupe::remote::testdata::EtcdServer;

constexpr absl::Duration kWait = absl::Seconds(30);

std::string Binary() {
  const std::vector<std::string> args = ::testing::internal::GetArgvs();
  return args.size() > 1 ? args[1] : "samples/cluster_chat/cluster_chat";
}

std::string TempPath(const std::string& name) {
  const char* dir = getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// True once the file at `path` holds `text` (within the wait).
bool Logs(const std::string& path, const std::string& text) {
  const absl::Time deadline = absl::Now() + kWait;
  while (ReadFile(path).find(text) == std::string::npos) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

// A chat client: lines out, lines in (with a deadline).
class Client {
 public:
  explicit Client(int port) : fd_(troupe::net::ConnectBlocking(static_cast<uint16_t>(port))) {}
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  bool Say(const std::string& line) { return troupe::net::SendAll(fd_, line + "\n"); }
  // Reads lines until one contains `text`; false at the deadline or EOF.
  bool Hears(const std::string& text, absl::Duration timeout = kWait) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      size_t newline;
      while ((newline = buffer_.find('\n')) != std::string::npos) {
        const std::string line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        if (line.find(text) != std::string::npos) return true;
      }
      timeval tv{0, 100000};
      setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      char chunk[4096];
      const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
      if (n == 0) return false;
      if (n > 0) buffer_.append(chunk, static_cast<size_t>(n));
    }
    return false;
  }

 private:
  int fd_;
  std::string buffer_;
};

// "gateway listening on 127.0.0.1:<port>" -> port.
int PortOf(const std::optional<std::string>& line) {
  int port = 0;
  if (!line) return 0;
  const size_t colon = line->rfind(':');
  if (colon == std::string::npos || !absl::SimpleAtoi(line->substr(colon + 1), &port)) return 0;
  return port;
}

TEST(ClusterChatTest, LinesCrossGatewaysAndADeadGatewayLeavesTheRoom) {
  std::unique_ptr<EtcdServer> etcd = EtcdServer::Start();
  ASSERT_NE(etcd, nullptr) << EtcdServer::last_error();
  const std::string flag = "--etcd=" + etcd->endpoint();
  const std::string room_log = TempPath("room.log");

  auto room = ChildProcess::Start({Binary(), flag, "--role=room"}, room_log);
  ASSERT_NE(room, nullptr);
  std::optional<std::string> ready = room->ReadLine(kWait);
  ASSERT_TRUE(ready && ready->find("room ready") == 0) << ReadFile(room_log);
  auto one = ChildProcess::Start({Binary(), flag, "--role=gateway"}, TempPath("one.log"));
  auto two = ChildProcess::Start({Binary(), flag, "--role=gateway"}, TempPath("two.log"));
  ASSERT_TRUE(one && two);
  const int port_one = PortOf(one->ReadLine(kWait));
  const int port_two = PortOf(two->ReadLine(kWait));
  ASSERT_NE(port_one, 0) << ReadFile(TempPath("one.log"));
  ASSERT_NE(port_two, 0) << ReadFile(TempPath("two.log"));

  Client alice(port_one);
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(alice.Hears("joined, 1 member"));
  Client bob(port_two);
  ASSERT_TRUE(bob.ok());
  ASSERT_TRUE(bob.Hears("joined, 2 members"));
  ASSERT_TRUE(alice.Hears("joined, 2 members")) << "alice hears bob join, across gateways";

  ASSERT_TRUE(alice.Say("hello from gateway one"));
  EXPECT_TRUE(bob.Hears(": hello from gateway one"));
  ASSERT_TRUE(bob.Say("hello back"));
  EXPECT_TRUE(alice.Hears(": hello back"));

  // Gateway two dies without a word: the room finds out (its watch of bob
  // fires NODE_DOWN) and drops bob; alice carries on.
  two->Kill();
  EXPECT_TRUE(Logs(room_log, "gone (NODE_DOWN)")) << ReadFile(room_log);
  EXPECT_TRUE(Logs(room_log, "cluster: - "))
      << "the room node hears the gateway leave the cluster (its lease lapses)";
  ASSERT_TRUE(alice.Say("anyone?"));
  EXPECT_TRUE(alice.Hears(": anyone?"));

  // SIGTERM: both remaining nodes shut down cleanly.
  const int one_status = one->Terminate();
  EXPECT_TRUE(WIFEXITED(one_status) && WEXITSTATUS(one_status) == 0) << one_status;
  const int room_status = room->Terminate();
  EXPECT_TRUE(WIFEXITED(room_status) && WEXITSTATUS(room_status) == 0) << room_status;
}

TEST(ClusterChatTest, BadArgumentsAreAUsageError) {
  auto child = ChildProcess::Start({Binary(), "--role=room"});  // no --etcd
  ASSERT_NE(child, nullptr);
  const int status = child->Wait(kWait);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
}

}  // namespace
