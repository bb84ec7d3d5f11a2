// Nodes over mutual TLS (NodeOptions::tls), with the test certificates in
// testdata/certs (make_certs.sh): the cluster's nodes talk; an outsider —
// a certificate from another authority, no certificate, or no TLS at all —
// gets nothing delivered to any actor, even with the right token; a
// dialled node whose certificate does not carry the expected name is not
// talked to; credentials that are not PEM are a clear error at Start.

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/dead_letters.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "remote/node.h"
#include "remote/testdata/test_messages.pb.h"
#include "remote/wire.grpc.pb.h"
#include "remote/wire.pb.h"
#include "testing/eventually.h"

namespace troupe::remote {
namespace {

namespace wire = ::troupe::remote::wire;

using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);
constexpr char kToken[] = "tls-test-token";
constexpr char kCerts[] = "remote/testdata/certs/";

// Sums Adds; answers GetTotal and Ping.
class Counter : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Add>([this](const test::Add& add) { total_ += add.value(); })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          test::Total total;
          total.set_value(total_);
          return total;
        })
        .On<test::Ping>([](const test::Ping& ping) {
          test::Pong pong;
          pong.set_seq(ping.seq());
          return pong;
        });
  }

 private:
  int64_t total_ = 0;
};

std::string Path(const std::string& file) { return std::string(kCerts) + file; }

// The cluster's certificate, or the outsider's (signed by an authority the
// cluster does not trust, with the same names).
TlsOptions Tls(const std::string& who = "node", const std::string& authority = "ca") {
  absl::StatusOr<TlsOptions> tls =
      TlsOptions::FromFiles(Path(authority + ".pem"), Path(who + ".pem"), Path(who + ".key"));
  EXPECT_TRUE(tls.ok()) << tls.status();
  return tls.ok() ? *tls : TlsOptions();
}

NodeOptions Options(std::optional<TlsOptions> tls) {
  NodeOptions options;
  options.cluster_token = kToken;
  options.tls = std::move(tls);
  return options;
}

test::Add AddOf(int64_t value) {
  test::Add add;
  add.set_value(value);
  add.set_seq(1);
  return add;
}

// A node of the cluster (over TLS) with a Counter registered as "counter".
class TlsCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    auto node = Node::Start(system_, Options(Tls()));
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    counter_ = system_.Spawn<Counter>();
    ASSERT_TRUE(system_.registry().Register("counter", counter_).ok());
  }

  void TearDown() override {
    if (node_) node_->Shutdown();
  }

  int64_t Total() {
    absl::StatusOr<test::Total> total = counter_.Ask<test::Total>(test::GetTotal(), kWait).Get();
    return total.ok() ? total->value() : -1;
  }

  // An outsider's node tries the counter with the right token: the Add and
  // the ask must reach nothing.
  void ExpectShutOut(NodeOptions outsider_options) {
    ActorSystem outside;
    auto outsider = Node::Start(outside, std::move(outsider_options));
    ASSERT_TRUE(outsider.ok()) << outsider.status();
    absl::StatusOr<ActorRef> target = (*outsider)->Lookup("counter@" + node_->address());
    ASSERT_TRUE(target.ok());
    target->Tell(AddOf(1));
    absl::StatusOr<test::Pong> pong = target->Ask<test::Pong>(test::Ping(), kWait).Get();
    EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable) << pong.status();
    EXPECT_GE(outside.dead_letters().count(DeadLetterReason::kNodeUnreachable), 1);
    EXPECT_EQ(node_->Stats().messages_received, 0);
    EXPECT_EQ(Total(), 0) << "the outsider's Add reached the actor";
    (*outsider)->Shutdown();
  }

  ActorSystem system_;
  std::unique_ptr<Node> node_;
  ActorRef counter_;
};

TEST_F(TlsCluster, NodesWithTheClustersCertificatesTalk) {
  ActorSystem other;
  auto peer = Node::Start(other, Options(Tls()));
  ASSERT_TRUE(peer.ok()) << peer.status();
  absl::StatusOr<ActorRef> remote = (*peer)->Lookup("counter@" + node_->address());
  ASSERT_TRUE(remote.ok());
  for (int i = 1; i <= 100; ++i) remote->Tell(AddOf(i));
  absl::StatusOr<test::Pong> pong = remote->Ask<test::Pong>(test::Ping(), kWait).Get();
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_TRUE(testkit::Eventually([&] { return Total() == 5050; }));
  EXPECT_EQ(other.dead_letters().total(), 0);
  (*peer)->Shutdown();
}

