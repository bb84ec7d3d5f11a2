#include "remote/internal/node_core.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "actor/dead_letters.h"
#include "actor/internal/actor_cell.h"
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

// Stands in, on the target's node, for a watcher on another node: the
// target's cell sends it the Down, and it sends the watcher's node a
// WatchFired, in the same queue as the target's mail to that node.
class WatchRelay final : public actor_internal::Addressable {
 public:
  WatchRelay(actor_internal::SystemLink* link, std::shared_ptr<Peer> peer,
             std::weak_ptr<NodeCore> core, std::string from, uint64_t id)
      : Addressable(link, 0),
        peer_(std::move(peer)),
        core_(std::move(core)),
        from_(std::move(from)),
        id_(id) {}

  bool Deliver(EnvelopePtr envelope) override {
    if (!envelope->Is<proto::Down>()) return false;
    const proto::Down& down = envelope->As<proto::Down>();
    Fire(down.actor(), down.reason());
    return true;
  }

  void Fire(const proto::ActorAddress& actor, const proto::ExitReason& reason) {
    wire::WatchFired fired;
    fired.set_watch_id(id_);
    *fired.mutable_actor() = actor;
    *fired.mutable_reason() = reason;
    EnvelopePtr envelope = MakeEnvelope(std::move(fired));
    DeadLetterReason refused;
    (void)peer_->Enqueue(Target{}, envelope, nullptr, refused);  // else that node is lost
    if (std::shared_ptr<NodeCore> core = core_.lock()) core->ForgetRelay(from_, id_);
  }

  bool IsAlive() const override { return true; }
  std::string name() const override { return absl::StrCat("watch relay for ", from_); }

 private:
  const std::shared_ptr<Peer> peer_;
  const std::weak_ptr<NodeCore> core_;
  const std::string from_;
  const uint64_t id_;
};

// What an envelope of a batch is: mail, or one of the watch protocol's.
enum class Control { kNone, kWatchRequest, kUnwatch, kWatchFired };

Control ControlOf(const std::string& type_name) {
  if (type_name == wire::WatchRequest::descriptor()->full_name()) return Control::kWatchRequest;
  if (type_name == wire::Unwatch::descriptor()->full_name()) return Control::kUnwatch;
  if (type_name == wire::WatchFired::descriptor()->full_name()) return Control::kWatchFired;
  return Control::kNone;
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
  std::vector<Control> controls;
  decoders.reserve(batch.type_names_size());
  controls.reserve(batch.type_names_size());
  for (const std::string& name : batch.type_names()) {
    controls.push_back(ControlOf(name));
    decoders.push_back(controls.back() == Control::kNone ? FindWireType(name) : nullptr);
  }
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
    if (!in.is_status() && controls[in.type()] != Control::kNone) {
      HandleControl(static_cast<int>(controls[in.type()]), in.payload(), targets[in.target()], from);
      continue;
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

void NodeCore::HandleControl(int kind, const std::string& payload,
                             const actor_internal::AddressablePtr& target,
                             const std::string& from) {
  switch (static_cast<Control>(kind)) {
    case Control::kWatchRequest: {
      wire::WatchRequest request;
      if (request.ParseFromString(payload)) OnWatchRequest(from, request.watch_id(), target);
      return;
    }
    case Control::kUnwatch: {
      wire::Unwatch unwatch;
      if (unwatch.ParseFromString(payload)) OnUnwatch(from, unwatch.watch_id());
      return;
    }
    case Control::kWatchFired: {
      wire::WatchFired fired;
      if (!fired.ParseFromString(payload)) return;
      if (std::shared_ptr<Peer> peer = PeerFor(from)) peer->OnWatchFired(fired);
      return;
    }
    case Control::kNone:
      return;
  }
}

void NodeCore::OnWatchRequest(const std::string& from, uint64_t id,
                              const actor_internal::AddressablePtr& target) {
  std::shared_ptr<Peer> peer = PeerFor(from);
  if (!peer) return;  // cannot answer: that node's watch fires when it loses us
  auto relay = actor_internal::AddressablePtr(
      new WatchRelay(link_, peer, weak_from_this(), from, id));
  auto* raw = static_cast<WatchRelay*>(relay.get());
  actor_internal::ActorCell* cell = target ? target->AsCell() : nullptr;
  if (cell == nullptr) {
    proto::ExitReason reason;
    reason.set_kind(proto::ExitReason::NORMAL);
    reason.set_detail("no such actor");
    raw->Fire(proto::ActorAddress(), reason);
    return;
  }
  {
    MutexLock lock(mu_);
    if (closed_) return;
    relays_[{from, id}] = Relay{relay, target};
  }
  proto::ExitReason final_reason;
  if (!cell->AddForeignWatcher(relay, &final_reason)) {
    proto::ActorAddress actor;
    actor.set_id(target->id());
    actor.set_name(target->name());
    raw->Fire(actor, final_reason);  // already finished: at once
  }
}

void NodeCore::OnUnwatch(const std::string& from, uint64_t id) {
  Relay relay;
  {
    MutexLock lock(mu_);
    auto it = relays_.find(std::make_pair(from, id));
    if (it == relays_.end()) return;
    relay = std::move(it->second);
    relays_.erase(it);
  }
  if (actor_internal::ActorCell* cell = relay.target->AsCell()) {
    cell->RemoveForeignWatcher(relay.relay.get());
  }
}

void NodeCore::ForgetRelay(const std::string& from, uint64_t id) {
  Relay relay;  // released outside the lock
  MutexLock lock(mu_);
  auto it = relays_.find(std::make_pair(from, id));
  if (it == relays_.end()) return;
  relay = std::move(it->second);
  relays_.erase(it);
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
  absl::flat_hash_map<std::pair<std::string, uint64_t>, Relay> relays;
  {
    MutexLock lock(mu_);
    closed_ = true;
    peers.swap(peers_);
    relays.swap(relays_);
  }
  for (auto& [key, relay] : relays) {
    if (actor_internal::ActorCell* cell = relay.target->AsCell()) {
      cell->RemoveForeignWatcher(relay.relay.get());
    }
  }
  for (auto& [address, peer] : peers) peer->Close();
  exports_.Clear();
}

}  // namespace troupe::remote_internal
