// Membership: nodes that find each other through a real etcd (started here
// on loopback), departures that reach every node — a node that leaves, and
// one whose lease lapses — cluster-wide names that vanish with their node,
// and the static seed provider.

#include "remote/membership.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_ref.h"
#include "actor/actor_system.h"
#include "actor/system.pb.h"
#include "gtest/gtest.h"
#include "remote/cluster.pb.h"
#include "remote/etcd.grpc.pb.h"
#include "remote/node.h"
#include "remote/testdata/etcd_server.h"
#include "remote/testdata/test_messages.pb.h"
#include "testing/eventually.h"
#include "threads/mutex.h"

namespace troupe::remote {
namespace {

constexpr absl::Duration kWait = absl::Seconds(30);
constexpr char kToken[] = "membership-test-token";

// Answers a Ping with a Pong.
class Ponger : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<test::Ping>([](const test::Ping& ping) {
      test::Pong pong;
      pong.set_seq(ping.seq());
      return pong;
    });
  }
};

// Records the MemberUp and MemberDown it is told, as "+address" / "-address".
class MemberLog : public Actor {
 public:
  MemberLog(Mutex* mu, std::vector<std::string>* log) : mu_(mu), log_(log) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<proto::MemberUp>([this](const proto::MemberUp& up) {
          MutexLock lock(*mu_);
          log_->push_back("+" + up.address());
        })
        .On<proto::MemberDown>([this](const proto::MemberDown& down) {
          MutexLock lock(*mu_);
          log_->push_back("-" + down.address());
        });
  }

 private:
  Mutex* mu_;
  std::vector<std::string>* log_;
};

// Counts the Downs of what it watches, by kind.
class Watcher : public Actor {
 public:
  explicit Watcher(std::atomic<int>* node_downs) : node_downs_(node_downs) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<ActorRef>([this](const ActorRef& target) { Watch(target); })
        .On<proto::Down>([this](const proto::Down& down) {
          if (down.reason().kind() == proto::ExitReason::NODE_DOWN) node_downs_->fetch_add(1);
        });
  }

 private:
  std::atomic<int>* node_downs_;
};

class EtcdCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    etcd_ = testdata::EtcdServer::Start();
    ASSERT_NE(etcd_, nullptr) << testdata::EtcdServer::last_error();
  }

  EtcdMembershipOptions Etcd() const {
    EtcdMembershipOptions options;
    options.endpoint = etcd_->endpoint();
    options.prefix = "/troupe/test";
    options.lease_ttl = absl::Seconds(5);
    options.rpc_timeout = absl::Seconds(5);
    return options;
  }

  std::unique_ptr<Node> StartNode(ActorSystem& system) {
    NodeOptions options;
    options.cluster_token = kToken;
    absl::StatusOr<std::shared_ptr<MembershipProvider>> membership = EtcdMembership(Etcd());
    EXPECT_TRUE(membership.ok()) << membership.status();
    options.membership = *membership;
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(system, options);
    EXPECT_TRUE(node.ok()) << node.status();
    return node.ok() ? std::move(*node) : nullptr;
  }

  static bool Lists(const Node& node, const std::string& address) {
    for (const Member& member : node.Members()) {
      if (member.address == address) return true;
    }
    return false;
  }

  // Revokes the lease behind `address`'s member key, as etcd does when a
  // node stops keeping it alive: its keys are deleted.
  void RevokeLeaseOf(const std::string& address) {
    auto channel = grpc::CreateChannel(etcd_->endpoint(), grpc::InsecureChannelCredentials());
    auto kv = etcdserverpb::KV::NewStub(channel);
    auto lease = etcdserverpb::Lease::NewStub(channel);
    etcdserverpb::RangeRequest range;
    range.set_key("/troupe/test/members/" + address);
    etcdserverpb::RangeResponse found;
    grpc::ClientContext range_context;
    ASSERT_TRUE(kv->Range(&range_context, range, &found).ok());
    ASSERT_EQ(found.kvs_size(), 1);
    etcdserverpb::LeaseRevokeRequest revoke;
    revoke.set_id(found.kvs(0).lease());
    etcdserverpb::LeaseRevokeResponse revoked;
    grpc::ClientContext revoke_context;
    ASSERT_TRUE(lease->LeaseRevoke(&revoke_context, revoke, &revoked).ok());
  }

  std::unique_ptr<testdata::EtcdServer> etcd_;
};

