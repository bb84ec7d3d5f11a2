// -----------------------------------------------------------------------------
// File: actor.h
// -----------------------------------------------------------------------------
//
// `Actor`: the class users subclass to write a service. An actor owns its
// state; only its own handlers touch it, one message at a time, so it needs
// no locks. Other code talks to it through an ActorRef.
//
//   class Counter : public troupe::Actor {
//    public:
//     explicit Counter(int64_t start) : total_(start) {}
//
//    protected:
//     troupe::Behavior MakeBehavior() override {
//       return troupe::Behavior()
//           .On<counter::Increment>([this](const counter::Increment& m) { total_ += m.by(); })
//           .On<counter::Get>([this](const counter::Get&) {
//             counter::Count count;
//             count.set_total(total_);
//             return count;  // the reply to whoever asked
//           });
//     }
//
//    private:
//     int64_t total_;
//   };
//
//   troupe::ActorRef counter = system.Spawn<Counter>(/*start=*/10);
//
// Lifecycle: the constructor runs in Spawn(), on the spawning thread. Then,
// on the actor's first turn: MakeBehavior(), OnStart(), and the messages in
// the order they arrived (lifecycle signals first). Stop() ends the actor
// after the current handler; so do a `troupe::proto::Stop` or
// `troupe::proto::Kill` sent to it, which overtake ordinary mail (a kill
// also discards the queued mail). On stop, bottom-up: the children stop
// first (each running its own OnStop), then OnStop(), then the mailbox is
// closed, what was still queued goes to dead letters, the actor object is
// destroyed, watchers get a `proto::Down` and links a `proto::Exit`.
//
// Failures: an exception escaping a handler (or the constructor, or
// OnStart) is logged with the actor and the message type; the message is
// dead-lettered (kHandlerFailed) and the actor stops with a FAILURE exit
// reason. The worker thread and the process carry on. Under a Supervisor
// (supervisor.h) the actor is restarted instead: a new incarnation behind
// the same ref and mailbox.
//
// Watching and linking (Erlang's monitors and links):
//
//   Watch(worker);  // later: On<troupe::proto::Down>, Sender() == worker
//   Link(partner);  // partner fails => this stops too (LINKED_EXIT) ...
//   TrapExits();    // ... unless it traps exits: then On<troupe::proto::Exit>
//
// Thread-safety: every protected method is for the actor's own handlers and
// hooks only (never from another thread, never after OnStop returns).
// Self() may be copied out and used anywhere.

#ifndef TROUPE_ACTOR_ACTOR_H_
#define TROUPE_ACTOR_ACTOR_H_

#include <coroutine>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "actor/behavior.h"
#include "actor/dead_letters.h"
#include "actor/internal/actor_tasks.h"
#include "actor/message.h"
#include "actor/reentrant.h"
#include "actor/spawn.h"
#include "actor/system.pb.h"
#include "async/internal/root_runner.h"
#include "async/task.h"
#include "threads/executor.h"
#include "threads/future.h"

namespace troupe {

class ActorSystem;
namespace actor_internal {
class ActorCell;
struct ActorAccess;
// A function run in the actor's context, as a message (an Actor::Ask reply).
struct Continuation {
  absl::AnyInvocable<void() &&> run;
};
}  // namespace actor_internal

class Actor {
 public:
  virtual ~Actor();
  Actor(const Actor&) = delete;
  Actor& operator=(const Actor&) = delete;

 protected:
  // Only a Spawn() may construct an actor (it links the actor to its cell).
  Actor();

  // -- hooks -------------------------------------------------------------------

  // Actor::MakeBehavior()
  //
  // The initial handlers. Called once, at the start of the first turn.
  virtual Behavior MakeBehavior() = 0;

  // Actor::OnStart() / OnStop()
  //
  // Called before the first message and after the last one. OnStop runs
  // whatever the reason of the stop, including system shutdown and failure.
  virtual void OnStart() {}
  virtual void OnStop() {}

  // Actor::OnRestart()
  //
  // Called on a new incarnation that a supervisor started in place of one
  // that ended (Akka's postRestart), before OnStart, with the reason the
  // previous one ended. State that must survive the restart comes in
  // through the constructor (see supervisor.h).
  virtual void OnRestart(const proto::ExitReason& reason) {}

  // Actor::OnUnhandled()
  //
  // A message that the current behaviour has no handler for. The default
  // dead-letters it (kUnhandled, which also fails an ask at once).
  virtual void OnUnhandled(Envelope& envelope);

