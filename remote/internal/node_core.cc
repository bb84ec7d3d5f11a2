#include "remote/internal/node_core.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "actor/dead_letters.h"
#include "actor/internal/system_link.h"
#include "actor/wire_types.h"
#include "base/logging.h"
#include "remote/internal/peer.h"
#include "remote/internal/remote_ref.h"

namespace troupe::remote_internal {
namespace {

uint64_t NewIncarnation() {
  absl::BitGen random;
  uint64_t incarnation = 0;
  while (incarnation == 0) incarnation = absl::Uniform<uint64_t>(random);
  return incarnation;
}

// A status code from the wire, as absl knows it (an unknown one is kUnknown).
absl::StatusCode WireStatusCode(int32_t code) {
  if (code < 0 || code > static_cast<int32_t>(absl::StatusCode::kUnauthenticated)) {
    return absl::StatusCode::kUnknown;
  }
  return static_cast<absl::StatusCode>(code);
}

}  // namespace

NodeCore::NodeCore(ActorSystem& system, remote::NodeOptions options)
    : system_(system),
      link_(system.link()),
      options_(std::move(options)),
      incarnation_(NewIncarnation()) {}

bool NodeCore::TokenMatches(const std::string& token) const {
  const std::string& expected = options_.cluster_token;
  // Constant time in the token's contents: every byte is compared.
  if (expected.empty()) return false;
  unsigned char differ = token.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < token.size(); ++i) {
    differ |= static_cast<unsigned char>(token[i] ^ expected[i % expected.size()]);
  }
  return differ == 0;
}

std::shared_ptr<Peer> NodeCore::PeerFor(const std::string& address) {
  MutexLock lock(mu_);
  if (closed_) return nullptr;
  auto it = peers_.find(address);
  if (it != peers_.end()) return it->second;
  if (peers_.size() >= options_.max_peers) {
    LogWarning(RemoteLog(), "not talking to node {}: {} peers already (NodeOptions::max_peers)",
               address, peers_.size());
    return nullptr;
  }
  auto peer = std::make_shared<Peer>(shared_from_this(), address);
  peers_.emplace(address, peer);
  return peer;
}

proto::ActorRefProto NodeCore::Describe(const actor_internal::AddressablePtr& receiver) {
  if (const auto* remote = dynamic_cast<const RemoteRef*>(receiver.get())) {
    return remote->ToProto();
  }
  proto::ActorRefProto ref;
  ref.set_node(address_);
  ref.set_incarnation(incarnation_);
  ref.set_id(exports_.Export(receiver));
  return ref;
}

actor_internal::AddressablePtr NodeCore::Resolve(const proto::ActorRefProto& ref, bool asks) {
  if (ref.node() == address_) return ResolveLocal(ref);
  std::shared_ptr<Peer> peer = PeerFor(ref.node());
  if (!peer) return {};
  return actor_internal::AddressablePtr(
      new RemoteRef(link_, std::move(peer), Target{ref.id(), ref.name(), ref.incarnation()}, asks));
}

actor_internal::AddressablePtr NodeCore::ResolveLocal(const proto::ActorRefProto& ref) {
  if (ref.incarnation() != 0 && ref.incarnation() != incarnation_) return {};  // an older me
  if (ref.id() != 0) return exports_.Find(ref.id());
  return system_.registry().Lookup(ref.name()).target();
}

void NodeCore::DeliverBatch(const wire::Batch& batch, const std::string& from) {
  // Each type and target of the batch is looked up once.
  std::vector<WireDecoder> decoders;
  decoders.reserve(batch.type_names_size());
  for (const std::string& name : batch.type_names()) decoders.push_back(FindWireType(name));
  std::vector<actor_internal::AddressablePtr> targets;
  targets.reserve(batch.targets_size());
  for (const wire::Target& target : batch.targets()) {
    proto::ActorRefProto ref;
    ref.set_node(address_);
    ref.set_incarnation(target.incarnation());
    ref.set_id(target.id());
    ref.set_name(target.name());
    targets.push_back(ResolveLocal(ref));
  }

  // Each sender of the batch is resolved once: a burst from one actor
  // shares one RemoteRef.
  std::vector<actor_internal::AddressablePtr> senders;
  senders.reserve(batch.senders_size());
  for (const wire::Sender& sender : batch.senders()) {
    senders.push_back(Resolve(sender.ref(), sender.asks()));
  }
  for (const wire::Envelope& in : batch.envelopes()) {
    if (in.target() >= targets.size() || in.sender() > senders.size() ||
        (!in.is_status() && in.type() >= decoders.size())) {
      LogWarning(RemoteLog(), "malformed batch from node {}: an index out of range; dropped", from);
      return;
    }
    EnvelopePtr envelope;
    DeadLetterReason reason = DeadLetterReason::kReceiverStopped;
    if (in.is_status()) {
      envelope = MakeEnvelope(absl::Status(WireStatusCode(in.status_code()), in.status_message()));
    } else if (WireDecoder decode = decoders[in.type()]) {
      absl::StatusOr<EnvelopePtr> decoded = decode(in.payload());
      if (decoded.ok()) {
        envelope = *std::move(decoded);
      } else {
        envelope = MakeEnvelope(UndecodableMessage{batch.type_names(in.type()), in.payload().size(),
                                                   std::string(decoded.status().message())});
        reason = DeadLetterReason::kUnknownType;
      }
    } else {
      envelope = MakeEnvelope(UndecodableMessage{batch.type_names(in.type()), in.payload().size(),
                                                 "no such type in this process"});
      reason = DeadLetterReason::kUnknownType;
    }
    if (reason == DeadLetterReason::kUnknownType) {
      counters_.unknown_types.fetch_add(1, std::memory_order_relaxed);
    }
    if (in.sender() != 0) envelope->set_sender(senders[in.sender() - 1]);
    counters_.messages_received.fetch_add(1, std::memory_order_relaxed);

    const actor_internal::AddressablePtr& target = targets[in.target()];
    if (target && reason != DeadLetterReason::kUnknownType) {
      target->Deliver(std::move(envelope));  // dead-letters it if the actor is gone
    } else {
      actor_internal::PublishDeadLetter(link_, std::move(envelope), reason, target.get());
    }
  }
}

void NodeCore::Tick(absl::Time now) {
  std::vector<std::shared_ptr<Peer>> peers;
  {
    MutexLock lock(mu_);
    peers.reserve(peers_.size());
    for (const auto& [address, peer] : peers_) peers.push_back(peer);
  }
  for (const std::shared_ptr<Peer>& peer : peers) peer->Tick(now);
}

void NodeCore::Close() {
  absl::flat_hash_map<std::string, std::shared_ptr<Peer>> peers;
  {
    MutexLock lock(mu_);
    closed_ = true;
    peers.swap(peers_);
  }
  for (auto& [address, peer] : peers) peer->Close();
  exports_.Clear();
}

}  // namespace troupe::remote_internal