TEST_F(TlsCluster, ASharedPeerNameIsWhatTheDialledCertificateMustCarry) {
  ActorSystem other;
  TlsOptions shared = Tls();
  shared.peer_name = "troupe-node";  // in every node's certificate
  auto peer = Node::Start(other, Options(shared));
  ASSERT_TRUE(peer.ok()) << peer.status();
  absl::StatusOr<ActorRef> remote = (*peer)->Lookup("counter@" + node_->address());
  ASSERT_TRUE(remote.ok());
  EXPECT_TRUE(remote->Ask<test::Pong>(test::Ping(), kWait).Get().ok());
  (*peer)->Shutdown();

  // A name the certificate does not carry: the dialling node hangs up.
  ActorSystem wary;
  TlsOptions wrong = Tls();
  wrong.peer_name = "someone-else";
  auto doubter = Node::Start(wary, Options(wrong));
  ASSERT_TRUE(doubter.ok()) << doubter.status();
  absl::StatusOr<ActorRef> unverified = (*doubter)->Lookup("counter@" + node_->address());
  ASSERT_TRUE(unverified.ok());
  unverified->Tell(AddOf(1));
  absl::StatusOr<test::Pong> pong = unverified->Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable) << pong.status();
  EXPECT_EQ(Total(), 0);
  (*doubter)->Shutdown();
}

TEST_F(TlsCluster, ACertificateFromAnotherAuthorityReachesNoActor) {
  // The outsider trusts the cluster's authority (it can check the server),
  // but its own certificate was signed by another.
  ExpectShutOut(Options(Tls("outsider", "ca")));
  // Nor does a cluster node talk to a server whose certificate the cluster
  // did not sign.
  ActorSystem outside;
  auto impostor = Node::Start(outside, Options(Tls("outsider", "ca")));
  ASSERT_TRUE(impostor.ok()) << impostor.status();
  ActorRef bait = outside.Spawn<Counter>();
  ASSERT_TRUE(outside.registry().Register("counter", bait).ok());
  absl::StatusOr<ActorRef> lure = node_->Lookup("counter@" + (*impostor)->address());
  ASSERT_TRUE(lure.ok());
  absl::StatusOr<test::Pong> pong = lure->Ask<test::Pong>(test::Ping(), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable) << pong.status();
  EXPECT_EQ((*impostor)->Stats().messages_received, 0);
  (*impostor)->Shutdown();
}

TEST_F(TlsCluster, APlaintextCallerReachesNoActor) { ExpectShutOut(Options(std::nullopt)); }

TEST_F(TlsCluster, ACallerWithoutACertificateReachesNoActor) {
  // TLS that checks the server but presents nothing: refused in the
  // handshake, before the Hello with the right token is read.
  grpc::SslCredentialsOptions anonymous;
  anonymous.pem_root_certs = Tls().root_certificates;
  auto stub = wire::Transport::NewStub(
      grpc::CreateChannel(node_->address(), grpc::SslCredentials(anonymous)));
  grpc::ClientContext context;
  auto stream = stub->Connect(&context);
  wire::Frame hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_node("127.0.0.1:1");
  hello.mutable_hello()->set_incarnation(7);
  hello.mutable_hello()->set_cluster_token(kToken);
  hello.mutable_hello()->set_heartbeat_interval_ms(1000);
  stream->Write(hello);
  wire::Frame batch;
  batch.mutable_batch()->add_type_names("troupe.remote.test.Add");
  batch.mutable_batch()->add_targets()->set_name("counter");
  batch.mutable_batch()->add_envelopes()->set_payload(AddOf(1).SerializeAsString());
  stream->Write(batch);
  wire::Frame reply;
  EXPECT_FALSE(stream->Read(&reply)) << "a Welcome came back";
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(node_->Stats().messages_received, 0);
  EXPECT_EQ(node_->Stats().streams_refused, 0) << "the stream should never have been opened";
  EXPECT_EQ(Total(), 0);
}

TEST(TlsOptionsTest, CredentialsThatAreNotUsableAreClearErrors) {
  absl::StatusOr<TlsOptions> missing =
      TlsOptions::FromFiles(Path("ca.pem"), Path("nowhere.pem"), Path("node.key"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nowhere.pem"));
  absl::StatusOr<TlsOptions> script =
      TlsOptions::FromFiles(Path("ca.pem"), Path("make_certs.sh"), Path("node.key"));
  EXPECT_EQ(script.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(script.status().message(), HasSubstr("make_certs.sh is not PEM"));

  ActorSystem system;
  TlsOptions no_key = Tls();
  no_key.private_key.clear();
  auto started = Node::Start(system, Options(no_key));
  EXPECT_EQ(started.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(started.status().message(), HasSubstr("private_key"));

  // PEM, but the key is not the certificate's: gRPC cannot serve with it.
  TlsOptions mismatched = Tls();
  mismatched.private_key = Tls("outsider", "outsider_ca").private_key;
  started = Node::Start(system, Options(mismatched));
  EXPECT_EQ(started.status().code(), absl::StatusCode::kUnavailable) << started.status();
  EXPECT_THAT(started.status().message(), HasSubstr("TLS"));
}

}  // namespace
}  // namespace troupe::remote
