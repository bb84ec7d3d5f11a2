// The README's network example, compiled and run: the EchoLines actor as
// printed there, served on an ephemeral port and spoken to by a client.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "actor/actor.h"
#include "actor/actor_system.h"
#include "gtest/gtest.h"
#include "net/framing.h"
#include "net/listener.h"
#include "net/reactor.h"

namespace {

// -- as in README.md ------------------------------------------------------------
class EchoLines : public troupe::Actor {
 public:
  explicit EchoLines(troupe::net::Connection c) : connection_(std::move(c)) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<troupe::net::Received>([this](const troupe::net::Received& r) {
          if (!lines_.Push(r.data).ok()) return connection_.Abort("line too long");
          while (auto line = lines_.Next())
            connection_.Write(troupe::net::LineFramer::Frame(*line));
        })
        .On<troupe::net::Closed>([this](const troupe::net::Closed&) { Stop(); });
  }

 private:
  troupe::net::Connection connection_;
  troupe::net::LineFramer lines_{/*max_line=*/4096};
};
// -------------------------------------------------------------------------------

TEST(ReadmeExampleTest, EchoLinesServesAClient) {
  troupe::ActorSystem system;
  troupe::net::Reactor reactor(system);
  troupe::net::ListenOptions options;
  options.address = "127.0.0.1:0";
  auto listener = troupe::net::Listen(reactor, options, [&](troupe::net::Connection c) {
    return system.Spawn<EchoLines>(std::move(c));
  });
  ASSERT_TRUE(listener.ok()) << listener.status();

  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(listener->port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const std::string request = "hello\nworld\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[64];
  while (reply.size() < request.size()) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
  }
  EXPECT_EQ(reply, request);
  close(fd);
  reactor.Shutdown();
}

}  // namespace
