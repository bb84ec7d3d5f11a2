// -----------------------------------------------------------------------------
// File: internal/remote_ref.h
// -----------------------------------------------------------------------------
//
// `RemoteRef`: what an ActorRef to an actor on another node points to. It
// is an Addressable like a local cell, so Tell, Ask, TryTell and Sender()
// work on it unchanged: its Deliver() hands the envelope to the peer's
// outbound queue (internal/peer.h), which serialises it on the way out.
//
//   ActorRef ref(actor_internal::AddressablePtr(
//       new RemoteRef(link, peer, Target{.name = "accounts"})));
//   ref.Tell(accounts::Deposit());   // queued for the peer's stream
//
// One RemoteRef per remote actor (and kind) at a time, cached by its peer
// (Peer::RefFor), so refs to the same remote actor compare equal, as local
// refs do, and can key a map.
//
// A RemoteRef may outlive its Node and its ActorSystem, as any ref may:
// once the peer is closed, mail through it is a dead letter ("node
// unreachable") and an ask through it fails with kUnavailable.

#ifndef TROUPE_REMOTE_INTERNAL_REMOTE_REF_H_
#define TROUPE_REMOTE_INTERNAL_REMOTE_REF_H_

#include <cstdint>
#include <memory>
#include <string>

#include "actor/internal/addressable.h"
#include "actor/message.h"
#include "remote/ref.pb.h"

namespace troupe::remote_internal {

class Peer;

// Who, on the peer, an envelope is for (wire.proto's Target).
struct Target {
  uint64_t id = 0;           // an export id, or 0 for a name
  std::string name;          // a registered name, when id is 0
  uint64_t incarnation = 0;  // the peer incarnation meant; 0: any

  friend bool operator==(const Target& a, const Target& b) {
    return a.id == b.id && a.name == b.name && a.incarnation == b.incarnation;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Target& t) {
    return H::combine(std::move(h), t.id, t.name, t.incarnation);
  }
};

class RemoteRef final : public actor_internal::Addressable {
 public:
  // `asks`: the ref names another node's ask receiver (a sender that waits
  // for a reply), which hears of undeliverable requests.
  RemoteRef(actor_internal::SystemLink* link, std::shared_ptr<Peer> peer, Target target,
            bool asks = false);

  bool Deliver(EnvelopePtr envelope) override;
  PushResult TryDeliver(EnvelopePtr& envelope) override;
  // A message this ref sent (as the sender of local mail) was not handled
  // here: the remote asker hears it as a status reply.
  void Undelivered(const Envelope& envelope, DeadLetterReason reason) override;
  bool IsAlive() const override;
  // A watch of, or link to, the remote actor (Peer::Watch).
  bool WatchedBy(const actor_internal::AddressablePtr& watcher) override;
  void UnwatchedBy(const actor_internal::Addressable* watcher) override;
  bool LinkedBy(const actor_internal::AddressablePtr& linker) override;
  void UnlinkedBy(const actor_internal::Addressable* linker) override;
  void LinkedActorStopped(const actor_internal::Addressable& actor,
                          const proto::ExitReason& reason) override;
  // "name@host:port" or "#id@host:port".
  std::string name() const override;

  const Target& target() const { return target_; }
  bool asks() const { return asks_; }
  const std::shared_ptr<Peer>& peer() const { return peer_; }
  // The ref as it travels (ref.proto).
  proto::ActorRefProto ToProto() const;

 protected:
  // The last reference went: the peer's cache forgets this ref, then it goes.
  void Destroy() override;

 private:
  const std::shared_ptr<Peer> peer_;
  const Target target_;
  const bool asks_;
};

}  // namespace troupe::remote_internal

#endif  // TROUPE_REMOTE_INTERNAL_REMOTE_REF_H_
