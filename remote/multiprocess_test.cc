// Nodes in separate processes (remote/testdata/node_main) on loopback:
// exact totals across the process boundary, a node killed with SIGKILL, a
// frozen node, a restarted node whose new incarnation old refs cannot
// reach; and a partition made by the network, with a node in a network
// namespace of its own behind a veth pair taken down and brought back up
// (where the test may make one: root and iproute2; it skips otherwise).

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/dead_letters.h"
#include "actor/system.pb.h"
#include "base/stress.h"
#include "gtest/gtest.h"
#include "remote/node.h"
#include "remote/ref.pb.h"
#include "remote/testdata/child_process.h"
#include "remote/testdata/test_messages.pb.h"
#include "remote/testdata/veth_link.h"
#include "testing/eventually.h"

namespace troupe::remote {
namespace {

using testdata::ChildProcess;
using testdata::VethLink;

constexpr char kToken[] = "multiprocess-test-token";
constexpr absl::Duration kWait = absl::Seconds(30);

std::string NodeMainPath() {
  const std::vector<std::string> args = ::testing::internal::GetArgvs();
  return args.size() > 1 ? args[1] : "remote/node_main";
}

// A node_main process (testdata/child_process.h) and what it announced.
class NodeProcess {
 public:
  // `flags`: node_main's. `own_network`: in a network namespace of its own
  // (unshare --net), with nothing but a loopback that is down.
  static std::unique_ptr<NodeProcess> Start(const std::string& listen = "127.0.0.1:0",
                                            std::vector<std::string> flags = {},
                                            bool own_network = false) {
    std::vector<std::string> argv = {NodeMainPath(), kToken, "--listen=" + listen};
    argv.insert(argv.end(), flags.begin(), flags.end());
    if (own_network) argv.insert(argv.begin(), {"/usr/bin/unshare", "--net", "--"});
    std::unique_ptr<ChildProcess> child = ChildProcess::Start(argv);
    if (child == nullptr) return nullptr;
    // The first line: "<address> <incarnation>".
    std::optional<std::string> line = child->ReadLine(kWait);
    if (!line) return nullptr;
    auto process = std::unique_ptr<NodeProcess>(new NodeProcess(std::move(child)));
    std::istringstream fields(*line);
    fields >> process->address_ >> process->incarnation_;
    if (process->address_.empty() || process->incarnation_ == 0) return nullptr;
    return process;
  }

  void Freeze() { child_->Freeze(); }
  void Thaw() { child_->Thaw(); }
  void Kill() { child_->Kill(); }
  pid_t pid() const { return child_->pid(); }
  std::string Describe() { return child_->Describe(); }
  const std::string& address() const { return address_; }
  uint64_t incarnation() const { return incarnation_; }

 private:
  explicit NodeProcess(std::unique_ptr<ChildProcess> child) : child_(std::move(child)) {}

  std::unique_ptr<ChildProcess> child_;
  std::string address_;
  uint64_t incarnation_ = 0;
};

// Watches the ref it is sent; counts Downs of one kind (NODE_DOWN unless
// told otherwise).
class DownCounter : public Actor {
 public:
  explicit DownCounter(std::atomic<int>* downs,
                       proto::ExitReason::Kind kind = proto::ExitReason::NODE_DOWN)
      : downs_(downs), kind_(kind) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<ActorRef>([this](const ActorRef& target) { Watch(target); })
        .On<proto::Down>([this](const proto::Down& down) {
          if (down.reason().kind() == kind_) downs_->fetch_add(1);
        });
  }

 private:
  std::atomic<int>* downs_;
  const proto::ExitReason::Kind kind_;
};

// Links to the ref it is sent; does not trap exits.
class LinkedActor : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<ActorRef>([this](const ActorRef& target) { Link(target); });
  }
};

NodeOptions Options() {
  NodeOptions options;
  options.cluster_token = kToken;
  options.max_reconnect_backoff = absl::Milliseconds(200);
  return options;
}

test::Add AddOf(int64_t value, int from, int64_t seq) {
  test::Add add;
  add.set_value(value);
  add.set_from(from);
  add.set_seq(seq);
  return add;
}

