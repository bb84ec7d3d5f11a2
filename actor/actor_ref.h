// -----------------------------------------------------------------------------
// File: actor_ref.h
// -----------------------------------------------------------------------------
//
// `ActorRef`: the handle through which anyone talks to an actor.
//
//   troupe::ActorRef counter = system.Spawn<Counter>();
//   counter.Tell(counter::Increment());                       // fire and forget
//   troupe::Future<counter::Count> f =
//       counter.Ask<counter::Count>(counter::Get(), absl::Seconds(1));
//   absl::StatusOr<counter::Count> count = f.Get();
//
// A ref is small (one pointer), copyable, comparable and hashable (it works
// as a key of absl and std containers). It points to the actor's logical
// cell, which outlives any one incarnation of the actor: a supervisor can
// restart the actor behind the same ref, mailbox kept.
//
// Tell() never fails for the sender. Mail to a stopped actor goes to the
// system's dead letters (counted, logged); so does mail through an empty
// ref. Ask() returns a Future that fails with a clear status on timeout
// (kDeadlineExceeded), when the target is stopped, cannot handle the
// request or drops it without a reply, or when the system shuts down with
// the ask pending (kUnavailable), or when the reply has another type
// (kInvalidArgument). A responder can also reply with an absl::Status to
// fail the ask on purpose.
//
// Messages are moved into their envelope: pass an rvalue to avoid a copy.
//
// Thread-safety: a ref may be copied and used from any thread; Tell and Ask
// are safe concurrently. Mail from one sender to one receiver arrives in the
// order it was sent. A ref may outlive its actor (mail is then a dead
// letter) and its ActorSystem: mail through a ref whose system is gone is
// dropped and counted in OrphanDeadLetters() (reason kSystemGone, logged
// once per process), and an ask through it fails with kUnavailable. The
// send path pays nothing for this (internal/system_link.h).

#ifndef TROUPE_ACTOR_ACTOR_REF_H_
#define TROUPE_ACTOR_ACTOR_REF_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/internal/addressable.h"
#include "actor/internal/ask.h"
#include "actor/message.h"
#include "threads/future.h"
#include "threads/priority.h"

namespace troupe {

namespace actor_internal {
template <typename T>
class SendAwaiter;  // actor/send.h
// Dead-letters mail sent through an empty ref.
void SendToEmptyRef(EnvelopePtr envelope);
// Delivers or dead-letters `envelope`.
inline void Send(const AddressablePtr& target, EnvelopePtr envelope) {
  if (target) [[likely]] {
    target->Deliver(std::move(envelope));
  } else {
    SendToEmptyRef(std::move(envelope));
  }
}
}  // namespace actor_internal

class ActorRef {
 public:
  // An empty ref: it points to no actor; mail through it is dead-lettered.
  ActorRef() = default;

  // Internal: the actor layer makes refs from its cells.
  explicit ActorRef(actor_internal::AddressablePtr target) : target_(std::move(target)) {}

  explicit operator bool() const { return static_cast<bool>(target_); }

  // ActorRef::Tell()
  //
  // Sends `message` with no sender (replies to it are dead letters), or with
  // `sender` as the one a reply goes to. Never blocks.
  template <typename T>
  void Tell(T&& message) const {
    actor_internal::Send(target_, MakeEnvelope(std::forward<T>(message)));
  }
  template <typename T>
  void Tell(T&& message, const ActorRef& sender) const {
    actor_internal::Send(target_, MakeEnvelope(std::forward<T>(message), sender.target_));
  }

  // ActorRef::TryTell()
  //
  // Tell(), unless the actor cannot take the message now; then it stays in
  // `message` and the status says why: kResourceExhausted (its bounded
  // mailbox is full, whatever its overflow policy), kUnavailable (it has
  // stopped), kInvalidArgument (an empty ref). Nothing is dead-lettered.
  // OK: sent, and `message` moved from.
  template <typename T>
  absl::Status TryTell(T& message) const;

