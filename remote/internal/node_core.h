// -----------------------------------------------------------------------------
// File: internal/node_core.h
// -----------------------------------------------------------------------------
//
// `NodeCore`: what a Node's parts share — its identity, its exports, its
// peers, its counters — and the two translations between local receivers
// and the wire: Describe() (a receiver as an ActorRefProto; a local one is
// exported) and Resolve() (an ActorRefProto as a receiver; another node's
// is a RemoteRef through that node's Peer). DeliverBatch() hands a batch
// that arrived on an authenticated stream to its actors.
//
//   auto core = std::make_shared<NodeCore>(system, options);
//   core->set_address("127.0.0.1:4100");
//   proto::ActorRefProto wire = core->Describe(sender);
//   actor_internal::AddressablePtr back = core->Resolve(wire);
//
// Held by the Node, by each Peer until it is closed and by each inbound
// stream until gRPC is done with it; Close() breaks the Node–Peer cycle.
//
// Thread-safety: any thread.

#ifndef TROUPE_REMOTE_INTERNAL_NODE_CORE_H_
#define TROUPE_REMOTE_INTERNAL_NODE_CORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "actor/actor_system.h"
#include "actor/internal/addressable.h"
#include "remote/internal/exports.h"
#include "remote/node.h"
#include "remote/ref.pb.h"
#include "remote/wire.pb.h"
#include "threads/mutex.h"

namespace troupe::remote_internal {

namespace wire = ::troupe::remote::wire;

class Peer;

// What NodeCore needs of the streams other nodes opened to it
// (inbound.h's TransportService).
class InboundStreams {
 public:
  virtual ~InboundStreams() = default;
  // Ends every stream from node `address`.
  virtual void Cut(const std::string& address) = 0;
};

inline constexpr uint32_t kProtocolVersion = 1;

// NodeStats, as atomics.
struct NodeCounters {
  std::atomic<int64_t> messages_sent{0};
  std::atomic<int64_t> messages_received{0};
  std::atomic<int64_t> bytes_sent{0};
  std::atomic<int64_t> batches_sent{0};
  std::atomic<int64_t> streams_refused{0};
  std::atomic<int64_t> unknown_types{0};
  std::atomic<int64_t> unreachable{0};
  std::atomic<int64_t> queue_full{0};
  std::atomic<int64_t> peers_declared_down{0};
  std::atomic<int64_t> silent_streams_closed{0};
};

// A message of a type this process cannot decode: what the dead letters
// get in its place (reason kUnknownType, or kUnhandled if it would not parse).
struct UndecodableMessage {
  std::string type_name;
  size_t size = 0;
  std::string error;
};

class NodeCore : public std::enable_shared_from_this<NodeCore> {
 public:
  NodeCore(ActorSystem& system, remote::NodeOptions options);
  NodeCore(const NodeCore&) = delete;
  NodeCore& operator=(const NodeCore&) = delete;

  // Once, before the node is used: the advertised address.
  void set_address(std::string address) { address_ = std::move(address); }
  const std::string& address() const { return address_; }
  uint64_t incarnation() const { return incarnation_; }
  const remote::NodeOptions& options() const { return options_; }
  actor_internal::SystemLink* link() const { return link_; }
  NodeCounters& counters() { return counters_; }
  Exports& exports() { return exports_; }

  // True if `token` is the cluster's (compared in constant time).
  bool TokenMatches(const std::string& token) const;

  // The peer for `address` (made on first use); null once closed or when
  // max_peers are open.
  std::shared_ptr<Peer> PeerFor(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);

  // `receiver` as other nodes name it. A local receiver is exported.
  proto::ActorRefProto Describe(const actor_internal::AddressablePtr& receiver);

  // The receiver `ref` names: a local one (null if gone, or if it names
  // another incarnation of this node), or a RemoteRef (null if no peer).
  // `asks`: it is another node's ask receiver (RemoteRef's `asks`).
  actor_internal::AddressablePtr Resolve(const proto::ActorRefProto& ref, bool asks = false);