TEST_F(EtcdCluster, NodesFindEachOtherAndSubscribersHear) {
  Mutex mu;  // before the systems: their actors write to these to the end
  std::vector<std::string> log;
  ActorSystem system_a;
  ActorSystem system_b;
  std::unique_ptr<Node> a = StartNode(system_a);
  ASSERT_NE(a, nullptr);
  a->SubscribeMembers(system_a.Spawn<MemberLog>(&mu, &log));
  std::unique_ptr<Node> b = StartNode(system_b);
  ASSERT_NE(b, nullptr);

  EXPECT_TRUE(testkit::Eventually([&] { return Lists(*a, b->address()); }, kWait));
  EXPECT_TRUE(Lists(*b, a->address())) << "b saw a at once: a was there when b joined";
  EXPECT_FALSE(Lists(*a, a->address())) << "a node is not its own member";
  EXPECT_TRUE(testkit::Eventually(
      [&] {
        MutexLock lock(mu);
        return log == std::vector<std::string>{"+" + b->address()};
      },
      kWait));
  for (const Member& member : a->Members()) {
    if (member.address == b->address()) {
      EXPECT_EQ(member.incarnation, b->incarnation());
    }
  }

  // b leaves: a hears at once (its lease is revoked), not after the TTL.
  const std::string b_address = b->address();
  b->Shutdown();
  EXPECT_TRUE(testkit::Eventually([&] { return !Lists(*a, b_address); }, absl::Seconds(3)));
  EXPECT_TRUE(testkit::Eventually(
      [&] {
        MutexLock lock(mu);
        return log.back() == "-" + b_address;
      },
      kWait));
}

