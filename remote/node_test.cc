// Two nodes in one process, each with its own ActorSystem, talking over
// gRPC on loopback: tell, ask, replies through Sender(), refs inside
// messages, and everything that must fail cleanly — unknown names, unknown
// types, values that are not protobuf messages, oversized messages, an
// unreachable node, an outsider without the token, refs that outlive their
// node.

#include "remote/node.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/dead_letters.h"
#include "actor/send.h"
#include "actor/system.pb.h"
#include "async/block_on.h"
#include "async/task.h"
#include "base/stress.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "remote/ref.pb.h"
#include "remote/testdata/test_messages.pb.h"
#include "remote/wire.grpc.pb.h"
#include "remote/wire.pb.h"
#include "testing/eventually.h"
#include "threads/mutex.h"
#include "threads/priority.h"

namespace troupe::remote {
namespace {

namespace wire = ::troupe::remote::wire;

using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);
constexpr char kToken[] = "node-test-token";

// Sums Adds, checking that each sender's sequence numbers arrive in order;
// answers GetTotal with the sum, Ping with a Pong, and a CallMe by telling
// the ref inside it a Pong.
class Counter : public Actor {
 public:
  explicit Counter(Node** node) : node_(node) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Add>([this](const test::Add& add) {
          total_ += add.value();
          int64_t& last = last_seq_[add.from()];
          if (add.seq() != last + 1) ++out_of_order_;
          last = add.seq();
        })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          test::Total total;
          total.set_value(total_);
          total.set_out_of_order(out_of_order_);
          return total;
        })
        .On<test::Ping>([](const test::Ping& ping) {
          test::Pong pong;
          pong.set_seq(ping.seq());
          return pong;
        })
        .On<test::CallMe>([this](const test::CallMe& call) {
          absl::StatusOr<ActorRef> who = (*node_)->FromProto(call.who());
          if (!who.ok()) return;
          test::Pong pong;
          pong.set_seq(call.seq());
          who->Tell(pong);
        })
        .On<test::Blob>([](const test::Blob&) {});
  }

 private:
  Node** node_;
  int64_t total_ = 0;
  int64_t out_of_order_ = 0;
  std::map<int, int64_t> last_seq_;
};

// Counts the Pongs it gets; a Ping sent to it is forwarded to its target
// with itself as the sender (the Pong comes back through Sender()).
class PongCounter : public Actor {
 public:
  PongCounter(std::atomic<int64_t>* pongs, ActorRef target)
      : pongs_(pongs), target_(std::move(target)) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Pong>([this](const test::Pong&) { pongs_->fetch_add(1); })
        .On<test::Ping>([this](const test::Ping& ping) { Send(target_, ping); });
  }

 private:
  std::atomic<int64_t>* pongs_;
  ActorRef target_;
};

// Counts the distinct senders of the Pings it gets (as ActorRefs: equal
// refs are one sender); answers GetTotal with that count.
class DistinctSenders : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Ping>([this](const test::Ping&) { senders_.insert(Sender()); })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          test::Total total;
          total.set_value(static_cast<int64_t>(senders_.size()));
          return total;
        });
  }

 private:
  absl::flat_hash_set<ActorRef> senders_;
};

// Watches what it is told to (a WatchThis), unwatches on an UnwatchThis,
// and records each Down: its reason and whether it came from the ref
// watched.
struct WatchThis {
  ActorRef target;
};
struct UnwatchThis {
  ActorRef target;
};
struct SeenDown {
  proto::ExitReason::Kind kind;
  std::string detail;
  bool from_target;
};

class Watcher : public Actor {
 public:
  Watcher(Mutex* mu, std::vector<SeenDown>* downs) : mu_(mu), downs_(downs) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<WatchThis>([this](const WatchThis& w) {
          watched_.push_back(w.target);
          Watch(w.target);
        })
        .On<UnwatchThis>([this](const UnwatchThis& w) { Unwatch(w.target); })
        .On<proto::Down>([this](const proto::Down& down) {
          bool from_target = false;
          for (const ActorRef& ref : watched_) from_target |= (Sender() == ref);
          MutexLock lock(*mu_);
          downs_->push_back(SeenDown{down.reason().kind(), down.reason().detail(), from_target});
        });
  }

 private:
  Mutex* mu_;
  std::vector<SeenDown>* downs_;
  std::vector<ActorRef> watched_;
};

NodeOptions Options(std::string token = kToken) {
  NodeOptions options;
  options.cluster_token = std::move(token);
  return options;
}

// Two systems, each with a node; B has a Counter registered as "counter".
class TwoNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = Node::Start(system_a_, Options());
    ASSERT_TRUE(a.ok()) << a.status();
    node_a_ = std::move(*a);
    auto b = Node::Start(system_b_, Options());
    ASSERT_TRUE(b.ok()) << b.status();
    node_b_ = std::move(*b);
    raw_b_ = node_b_.get();
    counter_ = system_b_.Spawn<Counter>(&raw_b_);
    ASSERT_TRUE(system_b_.registry().Register("counter", counter_).ok());
    absl::StatusOr<ActorRef> remote = node_a_->Lookup("counter@" + node_b_->address());
    ASSERT_TRUE(remote.ok()) << remote.status();
    remote_counter_ = *remote;
  }

  void TearDown() override {
    if (node_a_) node_a_->Shutdown();
    if (node_b_) node_b_->Shutdown();
  }

  ActorSystem system_a_;
  ActorSystem system_b_;
  std::unique_ptr<Node> node_a_;
  std::unique_ptr<Node> node_b_;
  Node* raw_b_ = nullptr;
  ActorRef counter_;
  ActorRef remote_counter_;
};

