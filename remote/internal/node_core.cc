#include "remote/internal/node_core.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
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

// Stands in, on the target's node, for a watcher (or linker) on another
// node: the target's cell sends it the Down (tells it of its end, for a
// link), and it sends the watcher's node a WatchFired, in the same queue as
// the target's mail to that node, so the Down comes after that mail.
class WatchRelay final : public actor_internal::Addressable {
 public:
  WatchRelay(actor_internal::SystemLink* link, std::shared_ptr<Peer> peer,
             std::weak_ptr<NodeCore> core, std::string from, uint64_t id, bool links)
      : Addressable(link, 0),
        peer_(std::move(peer)),
        core_(std::move(core)),
        from_(std::move(from)),
        id_(id),
        links_(links) {}

  bool Deliver(EnvelopePtr envelope) override {
    if (links_ || !envelope->Is<proto::Down>()) return false;
    const proto::Down& down = envelope->As<proto::Down>();
    Fire(down.actor(), down.reason());
    return true;
  }

  void LinkedActorStopped(const actor_internal::Addressable& actor,
                          const proto::ExitReason& reason) override {
    proto::ActorAddress address;
    address.set_id(actor.id());
    address.set_name(actor.name());
    Fire(address, reason);
  }

  void Fire(const proto::ActorAddress& actor, const proto::ExitReason& reason) {
    wire::WatchFired fired;
    fired.set_watch_id(id_);
    *fired.mutable_actor() = actor;
    *fired.mutable_reason() = reason;
    EnvelopePtr envelope = MakeEnvelope(std::move(fired));
    DeadLetterReason refused;
    const bool sent = peer_->Enqueue(Target{}, envelope, refused) == PushResult::kPushed;
    std::shared_ptr<NodeCore> core = core_.lock();
    if (!core) return;
    core->ForgetRelay(from_, id_);
    // Not sent: that node must not wait for it forever. Ending the streams
    // it opened to us fires all its watches of our actors, NODE_DOWN.
    if (!sent) core->AssociationLost(from_);
  }

  bool IsAlive() const override { return true; }
  std::string name() const override {
    return absl::StrCat(links_ ? "link" : "watch", " relay for ", from_);
  }

 private:
  const std::shared_ptr<Peer> peer_;
  const std::weak_ptr<NodeCore> core_;
  const std::string from_;
  const uint64_t id_;
  const bool links_;
};

// What an envelope of a batch is: mail, or one of the watch protocol's.
enum class Control { kNone, kWatchRequest, kUnwatch, kWatchFired, kLinkExit };

Control ControlOf(const std::string& type_name) {
  if (type_name == wire::WatchRequest::descriptor()->full_name()) return Control::kWatchRequest;
  if (type_name == wire::Unwatch::descriptor()->full_name()) return Control::kUnwatch;
  if (type_name == wire::WatchFired::descriptor()->full_name()) return Control::kWatchFired;
  if (type_name == wire::LinkExit::descriptor()->full_name()) return Control::kLinkExit;
  return Control::kNone;
}

// An Exit for the actor at the far end of `relay`'s link, from the linker.
void SendLinkExit(const actor_internal::AddressablePtr& target,
                  const actor_internal::AddressablePtr& relay, const proto::ActorAddress& from,
                  const proto::ExitReason& reason) {
  proto::Exit exit;
  *exit.mutable_from() = from;
  *exit.mutable_reason() = reason;
  target->Deliver(MakeEnvelope(std::move(exit), relay));  // its OnExit ends the link
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
  return peer->RefFor(link_, Target{ref.id(), ref.name(), ref.incarnation()}, asks);
}

actor_internal::AddressablePtr NodeCore::ResolveLocal(const proto::ActorRefProto& ref) {
  if (ref.incarnation() != 0 && ref.incarnation() != incarnation_) return {};  // an older me
  if (ref.id() != 0) return exports_.Find(ref.id());
  return system_.registry().Lookup(ref.name()).target();
}