TEST(MultiprocessTest, EveryMessageCrossesExactlyOnceAndInOrder) {
  std::unique_ptr<NodeProcess> other = NodeProcess::Start();
  ASSERT_NE(other, nullptr) << "node_main did not start";
  ActorSystem system;
  auto node = Node::Start(system, Options());
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<ActorRef> counter = (*node)->Lookup("counter@" + other->address());
  ASSERT_TRUE(counter.ok());

  constexpr int kSenders = 2;
  const int64_t per_sender = ScaledCount(500000, 20000);  // 10^6 in all, unscaled
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      for (int64_t i = 1; i <= per_sender; ++i) counter->Tell(AddOf(i, s, i));
    });
  }
  for (std::thread& t : senders) t.join();
  const int64_t expected = kSenders * per_sender * (per_sender + 1) / 2;
  absl::StatusOr<test::Total> total;
  EXPECT_TRUE(testkit::Eventually([&] {
    total = counter->Ask<test::Total>(test::GetTotal(), kWait).Get();
    return total.ok() && total->value() == expected;
  })) << (total.ok() ? absl::StrCat(total->value(), " of ", expected) : total.status().ToString());
  EXPECT_EQ(total->out_of_order(), 0);
  EXPECT_EQ(system.dead_letters().total(), 0);
}

TEST(MultiprocessTest, AKilledNodeFailsAsksFastAndItsMailIsCounted) {
  std::unique_ptr<NodeProcess> other = NodeProcess::Start();
  ASSERT_NE(other, nullptr);
  ActorSystem system;
  auto node = Node::Start(system, Options());
  ASSERT_TRUE(node.ok());
  absl::StatusOr<ActorRef> counter = (*node)->Lookup("counter@" + other->address());
  ASSERT_TRUE(counter.ok());
  // An actor linked to the far counter, and a watcher of that actor.
  std::atomic<int> linked_exits{0};
  ActorRef linked = system.Spawn<LinkedActor>();
  ActorRef watcher = system.Spawn<DownCounter>(&linked_exits, proto::ExitReason::LINKED_EXIT);
  watcher.Tell(linked);
  linked.Tell(*counter);
  ASSERT_TRUE(counter->Ask<test::Pong>(test::Ping(), kWait).Get().ok());

  other->Kill();
  // The stream breaks; from then on asks fail with kUnavailable, well
  // before their timeout, and tells are dead letters.
  absl::StatusOr<test::Pong> pong;
  EXPECT_TRUE(testkit::Eventually([&] {
    pong = counter->Ask<test::Pong>(test::Ping(), kWait).Get();
    return pong.status().code() == absl::StatusCode::kUnavailable;
  })) << pong.status();
  // A tell is a dead letter: at once while the peer backs off, or when the
  // next connection attempt is refused. (An ask above may or may not have
  // been one, and may be counted after `before` is read: one still queued
  // when the stream broke is dead-lettered when the node is given up. So
  // five tells, and at least five more: the stray asks are fewer.)
  const int64_t before = system.dead_letters().count(DeadLetterReason::kNodeUnreachable);
  constexpr int kTells = 5;
  for (int i = 0; i < kTells; ++i) counter->Tell(AddOf(1, 0, 1));
  EXPECT_TRUE(testkit::Eventually([&] {
    return system.dead_letters().count(DeadLetterReason::kNodeUnreachable) >= before + kTells;
  }));
  EXPECT_GE((*node)->Stats().unreachable, 1);
  // The lost node is an abnormal end for the link: the linked actor stopped.
  EXPECT_TRUE(testkit::Eventually([&] { return linked_exits.load() == 1; }));
}