test::Add AddOf(int64_t value, int from, int64_t seq) {
  test::Add add;
  add.set_value(value);
  add.set_from(from);
  add.set_seq(seq);
  return add;
}

TEST_F(TwoNodes, AskGetsTheRemoteReply) {
  test::Ping ping;
  ping.set_seq(42);
  absl::StatusOr<test::Pong> pong = remote_counter_.Ask<test::Pong>(ping, kWait).Get();
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->seq(), 42);
}

TEST_F(TwoNodes, EveryTellArrivesOnceAndInOrderPerSender) {
  constexpr int kSenders = 4;
  const int kPerSender = 20000;
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      for (int i = 1; i <= kPerSender; ++i) remote_counter_.Tell(AddOf(i, s, i));
    });
  }
  for (std::thread& t : senders) t.join();
  const int64_t expected = int64_t{kSenders} * kPerSender * (kPerSender + 1) / 2;
  absl::StatusOr<test::Total> total;
  ASSERT_TRUE(testkit::Eventually([&] {
    total = remote_counter_.Ask<test::Total>(test::GetTotal(), kWait).Get();
    return total.ok() && total->value() == expected;
  })) << (total.ok() ? absl::StrCat(total->value(), " of ", expected) : total.status().ToString());
  EXPECT_EQ(total->out_of_order(), 0);
  EXPECT_EQ(system_a_.dead_letters().total(), 0);
  EXPECT_EQ(system_b_.dead_letters().total(), 0);
  NodeStats stats = node_a_->Stats();
  EXPECT_GE(stats.messages_sent, int64_t{kSenders} * kPerSender);
  EXPECT_LT(stats.batches_sent, stats.messages_sent) << "a burst should share batches";
}

TEST_F(TwoNodes, RepliesGoBackThroughSender) {
  std::atomic<int64_t> pongs{0};
  ActorRef forwarder = system_a_.Spawn<PongCounter>(&pongs, remote_counter_);
  for (int i = 0; i < 100; ++i) {
    test::Ping ping;
    ping.set_seq(i);
    forwarder.Tell(ping);
  }
  EXPECT_TRUE(testkit::Eventually([&] { return pongs.load() == 100; })) << pongs.load();
  EXPECT_GE(node_a_->Stats().exported_refs, 1);
}

TEST_F(TwoNodes, ARefInsideAMessageLeadsBack) {
  std::atomic<int64_t> pongs{0};
  ActorRef listener = system_a_.Spawn<PongCounter>(&pongs, ActorRef());
  test::CallMe call;
  absl::StatusOr<proto::ActorRefProto> who = node_a_->ToProto(listener);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->node(), node_a_->address());
  *call.mutable_who() = *who;
  remote_counter_.Tell(call);
  EXPECT_TRUE(testkit::Eventually([&] { return pongs.load() == 1; }));

  // Back on its own node the proto is the local actor itself.
  absl::StatusOr<ActorRef> back = node_a_->FromProto(*who);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, listener);
  // A ref from an older incarnation of this node finds nothing.
  proto::ActorRefProto stale = *who;
  stale.set_incarnation(who->incarnation() + 1);
  absl::StatusOr<ActorRef> gone = node_a_->FromProto(stale);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(*gone);
}

TEST_F(TwoNodes, RefsToTheSameRemoteActorAreEqual) {
  absl::StatusOr<ActorRef> again = node_a_->Lookup("counter@" + node_b_->address());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, remote_counter_);
  absl::StatusOr<proto::ActorRefProto> wire = node_a_->ToProto(remote_counter_);
  ASSERT_TRUE(wire.ok());
  absl::StatusOr<ActorRef> back = node_a_->FromProto(*wire);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, remote_counter_);
  absl::StatusOr<ActorRef> other = node_a_->Lookup("other@" + node_b_->address());
  ASSERT_TRUE(other.ok());
  EXPECT_NE(*other, remote_counter_);

  // One actor on A, seen on B through many batches, is one sender there.
  ASSERT_TRUE(system_b_.registry().Register("distinct", system_b_.Spawn<DistinctSenders>()).ok());
  absl::StatusOr<ActorRef> distinct = node_a_->Lookup("distinct@" + node_b_->address());
  ASSERT_TRUE(distinct.ok());
  std::atomic<int64_t> pongs{0};
  ActorRef forwarder = system_a_.Spawn<PongCounter>(&pongs, *distinct);
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 5; ++i) forwarder.Tell(test::Ping());
    // A round trip between rounds: each round goes in batches of its own.
    ASSERT_TRUE(remote_counter_.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  }
  absl::StatusOr<test::Total> senders;
  ASSERT_TRUE(testkit::Eventually([&] {
    senders = distinct->Ask<test::Total>(test::GetTotal(), kWait).Get();
    return senders.ok();
  }));
  EXPECT_EQ(senders->value(), 1);
}

