#include "actor/internal/children.h"

#include <utility>

#include "actor/internal/actor_cell.h"
#include "actor/internal/child_signals.h"

namespace troupe::actor_internal {

ActorCell* Children::Newest() const {
  ActorCell* newest = nullptr;
  uint64_t newest_order = 0;
  for (const auto& [child, order] : order_) {
    if (newest == nullptr || order > newest_order) {
      newest = child;
      newest_order = order;
    }
  }
  return newest;
}

std::vector<ActorCell*> Children::All() const {
  std::vector<ActorCell*> all;
  all.reserve(order_.size());
  for (const auto& [child, order] : order_) all.push_back(child);
  return all;
}

void TerminateChild(ActorCell* child, ActorCell* parent, const proto::ExitReason& why) {
  Directive directive;
  directive.kind = Directive::Kind::kTerminate;
  directive.reason.set_kind(why.kind() == proto::ExitReason::SYSTEM_SHUTDOWN
                                ? proto::ExitReason::SYSTEM_SHUTDOWN
                                : proto::ExitReason::NORMAL);
  directive.reason.set_detail("parent stopped");
  child->Deliver(MakeEnvelope(std::move(directive), AddressablePtr(parent)));
}

// -- the parent's side ----------------------------------------------------------------

void ActorCell::TerminateChildren(const proto::ExitReason& reason) {
  for (ActorCell* child : turn().children.All()) TerminateChild(child, this, reason);
}

void ActorCell::TerminateNextChild() {
  if (ActorCell* newest = turn().children.Newest()) TerminateChild(newest, this, StopReason());
}

bool ActorCell::OnChildEnded(Envelope& envelope) {
  const ChildEnded& ended = envelope.As<ChildEnded>();
  auto* child = static_cast<ActorCell*>(ended.child.get());
  if (!ended.terminated) {
    // A supervised child between incarnations: its supervisor decides, if
    // it is running; otherwise the child is done.
    if (state_.running() && !state_.stopping && state_.supervisor) {
      Dispatch(envelope);
    } else {
      TerminateChild(child, this, StopReason());
    }
    return false;
  }
  Children& children = turn().children;
  if (!children.Erase(child)) return false;  // never joined (spawned while stopping)
  if (state_.running()) {
    if (state_.supervisor) Dispatch(envelope);  // a supervisor keeps its own table
    return false;
  }
  if (state_.phase != Phase::kEnding) return false;
  if (!children.empty()) {
    if (state_.supervisor && !env()->IsShuttingDown()) TerminateNextChild();
    return false;
  }
  return CompleteEnd();
}

}  // namespace troupe::actor_internal