TEST(MultiprocessTest, AFrozenNodeIsDeclaredDownByItsSilence) {
  std::unique_ptr<NodeProcess> other = NodeProcess::Start();
  ASSERT_NE(other, nullptr);
  ActorSystem system;
  NodeOptions options = Options();
  options.heartbeat_interval = absl::Milliseconds(100);
  options.failure_timeout = absl::Milliseconds(800);
  auto node = Node::Start(system, options);
  ASSERT_TRUE(node.ok());
  absl::StatusOr<ActorRef> counter = (*node)->Lookup("counter@" + other->address());
  ASSERT_TRUE(counter.ok());
  ASSERT_TRUE(counter->Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  // Quiet for a while: heartbeats keep the idle stream alive.
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ((*node)->Stats().peers_declared_down, 0);

  // A watcher of the far actor.
  std::atomic<int> node_downs{0};
  ActorRef watcher = system.Spawn<DownCounter>(&node_downs);
  watcher.Tell(*counter);
  ASSERT_TRUE(counter->Ask<test::Pong>(test::Ping(), kWait).Get().ok());

  // Frozen, the process answers nothing but its socket stays open: no reset
  // tells us. The ask is written, and fails when the silence is judged.
  other->Freeze();
  const absl::Time start = absl::Now();
  absl::StatusOr<test::Pong> pong = counter->Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable) << pong.status();
  EXPECT_LT(absl::Now() - start, kWait / 2)
      << "the silence should be judged, not the ask's timeout";
  EXPECT_EQ((*node)->Stats().peers_declared_down, 1);
  EXPECT_TRUE(testkit::Eventually([&] { return node_downs.load() == 1; }))
      << "the watcher should have had a Down with NODE_DOWN";
  other->Thaw();
  // Thawed, it is reachable again (once the back-off allows).
  EXPECT_TRUE(testkit::Eventually([&] {
    return counter->Ask<test::Pong>(test::Ping(), kWait).Get().ok();
  })) << "the thawed node: "
      << other->Describe();
}

TEST(MultiprocessTest, ARestartedNodeIsANewIncarnation) {
  std::unique_ptr<NodeProcess> first = NodeProcess::Start();
  ASSERT_NE(first, nullptr);
  const std::string address = first->address();
  ActorSystem system;
  auto node = Node::Start(system, Options());
  ASSERT_TRUE(node.ok());
  proto::ActorRefProto old_ref;
  old_ref.set_node(address);
  old_ref.set_incarnation(first->incarnation());
  old_ref.set_name("counter");
  absl::StatusOr<ActorRef> old_counter = (*node)->FromProto(old_ref);
  ASSERT_TRUE(old_counter.ok());
  ASSERT_TRUE(old_counter->Ask<test::Pong>(test::Ping(), kWait).Get().ok());

  first->Kill();
  std::unique_ptr<NodeProcess> second = NodeProcess::Start(address);
  ASSERT_NE(second, nullptr) << "could not restart on " << address;
  EXPECT_NE(second->incarnation(), first->incarnation());

  // A ref by name alone reaches the new process (once the back-off allows).
  absl::StatusOr<ActorRef> counter = (*node)->Lookup("counter@" + address);
  ASSERT_TRUE(counter.ok());
  EXPECT_TRUE(testkit::Eventually(
      [&] { return counter->Ask<test::Pong>(test::Ping(), kWait).Get().ok(); }));
  // The ref to the old incarnation does not: its ask fails at once.
  const absl::Time start = absl::Now();
  absl::StatusOr<test::Pong> pong = old_counter->Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable) << pong.status();
  EXPECT_LT(absl::Now() - start, kWait / 2);
}

