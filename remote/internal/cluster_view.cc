#include "remote/internal/cluster_view.h"

#include <algorithm>
#include <utility>

#include "base/logging.h"
#include "remote/cluster.pb.h"
#include "remote/internal/peer.h"

namespace troupe::remote_internal {
namespace {

template <typename Message>
Message MemberMessage(const std::string& address, uint64_t incarnation) {
  Message message;
  message.set_address(address);
  message.set_incarnation(incarnation);
  return message;
}

}  // namespace

void ClusterView::OnEvent(const remote::MembershipEvent& event) {
  const remote::Member& member = event.member;
  const bool joined = event.kind == remote::MembershipEvent::Kind::kJoined;
  LogInfo(RemoteLog(), "node {} (incarnation {}) {} the cluster", member.address,
          member.incarnation, joined ? "joined" : "left");
  // A departed node is down now: its watches fire, its asks fail, rather
  // than waiting for the failure timeout.
  if (!joined) core_->MemberLeft(member.address);
  // Told under the lock (a Tell only queues): every subscriber sees the
  // changes in the order they were made, after its snapshot.
  MutexLock lock(mu_);
  if (joined) {
    members_[member.address] = member.incarnation;
  } else {
    members_.erase(member.address);
  }
  std::erase_if(subscribers_, [](const ActorRef& s) { return !s.IsAlive(); });
  for (const ActorRef& subscriber : subscribers_) {
    if (joined) {
      subscriber.Tell(MemberMessage<proto::MemberUp>(member.address, member.incarnation));
    } else {
      subscriber.Tell(MemberMessage<proto::MemberDown>(member.address, member.incarnation));
    }
  }
}

std::vector<remote::Member> ClusterView::Members() const {
  MutexLock lock(mu_);
  std::vector<remote::Member> members;
  members.reserve(members_.size());
  for (const auto& [address, incarnation] : members_) members.push_back({address, incarnation});
  return members;
}

void ClusterView::Subscribe(const ActorRef& subscriber) {
  MutexLock lock(mu_);  // no change slips between the snapshot and the subscription
  for (const auto& [address, incarnation] : members_) {
    subscriber.Tell(MemberMessage<proto::MemberUp>(address, incarnation));
  }
  subscribers_.push_back(subscriber);
}

}  // namespace troupe::remote_internal
