// ActorCell's lifecycle actions: a stop request, the end of an incarnation
// (children first, then OnStop), and finishing for good. The state machine
// these follow is written down in lifecycle.h.

#include "actor/internal/lifecycle.h"

#include <exception>
#include <utility>

#include "actor/actor.h"
#include "actor/hooks.h"
#include "actor/internal/actor_cell.h"
#include "actor/internal/child_signals.h"
#include "actor/internal/system_link.h"
#include "base/logging.h"

namespace troupe::actor_internal {

namespace {

proto::ExitReason MakeReason(proto::ExitReason::Kind kind, std::string detail) {
  proto::ExitReason reason;
  reason.set_kind(kind);
  reason.set_detail(std::move(detail));
  return reason;
}

// Mail still held when a cell finishes. A lifecycle signal among it is
// moot, not lost: dropped, not dead-lettered.
void DeadLetterAll(CellEnvironment* env, MailboxNodeList list, const Addressable* receiver) {
  while (MailboxNode* node = list.PopFront()) {
    EnvelopePtr envelope(static_cast<Envelope*>(node));
    if (envelope->lane() == MailboxNode::Lane::kSystem) continue;
    env->PublishDeadLetter(std::move(envelope), DeadLetterReason::kDroppedAtStop, receiver);
  }
}

}  // namespace

void ActorCell::RequestStop(proto::ExitReason::Kind kind, std::string detail) {
  RequestStop(kind, std::move(detail), After::kDefault);
}

void ActorCell::RequestStop(proto::ExitReason::Kind kind, std::string detail, After after) {
  if (!state_.RequestStop(kind, after)) {
    // A supervisor half-way through stopping its children one by one when
    // the system shuts down tells the rest at once (see EndIncarnation()).
    if (kind == proto::ExitReason::SYSTEM_SHUTDOWN && state_.supervisor &&
        state_.phase == Phase::kEnding) {
      TerminateChildren(MakeReason(proto::ExitReason::SYSTEM_SHUTDOWN, ""));
    }
    return;
  }
  if (!detail.empty()) turn().stop_detail = std::move(detail);
}

proto::ExitReason ActorCell::StopReason() const {
  Extras* x = extras_if_any();
  return MakeReason(state_.kind(), x != nullptr ? x->turn.stop_detail : std::string());
}

proto::ExitReason::Kind ActorCell::FinalKind() const {
  return static_cast<proto::ExitReason::Kind>(stopped_.load(std::memory_order_acquire) - 1);
}

void ActorCell::SetPhase(Phase phase) {
  state_.phase = phase;
  // A cell without extras has no children, so it never waits in kEnding,
  // and a supervised one (kSuspended) has them from the start: stats need
  // the phase only where extras exist.
  if (Extras* x = extras_if_any()) x->stats.ShowPhase(phase);
}

void ActorCell::StopUnstarted(proto::ExitReason::Kind kind, std::string detail) {
  state_.started = true;
  RequestStop(kind, std::move(detail), After::kFinish);
  Extras* x = extras_if_any();
  if (x == nullptr || x->turn.children.empty()) {
    SetPhase(Phase::kEnding);
    Finish();
    return;
  }
  // Its constructor spawned children before it threw: a turn waits for them.
  scheduler()->Schedule(this, priority());
}

bool ActorCell::EndIncarnation() {
  SetPhase(Phase::kEnding);
  // Its tasks first: cancelled, they unwind in steps (system-lane mail)
  // while the cell waits; the last one's end goes on (ContinueEndAfterTasks).
  if (Extras* x = extras_if_any();
      x != nullptr && x->turn.tasks != nullptr && !x->turn.tasks->empty()) {
    x->turn.tasks->end_waits = true;
    x->turn.tasks->CancelAll();
    return false;
  }
  return EndChildren();
}

bool ActorCell::EndChildren() {
  Extras* x = extras_if_any();
  if (x == nullptr || x->turn.children.empty()) return CompleteEnd();
  // A supervisor stops its children one at a time, newest first: a tree
  // stops in the reverse of its start order. Not at system shutdown: each
  // step waits for the child's turn, behind every other busy actor, so with
  // many children under load the shutdown would take rounds without end.
  // Then, as any parent does, it tells them all at once.
  if (state_.supervisor && !env()->IsShuttingDown()) {
    TerminateNextChild();
  } else {
    TerminateChildren(StopReason());
  }
  return false;
}

bool ActorCell::CompleteEnd() {
  if (actor_ != nullptr) {
    try {
      actor_->OnStop();
    } catch (const std::exception& e) {
      if (int64_t skipped; env()->failure_log().ShouldLog(&skipped)) {
        LogError(ActorLog(), "OnStop threw: {}{}", e.what(), LogLimiter::Skipped(skipped));
      }
    } catch (...) {
      if (int64_t skipped; env()->failure_log().ShouldLog(&skipped)) {
        LogError(ActorLog(), "OnStop threw{}", LogLimiter::Skipped(skipped));
      }
    }
  }
  behavior_ = Behavior();
  if (Extras* x = extras_if_any()) {
    x->turn.behaviors.ClearStacked();
    x->turn.behaviors.UnstashAll();  // stashed mail goes in front, for the next incarnation
  }
  DestroyActor();
  state_.trap_exits = false;
  if (state_.after == After::kFinish) return Finish();
  if (state_.kind() == proto::ExitReason::KILLED) DropQueuedMail();
  if (state_.after == After::kRestart) {
    Restart();
    return false;
  }
  SetPhase(Phase::kSuspended);
  ReportEnd();
  return false;
}

void ActorCell::DropQueuedMail() {
  // A kill discards the mail that was waiting, as if the actor had died
  // with it; lifecycle signals among it still count.
  BehaviorStack& behaviors = turn().behaviors;
  MailboxNodeList queued = behaviors.TakeUnstashed();
  while (MailboxNode* node = mailbox_.Pop(mail_stack())) queued.PushBack(node);
  while (MailboxNode* node = queued.PopFront()) {
    EnvelopePtr envelope(static_cast<Envelope*>(node));
    if (envelope->lane() == MailboxNode::Lane::kSystem) {
      behaviors.HoldForNextIncarnation(envelope.release());
    } else {
      env()->PublishDeadLetter(std::move(envelope), DeadLetterReason::kDroppedAtStop, this);
    }
  }
}

bool ActorCell::Finish() {
  const proto::ExitReason reason = StopReason();
  CellEnvironment* const env = this->env();

  // Dead from here on: Tell() dead-letters, the registry drops our names.
  stopped_.store(static_cast<uint8_t>(reason.kind() + 1), std::memory_order_seq_cst);
  MailboxNodeList rest = mailbox_.Close(mail_stack());
  // Senders waiting for room find it closed now, not at their deadline.
  if ((spawn_flags_.load(std::memory_order_relaxed) & kBoundedMailbox) != 0) {
    extras_if_any()->limit->WakeAllSenders();
  }
  if (registered_.load(std::memory_order_seq_cst)) env->UnregisterAll(this);
  if (ActorHooks* hooks = link()->hooks()) hooks->OnStop(ActorRef(AddressablePtr(this)), reason);

  // Watchers and links live in the extras. If there are none, seal the
  // pointer, so that a watcher or linker racing with this finds the seal
  // instead of creating extras nobody would ever read (the Down is theirs
  // to send themselves, with FinalKind()).
  Extras* x = extras_if_any();
  if (x == nullptr) {
    Extras* expected = nullptr;
    if (!extras_.compare_exchange_strong(expected, Sealed(), std::memory_order_acq_rel,
                                         std::memory_order_acquire)) {
      x = expected;  // one was made just now
    }
  }
  if (x != nullptr) {
    NotifyMonitors(reason);
    DeadLetterAll(env, x->turn.behaviors.TakeUnstashed(), this);
    DeadLetterAll(env, x->turn.behaviors.TakeStash(), this);
    if (x->turn.tasks != nullptr) DeadLetterAll(env, std::move(x->turn.tasks->held), this);
    x->turn.behaviors.ClearStacked();
    x->turn.factory = nullptr;
  }
  DeadLetterAll(env, std::move(rest), this);
  behavior_ = Behavior();
  DestroyActor();

  if (parent_) {
    ChildEnded ended;
    ended.child = AddressablePtr(this);
    ended.incarnation = incarnation();
    ended.terminated = true;
    ended.reason = reason;
    parent_->Deliver(MakeEnvelope(std::move(ended), AddressablePtr(this)));
  }
  env->OnCellFinished(this);  // last: it may drop the last ref to this cell
  return true;
}

}  // namespace troupe::actor_internal