// The cache's race: a ref found while its last reference is being dropped
// elsewhere. Two threads look up a name nobody holds and drop the ref at
// once, over and over, so its count keeps going 1 -> 0 while the other
// looks it up (ASan checks that no freed ref is revived); two more look up
// a name whose ref is held throughout, and always get that ref.
TEST_F(TwoNodes, RefsFoundWhileOthersAreDroppedStayValid) {
  const std::string held_name = "held@" + node_b_->address();
  const std::string loose_name = "loose@" + node_b_->address();
  absl::StatusOr<ActorRef> held = node_a_->Lookup(held_name);
  ASSERT_TRUE(held.ok());
  const int kIterations = static_cast<int>(ScaledCount(20000, 2000));
  std::atomic<int> unequal{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        absl::StatusOr<ActorRef> found = node_a_->Lookup(t % 2 == 0 ? held_name : loose_name);
        if (!found.ok() || !*found) {
          failed.fetch_add(1);
        } else if (t % 2 == 0 && *found != *held) {
          unequal.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(unequal.load(), 0);
}

TEST_F(TwoNodes, AnAskForANameThatIsNotThereFailsAtOnce) {
  absl::StatusOr<ActorRef> nobody = node_a_->Lookup("nobody@" + node_b_->address());
  ASSERT_TRUE(nobody.ok());
  const absl::Time start = absl::Now();
  absl::StatusOr<test::Pong> pong = nobody->Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable) << pong.status();
  EXPECT_LT(absl::Now() - start, kWait / 2) << "it should fail fast, not time out";
  EXPECT_TRUE(testkit::Eventually(
      [&] { return system_b_.dead_letters().count(DeadLetterReason::kReceiverStopped) == 1; }));
}

TEST_F(TwoNodes, AnUnknownTypeIsADeadLetterOnTheReceiver) {
  test::NobodyKnows message;
  message.set_text("?");
  remote_counter_.Tell(message);
  EXPECT_TRUE(testkit::Eventually(
      [&] { return system_b_.dead_letters().count(DeadLetterReason::kUnknownType) == 1; }));
  EXPECT_EQ(node_b_->Stats().unknown_types, 1);
  // The stream survives it.
  absl::StatusOr<test::Pong> pong = remote_counter_.Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_TRUE(pong.ok()) << pong.status();
}

TEST_F(TwoNodes, APlainValueIsRefusedAtTheSender) {
  remote_counter_.Tell(std::string("not a protobuf message"));
  EXPECT_EQ(system_a_.dead_letters().count(DeadLetterReason::kNotSerializable), 1);
  absl::StatusOr<test::Pong> pong = remote_counter_.Ask<test::Pong>(42, kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kInvalidArgument) << pong.status();
  EXPECT_THAT(pong.status().message(), HasSubstr("not serializable"));
  int value = 7;
  EXPECT_EQ(remote_counter_.TryTell(value).code(), absl::StatusCode::kUnavailable);
}

TEST_F(TwoNodes, AnOversizedMessageIsRefusedAtTheSender) {
  test::Blob blob;
  blob.set_data(std::string(NodeOptions().max_message_bytes, 'x'));
  absl::StatusOr<test::Pong> pong = remote_counter_.Ask<test::Pong>(blob, kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kInvalidArgument) << pong.status();
  EXPECT_EQ(system_a_.dead_letters().count(DeadLetterReason::kTooLarge), 1);
  // One that fits goes.
  blob.set_data(std::string(NodeOptions().max_message_bytes / 2, 'x'));
  remote_counter_.Tell(blob);
  absl::StatusOr<test::Pong> after = remote_counter_.Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_TRUE(after.ok()) << after.status();
}

TEST_F(TwoNodes, ARemoteActorsPriorityIsItsOwnNodesToSet) {
  const absl::Status set = remote_counter_.SetPriority(Priority::kHigh);
  EXPECT_EQ(set.code(), absl::StatusCode::kInvalidArgument) << set;
  EXPECT_THAT(set.message(), HasSubstr("another node"));
  EXPECT_TRUE(counter_.SetPriority(Priority::kHigh).ok());  // on its own node
}

TEST_F(TwoNodes, MailLargerThanAFrameTogetherGoesInSeveralFramesInOrder) {
  // Five blobs of a third of a frame each, with Adds between them, all
  // queued while the stream is being opened (the first message opens it):
  // the first write may take no more than two blobs.
  const int64_t batches_before = node_a_->Stats().batches_sent;
  test::Blob blob;
  blob.set_data(std::string(NodeOptions().max_message_bytes / 3, 'x'));
  constexpr int kBlobs = 5;
  for (int i = 1; i <= kBlobs; ++i) {
    remote_counter_.Tell(blob);
    remote_counter_.Tell(AddOf(i, /*from=*/1, /*seq=*/i));
  }
  absl::StatusOr<test::Total> total =
      remote_counter_.Ask<test::Total>(test::GetTotal(), kWait).Get();
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(total->value(), kBlobs * (kBlobs + 1) / 2);
  EXPECT_EQ(total->out_of_order(), 0);
  EXPECT_GE(node_a_->Stats().batches_sent - batches_before, (kBlobs + 1) / 2);
}

class Watches : public TwoNodes {
 protected:
  // The watchers write to members of this class and its subclass, which go
  // before TwoNodes' systems do: the systems stop first.
  void TearDown() override {
    TwoNodes::TearDown();
    system_a_.Shutdown();
    system_b_.Shutdown();
  }

  size_t Seen() {
    MutexLock lock(mu_);
    return downs_.size();
  }
  SeenDown Down(size_t i) {
    MutexLock lock(mu_);
    return downs_.at(i);
  }

  Mutex mu_;
  std::vector<SeenDown> downs_;
};

TEST_F(Watches, ADownComesWhenTheRemoteActorStops) {
  ActorRef watcher = system_a_.Spawn<Watcher>(&mu_, &downs_);
  watcher.Tell(WatchThis{remote_counter_});
  // The watch is in place once B has seen it: the same stream carries the
  // request before this ask.
  ASSERT_TRUE(remote_counter_.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  counter_.Tell(proto::Stop());
  ASSERT_TRUE(testkit::Eventually([&] { return Seen() == 1; }));
  EXPECT_EQ(Down(0).kind, proto::ExitReason::NORMAL);
  EXPECT_TRUE(Down(0).from_target) << "the Down must come from the ref that was watched";
}

TEST_F(Watches, AWatchOfNoActorGetsItsDownAtOnce) {
  ActorRef watcher = system_a_.Spawn<Watcher>(&mu_, &downs_);
  absl::StatusOr<ActorRef> nobody = node_a_->Lookup("nobody@" + node_b_->address());
  ASSERT_TRUE(nobody.ok());
  watcher.Tell(WatchThis{*nobody});
  ASSERT_TRUE(testkit::Eventually([&] { return Seen() == 1; }));
  EXPECT_EQ(Down(0).kind, proto::ExitReason::NORMAL);
  EXPECT_EQ(Down(0).detail, "no such actor");
  EXPECT_TRUE(Down(0).from_target);
}

TEST_F(Watches, ALostNodeFiresItsWatchesWithNodeDown) {
  ActorRef watcher = system_a_.Spawn<Watcher>(&mu_, &downs_);
  watcher.Tell(WatchThis{remote_counter_});
  ASSERT_TRUE(remote_counter_.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  node_b_->Shutdown();  // B goes: its server cancels A's stream
  ASSERT_TRUE(testkit::Eventually([&] { return Seen() == 1; }));
  EXPECT_EQ(Down(0).kind, proto::ExitReason::NODE_DOWN) << Down(0).detail;
  EXPECT_TRUE(Down(0).from_target);
}

TEST_F(Watches, AnUnwatchedActorSendsNoDown) {
  Mutex other_mu;
  std::vector<SeenDown> other_downs;
  ActorRef unwatching = system_a_.Spawn<Watcher>(&mu_, &downs_);
  ActorRef still_watching = system_a_.Spawn<Watcher>(&other_mu, &other_downs);
  unwatching.Tell(WatchThis{remote_counter_});
  still_watching.Tell(WatchThis{remote_counter_});
  unwatching.Tell(UnwatchThis{remote_counter_});
  // The watcher has unwatched (its Unwatch is queued for B) before anything
  // below is sent: an ask answers after the mail before it (Watcher has no
  // Ping handler, so it fails at once, in order). Without this, a busy pool
  // could leave UnwatchThis queued while B stopped the counter, and a Down
  // that came before the Unwatch is rightly delivered.
  (void)unwatching.Ask<test::Pong>(test::Ping(), kWait).Get();
  ASSERT_TRUE(remote_counter_.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  counter_.Tell(proto::Stop());
  // The other watcher's Down travels behind the first's unwatch.
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(other_mu);
    return other_downs.size() == 1;
  }));
  // Both watchers' mail goes through one mailbox each; a Down for the
  // unwatching one would have come by now or never (it was never sent).
  ASSERT_TRUE(unwatching.Ask<test::Pong>(test::Ping(), kWait).Get().status().code() !=
              absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(Seen(), 0u);
}

// Links to what it is told to (LinkThis), unlinks on an UnlinkThis, traps
// exits if made to, and records each Exit it gets as a message.
struct LinkThis {
  ActorRef target;
};
struct UnlinkThis {
  ActorRef target;
};
class Linker : public Actor {
 public:
  Linker(bool trap, Mutex* mu, std::vector<SeenDown>* exits)
      : trap_(trap), mu_(mu), exits_(exits) {}

 protected:
  void OnStart() override { TrapExits(trap_); }
  Behavior MakeBehavior() override {
    return Behavior()
        .On<LinkThis>([this](const LinkThis& l) {
          linked_.push_back(l.target);
          Link(l.target);
        })
        .On<UnlinkThis>([this](const UnlinkThis& l) { Unlink(l.target); })
        .On<test::Ping>([](const test::Ping& ping) {
          test::Pong pong;
          pong.set_seq(ping.seq());
          return pong;
        })
        .On<proto::Exit>([this](const proto::Exit& exit) {
          bool from_target = false;
          for (const ActorRef& ref : linked_) from_target |= (Sender() == ref);
          MutexLock lock(*mu_);
          exits_->push_back(SeenDown{exit.reason().kind(), exit.reason().detail(), from_target});
        });
  }

 private:
  const bool trap_;
  Mutex* mu_;
  std::vector<SeenDown>* exits_;
  std::vector<ActorRef> linked_;
};

// Links across nodes behave as watches both ways: A's Linker links to B's
// counter through remote_counter_; a local Watcher on B sees how the counter
// ends, and one on A how the linker does.
class Links : public Watches {
 protected:
  // Spawns a linker on A, links it to B's counter and waits until B has
  // the link (the request travels before this ask on the same stream).
  ActorRef LinkedLinker(bool trap) {
    ActorRef linker = system_a_.Spawn<Linker>(trap, &mu_, &exits_);
    linker.Tell(LinkThis{remote_counter_});
    EXPECT_TRUE(linker.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
    EXPECT_TRUE(remote_counter_.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
    return linker;
  }
  // Watches `target` (in `system`), recording in b_downs_.
  void WatchOn(ActorSystem& system, const ActorRef& target) {
    ActorRef watcher = system.Spawn<Watcher>(&b_mu_, &b_downs_);
    watcher.Tell(WatchThis{target});
    ASSERT_TRUE(watcher.Ask<test::Pong>(test::Ping(), kWait).Get().status().code() !=
                absl::StatusCode::kDeadlineExceeded);
  }
  std::vector<SeenDown> Exits() {
    MutexLock lock(mu_);
    return exits_;
  }
  std::vector<SeenDown> Downs() {
    MutexLock lock(b_mu_);
    return b_downs_;
  }

  std::vector<SeenDown> exits_;
  Mutex b_mu_;
  std::vector<SeenDown> b_downs_;
};

TEST_F(Links, ARemoteActorsFailureStopsItsLinkedActor) {
  ActorRef linker = LinkedLinker(/*trap=*/false);
  WatchOn(system_a_, linker);
  counter_.Tell(proto::Kill());
  ASSERT_TRUE(testkit::Eventually([&] { return Downs().size() == 1; }));
  EXPECT_EQ(Downs()[0].kind, proto::ExitReason::LINKED_EXIT) << Downs()[0].detail;
  EXPECT_THAT(Downs()[0].detail, HasSubstr("KILLED"));
}

TEST_F(Links, ATrappingLinkerGetsTheExitFromTheRefItLinked) {
  ActorRef linker = LinkedLinker(/*trap=*/true);
  counter_.Tell(proto::Kill());
  ASSERT_TRUE(testkit::Eventually([&] { return Exits().size() == 1; }));
  EXPECT_EQ(Exits()[0].kind, proto::ExitReason::KILLED);
  EXPECT_TRUE(Exits()[0].from_target) << "the Exit must come from the ref that was linked";
  EXPECT_TRUE(linker.Ask<test::Pong>(test::Ping(), kWait).Get().ok()) << "trapping: still alive";
}

TEST_F(Links, ALinkersFailureStopsTheRemoteActor) {
  WatchOn(system_b_, counter_);
  ActorRef linker = LinkedLinker(/*trap=*/false);
  linker.Tell(proto::Kill());
  ASSERT_TRUE(testkit::Eventually([&] { return Downs().size() == 1; }));
  EXPECT_EQ(Downs()[0].kind, proto::ExitReason::LINKED_EXIT) << Downs()[0].detail;
  EXPECT_THAT(Downs()[0].detail, HasSubstr("KILLED"));
}

TEST_F(Links, ANormalStopOnEitherSideLeavesTheOtherRunning) {
  WatchOn(system_b_, counter_);
  ActorRef linker = LinkedLinker(/*trap=*/false);
  linker.Tell(proto::Stop());
  ASSERT_TRUE(testkit::Eventually([&] { return !linker.IsAlive(); }));
  // The counter got its Exit (NORMAL, so it stays): it still answers.
  ASSERT_TRUE(remote_counter_.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  EXPECT_TRUE(Downs().empty());
}

TEST_F(Links, AnUnlinkedActorIsNotStopped) {
  ActorRef linker = LinkedLinker(/*trap=*/false);
  linker.Tell(UnlinkThis{remote_counter_});
  ASSERT_TRUE(linker.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  ASSERT_TRUE(remote_counter_.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  counter_.Tell(proto::Kill());
  ASSERT_TRUE(testkit::Eventually([&] { return !counter_.IsAlive(); }));
  // Anything sent to A about it has come by the time this round trip ends.
  WatchOn(system_b_, counter_);
  ASSERT_TRUE(testkit::Eventually([&] { return Downs().size() == 1; }));
  EXPECT_TRUE(linker.Ask<test::Pong>(test::Ping(), kWait).Get().ok()) << "unlinked: alive";
  EXPECT_TRUE(Exits().empty());
}

TEST_F(Links, ALostNodeStopsLinkedActorsOnBothSides) {
  WatchOn(system_b_, counter_);
  ActorRef trapping = LinkedLinker(/*trap=*/true);
  node_a_->Shutdown();  // A's streams end: each side loses the other
  // B's counter hears that its linker's node is gone, and stops.
  ASSERT_TRUE(testkit::Eventually([&] { return Downs().size() == 1; }));
  EXPECT_EQ(Downs()[0].kind, proto::ExitReason::LINKED_EXIT) << Downs()[0].detail;
  EXPECT_THAT(Downs()[0].detail, HasSubstr("NODE_DOWN"));
  // A's trapping linker gets NODE_DOWN from the ref it linked.
  ASSERT_TRUE(testkit::Eventually([&] { return Exits().size() == 1; }));
  EXPECT_EQ(Exits()[0].kind, proto::ExitReason::NODE_DOWN) << Exits()[0].detail;
  EXPECT_TRUE(Exits()[0].from_target);
}

// The two directions between nodes make one association: if B cannot send
// A the answer to its watch (here A advertises an address where nothing
// listens), B ends A's streams to it, and A's watch fires NODE_DOWN rather
// than waiting for a Down that cannot come.
TEST(NodeTest, AWatchWhoseAnswerCannotBeSentFiresNodeDown) {
  ActorSystem system_a;
  ActorSystem system_b;
  NodeOptions unreachable = Options();
  unreachable.advertised_address = "127.0.0.1:1";
  auto a = Node::Start(system_a, unreachable);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Node::Start(system_b, Options());
  ASSERT_TRUE(b.ok()) << b.status();
  Node* raw_b = b->get();
  ActorRef counter = system_b.Spawn<Counter>(&raw_b);
  ASSERT_TRUE(system_b.registry().Register("counter", counter).ok());
  absl::StatusOr<ActorRef> remote = (*a)->Lookup("counter@" + (*b)->address());
  ASSERT_TRUE(remote.ok());

  Mutex mu;
  std::vector<SeenDown> downs;
  ActorRef watcher = system_a.Spawn<Watcher>(&mu, &downs);
  watcher.Tell(WatchThis{*remote});
  // Once the watcher has handled that (an unhandled ask fails fast), an Add
  // through the same ref travels behind its watch request. (A reply could
  // not come back: A cannot be reached.)
  ASSERT_NE(watcher.Ask<test::Pong>(test::Ping(), kWait).Get().status().code(),
            absl::StatusCode::kDeadlineExceeded);
  remote->Tell(AddOf(1, 0, 1));
  ASSERT_TRUE(testkit::Eventually([&] {
    absl::StatusOr<test::Total> total = counter.Ask<test::Total>(test::GetTotal(), kWait).Get();
    return total.ok() && total->value() == 1;
  }));
  counter.Tell(proto::Stop());
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(mu);
    return downs.size() == 1;
  }));
  MutexLock lock(mu);
  EXPECT_EQ(downs[0].kind, proto::ExitReason::NODE_DOWN) << downs[0].detail;
  EXPECT_TRUE(downs[0].from_target);
}

TEST(NodeTest, AnOutsiderWithoutTheTokenReachesNoActor) {
  ActorSystem inside;
  ActorSystem outside;
  auto node = Node::Start(inside, Options("the real token"));
  ASSERT_TRUE(node.ok()) << node.status();
  auto outsider = Node::Start(outside, Options("a guess"));
  ASSERT_TRUE(outsider.ok()) << outsider.status();
  Node* raw = node->get();
  ActorRef counter = inside.Spawn<Counter>(&raw);
  ASSERT_TRUE(inside.registry().Register("counter", counter).ok());

  absl::StatusOr<ActorRef> target = (*outsider)->Lookup("counter@" + (*node)->address());
  ASSERT_TRUE(target.ok());
  target->Tell(AddOf(1, 0, 1));
  absl::StatusOr<test::Pong> pong = target->Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable) << pong.status();
  EXPECT_TRUE(testkit::Eventually([&] { return (*node)->Stats().streams_refused >= 1; }));
  EXPECT_EQ((*node)->Stats().messages_received, 0);
  EXPECT_GE(outside.dead_letters().count(DeadLetterReason::kNodeUnreachable), 1);
  absl::StatusOr<test::Total> total = counter.Ask<test::Total>(test::GetTotal(), kWait).Get();
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(total->value(), 0) << "the outsider's Add reached the actor";
}

TEST(NodeTest, MailForANodeThatIsNotThereIsADeadLetter) {
  ActorSystem system;
  auto node = Node::Start(system, Options());
  ASSERT_TRUE(node.ok());
  // A port that was just free: nothing listens there.
  std::string address;
  {
    ActorSystem scratch;
    auto gone = Node::Start(scratch, Options());
    ASSERT_TRUE(gone.ok());
    address = (*gone)->address();
  }
  absl::StatusOr<ActorRef> target = (*node)->Lookup("counter@" + address);
  ASSERT_TRUE(target.ok());
  absl::StatusOr<test::Pong> pong = target->Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable) << pong.status();
  EXPECT_THAT(pong.status().message(), HasSubstr("node unreachable"));
  // While it backs off, mail fails at once.
  target->Tell(test::Ping());
  EXPECT_GE(system.dead_letters().count(DeadLetterReason::kNodeUnreachable), 1);
  EXPECT_GE((*node)->Stats().unreachable, 1);
}

// A node that never answers: its listening socket takes the connection
// (the kernel's backlog) but nothing on it speaks gRPC, so a stream to it
// never opens and mail for it waits in the queue.
class SilentListener {
 public:
  SilentListener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(fd_, 16) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "no listening socket";
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentListener() { close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

Task<absl::Status> SendPing(ActorRef to, int64_t seq) {
  test::Ping ping;
  ping.set_seq(seq);
  absl::Status sent = co_await to.Send(ping);
  if (!sent.ok() && ping.seq() != seq) sent = absl::InternalError("the ping was not handed back");
  co_return sent;
}

test::Blob BlobOf(size_t bytes) {
  test::Blob blob;
  blob.set_data(std::string(bytes, 'x'));
  return blob;
}

TEST(NodeTest, MailForAPeerThatNeverReadsIsHeldToTheQueuesLimits) {
  ActorSystem system;
  NodeOptions options = Options();
  options.max_queued_per_peer = 8;
  options.max_queued_bytes_per_peer = 100 << 10;
  options.failure_timeout = absl::Minutes(5);  // not declared down while the test runs
  auto node = Node::Start(system, options);
  ASSERT_TRUE(node.ok()) << node.status();
  SilentListener by_count, by_bytes, by_size;
  auto target = [&](const SilentListener& listener) {
    absl::StatusOr<ActorRef> ref = (*node)->Lookup("counter@" + listener.address());
    EXPECT_TRUE(ref.ok()) << ref.status();
    return ref.value_or(ActorRef());
  };

  // By count: eight small messages wait; the ninth is refused, and handed back.
  const ActorRef counted = target(by_count);
  for (int i = 1; i <= 8; ++i) {
    test::Ping ping;
    ping.set_seq(i);
    ASSERT_TRUE(counted.TryTell(ping).ok()) << i;
  }
  test::Ping ninth;
  ninth.set_seq(9);
  EXPECT_EQ(counted.TryTell(ninth).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ninth.seq(), 9);
  // A Tell is a dead letter with its reason; an ask fails at once.
  counted.Tell(test::Ping());
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kMailboxFull), 1);
  absl::StatusOr<test::Pong> pong = counted.Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kResourceExhausted) << pong.status();
  // A thread may wait for room, until its deadline; the message comes back.
  const absl::Time start = absl::Now();
  EXPECT_EQ(counted.TellWithin(ninth, absl::Milliseconds(100)).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  EXPECT_EQ(ninth.seq(), 9);
  // A task cannot wait in a remote queue's line (it has none): refused at once.
  EXPECT_EQ(BlockOn(SendPing(counted, 10)).code(), absl::StatusCode::kResourceExhausted);

  // By bytes: three blobs of 30 KiB (encoded) fit in 100 KiB, a fourth does
  // not, and a small message still fits beside them.
  const ActorRef weighed = target(by_bytes);
  for (int i = 1; i <= 3; ++i) {
    test::Blob blob = BlobOf(30 << 10);
    ASSERT_TRUE(weighed.TryTell(blob).ok()) << i;
  }
  test::Blob fourth = BlobOf(30 << 10);
  EXPECT_EQ(weighed.TryTell(fourth).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(fourth.data().size(), size_t{30} << 10);
  test::Ping small;
  EXPECT_TRUE(weighed.TryTell(small).ok());

  // A message larger than the byte limit (but within a frame) goes into an
  // empty queue, alone.
  const ActorRef sized = target(by_size);
  test::Blob large = BlobOf(200 << 10);
  EXPECT_TRUE(sized.TryTell(large).ok());
  test::Ping behind;
  EXPECT_EQ(sized.TryTell(behind).code(), absl::StatusCode::kResourceExhausted);

  // Every refusal counted: the ninth, the Tell, the ask, the ninth's wait
  // (at least its first and last tries), the task's send, the fourth blob,
  // the ping behind the large blob.
  EXPECT_GE((*node)->Stats().queue_full, 8);
  (*node)->Shutdown();  // the waiting mail is dead-lettered; nothing hangs
}

TEST(NodeTest, ARefOutlivesItsNodeAndSystem) {
  ActorRef survivor;
  {
    ActorSystem system;
    auto node = Node::Start(system, Options());
    ASSERT_TRUE(node.ok());
    absl::StatusOr<ActorRef> ref = (*node)->Lookup("x@127.0.0.1:1");
    ASSERT_TRUE(ref.ok());
    survivor = *ref;
    (*node)->Shutdown();
    survivor.Tell(test::Ping());  // node closed: a dead letter
    EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kNodeUnreachable), 1);
  }
  const int64_t before = OrphanDeadLetters().count(DeadLetterReason::kSystemGone);
  survivor.Tell(test::Ping());
  EXPECT_EQ(OrphanDeadLetters().count(DeadLetterReason::kSystemGone), before + 1);
  EXPECT_FALSE(survivor.IsAlive());
}

// A hand-made client on the wire protocol, as a hostile or broken peer.
class RawClient {
 public:
  explicit RawClient(const std::string& address)
      : stub_(wire::Transport::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))),
        stream_(stub_->Connect(&context_)) {}

  bool Write(const wire::Frame& frame) { return stream_->Write(frame); }
  bool Read(wire::Frame* frame) { return stream_->Read(frame); }
  grpc::Status Finish() { return stream_->Finish(); }
  // Says Hello with the cluster's token: true once the Welcome is read.
  bool Greet(uint32_t heartbeat_ms = 1000) {
    wire::Frame welcome;
    return Write(Hello(kToken, heartbeat_ms)) && Read(&welcome) && welcome.has_welcome();
  }

  static wire::Frame Hello(std::string token, uint32_t heartbeat_ms = 1000) {
    wire::Frame frame;
    wire::Hello* hello = frame.mutable_hello();
    hello->set_protocol_version(1);
    hello->set_node("127.0.0.1:1");
    hello->set_incarnation(7);
    hello->set_cluster_token(std::move(token));
    hello->set_heartbeat_interval_ms(heartbeat_ms);
    return frame;
  }

  // One Add for "counter".
  static wire::Frame AddBatch() {
    wire::Frame frame;
    wire::Batch* batch = frame.mutable_batch();
    batch->add_type_names("troupe.remote.test.Add");
    batch->add_targets()->set_name("counter");
    wire::Envelope* envelope = batch->add_envelopes();
    test::Add add;
    add.set_value(1);
    add.set_seq(1);
    envelope->set_payload(add.SerializeAsString());
    return frame;
  }

 private:
  std::unique_ptr<wire::Transport::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<wire::Frame, wire::Frame>> stream_;
};

