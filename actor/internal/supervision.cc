// ActorCell's incarnations: a supervised cell makes each incarnation with
// its factory on its own turn, reports each end to its supervisor, waits
// suspended (mailbox intact) for the directive, and restarts behind the
// same refs. The supervisor's side is actor/supervisor.cc; the signals they
// exchange are in child_signals.h.

#include <exception>
#include <utility>

#include "actor/actor.h"
#include "actor/hooks.h"
#include "actor/internal/actor_cell.h"
#include "actor/internal/child_signals.h"
#include "actor/internal/system_link.h"

namespace troupe::actor_internal {

void ActorCell::StartSupervised(IncarnationFactory factory,
                                std::shared_ptr<Scheduler> own_scheduler) {
  turn().factory = std::move(factory);
  state_.supervised = true;
  Start(nullptr, std::move(own_scheduler));  // the first turn makes the first incarnation
}

uint32_t ActorCell::incarnation() const {
  Extras* x = extras_if_any();
  return x != nullptr ? x->stats.incarnation() : 1;
}

void ActorCell::ConstructIncarnation() {
  const ConstructingScope constructing(this);
  try {
    actor_ = extras_if_any()->turn.factory(actor_storage());
  } catch (const std::exception& e) {
    Fail(nullptr, e.what());
  } catch (...) {
    Fail(nullptr, "unknown exception");
  }
}

void ActorCell::Restart() {
  const proto::ExitReason ended = StopReason();
  if (ActorHooks* hooks = link()->hooks()) hooks->OnRestart(ActorRef(AddressablePtr(this)), ended);
  state_.BeginIncarnation();
  SetPhase(Phase::kRunning);
  Extras& x = extras();
  x.turn.stop_detail.clear();
  x.stats.CountRestart();
  ConstructIncarnation();
  if (!state_.stopping) StartIncarnation(&ended);
}

void ActorCell::ReportEnd() {
  ChildEnded ended;
  ended.child = AddressablePtr(this);
  ended.incarnation = incarnation();
  ended.reason = StopReason();
  parent_->Deliver(MakeEnvelope(std::move(ended), AddressablePtr(this)));
}

// Between incarnations (kEnding, kSuspended) a cell takes lifecycle signals
// only; every other message is held, in order, for the next incarnation.
bool ActorCell::HandleBetween(Envelope* raw) {
  EnvelopePtr envelope(raw);
  if (envelope->Is<TaskStep>()) {
    RunTaskStep(envelope->As<TaskStep>());
    return ContinueEndAfterTasks();
  }
  if (envelope->Is<TaskClosure>()) {
    RunTaskStep(envelope->As<TaskClosure>());
    return ContinueEndAfterTasks();
  }
  if (envelope->Is<ChildEnded>()) return OnChildEnded(*envelope);
  proto::ExitReason::Kind terminate = proto::ExitReason::KIND_UNSPECIFIED;
  if (envelope->Is<Directive>()) {
    const Directive& directive = envelope->As<Directive>();
    if (directive.kind == Directive::Kind::kTerminate) {
      terminate = directive.reason.kind();
    } else if (directive.incarnation == incarnation()) {
      if (state_.phase == Phase::kSuspended) {
        Restart();
      } else if (state_.after == After::kReport) {
        state_.after = After::kRestart;  // the supervisor wants it anyway (all-for-one)
      }
    }
  } else if (envelope->Is<proto::Stop>() &&
             envelope->As<proto::Stop>().reason().kind() == proto::ExitReason::SYSTEM_SHUTDOWN) {
    terminate = proto::ExitReason::SYSTEM_SHUTDOWN;
  } else if (envelope->Is<proto::Stop>() || envelope->Is<proto::Kill>()) {
    // The incarnation they were for has ended already.
  } else {
    turn().behaviors.HoldForNextIncarnation(envelope.release());
  }
  if (terminate == proto::ExitReason::KIND_UNSPECIFIED) return false;
  state_.after = After::kFinish;
  return state_.phase == Phase::kSuspended && Finish();
}

}  // namespace troupe::actor_internal
