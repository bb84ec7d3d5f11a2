// -----------------------------------------------------------------------------
// File: send.h
// -----------------------------------------------------------------------------
//
// `co_await ref.Send(message)`: backpressure for tasks. A task (async/task.h;
// an actor's handler task too) that sends to an actor with a bounded
// mailbox (SpawnOptions::mailbox_capacity) suspends while the mailbox is
// full, holding no thread, and goes on once the message is in.
//
//   #include "actor/send.h"
//
//   troupe::Task<absl::Status> Produce(troupe::ActorRef parser, Lines& lines) {
//     for (pipeline::RawLine line : lines) {
//       if (absl::Status sent = co_await parser.Send(line); !sent.ok()) co_return sent;
//     }
//     co_return absl::OkStatus();
//   }
//
// Room is given in order: waiting senders (tasks and TellWithin threads)
// are let in oldest first once the actor has drained to half its capacity
// (the low-water mark), at the end of one of its turns. The actor pushes a
// waiting task's message itself as it wakes the task, under the same bound,
// so a woken task has been delivered: it never loses the room to a plain
// Tell and never waits twice.
//
// Results: OK (delivered; `message` moved from), kUnavailable (the actor
// has stopped, also while waiting), kCancelled (the task was cancelled while
// waiting), kInvalidArgument (an empty ref), kResourceExhausted (a ref to
// an actor on another node whose node's outbound queue is full: that queue
// has no line to wait in, so the task is refused at once; try again later,
// or wait in TellWithin from a plain thread). On an error the message stays
// in `message`. An unbounded actor never makes a task wait: Send is Tell.
// Unlike TellWithin, Send may be awaited on the actor system's own threads:
// the task suspends, it does not block the worker.

#ifndef TROUPE_ACTOR_SEND_H_
#define TROUPE_ACTOR_SEND_H_

#include <coroutine>
#include <memory>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "actor/actor_ref.h"
#include "actor/internal/addressable.h"
#include "actor/internal/mailbox_limit.h"
#include "actor/message.h"
#include "async/internal/leaf_wait.h"
#include "async/task.h"

namespace troupe {
namespace actor_internal {

// The suspended part of a send: a waiter in the receiver's queue.
class SendWait final : public async_internal::LeafWait {
 public:
  MailboxLimit::Waiter waiter;
};

// Out of line (send.cc): queues `wait` behind the receiver's waiting
// senders unless a last try gets the message in. kFull: queued.
PushResult ParkSend(Addressable& target, SendWait& wait, EnvelopePtr& envelope);
// A cancelled send leaves the queue; true if the receiver had woken it
// already (then `wait.waiter.pushed` is what happened to the message).
bool LeaveSend(Addressable& target, SendWait& wait);
absl::Status SendFailed(PushResult result, const Addressable& target, bool cancelled);

// Awaits the push of an envelope into `target`, waiting while its bounded
// mailbox is full: a send that does not know its message's type (a
// stream's items, actor_stream.h). On an error the envelope is still in
// the variable it came from.
class SendEnvelopeAwaiter {
 public:
  SendEnvelopeAwaiter(AddressablePtr target, EnvelopePtr& envelope)
      : target_(std::move(target)), envelope_(envelope) {}
  SendEnvelopeAwaiter(const SendEnvelopeAwaiter&) = delete;
  SendEnvelopeAwaiter& operator=(const SendEnvelopeAwaiter&) = delete;

  bool has_target() const { return static_cast<bool>(target_); }

  bool await_ready() {
    if (!target_) return true;
    pushed_ = target_->TryDeliver(envelope_);
    // Only an actor has a line to wait in; a receiver without one (a ref to
    // an actor on another node, its node's queue full) refuses now.
    return pushed_ != PushResult::kFull || target_->AsCell() == nullptr;
  }

  template <async_internal::TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    suspended_ = true;
    return wait_.Suspend(awaiting.promise().context(), awaiting, [&] {
      pushed_ = ParkSend(*target_, wait_, envelope_);
      queued_ = pushed_ == PushResult::kFull;
      // In after all (or stopped): end the wait before arming, so that
      // Suspend() goes on without suspending.
      if (!queued_) (void)wait_.Complete();
    });
  }

  absl::Status await_resume() {
    if (!target_) return absl::InvalidArgumentError("Send through an empty ActorRef");
    bool cancelled = false;
    if (suspended_) cancelled = wait_.Finish();
    // Queued in the receiver's line: woken (the receiver pushed for us), or
    // cancelled, and then either still in line (we leave it) or woken too
    // (the receiver's push stands). Not queued: pushed_ is what the last
    // try gave, or kFull if the task was cancelled before it could queue.
    if (queued_ && (!cancelled || LeaveSend(*target_, wait_))) pushed_ = wait_.waiter.pushed;
    if (pushed_ == PushResult::kPushed || pushed_ == PushResult::kWokeOwner) {
      return absl::OkStatus();
    }
    return SendFailed(pushed_, *target_, cancelled);
  }

 private:
  const AddressablePtr target_;  // held: the receiver's queue outlives our wait in it
  EnvelopePtr& envelope_;
  PushResult pushed_ = PushResult::kFull;
  bool suspended_ = false;
  bool queued_ = false;  // in the receiver's waiting line
  SendWait wait_;
};

// ActorRef::Send()'s: the message goes into an envelope when the send is
// awaited, and back into the caller's variable if it is refused.
template <typename T>
class SendAwaiter {
 public:
  SendAwaiter(AddressablePtr target, T& message)
      : message_(message), send_(std::move(target), envelope_) {}
  SendAwaiter(const SendAwaiter&) = delete;
  SendAwaiter& operator=(const SendAwaiter&) = delete;

  bool await_ready() {
    if (!has_target()) return true;
    envelope_ = MakeEnvelope(std::move(message_));
    return send_.await_ready();
  }
  template <async_internal::TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    return send_.await_suspend(awaiting);
  }
  absl::Status await_resume() {
    absl::Status sent = send_.await_resume();
    if (!sent.ok() && envelope_ != nullptr) {
      message_ = std::move(envelope_->template As<T>());  // refused: back to the caller
    }
    return sent;
  }

 private:
  bool has_target() const { return send_.has_target(); }

  T& message_;
  EnvelopePtr envelope_;  // before send_, which refers to it
  SendEnvelopeAwaiter send_;
};

}  // namespace actor_internal

template <typename T>
actor_internal::SendAwaiter<T> ActorRef::Send(T& message) const {
  static_assert(!std::is_const_v<T>, "Send hands a refused message back: pass a variable");
  return actor_internal::SendAwaiter<T>(target_, message);
}

}  // namespace troupe

#endif  // TROUPE_ACTOR_SEND_H_
