// -----------------------------------------------------------------------------
// File: internal/cluster_view.h
// -----------------------------------------------------------------------------
//
// `ClusterView`: a Node's picture of its cluster, fed by its membership
// provider — the members now, the actors subscribed to changes, and what a
// departure does (the departed node is declared down at once: NodeCore's
// MemberLeft).
//
//   ClusterView view(core);
//   provider->Join(self, [&view](const MembershipEvent& e) { view.OnEvent(e); });
//   view.Subscribe(actor);   // MemberUp for each member now, then changes
//
// Thread-safety: any thread.

#ifndef TROUPE_REMOTE_INTERNAL_CLUSTER_VIEW_H_
#define TROUPE_REMOTE_INTERNAL_CLUSTER_VIEW_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "actor/actor_ref.h"
#include "remote/internal/node_core.h"
#include "remote/membership.h"
#include "threads/mutex.h"

namespace troupe::remote_internal {

class ClusterView {
 public:
  explicit ClusterView(std::shared_ptr<NodeCore> core) : core_(std::move(core)) {}

  // From the provider: a member joined or left.
  void OnEvent(const remote::MembershipEvent& event) ABSL_LOCKS_EXCLUDED(mu_);

  // The members now, by address (this node not among them).
  std::vector<remote::Member> Members() const ABSL_LOCKS_EXCLUDED(mu_);

  // `subscriber` gets a proto::MemberUp for each member now, then a
  // MemberUp or MemberDown for each change, until it stops.
  void Subscribe(const ActorRef& subscriber) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const std::shared_ptr<NodeCore> core_;
  mutable Mutex mu_;
  std::map<std::string, uint64_t> members_ ABSL_GUARDED_BY(mu_);
  std::vector<ActorRef> subscribers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::remote_internal

#endif  // TROUPE_REMOTE_INTERNAL_CLUSTER_VIEW_H_
