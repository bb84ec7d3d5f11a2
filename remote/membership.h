// -----------------------------------------------------------------------------
// File: membership.h
// -----------------------------------------------------------------------------
//
// `MembershipProvider`: how a Node learns which other nodes make up its
// cluster, and where cluster-wide names live. Two providers:
//
//   * StaticMembership(seeds): a fixed list of node addresses (tests, small
//     deployments). Nodes are never reported gone; a lost node is found by
//     failure detection alone. No cluster-wide names.
//   * EtcdMembership(options): each node registers itself in etcd under a
//     cluster prefix, bound to a lease it keeps alive, and watches the
//     prefix: joins and departures (a node that leaves, or whose lease
//     expires because it died or was cut off) reach every node. Names
//     registered cluster-wide are keys bound to the same lease, so they
//     vanish with their node.
//
//   troupe::remote::EtcdMembershipOptions etcd;
//   etcd.endpoint = "10.0.0.2:2379";
//   etcd.prefix = "/troupe/chat";
//   troupe::remote::NodeOptions options;
//   options.cluster_token = secret;
//   options.membership = troupe::remote::EtcdMembership(etcd);
//   auto node = troupe::remote::Node::Start(system, options);
//   node->RegisterGlobal("room", room);                 // on one node
//   absl::StatusOr<ActorRef> room = node->LookupGlobal("room");  // on any
//
// A Node drives its provider (Join at Start, Leave at Shutdown); users only
// construct one and read Node::Members() / Node::SubscribeMembers().
//
// Thread-safety: every method may be called from any thread.

#ifndef TROUPE_REMOTE_MEMBERSHIP_H_
#define TROUPE_REMOTE_MEMBERSHIP_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "remote/ref.pb.h"

namespace troupe::remote {

// A node of the cluster: its advertised address and its incarnation (0
// where the provider does not know it: static seeds).
struct Member {
  std::string address;
  uint64_t incarnation = 0;

  friend bool operator==(const Member& a, const Member& b) {
    return a.address == b.address && a.incarnation == b.incarnation;
  }
};

struct MembershipEvent {
  enum class Kind { kJoined, kLeft };
  Kind kind;
  Member member;
};

class MembershipProvider {
 public:
  // Called on the provider's own thread, one event at a time.
  using Listener = std::function<void(const MembershipEvent&)>;

  virtual ~MembershipProvider() = default;

  // MembershipProvider::Join()
  //
  // Announces `self` and reports the other members to `listener`: those
  // there now (kJoined), then every change. A provider joins once. An
  // error (kUnavailable: the store cannot be reached) fails Node::Start.
  virtual absl::Status Join(const Member& self, Listener listener) = 0;

  // MembershipProvider::Leave()
  //
  // Withdraws this node (its cluster-wide names with it) and stops
  // reporting; the listener is not called once Leave returns. Idempotent.
  virtual void Leave() = 0;

  // MembershipProvider::RegisterName() / UnregisterName() / LookupName()
  //
  // Cluster-wide names: `name` names `ref` (an actor of this node) for the
  // whole cluster until it is unregistered or this node leaves or is lost.
  // kAlreadyExists if another node holds the name; kNotFound from Lookup
  // for a name nobody holds; kUnimplemented where the provider keeps no
  // names (static seeds); kFailedPrecondition before Join.
  virtual absl::Status RegisterName(const std::string& name, const proto::ActorRefProto& ref) = 0;
  virtual absl::Status UnregisterName(const std::string& name) = 0;
  virtual absl::StatusOr<proto::ActorRefProto> LookupName(const std::string& name) = 0;
};

// StaticMembership()
//
// The nodes at `seeds` ("host:port") are the cluster: each is reported
// joined (incarnation unknown, 0) at Join, except this node's own address.
std::shared_ptr<MembershipProvider> StaticMembership(std::vector<std::string> seeds);

struct EtcdMembershipOptions {
  // etcd's client endpoint, "host:port" (gRPC, plain text).
  std::string endpoint = "127.0.0.1:2379";
  // The cluster's keys: <prefix>/members/<address> and <prefix>/names/<name>.
  std::string prefix = "/troupe/default";
  // The lease that binds this node's keys: a node silent for this long (no
  // keep-alive reached etcd) is removed, with its names. etcd rounds it up
  // to its own minimum (about 2 s for a default single server).
  absl::Duration lease_ttl = absl::Seconds(10);
  // The deadline of each call to etcd; Join fails with kUnavailable past it.
  absl::Duration rpc_timeout = absl::Seconds(5);
};

// EtcdMembership()
//
// A provider over the etcd at options.endpoint (nothing is contacted until
// Join). kInvalidArgument for an empty endpoint or prefix, or a lease TTL
// under one second.
absl::StatusOr<std::shared_ptr<MembershipProvider>> EtcdMembership(EtcdMembershipOptions options);

}  // namespace troupe::remote

#endif  // TROUPE_REMOTE_MEMBERSHIP_H_
