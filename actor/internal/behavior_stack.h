// -----------------------------------------------------------------------------
// File: internal/behavior_stack.h
// -----------------------------------------------------------------------------
//
// `BehaviorStack`: the behaviours under the current one (Become with
// kStack, Unbecome), the ones replaced while a handler ran, and the stash:
// mail set aside (Actor::Stash) and mail put back in front of the mailbox
// (UnstashAll, and mail held between incarnations).
//
//   stack.Push(std::move(current), BecomeMode::kStack);   // current = next
//   if (auto previous = stack.Pop(std::move(current))) current = std::move(*previous);
//   stack.Stash(envelope);  stack.UnstashAll();
//   if (MailboxNode* node = stack.NextUnstashed()) ...     // before the mailbox's mail
//
// The current behaviour itself lives in the cell (the turn reads it for
// every message). Touched only by the cell's turns.

#ifndef TROUPE_ACTOR_INTERNAL_BEHAVIOR_STACK_H_
#define TROUPE_ACTOR_INTERNAL_BEHAVIOR_STACK_H_

#include <optional>
#include <utility>
#include <vector>

#include "actor/behavior.h"
#include "mailbox/mailbox.h"

namespace troupe::actor_internal {

class BehaviorStack {
 public:
  // Keeps `replaced` (the current behaviour, about to be replaced): stacked
  // for Pop(), or retired until the running handler returns.
  void Push(Behavior replaced, BecomeMode mode);
  // Retires `current` and hands back the behaviour under it; nullopt (and
  // `current` untouched) if nothing is stacked.
  std::optional<Behavior> Pop(Behavior& current);
  // After each handler: frees the behaviours it replaced.
  void ClearRetired() {
    if (!retired_.empty()) retired_.clear();
  }
  // The incarnation ended: no stacked behaviour outlives it.
  void ClearStacked() { stacked_.clear(); }

  void Stash(MailboxNode* node) { stash_.PushBack(node); }
  // Stashed mail goes before what was unstashed earlier and not yet handled.
  void UnstashAll();
  bool has_stashed() const { return !stash_.empty(); }
  // Mail handed out before the mailbox's own.
  bool has_unstashed() const { return !unstashed_.empty(); }
  MailboxNode* NextUnstashed() { return unstashed_.PopFront(); }
  const MailboxNode* first_unstashed() const { return unstashed_.front(); }
  void HoldForNextIncarnation(MailboxNode* node) { unstashed_.PushBack(node); }
  // Mail held while a handler was suspended goes back, behind what is
  // already unstashed and ahead of the mailbox.
  void Release(MailboxNodeList held) { unstashed_.Append(std::move(held)); }
  MailboxNodeList TakeUnstashed() { return std::move(unstashed_); }
  MailboxNodeList TakeStash() { return std::move(stash_); }

 private:
  std::vector<Behavior> stacked_;  // kStack behaviours under the current one
  std::vector<Behavior> retired_;  // replaced while a handler ran; freed after it
  MailboxNodeList stash_;
  MailboxNodeList unstashed_;
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_BEHAVIOR_STACK_H_