  // ActorRef::TellWithin()
  //
  // Tell(), waiting for room in a full bounded mailbox (backpressure): from
  // a plain thread, blocks until the actor takes the message or the
  // deadline (or timeout) passes. Waiting senders (these and tasks in
  // Send()) are let in in the order they came, once the actor has drained
  // to half its capacity (it looks at the end of each of its turns). On an
  // error the message
  // stays in `message`: kDeadlineExceeded, kUnavailable (stopped, also while
  // waiting), kInvalidArgument (empty ref), or kFailedPrecondition when
  // called on one of the actor system's threads (an actor's handler, a pool
  // worker), where waiting could hold up the very actor that makes room —
  // use TryTell there. For an unbounded actor it is Tell(). For a ref to an
  // actor on another node it waits while that node's outbound queue is full
  // (remote/node.h's limits), trying again at growing intervals up to 5 ms.
  template <typename T>
  absl::Status TellWithin(T& message, absl::Time deadline) const;
  template <typename T>
  absl::Status TellWithin(T& message, absl::Duration timeout) const {
    return TellWithin(message, absl::Now() + timeout);
  }

  // ActorRef::Send()
  //
  // `co_await ref.Send(message)` from a task: Tell(), suspending the task
  // while a bounded mailbox is full (backpressure without a thread).
  // Include actor/send.h, which says what it returns.
  template <typename T>
  actor_internal::SendAwaiter<T> Send(T& message) const;

  // ActorRef::SetPriority()
  //
  // From now on the actor is scheduled at `priority` (threads/priority.h,
  // SpawnOptions::priority): the next time it has mail and is idle, and
  // when its current turn yields. Any thread, any time; a stopped actor
  // ignores it. kInvalidArgument for an empty ref, a ref that is not an
  // actor of this process (an ask's reply receiver, or a ref to an actor on
  // another node: its priority is its own node's to set), or an invalid
  // priority.
  absl::Status SetPriority(Priority priority) const;

  // ActorRef::Ask<R>()
  //
  // Sends `message` and returns a future for the reply, which must be an `R`.
  // `timeout` = absl::InfiniteDuration() waits for as long as the target
  // lives. Outside the actors, wait with Future::Get(); inside a handler use
  // Actor::Ask(), which never blocks.
  template <typename R, typename T>
  Future<R> Ask(T&& message, absl::Duration timeout) const;
  // Ask() with no timeout: the reply, or an error when the target ends
  // without one. From a coroutine, prefer it to passing
  // absl::InfiniteDuration(): g++ builds an argument temporary in the frame
  // and copies it, which costs an awaiting handler ~5 ns an ask (bench K1).
  template <typename R, typename T>
  Future<R> Ask(T&& message) const {
    return AskWithin<R>(std::forward<T>(message), nullptr);
  }

  // The actor's id (unique in its system; 0 for an empty ref) and name
  // ("" for an empty ref).
  uint64_t id() const { return target_ ? target_->id() : 0; }
  std::string name() const { return target_ ? target_->name() : std::string(); }

  // ActorRef::IsAlive()
  //
  // A snapshot: false once the actor has stopped for good.
  bool IsAlive() const { return target_ && target_->IsAlive(); }

  // "name#id", or "<empty>".
  std::string ToString() const;

  friend bool operator==(const ActorRef& a, const ActorRef& b) {
    return a.target_.get() == b.target_.get();
  }
  friend bool operator!=(const ActorRef& a, const ActorRef& b) { return !(a == b); }
  friend bool operator<(const ActorRef& a, const ActorRef& b) {
    return std::less<const void*>()(a.target_.get(), b.target_.get());
  }
  template <typename H>
  friend H AbslHashValue(H h, const ActorRef& ref) {
    return H::combine(std::move(h), ref.target_.get());
  }

  // Internal: the cell or ask receiver behind the ref.
  const actor_internal::AddressablePtr& target() const { return target_; }

 private:
  // Ask(), after its timeout: null for none (absl::InfiniteDuration()).
  template <typename R, typename T>
  Future<R> AskWithin(T&& message, const absl::Duration* timeout) const;
  // TryTell() refused: hands the message back, and says why.
  template <typename T>
  absl::Status TryTellRefused(T& message, EnvelopePtr& envelope, PushResult result) const;
  // TellWithin() once the mailbox refused: waits for room (DeliverWithin),
  // and hands the message back if it never came.
  template <typename T>
  absl::Status WaitToTell(T& message, EnvelopePtr& envelope, absl::Time deadline) const;

