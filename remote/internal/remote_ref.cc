#include "remote/internal/remote_ref.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actor/dead_letters.h"
#include "actor/internal/system_link.h"
#include "remote/internal/peer.h"

namespace troupe::remote_internal {

RemoteRef::RemoteRef(actor_internal::SystemLink* link, std::shared_ptr<Peer> peer, Target target,
                     bool asks)
    : Addressable(link, target.id, FoundByTryRef{}),
      peer_(std::move(peer)),
      target_(std::move(target)),
      asks_(asks) {}

void RemoteRef::Destroy() {
  peer_->Forget(this);
  delete this;
}

bool RemoteRef::Deliver(EnvelopePtr envelope) {
  DeadLetterReason refused;
  if (peer_->Enqueue(target_, envelope, refused) == PushResult::kPushed) return true;
  actor_internal::PublishDeadLetter(link(), std::move(envelope), refused, this);
  return false;
}

PushResult RemoteRef::TryDeliver(EnvelopePtr& envelope) {
  DeadLetterReason refused;
  return peer_->Enqueue(target_, envelope, refused);
}

void RemoteRef::Undelivered(const Envelope& envelope, DeadLetterReason reason) {
  if (!asks_) return;  // an actor that sent mail: nothing waits for an answer
  std::string message =
      absl::StrCat("ask ", envelope.type().name(), " from node ", peer_->address(),
                   " failed: ", std::string(DeadLetterReasonName(reason)));
  absl::Status status = reason == DeadLetterReason::kMailboxFull
                            ? absl::ResourceExhaustedError(message)
                            : absl::UnavailableError(message);
  EnvelopePtr reply = MakeEnvelope(std::move(status));
  DeadLetterReason refused;
  // If even this cannot go, the remote ask times out: nothing else to do.
  (void)peer_->Enqueue(target_, reply, refused);
}

bool RemoteRef::IsAlive() const { return peer_->Reachable(); }

bool RemoteRef::WatchedBy(const actor_internal::AddressablePtr& watcher) {
  peer_->Watch(actor_internal::AddressablePtr(this), target_, watcher, /*link=*/false);
  return true;
}

void RemoteRef::UnwatchedBy(const actor_internal::Addressable* watcher) {
  peer_->Unwatch(this, target_, watcher, /*link=*/false);
}

bool RemoteRef::LinkedBy(const actor_internal::AddressablePtr& linker) {
  peer_->Watch(actor_internal::AddressablePtr(this), target_, linker, /*link=*/true);
  return true;
}

void RemoteRef::UnlinkedBy(const actor_internal::Addressable* linker) {
  peer_->Unwatch(this, target_, linker, /*link=*/true);
}

void RemoteRef::LinkedActorStopped(const actor_internal::Addressable& actor,
                                   const proto::ExitReason& reason) {
  peer_->LinkExit(this, target_, actor, reason);
}

std::string RemoteRef::name() const {
  return absl::StrCat(target_.id != 0 ? absl::StrCat("#", target_.id) : target_.name, "@",
                      peer_->address());
}

proto::ActorRefProto RemoteRef::ToProto() const {
  proto::ActorRefProto ref;
  ref.set_node(peer_->address());
  ref.set_incarnation(target_.incarnation);
  ref.set_id(target_.id);
  ref.set_name(target_.name);
  return ref;
}

}  // namespace troupe::remote_internal
