// -----------------------------------------------------------------------------
// File: node.h
// -----------------------------------------------------------------------------
//
// `remote::Node`: attaches an ActorSystem to the network, so that its actors
// and the actors of other processes (other machines) reach each other
// through ordinary ActorRefs, over gRPC.
//
//   troupe::ActorSystem system;
//   troupe::ActorRef accounts = system.Spawn<Accounts>();
//   (void)system.registry().Register("accounts", accounts);
//
//   troupe::remote::NodeOptions options;
//   options.listen_address = "0.0.0.0:4100";
//   options.advertised_address = "10.0.0.7:4100";
//   options.cluster_token = secret;           // every node of the cluster shares it
//   auto node = troupe::remote::Node::Start(system, options);  // StatusOr
//
//   // Elsewhere, on another node:
//   absl::StatusOr<troupe::ActorRef> remote = node->Lookup("accounts@10.0.0.7:4100");
//   remote->Tell(accounts::Deposit());                       // a protobuf message
//   auto balance = remote->Ask<accounts::Balance>(accounts::Get(), absl::Seconds(1));
//
// What crosses: protobuf messages only, by their full name; the receiving
// process must know the type (it does if any of its actors handles it, or
// an ask expects it as a reply: actor/wire_types.h). A plain C++ value sent
// to a remote ref is a dead letter ("not serializable") and an ask with one
// fails with kInvalidArgument. Sender() is carried, so Reply() works across
// nodes; refs inside messages travel as ActorRefProto (ToProto/FromProto).
// Refs to the same remote actor compare equal, however they were obtained.
//
// Delivery: at most once; from one node to one actor, in the order sent.
// Mail for a node that cannot be reached is a dead letter ("node
// unreachable"), and an ask to it fails with kUnavailable. Mail for an
// actor that is not there (no such name, a stopped actor) is a dead letter
// on the receiving node, and an ask for it fails at once.
//
// Security: a peer must present the cluster token in its first frame;
// until it does nothing it sends reaches any actor, and a wrong token ends
// the stream (UNAUTHENTICATED). Frames over max_message_bytes are refused
// by gRPC before they are allocated. The token travels in the clear unless
// the nodes use TLS: on a network you do not trust, set `tls` (mutual
// certificates signed by the cluster's own authority; TlsOptions).
//
// Lifetime: destroy (or Shutdown()) the Node before its ActorSystem. Refs to
// remote actors may outlive both; mail through them is then dead.
//
// Thread-safety: every method may be called from any thread.

#ifndef TROUPE_REMOTE_NODE_H_
#define TROUPE_REMOTE_NODE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "actor/actor_system.h"
#include "remote/membership.h"
#include "remote/ref.pb.h"

namespace troupe::remote {

// Mutual TLS between the nodes of a cluster. The cluster has a certificate
// authority of its own; every node holds a certificate it signed, presents
// it when it serves and when it dials, and accepts a peer only with one
// (gRPC's SSL credentials; the handshake fails before any frame is read).
// Certificates from anyone else, or none, get nothing delivered. All PEM.
struct TlsOptions {
  // The cluster's authority: the only one trusted, either way.
  std::string root_certificates;
  // This node's certificate (with any intermediates) and its private key.
  std::string certificate_chain;
  std::string private_key;
  // The name a dialled node's certificate must carry (subjectAltName).
  // Empty: the host of the address dialled, as HTTPS checks it. Set it
  // when the nodes share a name ("troupe-node") rather than one per host.
  std::string peer_name;