  // Delivers the envelopes of `batch`, which arrived from node `from` on
  // inbound stream number `stream`. Any thread; only while the node is
  // open (inbound streams call it).
  void DeliverBatch(const wire::Batch& batch, const std::string& from, uint64_t stream);

  // Watches and links across nodes. Node `from` asked, on one of its
  // streams to us, to watch (link to) one of our actors: a relay stands in
  // for its watcher until the actor stops (its WatchFired then goes back
  // through our Peer for `from`), the watch is cancelled, or that stream
  // ends. The two directions make one association: when the stream from
  // `from` ends, its relays end (links deliver Exit NODE_DOWN); when our
  // Peer for `from` breaks, or a WatchFired cannot be sent, the streams
  // from `from` are cut (AssociationLost), so that node fires its watches
  // NODE_DOWN rather than waiting for an answer that will not come.
  void ForgetRelay(const std::string& from, uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);
  // Node `from` has opened a stream to us: our peer for it stops backing off.
  void Greeted(const std::string& from) ABSL_LOCKS_EXCLUDED(mu_);
  // Membership says node `address` has left: our peer for it is declared
  // down at once (Peer::DeclareDown).
  void MemberLeft(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);
  void InboundEnded(const std::string& from, uint64_t stream) ABSL_LOCKS_EXCLUDED(mu_);
  void AssociationLost(const std::string& address) ABSL_LOCKS_EXCLUDED(inbound_mu_);
  // The inbound side, while there is one (null: none).
  void set_inbound(InboundStreams* inbound) ABSL_LOCKS_EXCLUDED(inbound_mu_);

  // Every heartbeat interval: each peer's Tick (peer.h).
  void Tick(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // Closes every peer (waiting for their streams) and drops the exports.
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  actor_internal::AddressablePtr ResolveLocal(const proto::ActorRefProto& ref);
  // The peer for `address` if there is one (none is made).
  std::shared_ptr<Peer> ExistingPeer(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);
  // A watch (link) that another node holds on one of our actors.
  struct Relay {
    actor_internal::AddressablePtr relay;
    actor_internal::AddressablePtr target;
    uint64_t stream = 0;  // the inbound stream it came on
    bool link = false;
  };

  // The watch protocol's messages (wire.proto), from node `from`; `kind`
  // is node_core.cc's Control.
  void HandleControl(int kind, const std::string& payload,
                     const actor_internal::AddressablePtr& target, const std::string& from,
                     uint64_t stream);
  void OnWatchRequest(const std::string& from, uint64_t stream, uint64_t id, bool link,
                      const actor_internal::AddressablePtr& target) ABSL_LOCKS_EXCLUDED(mu_);
  void OnUnwatch(const std::string& from, uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);
  void OnLinkExit(const std::string& from, const wire::LinkExit& exit) ABSL_LOCKS_EXCLUDED(mu_);
  void OnWatchFired(const std::string& from, const wire::WatchFired& fired)
      ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<Relay> TakeRelay(const std::string& from, uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);
  // Takes the relay off its actor.
  static void Unhook(const Relay& relay);
  // Relays whose watcher's node is lost: watches are dropped, links Exit.
  static void EndRelays(std::vector<Relay> relays, const std::string& why);

  ActorSystem& system_;
  actor_internal::SystemLink* const link_;
  const remote::NodeOptions options_;
  const uint64_t incarnation_;
  std::string address_;
  NodeCounters counters_;
  Exports exports_;

  Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, std::shared_ptr<Peer>> peers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::pair<std::string, uint64_t>, Relay> relays_ ABSL_GUARDED_BY(mu_);

  Mutex inbound_mu_;
  InboundStreams* inbound_ ABSL_GUARDED_BY(inbound_mu_) = nullptr;
};

}  // namespace troupe::remote_internal

#endif  // TROUPE_REMOTE_INTERNAL_NODE_CORE_H_
