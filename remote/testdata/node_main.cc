// A node in a process of its own, for remote/'s multi-process tests: it
// serves a Counter registered as "counter", prints "<address> <incarnation>"
// on one line, and runs until its standard input closes (the test ends it
// that way, or kills it).
//
//   node_main <cluster-token> [--listen=host:port] [--advertise=host:port]
//             [--heartbeat_ms=N] [--failure_timeout_ms=N]

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "remote/node.h"
#include "remote/testdata/test_messages.pb.h"

namespace {

using troupe::remote::test::Add;
using troupe::remote::test::GetTotal;
using troupe::remote::test::Ping;
using troupe::remote::test::Pong;
using troupe::remote::test::Total;

// Sums Adds and counts senders' sequence numbers that arrive out of order.
class Counter : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<Add>([this](const Add& add) {
          total_ += add.value();
          int64_t& last = last_seq_[add.from()];
          if (add.seq() != last + 1) ++out_of_order_;
          last = add.seq();
        })
        .On<GetTotal>([this](const GetTotal&) {
          Total total;
          total.set_value(total_);
          total.set_out_of_order(out_of_order_);
          return total;
        })
        .On<Ping>([](const Ping& ping) {
          Pong pong;
          pong.set_seq(ping.seq());
          return pong;
        });
  }

 private:
  int64_t total_ = 0;
  int64_t out_of_order_ = 0;
  std::map<int, int64_t> last_seq_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: node_main <cluster-token> [--listen=host:port] [--advertise=host:port]"
                 " [--heartbeat_ms=N] [--failure_timeout_ms=N]\n";
    return 2;
  }
  troupe::ActorSystem system;
  troupe::remote::NodeOptions options;
  options.cluster_token = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t equals = arg.find('=');
    const std::string flag = arg.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : arg.substr(equals + 1);
    if (flag == "--listen") {
      options.listen_address = value;
    } else if (flag == "--advertise") {
      options.advertised_address = value;
    } else if (flag == "--heartbeat_ms") {
      options.heartbeat_interval = absl::Milliseconds(std::stoi(value));
    } else if (flag == "--failure_timeout_ms") {
      options.failure_timeout = absl::Milliseconds(std::stoi(value));
    } else {
      std::cerr << "node_main: unknown flag " << arg << "\n";
      return 2;
    }
  }
  auto node = troupe::remote::Node::Start(system, options);
  if (!node.ok()) {
    std::cerr << node.status() << "\n";
    return 1;
  }
  if (!system.registry().Register("counter", system.Spawn<Counter>()).ok()) return 1;
  std::cout << (*node)->address() << " " << (*node)->incarnation() << std::endl;
  // Until stdin closes. read() itself, not std::getline: a stopped and
  // continued process (the frozen-node test) can see its blocked read fail
  // with EINTR, which iostreams take for the end of input.
  char ignored[256];
  while (true) {
    const ssize_t n = read(STDIN_FILENO, ignored, sizeof(ignored));
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    break;
  }
  (*node)->Shutdown();
  return 0;
}
