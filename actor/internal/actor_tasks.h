// -----------------------------------------------------------------------------
// File: internal/actor_tasks.h
// -----------------------------------------------------------------------------
//
// The tasks an actor runs: handlers that return a Task<R> (behavior.h) and
// background tasks started with Actor::Go(). Each is a strand
// (`CellStrand`) whose executor is the actor itself: a resumption, from
// whatever thread ends the wait, is mailed to the actor as a `TaskStep` on
// the system lane and runs as part of one of its turns. So a task touches
// the actor's state only on the actor's turn, like a handler does.
//
//   handler returns Task<R>  ->  StartStrand(cell, strand, root, kInline)
//     the first step runs now, inside the handler's turn; each later one
//     is a TaskStep; at the end the result is the reply.
//
// Non-reentrancy: while a handler task is suspended (outside a
// Reentrant() wait) its actor is "gated": ordinary mail is held, in order,
// and handed back when the gate opens; system-lane mail (lifecycle signals,
// task steps) still gets through. A held ask whose chain names a waiting
// handler of this actor is a deadlock, refused at once (ask_chain.h).
//
// Ending: an ending incarnation cancels its tasks and waits, taking only
// system-lane mail, until every one has ended (its frames destroyed), and
// only then stops its children and calls OnStop (lifecycle.cc).
//
// Everything here is touched by the cell's turns only, except
// CellStrand::Execute(), which any thread may call.

#ifndef TROUPE_ACTOR_INTERNAL_ACTOR_TASKS_H_
#define TROUPE_ACTOR_INTERNAL_ACTOR_TASKS_H_

#include <coroutine>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "actor/internal/addressable.h"
#include "actor/internal/ask_chain.h"
#include "actor/message.h"
#include "async/internal/context.h"
#include "async/internal/root_runner.h"
#include "mailbox/mailbox.h"
#include "threads/clock.h"
#include "threads/executor.h"

namespace troupe::actor_internal {

class ActorCell;

// One strand of an actor: the context of its task and the executor that
// mails the task's resumptions to the actor.
// Executor first: it is constructed before the strand's context points at it.
class CellStrand : public Executor, public async_internal::RootStrand {
 public:
  enum class Kind : uint8_t {
    kHandler,     // a handler's task: gates the actor, replies at the end
    kBackground,  // Actor::Go(): neither
  };

  // `self`: the actor's cell (an ActorCell), running its turn.
  CellStrand(Addressable* self, Kind kind)
      : RootStrand(this), self_(self), cell_(self->AsCell()), kind_(kind) {
    set_posts_resumptions();
    set_cancelled_on_own_turn();  // only ActorTasks::CancelAll(), on a turn
  }
  virtual ~CellStrand() = default;

  // Any thread: mails `closure` to the actor as a TaskClosure.
  void Execute(Closure closure) override;
  // Any thread: a resumption of this strand's task, mailed as it is.
  void PostResume(async_internal::ResumeClosure&& resume) override;
  // The task ended, frames destroyed: the actor forgets it.
  void Ended() noexcept override;
  // A TaskStep was destroyed unrun: impossible while the actor waits for
  // its tasks before it finishes; logged, never a crash.
  void Abandon() noexcept override;
  // The actor system's (the test kit's virtual clock under the kit).
  Clock& clock() const override;

  Addressable* self() const { return self_; }
  ActorCell* cell() const { return cell_; }
  Kind kind() const { return kind_; }

  // -- the cell's bookkeeping (its turns only) ---------------------------------

  uint64_t serial = 0;             // unique per cell
  bool in_reentrant_wait = false;  // inside a Reentrant() wait: not gating
  EnvelopePtr message;             // a handler's request, between steps
  // The chain a handler task's asks carry: its request's, plus itself.
  // Worked out on its first ask: shared (own_chain), or inline in each ask
  // (own_chain null) when it is one link that needs no name stored
  // (AskChainRef, internal/ask_chain.h).
  bool chain_known = false;
  std::shared_ptr<const AskChain> own_chain;

 private:
  Addressable* const self_;
  ActorCell* const cell_;
  const Kind kind_;
};

// A resumption of `strand`'s task, as mail: the common case (every await
// that suspends ends in one), so it carries no type-erased wrapper.
struct TaskStep {
  static constexpr bool kSystemLane = true;
  CellStrand* strand;
  async_internal::ResumeClosure resume;
};

// Any other closure run on `strand` as its executor (the step of a handler
// parked on a buffered channel, posted by whoever made room or sent:
// async/channel.cc). Apart from TaskStep so that a resumption neither
// builds nor destroys an empty AnyInvocable (bench K1).
struct TaskClosure {
  static constexpr bool kSystemLane = true;
  CellStrand* strand;
  Closure closure;
};

// The strand whose step runs on this thread (null outside one). Read it
// through RunningStrand().
inline CellStrand*& CurrentStrand() {
  thread_local CellStrand* strand = nullptr;
  return strand;
}

// The strand whose step runs on this thread now, or null — also inside a
// turn of another actor nested in that step (a Future::Get() that helps
// its pool runs other turns on its stack), which is not part of the task.
CellStrand* RunningStrand();

// A cell's tasks (in its extras, made on the first one).
class ActorTasks {
 public:
  ActorTasks() = default;
  ActorTasks(const ActorTasks&) = delete;
  ActorTasks& operator=(const ActorTasks&) = delete;

  void Add(CellStrand* strand);
  void Remove(CellStrand* strand);
  bool empty() const { return live_.empty(); }
  size_t handlers() const { return handlers_; }

  // A handler task is suspended outside a Reentrant() wait.
  bool gated() const { return gating_ > 0; }
  void EnterReentrantWait(CellStrand* strand);
  void LeaveReentrantWait(CellStrand* strand);
  // True if the handler task `serial` is live and gating (an ask chain's test).
  bool IsGatingHandler(uint64_t serial) const;

  // Cancels every task; their resumptions arrive as TaskSteps.
  void CancelAll();

  uint64_t NextSerial() { return ++last_serial_; }

  // Ordinary mail held while gated, in arrival order.
  MailboxNodeList held;
  // The strand whose step runs now, and whether it ended in that step.
  CellStrand* stepping = nullptr;
  bool stepping_ended = false;
  // The incarnation is ending and waits for its tasks (lifecycle.cc).
  bool end_waits = false;

 private:
  std::vector<CellStrand*> live_;
  size_t handlers_ = 0;
  size_t gating_ = 0;
  uint64_t last_serial_ = 0;
};

// StartStrand()
//
// Registers `strand` with `self` (an ActorCell, running its turn) and
// starts `root`: at once, inside this turn (a handler's task: the message
// being handled is its request), or as a TaskStep (a background task).
// Returns false, having destroyed the frame, if the actor is past running
// (its OnStop, say): no task may outlive the incarnation.
enum class FirstStep : uint8_t { kInline, kMailed };
bool StartStrand(Addressable* self, CellStrand* strand, std::coroutine_handle<> root,
                 FirstStep first);

// The message the running step's handler serves (its Sender() and Reply()
// target), or null.
const Envelope* StrandMessage(const CellStrand* strand);

// Logs a background task's error (its result has nowhere else to go).
void LogBackgroundFailure(const absl::Status& status);

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_ACTOR_TASKS_H_