  actor_internal::AddressablePtr target_;
};

namespace actor_internal {
// TryTell's errors: the refused message's type, and the receiver's name.
absl::Status TryTellFailed(PushResult result, const MessageType& type, const Addressable& target);
// kInvalidArgument: "<operation> through an empty ActorRef".
absl::Status EmptyRefError(const char* operation);
}  // namespace actor_internal

// TryTell() and TellWithin() are inlined into their callers, as Tell() is,
// with their refusal paths out of line: called, with a frame of their own,
// they cost bench O1's sender a third of its rate. (A sender a little
// slower than its actor keeps the actor taking short stacks of lines it
// has just written: docs/overload.md, "What the sender read".)
template <typename T>
[[gnu::always_inline]] inline absl::Status ActorRef::TryTell(T& message) const {
  static_assert(!std::is_const_v<T>, "TryTell hands a refused message back: pass a variable");
  if (!target_) [[unlikely]]
    return actor_internal::EmptyRefError("TryTell");
  EnvelopePtr envelope = MakeEnvelope(std::move(message));
  const PushResult result = target_->TryDeliver(envelope);
  if (result == PushResult::kPushed || result == PushResult::kWokeOwner) [[likely]] {
    return absl::OkStatus();
  }
  return TryTellRefused(message, envelope, result);
}

template <typename T>
[[gnu::noinline]] absl::Status ActorRef::TryTellRefused(T& message, EnvelopePtr& envelope,
                                                        PushResult result) const {
  message = std::move(envelope->As<T>());  // back to the caller
  return actor_internal::TryTellFailed(result, MessageTypeOf<T>(), *target_);
}

template <typename T>
[[gnu::always_inline]] inline absl::Status ActorRef::TellWithin(T& message,
                                                                absl::Time deadline) const {
  static_assert(!std::is_const_v<T>, "TellWithin hands a refused message back: pass a variable");
  if (!target_) [[unlikely]]
    return actor_internal::EmptyRefError("TellWithin");
  EnvelopePtr envelope = MakeEnvelope(std::move(message));
  // Room, the common case, costs what a Tell costs; only a refusal takes
  // the waiting path, out of line (it tries again before it waits).
  const PushResult pushed = target_->TryDeliver(envelope);
  if (pushed == PushResult::kPushed || pushed == PushResult::kWokeOwner) [[likely]] {
    return absl::OkStatus();
  }
  return WaitToTell(message, envelope, deadline);
}

template <typename T>
[[gnu::noinline]] absl::Status ActorRef::WaitToTell(T& message, EnvelopePtr& envelope,
                                                    absl::Time deadline) const {
  absl::Status sent = target_->DeliverWithin(envelope, deadline);
  if (!sent.ok()) message = std::move(envelope->As<T>());  // back to the caller
  return sent;
}

template <typename R, typename T>
Future<R> ActorRef::Ask(T&& message, absl::Duration timeout) const {
  if (timeout < absl::InfiniteDuration()) return AskWithin<R>(std::forward<T>(message), &timeout);
  return AskWithin<R>(std::forward<T>(message), nullptr);
}

template <typename R, typename T>
Future<R> ActorRef::AskWithin(T&& message, const absl::Duration* timeout) const {
  static_assert(!std::is_void_v<R>,
                "ask for a message type; reply with absl::OkStatus() is not one");
  if (!target_)
    return MakeErrorFuture<R>(absl::InvalidArgumentError("Ask through an empty ActorRef"));
  auto* receiver = new actor_internal::AskReceiver<R>(target_, MessageTypeOf<T>());
  actor_internal::AddressablePtr keep = actor_internal::AddressablePtr::FirstTo(receiver);
  Future<R> future = receiver->GetFuture();
  if (timeout != nullptr) receiver->ArmTimeout(keep, *timeout);
  actor_internal::ChainForAsk(receiver->chain());
  actor_internal::Send(target_, MakeEnvelope(std::forward<T>(message), std::move(keep)));
  return future;
}

}  // namespace troupe

template <>
struct std::hash<troupe::ActorRef> {
  size_t operator()(const troupe::ActorRef& ref) const {
    return std::hash<const void*>()(ref.target().get());
  }
};

#endif  // TROUPE_ACTOR_ACTOR_REF_H_