  // -- the actor's context -----------------------------------------------------

  // This actor's ref. Valid from the constructor on.
  ActorRef Self() const;

  // The sender of the message being handled (empty if it has none).
  ActorRef Sender() const;

  ActorSystem& system() const;

  // Actor::Reply()
  //
  // Sends `message` to the sender of the message being handled, with this
  // actor as its sender. A reply with no one to reply to (no sender, or no
  // message being handled) is dead-lettered.
  // ReplyError() fails the sender's ask with `status`.
  template <typename T>
  void Reply(T&& message) {
    ReplyEnvelope(MakeEnvelope(std::forward<T>(message)));
  }
  void ReplyError(absl::Status status);

  // Actor::Send()
  //
  // `to.Tell(message, Self())`: mail to which `to` can reply.
  template <typename T>
  void Send(const ActorRef& to, T&& message) {
    to.Tell(std::forward<T>(message), Self());
  }

  // Actor::Ask()
  //
  // Asks `to` and, when the reply (or the error) arrives, calls
  // `on_reply(absl::StatusOr<R>)` in this actor's context, as if it were a
  // message: never concurrently with a handler, never blocking a worker.
  // If this actor stopped meanwhile, the reply is a dead letter.
  template <typename R, typename T, typename Fn>
  void Ask(const ActorRef& to, T&& message, absl::Duration timeout, Fn&& on_reply);

  // Actor::Go()
  //
  // Starts a background task bound to this actor: `fn(args...)` (a
  // coroutine returning Task<R>, or a plain callable), moved into the
  // task's frame. Every step of it runs as a turn of this actor, so it may
  // touch the actor's state; it does not hold the actor's mail back (it is
  // not a handler). It starts on a later turn, and is cancelled when the
  // actor stops or restarts (its frames unwind before OnStop). Its result
  // is dropped; an error other than kCancelled is logged. Called from
  // OnStop, it is dropped (logged): nothing outlives the incarnation.
  // (Inside an actor, a task on a pool is `troupe::Go(pool, ...)`.)
  template <typename Fn, typename... Args>
  void Go(Fn&& fn, Args&&... args);
  // Go(task): the same for a task made already, its arguments in its frame
  // (`Go(troupe::ToActor(items, Sender()))`, actor_stream.h).
  template <typename R>
  void Go(Task<R> task) {
    Go([task = std::move(task)]() mutable { return std::move(task); });
  }

  // Actor::Spawn()
  //
  // Spawns a child: it is stopped when this actor stops.
  template <typename T, typename... Args>
  ActorRef Spawn(Args&&... args);
  template <typename T, typename... Args>
  ActorRef Spawn(SpawnOptions options, Args&&... args);

  // Actor::Stop()
  //
  // Stops this actor once the current handler returns (NORMAL reason).
  void Stop();

  // Actor::Become() / Unbecome()
  //
  // Switches the handlers from the next message on. kReplace drops the
  // current behaviour; kStack keeps it, and Unbecome() returns to it.
  // Unbecome() with nothing stacked keeps the current behaviour.
  void Become(Behavior behavior, BecomeMode mode = BecomeMode::kReplace);
  void Unbecome();

  // Actor::Watch() / Unwatch()
  //
  // Watch(): when `other` stops, for whatever reason, this actor receives a
  // `proto::Down` (sent by `other`, with its address and exit reason); at
  // once if it has stopped already. Once per watch; watching twice is one
  // watch. After Unwatch() no Down arrives, even one already on its way.
  // A restart under a supervisor is not a stop. An empty ref counts as an
  // actor that has stopped: its Down (NORMAL, "empty ref") comes at once.
  void Watch(const ActorRef& other);
  void Unwatch(const ActorRef& other);

  // Actor::Link() / Unlink()
  //
  // A link is two-way: when either actor stops, the other receives a
  // `proto::Exit` signal. An actor that does not trap exits ignores a
  // NORMAL or SYSTEM_SHUTDOWN one and stops on any other (reason
  // LINKED_EXIT); one that traps exits gets every Exit as a message. Linking
  // to an actor that has stopped sends the Exit at once; so does linking to
  // an empty ref (NORMAL, "empty ref": ignored unless exits are trapped), as
  // Watch() does. (A Down or Exit sent by hand, from no watch or link, is an
  // ordinary message.)
  void Link(const ActorRef& other);
  void Unlink(const ActorRef& other);

