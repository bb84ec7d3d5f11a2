#include "actor/internal/behavior_stack.h"

#include <utility>

#include "actor/internal/actor_cell.h"
#include "base/logging.h"

namespace troupe::actor_internal {

void BehaviorStack::Push(Behavior replaced, BecomeMode mode) {
  if (mode == BecomeMode::kStack) {
    stacked_.push_back(std::move(replaced));
  } else {
    retired_.push_back(std::move(replaced));  // its handler may be running now
  }
}

std::optional<Behavior> BehaviorStack::Pop(Behavior& current) {
  if (stacked_.empty()) return std::nullopt;
  retired_.push_back(std::move(current));
  Behavior previous = std::move(stacked_.back());
  stacked_.pop_back();
  return previous;
}

void BehaviorStack::UnstashAll() {
  if (stash_.empty()) return;
  MailboxNodeList merged = std::move(stash_);
  merged.Append(std::move(unstashed_));
  unstashed_ = std::move(merged);
}

// -- the running actor's side -----------------------------------------------------

void ActorCell::Become(Behavior behavior, BecomeMode mode) {
  turn().behaviors.Push(std::move(behavior_), mode);
  behavior_ = std::move(behavior);
}

void ActorCell::Unbecome() {
  Extras* x = extras_if_any();
  if (x == nullptr) return;
  if (std::optional<Behavior> previous = x->turn.behaviors.Pop(behavior_)) {
    behavior_ = std::move(*previous);
  }
}

void ActorCell::Stash() {
  if (current_ == nullptr) {  // a bug in the caller, but not worth a crash
    LogError(ActorLog(), "Stash() outside a handler, or twice for one message: ignored");
    return;
  }
  turn().behaviors.Stash(current_.release());
}

void ActorCell::UnstashAll() {
  if (Extras* x = extras_if_any()) x->turn.behaviors.UnstashAll();
}

}  // namespace troupe::actor_internal