// A node whose lease lapses (here revoked behind its back, as etcd does when
// keep-alives stop: a dead or cut-off node) is gone for the others at once —
// watches of its actors fire NODE_DOWN though its stream is still up — and
// it joins again when it finds out.
TEST_F(EtcdCluster, ALapsedLeaseIsADepartureAndTheNodeRejoins) {
  Mutex mu;  // before the systems: their actors write to these to the end
  std::vector<std::string> log;
  std::atomic<int> node_downs{0};
  ActorSystem system_a;
  ActorSystem system_b;
  std::unique_ptr<Node> a = StartNode(system_a);
  std::unique_ptr<Node> b = StartNode(system_b);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(system_b.registry().Register("ponger", system_b.Spawn<Ponger>()).ok());
  ASSERT_TRUE(testkit::Eventually([&] { return Lists(*a, b->address()); }, kWait));
  a->SubscribeMembers(system_a.Spawn<MemberLog>(&mu, &log));

  absl::StatusOr<ActorRef> ponger = a->Lookup("ponger@" + b->address());
  ASSERT_TRUE(ponger.ok());
  ASSERT_TRUE(ponger->Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  ActorRef watcher = system_a.Spawn<Watcher>(&node_downs);
  watcher.Tell(*ponger);
  ASSERT_TRUE(ponger->Ask<test::Pong>(test::Ping(), kWait).Get().ok());

  RevokeLeaseOf(b->address());
  EXPECT_TRUE(testkit::Eventually([&] { return node_downs.load() == 1; }, kWait))
      << "a departure declares the node down";
  // b's keeper learns its lease is gone and puts itself back.
  EXPECT_TRUE(testkit::Eventually(
      [&] {
        MutexLock lock(mu);
        return log ==
               std::vector<std::string>{"+" + b->address(), "-" + b->address(), "+" + b->address()};
      },
      kWait));
  EXPECT_TRUE(testkit::Eventually(
      [&] { return ponger->Ask<test::Pong>(test::Ping(), kWait).Get().ok(); }, kWait))
      << "reachable again";
}

TEST_F(EtcdCluster, NamesAreClusterWideAndGoWithTheirNode) {
  ActorSystem system_a;
  ActorSystem system_b;
  std::unique_ptr<Node> a = StartNode(system_a);
  std::unique_ptr<Node> b = StartNode(system_b);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(b->RegisterGlobal("room", system_b.Spawn<Ponger>()).ok());

  absl::StatusOr<ActorRef> room = a->LookupGlobal("room");
  ASSERT_TRUE(room.ok()) << room.status();
  EXPECT_TRUE(room->Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  EXPECT_EQ(a->RegisterGlobal("room", system_a.Spawn<Ponger>()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(a->LookupGlobal("nobody").status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<ActorRef> local = b->LookupGlobal("room");
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(local->Ask<test::Pong>(test::Ping(), kWait).Get().ok());

  b->Shutdown();
  EXPECT_EQ(a->LookupGlobal("room").status().code(), absl::StatusCode::kNotFound)
      << "the name went with its node";
  // Free again: another node may take it.
  EXPECT_TRUE(a->RegisterGlobal("room", system_a.Spawn<Ponger>()).ok());
  EXPECT_TRUE(a->UnregisterGlobal("room").ok());
  EXPECT_EQ(a->LookupGlobal("room").status().code(), absl::StatusCode::kNotFound);
}

// A name is claimed atomically: of two nodes racing for it, one wins.
TEST_F(EtcdCluster, OfTwoNodesRacingForANameOneWins) {
  ActorSystem system_a;
  ActorSystem system_b;
  std::unique_ptr<Node> a = StartNode(system_a);
  std::unique_ptr<Node> b = StartNode(system_b);
  ASSERT_TRUE(a && b);
  ActorRef on_a = system_a.Spawn<Ponger>();
  ActorRef on_b = system_b.Spawn<Ponger>();
  constexpr int kNames = 20;
  std::vector<absl::Status> from_a(kNames);
  std::vector<absl::Status> from_b(kNames);
  std::thread racer([&] {
    for (int i = 0; i < kNames; ++i) from_b[i] = b->RegisterGlobal(absl::StrCat("race", i), on_b);
  });
  for (int i = 0; i < kNames; ++i) from_a[i] = a->RegisterGlobal(absl::StrCat("race", i), on_a);
  racer.join();
  for (int i = 0; i < kNames; ++i) {
    EXPECT_NE(from_a[i].ok(), from_b[i].ok()) << i << ": " << from_a[i] << " / " << from_b[i];
    const absl::Status& lost = from_a[i].ok() ? from_b[i] : from_a[i];
    EXPECT_EQ(lost.code(), absl::StatusCode::kAlreadyExists) << lost;
  }
}

TEST(MembershipTest, AnEtcdThatCannotBeReachedFailsStartClearly) {
  ActorSystem system;
  EtcdMembershipOptions etcd;
  etcd.endpoint = "127.0.0.1:1";
  etcd.rpc_timeout = absl::Seconds(1);
  absl::StatusOr<std::shared_ptr<MembershipProvider>> membership = EtcdMembership(etcd);
  ASSERT_TRUE(membership.ok());
  NodeOptions options;
  options.cluster_token = kToken;
  options.membership = *membership;
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(system, options);
  EXPECT_EQ(node.status().code(), absl::StatusCode::kUnavailable) << node.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(MembershipTest, BadEtcdOptionsAreClearErrors) {
  EtcdMembershipOptions no_endpoint;
  no_endpoint.endpoint = "";
  EXPECT_EQ(EtcdMembership(no_endpoint).status().code(), absl::StatusCode::kInvalidArgument);
  EtcdMembershipOptions short_lease;
  short_lease.lease_ttl = absl::Milliseconds(100);
  EXPECT_EQ(EtcdMembership(short_lease).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MembershipTest, StaticSeedsAreTheMembersAndKeepNoNames) {
  ActorSystem system;
  NodeOptions options;
  options.cluster_token = kToken;
  options.membership = StaticMembership({"10.0.0.1:4100", "10.0.0.2:4100"});
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(system, options);
  ASSERT_TRUE(node.ok()) << node.status();
  std::vector<Member> members = (*node)->Members();
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].address, "10.0.0.1:4100");
  EXPECT_EQ(members[1].address, "10.0.0.2:4100");
  EXPECT_EQ((*node)->RegisterGlobal("x", system.Spawn<Ponger>()).code(),
            absl::StatusCode::kUnimplemented);
}

TEST(MembershipTest, WithoutAProviderNamesAreAPreconditionError) {
  ActorSystem system;
  NodeOptions options;
  options.cluster_token = kToken;
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Start(system, options);
  ASSERT_TRUE(node.ok());
  EXPECT_TRUE((*node)->Members().empty());
  EXPECT_EQ((*node)->LookupGlobal("x").status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace troupe::remote