void NodeCore::DeliverBatch(const wire::Batch& batch, const std::string& from, uint64_t stream) {
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
  // Every index is checked before anything is delivered: a malformed batch
  // is dropped whole. Meanwhile count each sender's envelopes: their
  // references are taken in one atomic add per sender, not one per
  // envelope (the receiving actor drops them on its own core, so an
  // increment a message from here would pull the count's line back each
  // time: R1 spent 3% of its time on that one instruction).
  std::vector<int32_t> sender_uses(senders.size(), 0);
  int64_t received = 0;
  for (const wire::Envelope& in : batch.envelopes()) {
    if (in.target() >= targets.size() || in.sender() > senders.size() ||
        (!in.is_status() && in.type() >= decoders.size())) {
      LogWarning(RemoteLog(), "malformed batch from node {}: an index out of range; dropped", from);
      return;
    }
    if (!in.is_status() && controls[in.type()] != Control::kNone) continue;
    ++received;
    if (in.sender() != 0) ++sender_uses[in.sender() - 1];
  }
  // Counted before anything is delivered, in one add: a reply the counted
  // mail provokes cannot overtake the count.
  counters_.messages_received.fetch_add(received, std::memory_order_relaxed);
  for (size_t i = 0; i < senders.size(); ++i) {
    if (senders[i] && sender_uses[i] > 0) senders[i]->Ref(sender_uses[i]);
  }
  for (const wire::Envelope& in : batch.envelopes()) {
    if (!in.is_status() && controls[in.type()] != Control::kNone) {
      HandleControl(static_cast<int>(controls[in.type()]), in.payload(), targets[in.target()], from,
                    stream);
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
    if (in.sender() != 0) {
      envelope->set_sender(actor_internal::AddressablePtr::Adopt(senders[in.sender() - 1].get()));
    }

    const actor_internal::AddressablePtr& target = targets[in.target()];
    if (target && reason != DeadLetterReason::kUnknownType) {
      target->Deliver(std::move(envelope));  // dead-letters it if the actor is gone
    } else {
      actor_internal::PublishDeadLetter(link_, std::move(envelope), reason, target.get());
    }
  }
}

void NodeCore::HandleControl(int kind, const std::string& payload,
                             const actor_internal::AddressablePtr& target, const std::string& from,
                             uint64_t stream) {
  switch (static_cast<Control>(kind)) {
    case Control::kWatchRequest: {
      wire::WatchRequest request;
      if (request.ParseFromString(payload)) {
        OnWatchRequest(from, stream, request.watch_id(), request.link(), target);
      }
      return;
    }
    case Control::kUnwatch: {
      wire::Unwatch unwatch;
      if (unwatch.ParseFromString(payload)) OnUnwatch(from, unwatch.watch_id());
      return;
    }
    case Control::kWatchFired: {
      wire::WatchFired fired;
      if (fired.ParseFromString(payload)) OnWatchFired(from, fired);
      return;
    }
    case Control::kLinkExit: {
      wire::LinkExit exit;
      if (exit.ParseFromString(payload)) OnLinkExit(from, exit);
      return;
    }
    case Control::kNone:
      return;
  }
}

void NodeCore::OnWatchRequest(const std::string& from, uint64_t stream, uint64_t id, bool link,
                              const actor_internal::AddressablePtr& target) {
  std::shared_ptr<Peer> peer = PeerFor(from);
  if (!peer) {  // cannot answer: end the association, which fires that node's watch
    AssociationLost(from);
    return;
  }
  auto relay =
      actor_internal::AddressablePtr(new WatchRelay(link_, peer, weak_from_this(), from, id, link));
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
    relays_[{from, id}] = Relay{relay, target, stream, link};
  }
  proto::ExitReason final_reason;
  const bool added = link ? cell->AddForeignLink(relay, &final_reason)
                          : cell->AddForeignWatcher(relay, &final_reason);
  if (!added) {
    proto::ActorAddress actor;
    actor.set_id(target->id());
    actor.set_name(target->name());
    raw->Fire(actor, final_reason);  // already finished: at once
  }
}

std::optional<NodeCore::Relay> NodeCore::TakeRelay(const std::string& from, uint64_t id) {
  MutexLock lock(mu_);
  auto it = relays_.find(std::make_pair(from, id));
  if (it == relays_.end()) return std::nullopt;
  Relay relay = std::move(it->second);
  relays_.erase(it);
  return relay;
}

