// The README's network example, compiled and run: the EchoLines actor as
// printed there, served on an ephemeral port and spoken to by a client.

#include <unistd.h>

#include <string>

#include "actor/actor.h"
#include "actor/actor_system.h"
#include "gtest/gtest.h"
#include "net/blocking_socket.h"
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
          while (auto line = lines_.Next()) {
            auto framed = troupe::net::LineFramer::Frame(*line);  // refuses a line ending in "\r"
            if (!framed.ok()) return connection_.Abort(std::string(framed.status().message()));
            connection_.Write(*std::move(framed));
          }
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

  const int fd = troupe::net::ConnectBlocking(listener->port());
  ASSERT_GE(fd, 0);
  const std::string request = "hello\nworld\n";
  ASSERT_TRUE(troupe::net::SendAll(fd, request));
  const std::string reply = troupe::net::RecvExactly(fd, request.size());
  EXPECT_EQ(reply, request);
  close(fd);
  reactor.Shutdown();
}

}  // namespace
