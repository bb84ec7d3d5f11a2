// ActorCell's tasks: starting a strand, running its steps on the actor's
// turns, holding mail while a handler is suspended, refusing ask cycles.
// The design is in actor_tasks.h.

#include "actor/internal/actor_tasks.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "actor/internal/actor_cell.h"
#include "actor/internal/ask.h"
#include "actor/internal/cell_environment.h"
#include "actor/internal/turn_context.h"
#include "actor/reentrant.h"
#include "async/internal/trampoline.h"
#include "base/logging.h"

namespace troupe::actor_internal {

// -- CellStrand ----------------------------------------------------------------------

Clock& CellStrand::clock() const { return self_->env()->clock(); }

void CellStrand::Execute(Closure closure) {
  // The strand is live (it is suspended), so its actor has not finished:
  // the mailbox is open and the step will run.
  cell_->Deliver(MakeEnvelope(TaskClosure{this, std::move(closure)}));
}

void CellStrand::PostResume(async_internal::ResumeClosure&& resume) {
  cell_->Deliver(MakeEnvelope(TaskStep{this, std::move(resume)}));
}

void CellStrand::Ended() noexcept { cell_->OnTaskEnded(this); }

void CellStrand::Abandon() noexcept {
  // Only a closed mailbox drops a step, and a cell closes it only after
  // its last task ended. Should it happen anyway, leaking the frame is
  // safe; destroying it on a foreign thread is not.
  LogError(ActorLog(), "a task's resumption was dropped by a finished actor; its frame is leaked");
}

// -- ActorTasks ----------------------------------------------------------------------

void ActorTasks::Add(CellStrand* strand) {
  live_.push_back(strand);
  if (strand->kind() == CellStrand::Kind::kHandler) {
    ++handlers_;
    ++gating_;
  }
}

void ActorTasks::Remove(CellStrand* strand) {
  live_.erase(std::find(live_.begin(), live_.end(), strand));
  if (strand->kind() == CellStrand::Kind::kHandler) {
    --handlers_;
    if (!strand->in_reentrant_wait) --gating_;
  }
}

void ActorTasks::EnterReentrantWait(CellStrand* strand) {
  if (strand->kind() != CellStrand::Kind::kHandler || strand->in_reentrant_wait) return;
  strand->in_reentrant_wait = true;
  --gating_;
}

void ActorTasks::LeaveReentrantWait(CellStrand* strand) {
  if (!strand->in_reentrant_wait) return;
  strand->in_reentrant_wait = false;
  ++gating_;
}

bool ActorTasks::IsGatingHandler(uint64_t serial) const {
  for (const CellStrand* strand : live_) {
    if (strand->serial == serial) {
      return strand->kind() == CellStrand::Kind::kHandler && !strand->in_reentrant_wait;
    }
  }
  return false;
}

void ActorTasks::CancelAll() {
  // Cancel() mails the resumptions; none runs (or ends) inside the loop.
  for (CellStrand* strand : live_) strand->Cancel();
}

// -- entry points ----------------------------------------------------------------------

bool StartStrand(Addressable* self, CellStrand* strand, std::coroutine_handle<> root,
                 FirstStep first) {
  return self->AsCell()->StartTask(strand, root, first);
}

void EnterReentrantWait(CellStrand* strand) { strand->cell()->tasks().EnterReentrantWait(strand); }

void LeaveReentrantWait(CellStrand* strand) { strand->cell()->tasks().LeaveReentrantWait(strand); }

const Envelope* StrandMessage(const CellStrand* strand) { return strand->cell()->current(); }

void LogBackgroundFailure(const absl::Status& status) {
  LogError(ActorLog(), "a task ended with an error nobody awaits: {}", status.ToString());
}

CellStrand* RunningStrand() {
  CellStrand* strand = CurrentStrand();
  return strand != nullptr && strand->cell() == RunningCell() ? strand : nullptr;
}

namespace {

// A handler task's first ask: whether its chain must be shared (it serves
// a request in a chain, or its actor has a name to store) or is one link
// each ask carries inline (AskChainRef). Out of line: once per task.
ABSL_ATTRIBUTE_NOINLINE void WorkOutChain(CellStrand* strand) {
  ActorCell* cell = strand->cell();
  strand->chain_known = true;
  const Envelope* request = cell->current();
  const AskChain* served =
      request != nullptr && request->sender() ? request->sender()->ask_chain() : nullptr;
  if (served != nullptr || cell->named()) {
    strand->own_chain = AskChain::Extend(
        served, {cell->id(), strand->serial, AskChain::LinkName(cell->name(), cell->id())});
  }
}

}  // namespace

void ChainForAsk(AskChainRef& chain) {
  CellStrand* strand = RunningStrand();
  if (strand == nullptr || strand->kind() != CellStrand::Kind::kHandler) return;
  if (!strand->chain_known) WorkOutChain(strand);
  if (strand->own_chain != nullptr) {
    chain.Share(strand->own_chain);
  } else {
    ActorCell* cell = strand->cell();
    chain.Inline(cell->id(), strand->serial, cell->type_name());
  }
}

// -- the cell's side --------------------------------------------------------------------

ActorTasks& ActorCell::tasks() {
  TurnExtras& t = turn();
  if (t.tasks == nullptr) t.tasks = std::make_unique<ActorTasks>();
  return *t.tasks;
}

bool ActorCell::StartTask(CellStrand* strand, std::coroutine_handle<> root, FirstStep first) {
  if (!state_.running() || actor_ == nullptr) {
    LogError(ActorLog(), "a task started after the actor's last handler is dropped");
    root.destroy();  // the task never ran: its frame goes, then its callable and arguments
    delete strand;
    return false;
  }
  ActorTasks& tasks = this->tasks();
  strand->serial = tasks.NextSerial();
  tasks.Add(strand);
  if (first == FirstStep::kMailed) {
    strand->PostResume(async_internal::ResumeClosure(strand, root));
    return true;
  }
  // A handler's task: its first step runs now, serving current_.
  RunStep(strand, [root] { async_internal::RunTrampoline(root); });
  return true;
}

void ActorCell::RunTaskStep(TaskStep& step) {
  async_internal::ResumeClosure resume = std::move(step.resume);
  RunInStrand(step.strand, [&resume] { std::move(resume)(); });
}

void ActorCell::RunTaskStep(TaskClosure& step) {
  Closure closure = std::move(step.closure);
  RunInStrand(step.strand, [&closure] { std::move(closure)(); });
}

void ActorCell::RunInStrand(CellStrand* strand, absl::FunctionRef<void()> step) {
  // The step's own envelope steps aside for the message its task serves,
  // so that Sender(), Reply() and Self() mean what they meant at the start.
  EnvelopePtr outer = std::move(current_);
  current_ = std::move(strand->message);
  RunStep(strand, step);
  current_ = std::move(outer);
}

void ActorCell::RunStep(CellStrand* strand, absl::FunctionRef<void()> step) {
  ActorTasks& tasks = *turn().tasks;
  tasks.stepping = strand;
  tasks.stepping_ended = false;
  CellStrand* const outer = std::exchange(CurrentStrand(), strand);
  step();
  CurrentStrand() = outer;
  if (tasks.stepping_ended) {
    current_.reset();  // the request outlives its handler's frames, no more
  } else {
    strand->message = std::move(current_);
  }
  tasks.stepping = nullptr;
  state_.gated = tasks.gated();
  if (!state_.gated && !tasks.held.empty()) turn().behaviors.Release(std::move(tasks.held));
}

void ActorCell::OnTaskEnded(CellStrand* strand) {
  ActorTasks& tasks = *turn().tasks;
  tasks.Remove(strand);
  if (tasks.stepping == strand) tasks.stepping_ended = true;
  delete strand;
}

void ActorCell::HoldWhileGated(Envelope* raw) {
  EnvelopePtr envelope(raw);
  ActorTasks& tasks = *turn().tasks;
  const AddressablePtr& sender = envelope->sender();
  const AskChain* chain = sender ? sender->ask_chain() : nullptr;
  if (chain != nullptr) {
    const AskChain::Link* link =
        chain->Find(id(), [&tasks](uint64_t serial) { return tasks.IsGatingHandler(serial); });
    if (link != nullptr) {
      // The ask waits for a handler here that waits for the ask.
      std::string cycle;
      for (const AskChain::Link* l = link; l != chain->links.data() + chain->links.size(); ++l) {
        absl::StrAppend(&cycle, l->name, " -> ");
      }
      absl::StrAppend(&cycle, link->name);
      sender->Deliver(MakeEnvelope(absl::FailedPreconditionError(absl::StrCat(
          "ask cycle ", cycle, ": ", envelope->type().name(), " needs ", link->name,
          ", whose handler is suspended waiting for this very ask (handlers are not reentrant: "
          "wrap the outer await in Reentrant() if ",
          link->name, " may serve it meanwhile)"))));
      return;
    }
  }
  tasks.held.PushBack(envelope.release());
}

bool ActorCell::ContinueEndAfterTasks() {
  ActorTasks& tasks = *turn().tasks;
  if (!tasks.end_waits || !tasks.empty()) return false;
  tasks.end_waits = false;
  return EndChildren();
}

}  // namespace troupe::actor_internal