void NodeCore::Unhook(const Relay& relay) {
  actor_internal::ActorCell* cell = relay.target->AsCell();
  if (cell == nullptr) return;
  if (relay.link) {
    cell->RemoveForeignLink(relay.relay.get());
  } else {
    cell->RemoveForeignWatcher(relay.relay.get());
  }
}

void NodeCore::OnUnwatch(const std::string& from, uint64_t id) {
  if (std::optional<Relay> relay = TakeRelay(from, id)) Unhook(*relay);
}

void NodeCore::OnLinkExit(const std::string& from, const wire::LinkExit& exit) {
  std::optional<Relay> relay = TakeRelay(from, exit.watch_id());
  if (!relay || !relay->link) return;  // the linked actor has stopped meanwhile
  SendLinkExit(relay->target, relay->relay, exit.from(), exit.reason());
}

void NodeCore::OnWatchFired(const std::string& from, const wire::WatchFired& fired) {
  // Usually through the peer the answer came from; if we know that node by
  // another name, through whichever peer holds the watch.
  std::shared_ptr<Peer> first = PeerFor(from);
  if (first && first->OnWatchFired(fired)) return;
  std::vector<std::shared_ptr<Peer>> peers;
  {
    MutexLock lock(mu_);
    for (const auto& [address, peer] : peers_) peers.push_back(peer);
  }
  for (const std::shared_ptr<Peer>& peer : peers) {
    if (peer != first && peer->OnWatchFired(fired)) return;
  }
}

void NodeCore::ForgetRelay(const std::string& from, uint64_t id) {
  std::optional<Relay> relay = TakeRelay(from, id);  // released outside the lock
}

void NodeCore::EndRelays(std::vector<Relay> relays, const std::string& why) {
  proto::ExitReason lost;
  lost.set_kind(proto::ExitReason::NODE_DOWN);
  lost.set_detail(why);
  for (const Relay& relay : relays) {
    if (relay.link) {
      // A link ends both ways: the linked actor hears the linker is lost.
      SendLinkExit(relay.target, relay.relay, proto::ActorAddress(), lost);
    } else {
      Unhook(relay);
    }
  }
}

std::shared_ptr<Peer> NodeCore::ExistingPeer(const std::string& address) {
  MutexLock lock(mu_);
  auto it = peers_.find(address);
  return it == peers_.end() ? nullptr : it->second;
}

void NodeCore::Greeted(const std::string& from) {
  if (std::shared_ptr<Peer> peer = ExistingPeer(from)) peer->Greeted();
}

void NodeCore::MemberLeft(const std::string& address) {
  if (std::shared_ptr<Peer> peer = ExistingPeer(address)) peer->DeclareDown("left the cluster");
}

void NodeCore::InboundEnded(const std::string& from, uint64_t stream) {
  std::vector<Relay> ended;
  {
    MutexLock lock(mu_);
    for (auto it = relays_.begin(); it != relays_.end();) {
      if (it->second.stream == stream) {
        ended.push_back(std::move(it->second));
        relays_.erase(it++);
      } else {
        ++it;
      }
    }
  }
  EndRelays(std::move(ended), absl::StrCat("node ", from, " lost (its stream to us ended)"));
}

void NodeCore::set_inbound(InboundStreams* inbound) {
  MutexLock lock(inbound_mu_);
  inbound_ = inbound;
}

void NodeCore::AssociationLost(const std::string& address) {
  MutexLock lock(inbound_mu_);  // the service stays while we cut
  if (inbound_ != nullptr) inbound_->Cut(address);
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
  std::vector<Relay> relays;
  {
    MutexLock lock(mu_);
    closed_ = true;
    peers.swap(peers_);
    for (auto& [key, relay] : relays_) relays.push_back(std::move(relay));
    relays_.clear();
  }
  EndRelays(std::move(relays), absl::StrCat("node ", address_, " shut down"));
  for (auto& [address, peer] : peers) peer->Close();
  exports_.Clear();
}

}  // namespace troupe::remote_internal