class RawClients : public ::testing::Test {
 protected:
  void SetUp() override {
    NodeOptions options = Options();
    options.heartbeat_interval = absl::Milliseconds(50);
    options.failure_timeout = absl::Milliseconds(400);
    auto node = Node::Start(system_, options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    raw_ = node_.get();
    counter_ = system_.Spawn<Counter>(&raw_);
    ASSERT_TRUE(system_.registry().Register("counter", counter_).ok());
  }

  int64_t Total() {
    absl::StatusOr<test::Total> total = counter_.Ask<test::Total>(test::GetTotal(), kWait).Get();
    return total.ok() ? total->value() : -1;
  }

  ActorSystem system_;
  std::unique_ptr<Node> node_;
  Node* raw_ = nullptr;
  ActorRef counter_;
};

TEST_F(RawClients, ABatchBeforeTheHelloIsRefused) {
  RawClient client(node_->address());
  client.Write(RawClient::AddBatch());
  wire::Frame frame;
  EXPECT_FALSE(client.Read(&frame));
  EXPECT_EQ(client.Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Total(), 0);
  EXPECT_EQ(node_->Stats().streams_refused, 1);
}

TEST_F(RawClients, AWrongTokenIsRefused) {
  RawClient client(node_->address());
  client.Write(RawClient::Hello("not the token"));
  client.Write(RawClient::AddBatch());
  wire::Frame frame;
  EXPECT_FALSE(client.Read(&frame));
  EXPECT_EQ(client.Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Total(), 0);
}

TEST_F(RawClients, TheRightTokenIsWelcomedAndItsMailDelivered) {
  RawClient client(node_->address());
  ASSERT_TRUE(client.Write(RawClient::Hello(kToken)));
  wire::Frame frame;
  ASSERT_TRUE(client.Read(&frame));
  EXPECT_TRUE(frame.has_welcome());
  EXPECT_EQ(frame.welcome().incarnation(), node_->incarnation());
  ASSERT_TRUE(client.Write(RawClient::AddBatch()));
  EXPECT_TRUE(testkit::Eventually([&] { return Total() == 1; }));
}

TEST_F(RawClients, AMalformedBatchIsDroppedWholeAndTheStreamGoesOn) {
  RawClient client(node_->address());
  ASSERT_TRUE(client.Greet());
  // A good envelope (1), then one whose target index is out of range.
  wire::Frame malformed = RawClient::AddBatch();
  *malformed.mutable_batch()->add_envelopes() = malformed.batch().envelopes(0);
  malformed.mutable_batch()->mutable_envelopes(1)->set_target(5);
  ASSERT_TRUE(client.Write(malformed));
  // Then a good batch of 10: the total is 10 alone, not 11.
  wire::Frame good = RawClient::AddBatch();
  test::Add ten;
  ten.set_value(10);
  ten.set_seq(1);
  good.mutable_batch()->mutable_envelopes(0)->set_payload(ten.SerializeAsString());
  ASSERT_TRUE(client.Write(good));
  EXPECT_TRUE(testkit::Eventually([&] { return Total() == 10; })) << Total();
}

TEST_F(RawClients, ASilentCallerIsCutOff) {
  RawClient client(node_->address());
  ASSERT_TRUE(client.Greet(/*heartbeat_ms=*/50));  // then nothing from us
  wire::Frame frame;
  while (client.Read(&frame)) {
  }
  const grpc::Status status = client.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(node_->Stats().silent_streams_closed, 1);
}

TEST_F(RawClients, AHeartbeatIsAnsweredAndKeepsTheStream) {
  RawClient client(node_->address());
  ASSERT_TRUE(client.Greet(/*heartbeat_ms=*/50));
  wire::Frame frame;
  wire::Frame heartbeat;
  heartbeat.mutable_heartbeat();
  for (int i = 0; i < 20; ++i) {  // a second, past the failure timeout
    absl::SleepFor(absl::Milliseconds(50));
    ASSERT_TRUE(client.Write(heartbeat));
    ASSERT_TRUE(client.Read(&frame));
    EXPECT_TRUE(frame.has_heartbeat());
  }
  EXPECT_EQ(node_->Stats().silent_streams_closed, 0);
}

TEST_F(RawClients, AnOversizedFrameIsRefusedUnread) {
  RawClient client(node_->address());
  ASSERT_TRUE(client.Greet());
  wire::Frame huge = RawClient::AddBatch();
  huge.mutable_batch()->mutable_envelopes(0)->set_payload(
      std::string(NodeOptions().max_message_bytes + 1, 'x'));
  client.Write(huge);
  wire::Frame frame;
  while (client.Read(&frame)) {
  }
  EXPECT_EQ(client.Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(Total(), 0);
}

TEST(NodeTest, BadOptionsAndAddressesAreClearErrors) {
  ActorSystem system;
  EXPECT_EQ(Node::Start(system, NodeOptions()).status().code(), absl::StatusCode::kInvalidArgument);
  NodeOptions bad = Options();
  bad.listen_address = "no-port";
  EXPECT_EQ(Node::Start(system, bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = Options();
  bad.failure_timeout = bad.heartbeat_interval;
  EXPECT_EQ(Node::Start(system, bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = Options();
  bad.max_queued_bytes_per_peer = 0;
  EXPECT_EQ(Node::Start(system, bad).status().code(), absl::StatusCode::kInvalidArgument);
  auto node = Node::Start(system, Options());
  ASSERT_TRUE(node.ok());
  EXPECT_EQ((*node)->Lookup("no-at-sign").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*node)->Lookup("@127.0.0.1:80").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*node)->Lookup("x@host-without-port").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*node)->ToProto(ActorRef()).status().code(), absl::StatusCode::kInvalidArgument);
  // Its own address: the local registry.
  ActorRef local = system.Spawn<PongCounter>(nullptr, ActorRef());
  ASSERT_TRUE(system.registry().Register("local", local).ok());
  absl::StatusOr<ActorRef> found = (*node)->Lookup("local@" + (*node)->address());
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, local);
}

}  // namespace
}  // namespace troupe::remote