  // The three from PEM files; kNotFound / kInvalidArgument naming the file.
  static absl::StatusOr<TlsOptions> FromFiles(const std::string& root_certificates_path,
                                              const std::string& certificate_chain_path,
                                              const std::string& private_key_path);
};

struct NodeOptions {
  // Where the gRPC server listens; port 0 picks a free one.
  std::string listen_address = "127.0.0.1:0";
  // How other nodes reach this one ("host:port"); empty: the listen
  // address with the port the server bound. It is the node's name in refs.
  std::string advertised_address;
  // The shared secret every node of the cluster presents. Required (with
  // TLS too, as a second check, as Erlang keeps its cookie under TLS).
  std::string cluster_token;
  // Mutual TLS; none: plaintext (a trusted network only).
  std::optional<TlsOptions> tls;
  // The largest frame sent or accepted. A single message that cannot fit
  // is refused at the sender (a dead letter "too large"; an ask fails with
  // kInvalidArgument).
  size_t max_message_bytes = size_t{4} << 20;
  // Mail waiting for one peer's stream, in messages and in bytes (each
  // message counted by its encoded size, as sized for the wire): more is
  // refused as by a full bounded mailbox ("mailbox full"; asks fail with
  // kResourceExhausted; counted in NodeStats::queue_full). A message is
  // let into an empty queue whatever its size (up to max_message_bytes),
  // so that no message that fits a frame is refused forever. Together the
  // two bound what a peer that stops reading can make this node hold.
  size_t max_queued_per_peer = size_t{1} << 20;
  size_t max_queued_bytes_per_peer = size_t{64} << 20;
  // Streams other nodes may hold open to this one at a time.
  int max_inbound_streams = 256;
  // Other nodes this one may talk to at a time.
  size_t max_peers = 1024;
  // After a stream to a peer fails, new mail for it fails fast for this
  // long, doubling on each failure up to the maximum; a welcome resets it.
  absl::Duration reconnect_backoff = absl::Milliseconds(100);
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
  // Failure detection: a node writes a heartbeat on its stream to a peer
  // when it has written nothing for heartbeat_interval, and the peer answers
  // (the interval travels in the Hello, so each side keeps its own pace). A
  // peer from which nothing has come for failure_timeout (no Welcome after
  // connecting, or silence after) is declared down: its stream is
  // cancelled, queued mail dead-lettered, asks in flight failed. Catches
  // what a reset cannot: a frozen process, a partition, a connection that
  // never completes. The other side closes a stream whose caller has been
  // silent for failure_timeout (or three of its intervals, if longer).
  absl::Duration heartbeat_interval = absl::Seconds(1);
  absl::Duration failure_timeout = absl::Seconds(5);
  // Who else is in the cluster (membership.h): StaticMembership(seeds) or
  // EtcdMembership(...). None: the node knows only the nodes it is told
  // of, and has no cluster-wide names. The node joins at Start (a provider
  // that cannot join fails Start) and leaves at Shutdown; a member that
  // leaves is declared down at once (its watches fire NODE_DOWN).
  std::shared_ptr<MembershipProvider> membership;
};

// What a node has done; Node::Stats().
struct NodeStats {
  int64_t messages_sent = 0;      // envelopes written to peers' streams
  int64_t messages_received = 0;  // envelopes read from authenticated streams
  int64_t bytes_sent = 0;         // frame bytes written
  int64_t batches_sent = 0;
  int64_t streams_refused = 0;        // inbound streams without the token (or over the limit)
  int64_t unknown_types = 0;          // received envelopes of types this process does not know
  int64_t unreachable = 0;            // mail dead-lettered because its node could not be reached
  int64_t queue_full = 0;             // mail refused: its peer's queue at one of its limits
  int64_t peers_declared_down = 0;    // outbound streams ended: nothing heard for failure_timeout
  int64_t silent_streams_closed = 0;  // inbound streams ended: the caller silent that long
  int64_t exported_refs = 0;          // local receivers currently known to other nodes
};

class Node {
 public:
  // Node::Start()
  //
  // Starts the server and returns the node. kInvalidArgument for an empty
  // cluster token, bad options or TLS credentials that are not PEM;
  // kUnavailable if the address cannot be bound (or gRPC cannot load the
  // TLS credentials: a key that does not match its certificate).
  static absl::StatusOr<std::unique_ptr<Node>> Start(ActorSystem& system, NodeOptions options);

  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // This node's advertised "host:port", and the incarnation drawn at Start.
  const std::string& address() const;
  uint64_t incarnation() const;

  // Node::Lookup()
  //
  // A ref to the actor registered as `name` on the node at `host:port`,
  // written "name@host:port". It is not checked now: mail through it goes
  // out when sent, and an actor that is not there makes a dead letter on
  // that node. kInvalidArgument for a malformed string. For this node's
  // own address, the local registry's ref (empty if none).
  absl::StatusOr<ActorRef> Lookup(std::string_view name_at_node);

  // Node::ToProto() / FromProto()
  //
  // A ref as it travels inside a message, and back. ToProto of a local
  // actor exports it (mail for it may then arrive from other nodes);
  // FromProto of this node's own ref returns the local actor (empty if it
  // is gone or the ref names an older incarnation of this node).
  // kInvalidArgument for an empty ref.
  absl::StatusOr<proto::ActorRefProto> ToProto(const ActorRef& ref);
  absl::StatusOr<ActorRef> FromProto(const proto::ActorRefProto& ref);

  // Node::Members() / SubscribeMembers()
  //
  // The other nodes of the cluster, as the membership provider reports
  // them (empty without one). A subscriber gets a troupe::proto::MemberUp
  // (remote/cluster.proto) for each member now, then a MemberUp or
  // MemberDown for each change, in order.
  std::vector<Member> Members() const;
  void SubscribeMembers(const ActorRef& subscriber);

  // Node::RegisterGlobal() / UnregisterGlobal() / LookupGlobal()
  //
  // Cluster-wide names, kept by the membership provider: `name` names the
  // local actor `ref` on every node until it is unregistered or this node
  // leaves or is lost. LookupGlobal returns a ref (remote, or local if
  // this node holds the name). kFailedPrecondition without a provider;
  // kUnimplemented with one that keeps no names (static seeds);
  // kAlreadyExists if another node holds the name; kNotFound from
  // LookupGlobal for a name nobody holds.
  absl::Status RegisterGlobal(const std::string& name, const ActorRef& ref);
  absl::Status UnregisterGlobal(const std::string& name);
  absl::StatusOr<ActorRef> LookupGlobal(const std::string& name);

  NodeStats Stats() const;

  // Node::Shutdown()
  //
  // Stops serving, closes every stream (queued outbound mail becomes dead
  // letters) and waits for gRPC to finish with them. Idempotent; the
  // destructor calls it.
  void Shutdown();

 private:
  class Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace troupe::remote

#endif  // TROUPE_REMOTE_NODE_H_