TEST(MultiprocessTest, APartitionIsJudgedByItsSilenceAndHeals) {
  absl::StatusOr<std::unique_ptr<VethLink>> link = VethLink::Create();
  if (!link.ok()) {
    GTEST_SKIP() << "no partition test here: a veth pair needs root and iproute2 (" << link.status()
                 << ")";
  }
  // The far node lives behind the link; nothing else is in its namespace,
  // so its port is free. Both sides judge silence quickly.
  const std::vector<std::string> fast = {"--heartbeat_ms=100", "--failure_timeout_ms=800"};
  const std::string far_address = (*link)->remote_address() + ":4100";
  std::vector<std::string> flags = fast;
  flags.push_back("--advertise=" + far_address);
  std::unique_ptr<NodeProcess> far = NodeProcess::Start("0.0.0.0:4100", flags, true);
  ASSERT_NE(far, nullptr) << "node_main did not start in a namespace of its own";
  const absl::Status moved = (*link)->MoveInto(far->pid());
  ASSERT_TRUE(moved.ok()) << moved;

  ActorSystem system;
  NodeOptions options = Options();
  options.listen_address = (*link)->local_address() + ":0";  // where the far node reaches us
  options.heartbeat_interval = absl::Milliseconds(100);
  options.failure_timeout = absl::Milliseconds(800);
  auto node = Node::Start(system, options);
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<ActorRef> counter = (*node)->Lookup("counter@" + far_address);
  ASSERT_TRUE(counter.ok());
  ASSERT_TRUE(testkit::Eventually([&] {
    return counter->Ask<test::Pong>(test::Ping(), kWait).Get().ok();
  })) << "the far node over the link: "
      << far->Describe();
  std::atomic<int> node_downs{0};
  ActorRef watcher = system.Spawn<DownCounter>(&node_downs);
  watcher.Tell(*counter);
  constexpr int64_t kBatch = 1000;
  for (int64_t i = 1; i <= kBatch; ++i) counter->Tell(AddOf(i, 0, i));
  absl::StatusOr<test::Total> total;
  const int64_t batch_sum = kBatch * (kBatch + 1) / 2;
  ASSERT_TRUE(testkit::Eventually([&] {
    total = counter->Ask<test::Total>(test::GetTotal(), kWait).Get();
    return total.ok() && total->value() == batch_sum;
  }));

  // Partitioned: the link goes dark, no reset comes. An ask is written
  // into the silence and fails when the silence is judged, not at its
  // timeout; the watch fires NODE_DOWN.
  ASSERT_TRUE((*link)->Down().ok());
  const absl::Time cut = absl::Now();
  absl::StatusOr<test::Pong> pong = counter->Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable) << pong.status();
  EXPECT_LT(absl::Now() - cut, kWait / 2);
  EXPECT_TRUE(testkit::Eventually([&] { return node_downs.load() == 1; }));
  EXPECT_GE((*node)->Stats().peers_declared_down, 1);
  // Mail sent into the partition is not delivered, and each message is a
  // dead letter, counted: at once while the peer backs off, or when a
  // connection attempt goes unanswered.
  constexpr int64_t kLost = 100;
  const int64_t unreachable = system.dead_letters().count(DeadLetterReason::kNodeUnreachable);
  for (int64_t i = 1; i <= kLost; ++i) counter->Tell(AddOf(1000000, 1, i));
  EXPECT_TRUE(testkit::Eventually([&] {
    return system.dead_letters().count(DeadLetterReason::kNodeUnreachable) == unreachable + kLost;
  })) << system.dead_letters().count(DeadLetterReason::kNodeUnreachable) - unreachable
      << " of " << kLost;
  // Long enough for the far side to have judged us too.
  absl::SleepFor(absl::Seconds(2));

  // Healed: the nodes find each other again, and mail crosses exactly once.
  ASSERT_TRUE((*link)->Up().ok());
  EXPECT_TRUE(testkit::Eventually([&] {
    return counter->Ask<test::Pong>(test::Ping(), kWait).Get().ok();
  })) << "after the heal: "
      << far->Describe();
  for (int64_t i = 1; i <= kBatch; ++i) counter->Tell(AddOf(i, 2, i));
  EXPECT_TRUE(testkit::Eventually([&] {
    total = counter->Ask<test::Total>(test::GetTotal(), kWait).Get();
    return total.ok() && total->value() == 2 * batch_sum;
  })) << (total.ok() ? absl::StrCat(total->value(), " of ", 2 * batch_sum)
                     : total.status().ToString());
  EXPECT_EQ(total->out_of_order(), 0);
  // The far actor is watchable again; the old watch fired once only.
  watcher.Tell(*counter);
  ASSERT_TRUE(counter->Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  EXPECT_EQ(node_downs.load(), 1);
}

}  // namespace
}  // namespace troupe::remote
