// Watches and links (Erlang's monitors and links): the table other cells
// write, ActorCell's side of Watch/Link, where a Down or an Exit is
// delivered, and what a finishing cell tells its watchers and links.

#include "actor/internal/monitors.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/internal/actor_cell.h"
#include "base/logging.h"

namespace troupe::actor_internal {

// -- the table ---------------------------------------------------------------------

AddResult MonitorTable::AddWatcher(AddressablePtr watcher, proto::ExitReason* final_reason) {
  MutexLock lock(mu_);
  if (sealed_) {
    *final_reason = final_reason_;
    return AddResult::kSealed;
  }
  watchers_.push_back(std::move(watcher));
  return AddResult::kAdded;
}

void MonitorTable::RemoveWatcher(const Addressable* watcher) {
  MutexLock lock(mu_);
  auto it = std::find_if(watchers_.begin(), watchers_.end(),
                         [&](const AddressablePtr& w) { return w.get() == watcher; });
  if (it != watchers_.end()) watchers_.erase(it);
}

AddResult MonitorTable::AddLink(AddressablePtr other, proto::ExitReason* final_reason) {
  MutexLock lock(mu_);
  if (sealed_) {
    *final_reason = final_reason_;
    return AddResult::kSealed;
  }
  for (const AddressablePtr& linked : links_) {
    if (linked.get() == other.get()) return AddResult::kAlreadyThere;
  }
  links_.push_back(std::move(other));
  return AddResult::kAdded;
}

bool MonitorTable::RemoveLink(const Addressable* other) {
  MutexLock lock(mu_);
  auto it = std::find_if(links_.begin(), links_.end(),
                         [&](const AddressablePtr& l) { return l.get() == other; });
  if (it == links_.end()) return false;
  links_.erase(it);
  return true;
}

void MonitorTable::Seal(const proto::ExitReason& reason, std::vector<AddressablePtr>* watchers,
                        std::vector<AddressablePtr>* links) {
  MutexLock lock(mu_);
  sealed_ = true;
  final_reason_ = reason;
  watchers->swap(watchers_);
  links->swap(links_);
}

void MonitorTable::CollectIds(std::vector<uint64_t>* links, std::vector<uint64_t>* watchers) const {
  MutexLock lock(mu_);
  for (const AddressablePtr& link : links_) links->push_back(link->id());
  for (const AddressablePtr& watcher : watchers_) watchers->push_back(watcher->id());
}

// -- signals -----------------------------------------------------------------------

namespace {

bool IsAbnormal(proto::ExitReason::Kind kind) {
  return kind != proto::ExitReason::NORMAL && kind != proto::ExitReason::SYSTEM_SHUTDOWN;
}

proto::ActorAddress AddressOf(const Addressable& actor) {
  proto::ActorAddress address;
  address.set_id(actor.id());
  address.set_name(actor.name());
  return address;
}

proto::ExitReason ReasonWithoutDetail(proto::ExitReason::Kind kind, const char* detail = "") {
  proto::ExitReason reason;
  reason.set_kind(kind);
  reason.set_detail(detail);
  return reason;
}

// Down or Exit from `from` to `to`, with `from` as the sender.
void SendDown(Addressable& to, const AddressablePtr& from, const proto::ExitReason& reason) {
  proto::Down down;
  if (from) *down.mutable_actor() = AddressOf(*from);
  *down.mutable_reason() = reason;
  to.Deliver(MakeEnvelope(std::move(down), from));
}

void SendExit(Addressable& to, const AddressablePtr& from, const proto::ExitReason& reason) {
  proto::Exit exit;
  if (from) *exit.mutable_from() = AddressOf(*from);
  *exit.mutable_reason() = reason;
  to.Deliver(MakeEnvelope(std::move(exit), from));
}

// A Down or Exit that no watch or link explains: a signal from an actor
// that has stopped crossed an Unwatch() or Unlink() and is dropped; one
// from anywhere else was sent by hand and is an ordinary message.
bool IsStaleSignal(const Envelope& envelope) {
  Addressable* sender = envelope.sender().get();
  return sender != nullptr && sender->AsCell() != nullptr && !sender->IsAlive();
}

}  // namespace

// -- the other side's half ---------------------------------------------------------

bool ActorCell::AddWatcher(ActorCell* watcher, proto::ExitReason* final_reason) {
  Extras* live = LiveExtras();
  if (live == nullptr) {  // finished, sealed: with no detail (that would live in extras)
    *final_reason = ReasonWithoutDetail(FinalKind());
    return false;
  }
  return live->monitors.AddWatcher(AddressablePtr(watcher), final_reason) != AddResult::kSealed;
}

void ActorCell::RemoveWatcher(ActorCell* watcher) {
  if (Extras* x = extras_if_any()) x->monitors.RemoveWatcher(watcher);  // else never watched
}

bool ActorCell::AddForeignWatcher(const AddressablePtr& watcher, proto::ExitReason* final_reason) {
  Extras* live = LiveExtras();
  if (live == nullptr) {
    *final_reason = ReasonWithoutDetail(FinalKind());
    return false;
  }
  return live->monitors.AddWatcher(watcher, final_reason) != AddResult::kSealed;
}

void ActorCell::RemoveForeignWatcher(const Addressable* watcher) {
  if (Extras* x = extras_if_any()) x->monitors.RemoveWatcher(watcher);
}

bool ActorCell::AddForeignLink(const AddressablePtr& other, proto::ExitReason* final_reason) {
  Extras* live = LiveExtras();
  if (live == nullptr) {
    *final_reason = ReasonWithoutDetail(FinalKind());
    return false;
  }
  return live->monitors.AddLink(other, final_reason) != AddResult::kSealed;
}

bool ActorCell::AddLink(ActorCell* other, proto::ExitReason* final_reason) {
  Extras* live = LiveExtras();
  if (live == nullptr) {
    *final_reason = ReasonWithoutDetail(FinalKind());
    return false;
  }
  return live->monitors.AddLink(AddressablePtr(other), final_reason) != AddResult::kSealed;
}

bool ActorCell::RemoveLink(const Addressable* other) {
  Extras* x = extras_if_any();
  return x != nullptr && x->monitors.RemoveLink(other);
}

// -- watches -------------------------------------------------------------------------

void ActorCell::Watch(const AddressablePtr& target) {
  if (target.get() == this) return;  // nobody sees their own end
  std::vector<AddressablePtr>& watching = turn().watching;
  for (const AddressablePtr& watched : watching) {
    if (watched.get() == target.get()) return;
  }
  watching.push_back(target);
  ActorCell* cell = target ? target->AsCell() : nullptr;
  proto::ExitReason final_reason;
  if (cell != nullptr && cell->AddWatcher(this, &final_reason)) return;
  // Not a cell: an actor on another node takes the watch itself.
  if (cell == nullptr && target && target->WatchedBy(AddressablePtr(this))) return;
  if (cell == nullptr) {
    final_reason =
        ReasonWithoutDetail(proto::ExitReason::NORMAL, target ? "not an actor" : "empty ref");
  }
  SendDown(*this, target, final_reason);  // already gone: Down at once
}

void ActorCell::Unwatch(const AddressablePtr& target) {
  Extras* x = extras_if_any();
  if (x == nullptr) return;
  std::vector<AddressablePtr>& watching = x->turn.watching;
  auto it = std::find_if(watching.begin(), watching.end(),
                         [&](const AddressablePtr& w) { return w.get() == target.get(); });
  if (it == watching.end()) return;
  AddressablePtr watched = std::move(*it);
  watching.erase(it);
  if (ActorCell* cell = watched ? watched->AsCell() : nullptr) {
    cell->RemoveWatcher(this);
  } else if (watched) {
    watched->UnwatchedBy(this);
  }
}

void ActorCell::OnDown(Envelope& envelope) {
  if (Extras* x = extras_if_any()) {
    std::vector<AddressablePtr>& watching = x->turn.watching;
    auto it = std::find_if(watching.begin(), watching.end(), [&](const AddressablePtr& w) {
      return w.get() == envelope.sender().get();
    });
    if (it != watching.end()) {
      watching.erase(it);  // one Down per watch
      Dispatch(envelope);
      return;
    }
  }
  if (!IsStaleSignal(envelope)) Dispatch(envelope);
}

// -- links ---------------------------------------------------------------------------

// Watch() and Link() treat an empty ref (or one that is not an actor) the
// same way: as an actor that has already stopped, NORMAL. So a watch gets
// its Down at once, and a link its Exit at once, which an actor that does
// not trap exits ignores (NORMAL), and one that does receives.
void ActorCell::Link(const AddressablePtr& target) {
  if (target.get() == this) return;
  proto::ExitReason unused;
  if (extras().monitors.AddLink(target, &unused) != AddResult::kAdded) return;
  ActorCell* cell = target ? target->AsCell() : nullptr;
  // Not a cell: an actor on another node takes the link itself.
  if (cell == nullptr && target && target->LinkedBy(AddressablePtr(this))) return;
  proto::ExitReason final_reason;
  if (cell == nullptr) {
    final_reason =
        ReasonWithoutDetail(proto::ExitReason::NORMAL, target ? "not an actor" : "empty ref");
  } else if (cell->AddLink(this, &final_reason)) {
    return;
  }
  SendExit(*this, target, final_reason);  // already gone: Exit at once
}

void ActorCell::Unlink(const AddressablePtr& target) {
  if (!RemoveLink(target.get())) return;
  if (ActorCell* cell = target ? target->AsCell() : nullptr) {
    cell->RemoveLink(this);
  } else if (target) {
    target->UnlinkedBy(this);  // a remote link: its node forgets it
  }
}

void ActorCell::OnExit(Envelope& envelope) {
  // From a linked actor, the link ends with it. (See IsStaleSignal.)
  if (!RemoveLink(envelope.sender().get())) {
    if (!IsStaleSignal(envelope)) Dispatch(envelope);
    return;
  }
  if (state_.trap_exits) {
    Dispatch(envelope);
    return;
  }
  const proto::Exit& exit = envelope.As<proto::Exit>();
  if (!IsAbnormal(exit.reason().kind())) return;
  RequestStop(proto::ExitReason::LINKED_EXIT,
              absl::StrCat("linked actor ", exit.from().name(), "#", exit.from().id(),
                           " stopped: ", proto::ExitReason::Kind_Name(exit.reason().kind()),
                           exit.reason().detail().empty() ? "" : " (", exit.reason().detail(),
                           exit.reason().detail().empty() ? "" : ")"));
}

// -- the end -------------------------------------------------------------------------

void ActorCell::NotifyMonitors(const proto::ExitReason& reason) {
  Extras& x = *extras_if_any();
  std::vector<AddressablePtr> watchers;
  std::vector<AddressablePtr> links;
  x.monitors.Seal(reason, &watchers, &links);
  const AddressablePtr self(this);
  for (const AddressablePtr& watcher : watchers) SendDown(*watcher, self, reason);
  // The other side drops its half of the link when it handles the Exit.
  // (A link to no actor is dropped when its own Exit is handled; one still
  // waiting for that has no one to tell.)
  for (const AddressablePtr& other : links) {
    if (!other) continue;
    if (other->AsCell() != nullptr) {
      SendExit(*other, self, reason);
    } else {
      other->LinkedActorStopped(*this, reason);  // a remote link: the far side hears
    }
  }
  for (const AddressablePtr& target : x.turn.watching) {
    if (ActorCell* cell = target ? target->AsCell() : nullptr) {
      cell->RemoveWatcher(this);
    } else if (target) {
      target->UnwatchedBy(this);  // a remote watch: its node forgets it
    }
  }
  x.turn.watching.clear();
}

}  // namespace troupe::actor_internal