  // Actor::TrapExits()
  //
  // Turns Exit signals from links into messages (see Link()). Per
  // incarnation: a restarted actor starts without it.
  void TrapExits(bool trap = true);

  // Actor::Stash() / UnstashAll()
  //
  // Stash() sets the message being handled aside; UnstashAll() puts every
  // stashed message back, in stash order, ahead of the mail not yet handled.
  // Stashed mail still queued at stop is dead-lettered; at a restart it is
  // handed to the next incarnation first.
  void Stash();
  void UnstashAll();

  // Actor::TakeMessage()
  //
  // Takes the message being handled, envelope and all (to keep it or
  // forward it as is); null outside a handler or if already taken. After
  // it, Sender() and Reply() see no current message.
  EnvelopePtr TakeMessage();

 private:
  friend class actor_internal::ActorCell;
  friend struct actor_internal::ActorAccess;  // the cell behind an actor (internal/actor_access.h)

  // Sends `reply` to the current message's sender; outside a handler (in
  // OnStart, say) there is none: a dead letter, logged.
  void ReplyEnvelope(EnvelopePtr reply);
  ActorRef SpawnChild(SpawnOptions options, ActorFactory factory);

  actor_internal::ActorCell* const cell_;
};

template <typename R, typename T, typename Fn>
void Actor::Ask(const ActorRef& to, T&& message, absl::Duration timeout, Fn&& on_reply) {
  Future<R> reply = to.Ask<R>(std::forward<T>(message), timeout);
  (void)reply.Then(InlineExecutor(), [self = Self(), fn = std::forward<Fn>(on_reply)](
                                         absl::StatusOr<R> result) mutable {
    self.Tell(actor_internal::Continuation{
        [fn = std::move(fn), result = std::move(result)]() mutable { fn(std::move(result)); }});
  });
}

namespace actor_internal {

// An Actor::Go() task running fn(args...): it keeps them (StoredCall) for
// as long as the task runs; nobody awaits its result.
template <typename R, typename Fn, typename... Args>
class BackgroundStrand final : public CellStrand {
 public:
  template <typename F, typename... A>
  BackgroundStrand(Addressable* self, F&& fn, A&&... args)
      : CellStrand(self, Kind::kBackground), call_(std::forward<F>(fn), std::forward<A>(args)...) {}

  // fn(args...), once: for a coroutine, creates its (lazy) frame.
  auto Call() { return call_(); }

  void SetResult(TaskResult<R> result) {
    absl::Status status;
    if constexpr (std::is_same_v<TaskResult<R>, absl::Status>) {
      status = std::move(result);
    } else {
      status = result.status();
    }
    if (!status.ok() && status.code() != absl::StatusCode::kCancelled) {
      LogBackgroundFailure(status);
    }
  }

  // A coroutine, the strand's root, has ended.
  void RootEnded(std::coroutine_handle<> root) noexcept override {
    SetResult(async_internal::TakeRootResult<R>(root));
    root.destroy();
    Ended();
  }

 private:
  async_internal::StoredCall<Fn, Args...> call_;
};

}  // namespace actor_internal

template <typename Fn, typename... Args>
void Actor::Go(Fn&& fn, Args&&... args) {
  using R = typename async_internal::RootResult<
      std::invoke_result_t<std::decay_t<Fn>&&, std::decay_t<Args>&&...>>::type;
  actor_internal::Addressable* self = Self().target().get();
  auto* strand = new actor_internal::BackgroundStrand<R, std::decay_t<Fn>, std::decay_t<Args>...>(
      self, std::forward<Fn>(fn), std::forward<Args>(args)...);
  std::coroutine_handle<> root = async_internal::StartRoot<R>(strand);
  if (root == nullptr) {  // it threw before it could start: logged as its error
    delete strand;
    return;
  }
  actor_internal::StartStrand(self, strand, root, actor_internal::FirstStep::kMailed);
}

template <typename T, typename... Args>
ActorRef Actor::Spawn(Args&&... args) {
  return Spawn<T>(SpawnOptions(), std::forward<Args>(args)...);
}

template <typename T, typename... Args>
ActorRef Actor::Spawn(SpawnOptions options, Args&&... args) {
  return SpawnChild(std::move(options), MakeActorFactory<T>([&](void* storage) -> Actor* {
                      return new (storage) T(std::forward<Args>(args)...);
                    }));
}

}  // namespace troupe

#endif  // TROUPE_ACTOR_ACTOR_H_
