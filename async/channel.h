// -----------------------------------------------------------------------------
// File: channel.h
// -----------------------------------------------------------------------------
//
// Channel operations a task awaits instead of blocking a thread: `Recv`,
// `Send` and `AwaitSelect` over troupe's channels (channel/channel.h,
// channel/select.h), any flavour.
//
//   troupe::Task<int64_t> Sum(troupe::Receiver<int64_t>& rx) {
//     int64_t sum = 0;
//     for (;;) {
//       troupe::RecvResult<int64_t> got = co_await troupe::Recv(rx);
//       if (!got.ok()) break;                 // kClosed: drained; kCancelled
//       sum += *got;
//     }
//     co_return sum;
//   }
//
//   troupe::SendResult<Job> sent = co_await troupe::Send(tx, std::move(job));
//   if (!sent.ok()) Keep(sent.TakeValue());    // closed or cancelled: value back
//
//   troupe::Select select;
//   select.OnRecv(a, [&](troupe::RecvResult<int> v) { ... })
//         .OnSend(b, item, [&](troupe::SendResult<Item> s) { ... });
//   troupe::SelectResult r = co_await troupe::AwaitSelect(select);
//
// A task that cannot go on parks on the channel's waiter list as a blocked
// thread does (the same registration, the same selection protocol), but
// holds no thread: whoever makes the operation possible resumes it on its
// strand's executor. Threads and tasks mix freely on one channel.
//
// Select keeps its semantics (channel/select.h): one arm fires, chosen at
// random among the ready ones; a send arm that does not fire keeps its
// value in the caller's variable.
//
// Cancellation: a cancelled task's wait ends with RecvError::kCancelled,
// SendError::kCancelled (with the value handed back) or an outcome of
// SelectOutcome::kCancelled (every send arm's value back in its variable).
// The channel forgets the task; nothing it sent or would have received is
// lost.

#ifndef TROUPE_ASYNC_CHANNEL_H_
#define TROUPE_ASYNC_CHANNEL_H_

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <utility>
#include <variant>

#include "absl/base/attributes.h"
#include "async/internal/context.h"
#include "async/internal/op.h"
#include "async/task.h"
#include "base/check.h"
#include "channel/channel.h"
#include "channel/internal/context.h"
#include "channel/internal/flavor.h"
#include "channel/results.h"
#include "channel/select.h"
#include "mailbox/node_pool.h"

namespace troupe {
namespace async_internal {

// Where a task waits for a channel context to be selected: by a partner, a
// close, or a cancellation (which selects kAborted). Lives in the waiting
// frame, and is the context itself (a private base, woken through Wake()):
// the channels' lists hold it unowned, and the context's park handshake
// (channel/internal/context.h) guarantees that a notifier touches it only
// while the task waits for that notifier.
class ChannelPark final : public Canceller, private channel_internal::Context {
 public:
  ChannelPark() : Context(&ChannelPark::Wake) {}
  ChannelPark(const ChannelPark&) = delete;
  ChannelPark& operator=(const ChannelPark&) = delete;

  // The context, as the channels' lists hold it.
  std::shared_ptr<channel_internal::Context> context() { return Unowned(); }

  bool await_ready() const noexcept { return false; }
  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    return Park(awaiting.promise().context(), awaiting);
  }
  // For a rendezvous wait (Flavor::TryRecvOrPark), under the channel's
  // lock with the entry registered: parks without a CAS and registers for
  // cancellation, the last touch of the frame. False: cancelled already,
  // nothing parked.
  bool ParkLocked(TaskContext* strand, std::coroutine_handle<> awaiting);

  // After the wait: whether the strand has been cancelled.
  bool strand_cancelled() const { return strand_->cancel_requested(); }

  // The token that ended the wait.
  channel_internal::OperationToken await_resume() {
    if (registered_) strand_->Unregister(this);
    return selected();
  }

 private:
  bool Park(TaskContext* strand, std::coroutine_handle<> awaiting);
  static void Wake(Context* context) noexcept;
  std::coroutine_handle<> CancelWait() noexcept override;

  TaskContext* strand_ = nullptr;
  std::coroutine_handle<> awaiting_;
  bool registered_ = false;
};

// The select loop of a task: Select::WaitUntil's, suspending where a
// thread sleeps. kCancelled once its strand is cancelled.
Op<SelectResult> RunSelect(Select& select);

// A buffered channel's wait (bounded, unbounded) that needs no coroutine
// frame of its own, so that a task suspended on such a channel costs its
// awaiter and nothing more (bench K3). Being selected by a partner means
// "try again" there (another receiver may take the value first), which
// takes a loop; the loop runs as steps of the task's strand instead of in a
// coroutine: a wake-up posts Step() to the strand's executor (as a
// resumption would be), and Step() either ends the wait, resuming the task
// in place, or parks again. For strands with an executor; a BlockOn
// strand, which has none, waits through RecvSlowly/SendSlowly below.
//
// The park stays registered for cancellation from the first attempt to the
// end of the wait, and re-arms its context between attempts (a selected
// context's entry has left every list, so nothing else selects it but a
// Cancel(), see Settle()). Checked over every interleaving, with a thief
// and a cancel, by models/buffered_wait.pml.
class BufferedPark : public Canceller, private channel_internal::Context {
 public:
  BufferedPark() : Context(&BufferedPark::Wake) {}
  BufferedPark(const BufferedPark&) = delete;
  BufferedPark& operator=(const BufferedPark&) = delete;

  // From await_suspend: true if the task waits, false if the outcome is in
  // place already (also when the strand is cancelled).
  bool Start(TaskContext* strand, std::coroutine_handle<> awaiting);

  // From await_resume, first: ends the registration. (The outcome, Take(),
  // rethrows what an attempt threw on a later step: a waiter list that
  // could not grow.)
  void Finish();

 protected:
  ~BufferedPark() = default;

  channel_internal::OperationToken token() const {
    return reinterpret_cast<channel_internal::OperationToken>(this);
  }
  // The park is its own channel context (a private base: callers see only
  // this): no pointer between the two in a suspended task (bench K3).
  std::shared_ptr<channel_internal::Context> context() { return Unowned(); }

  // The operation's attempt: true with the outcome in place, or false
  // having registered with the channel (TryRecvOrWatch/TrySendOrWatch).
  virtual bool TryOrWatch() = 0;
  // Removes the registration (the wait ended other than by a partner).
  virtual void Unwatch() = 0;
  // Puts the cancelled outcome in place (a value being sent handed back).
  virtual void EndCancelled() = 0;
  // Puts what an attempt on a later step threw in place of the outcome.
  virtual void EndWithError(std::exception_ptr error) = 0;

 private:
  class StepClosure;

  bool TryOrPark(bool rearmed);
  bool Settle();
  void Step() noexcept;
  static void Wake(Context* context) noexcept;
  std::coroutine_handle<> CancelWait() noexcept override;

  // Set while the park is registered with the strand for cancellation: from
  // Start() to Finish(), unless the strand was cancelled already. No flag
  // beside it: a task suspended on a channel carries this park (bench K3).
  TaskContext* strand_ = nullptr;
  std::coroutine_handle<> awaiting_;
};

template <typename T>
class BufferedRecv final : public BufferedPark {
 public:
  explicit BufferedRecv(channel_internal::Flavor<T>& flavor) : flavor_(flavor) {}
  RecvResult<T> Take() {
    if (outcome_.index() == 2) std::rethrow_exception(std::get<2>(outcome_));
    if (outcome_.index() == 0) return RecvResult<T>(std::get<0>(std::move(outcome_)));
    return RecvResult<T>(std::get<1>(outcome_));
  }

 private:
  bool TryOrWatch() override {
    std::optional<RecvResult<T>> now = flavor_.TryRecvOrWatch(context(), token(), nullptr);
    if (!now.has_value()) return false;
    if (now->ok()) {
      outcome_.template emplace<0>(std::move(*now).value());
    } else {
      outcome_.template emplace<1>(now->error());
    }
    return true;
  }
  void Unwatch() override { flavor_.UnwatchRecv(token()); }
  void EndCancelled() override { outcome_.template emplace<1>(RecvError::kCancelled); }
  void EndWithError(std::exception_ptr error) override {
    outcome_.template emplace<2>(std::move(error));
  }

  channel_internal::Flavor<T>& flavor_;
  // A received value, an error (kEmpty until the wait ends) or an
  // exception: emplaced, so T need not be assignable, and two words smaller
  // than an optional RecvResult beside an exception_ptr (bench K3).
  std::variant<T, RecvError, std::exception_ptr> outcome_{std::in_place_index<1>,
                                                          RecvError::kEmpty};
};

template <typename T>
class BufferedSend final : public BufferedPark {
 public:
  BufferedSend(channel_internal::Flavor<T>& flavor, T value)
      : flavor_(flavor), value_(std::move(value)) {}
  SendResult<T> Take() {
    if (outcome_.index() == 2) std::rethrow_exception(std::get<2>(outcome_));
    return std::get<1>(std::move(outcome_));
  }

 private:
  bool TryOrWatch() override {
    std::optional<SendResult<T>> now = flavor_.TrySendOrWatch(value_, context(), token(), nullptr);
    if (!now.has_value()) return false;
    outcome_.template emplace<1>(std::move(*now));
    return true;
  }
  void Unwatch() override { flavor_.UnwatchSend(token()); }
  void EndCancelled() override {
    outcome_.template emplace<1>(SendResult<T>::Failed(SendError::kCancelled, std::move(value_)));
  }
  void EndWithError(std::exception_ptr error) override {
    outcome_.template emplace<2>(std::move(error));
  }

  channel_internal::Flavor<T>& flavor_;
  T value_;  // until sent, or handed back
  std::variant<std::monostate, SendResult<T>, std::exception_ptr> outcome_;
};

// The slow paths of Recv and Send for the flavours that hand values over
// through their buffer (bounded, unbounded; a rendezvous waits in its
// awaiter, below) in a strand without an executor (BlockOn; the others
// wait in a BufferedPark, above): one operation, parked on its channel
// directly, with no packet (a buffered flavour never completes an
// operation through one; the park's address is the token). Being selected
// by a partner means "try again": another receiver may take the value
// first. The try and the registration are one step of the flavour; a
// partner that selects the operation removes its entry, so only a wait
// that ended otherwise unwatches.
template <typename T>
Op<RecvResult<T>> RecvSlowly(channel_internal::Flavor<T>& flavor) {
  TROUPE_DCHECK(!flavor.CompletesThroughPacket());
  while (true) {
    ChannelPark park;
    const auto token = reinterpret_cast<channel_internal::OperationToken>(&park);
    if (std::optional<RecvResult<T>> now = flavor.TryRecvOrWatch(park.context(), token, nullptr)) {
      co_return std::move(*now);
    }
    const channel_internal::OperationToken selected = co_await park;
    if (selected == token) continue;  // a value arrived: take it
    flavor.UnwatchRecv(token);
    if (selected == channel_internal::kAborted && park.strand_cancelled()) {
      co_return RecvResult<T>(RecvError::kCancelled);
    }
    // The channel closed (kDisconnected) or became ready as we registered
    // (kAborted): try again.
  }
}

template <typename T>
Op<SendResult<T>> SendSlowly(Sender<T>& tx, T value) {
  channel_internal::Flavor<T>& flavor = channel_internal::FlavorAccess::Of(tx);
  TROUPE_DCHECK(!flavor.CompletesThroughPacket());
  while (true) {
    ChannelPark park;
    const auto token = reinterpret_cast<channel_internal::OperationToken>(&park);
    if (std::optional<SendResult<T>> now =
            flavor.TrySendOrWatch(value, park.context(), token, nullptr)) {
      co_return std::move(*now);
    }
    const channel_internal::OperationToken selected = co_await park;
    if (selected == token) continue;  // room appeared: send
    flavor.UnwatchSend(token);
    if (selected == channel_internal::kAborted && park.strand_cancelled()) {
      co_return SendResult<T>::Failed(SendError::kCancelled, std::move(value));
    }
    // The channel closed (kDisconnected) or became ready as we registered
    // (kAborted): try again.
  }
}

// A rendezvous operation waits without a coroutine frame of its own: a
// partner completes it through the packet, so one park is always enough
// (the other flavours may have to try again after a wake-up, which takes a
// loop, hence RecvSlowly/SendSlowly's frames). Its packet and park are a
// node-pool block the awaiter owns, not inline: the awaiter sits in the
// awaiting frame whatever the channel's flavour, and a bounded channel's
// wait (bench K3) should not carry a rendezvous's packet and context.
template <typename T>
struct RendezvousPark : PooledNode {
  explicit RendezvousPark(channel_internal::Flavor<T>& channel) : flavor(channel) {}
  channel_internal::Flavor<T>& flavor;
  channel_internal::Packet<T> packet;
  ChannelPark park;
  channel_internal::OperationToken token() const {
    return reinterpret_cast<channel_internal::OperationToken>(&packet);
  }
};

// Tries the operation at once (no frame, no allocation when it succeeds or
// fails for good), and only then waits: a rendezvous in the awaiter, the
// other flavours through the slow path's coroutine. The common cases (a
// rendezvous recv that parks and is handed its value; a send done at
// once) are inlined into the awaiting coroutine; the rest are calls of
// their own, so that they cost the common cases no frame (bench K4).
template <typename T>
class RecvAwaiter {
 public:
  explicit RecvAwaiter(Receiver<T>& rx) : wait_(Start(channel_internal::FlavorAccess::Of(rx))) {}

  bool await_ready() {
    // A rendezvous tries once, in await_suspend(), where it can register in
    // the same step (a try here would take the channel's lock twice when a
    // task has to wait, as it usually does for a rendezvous).
    if (wait_.index() == kRendezvousStart) return false;
    return TryNow();
  }
  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    TaskContext* const strand = awaiting.promise().context();
    if (const RendezvousStart* start = std::get_if<RendezvousStart>(&wait_)) {
      Flavor& flavor = *start->flavor;
      RendezvousPark<T>& wait = *wait_.template emplace<std::unique_ptr<RendezvousPark<T>>>(
          new RendezvousPark<T>(flavor));
      if (std::optional<RecvResult<T>> now =
              flavor.TryRecvOrPark(wait.park.context(), wait.token(), &wait.packet,
                                   [&] { return wait.park.ParkLocked(strand, awaiting); })) {
        wait_.template emplace<RecvResult<T>>(std::move(*now));
        return false;
      }
      return true;  // parked: a partner, a close or a cancellation resumes it
    }
    Flavor& flavor = *std::get<Flavor*>(wait_);
    if (strand->executor() != nullptr) {
      return wait_.template emplace<BufferedRecv<T>>(flavor).Start(strand, awaiting);
    }
    Slow& slow = wait_.template emplace<Slow>(RecvSlowly(flavor));
    slow.awaiter.emplace(std::move(slow.op).operator co_await());
    slow.awaiter->await_suspend(awaiting);
    return true;
  }
  RecvResult<T> await_resume() {
    if (auto* ready = std::get_if<RecvResult<T>>(&wait_)) return std::move(*ready);
    if (auto* parked = std::get_if<std::unique_ptr<RendezvousPark<T>>>(&wait_)) {
      RendezvousPark<T>& wait = **parked;
      const channel_internal::OperationToken selected = wait.park.await_resume();
      if (selected == wait.token()) {
        wait.packet.WaitReady();  // the sender has written the value
        return RecvResult<T>(std::move(*wait.packet.value));
      }
      return RendezvousEndedUnpaired(wait, selected);
    }
    return ResumeBuffered();
  }

 private:
  using Flavor = channel_internal::Flavor<T>;

  // A rendezvous recv not yet started: its channel.
  struct RendezvousStart {
    explicit RendezvousStart(Flavor* channel) : flavor(channel) {}
    Flavor* flavor;
  };

  struct Slow {
    explicit Slow(Op<RecvResult<T>> slow_op) : op(std::move(slow_op)) {}
    Op<RecvResult<T>> op;
    std::optional<typename Op<RecvResult<T>>::Awaiter> awaiter;
  };

  // A buffered channel's try, in await_ready().
  ABSL_ATTRIBUTE_NOINLINE bool TryNow() {
    RecvResult<T> now = std::get<Flavor*>(wait_)->TryRecv();
    if (!now.ok() && now.error() == RecvError::kEmpty) return false;
    wait_.template emplace<RecvResult<T>>(std::move(now));
    return true;
  }

  // A rendezvous wait that no sender paired with: closed, or cancelled.
  ABSL_ATTRIBUTE_NOINLINE static RecvResult<T> RendezvousEndedUnpaired(
      RendezvousPark<T>& wait, channel_internal::OperationToken selected) {
    wait.flavor.UnwatchRecv(wait.token());
    if (selected == channel_internal::kAborted && wait.park.strand_cancelled()) {
      return RecvResult<T>(RecvError::kCancelled);
    }
    // The channel closed (kDisconnected): nothing is left to pair with.
    RecvResult<T> now = wait.flavor.TryRecv();
    TROUPE_DCHECK(now.ok() || now.error() != RecvError::kEmpty);
    return now;
  }

  // The end of a buffered channel's wait.
  ABSL_ATTRIBUTE_NOINLINE RecvResult<T> ResumeBuffered() {
    if (auto* buffered = std::get_if<BufferedRecv<T>>(&wait_)) {
      buffered->Finish();
      return buffered->Take();
    }
    return std::get<Slow>(wait_).awaiter->await_resume();
  }

  // Before the wait starts, the channel; then its outcome, or how the wait
  // goes on (each of which knows the channel): no reference to the channel
  // beside them, a word less in a task suspended on one (bench K3).
  using Wait = std::variant<Flavor*, RendezvousStart, RecvResult<T>, BufferedRecv<T>, Slow,
                            std::unique_ptr<RendezvousPark<T>>>;
  static constexpr size_t kRendezvousStart = 1;

  static Wait Start(Flavor& flavor) {
    if (flavor.CompletesThroughPacket())
      return Wait(std::in_place_index<kRendezvousStart>, &flavor);
    return Wait(std::in_place_type<Flavor*>, &flavor);
  }

  Wait wait_;
};

template <typename T>
class SendAwaiter {
 public:
  SendAwaiter(Sender<T>& tx, T value) : tx_(tx), value_(std::move(value)) {}

  bool await_ready() {
    SendResult<T> now = tx_.TrySend(std::move(*value_));
    if (!now.ok() && now.error() == SendError::kFull) {
      value_.emplace(now.TakeValue());
      return false;
    }
    wait_.template emplace<SendResult<T>>(std::move(now));
    return true;
  }
  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    channel_internal::Flavor<T>& flavor = channel_internal::FlavorAccess::Of(tx_);
    if (flavor.CompletesThroughPacket()) {
      RendezvousPark<T>& wait = *wait_.template emplace<std::unique_ptr<RendezvousPark<T>>>(
          new RendezvousPark<T>(flavor));
      TaskContext* const strand = awaiting.promise().context();
      // Parked, the value waits in the packet for a receiver to take it.
      if (std::optional<SendResult<T>> now =
              flavor.TrySendOrPark(*value_, wait.park.context(), wait.token(), &wait.packet,
                                   [&] { return wait.park.ParkLocked(strand, awaiting); })) {
        wait_.template emplace<SendResult<T>>(std::move(*now));
        return false;
      }
      return true;  // parked: a partner, a close or a cancellation resumes it
    }
    TaskContext* const strand = awaiting.promise().context();
    if (strand->executor() != nullptr) {
      return wait_.template emplace<BufferedSend<T>>(flavor, std::move(*value_))
          .Start(strand, awaiting);
    }
    Slow& slow = wait_.template emplace<Slow>(SendSlowly(tx_, std::move(*value_)));
    slow.awaiter.emplace(std::move(slow.op).operator co_await());
    slow.awaiter->await_suspend(awaiting);
    return true;
  }
  SendResult<T> await_resume() {
    if (auto* ready = std::get_if<SendResult<T>>(&wait_)) return std::move(*ready);
    return ResumeWaited();
  }

 private:
  struct Slow {
    explicit Slow(Op<SendResult<T>> slow_op) : op(std::move(slow_op)) {}
    Op<SendResult<T>> op;
    std::optional<typename Op<SendResult<T>>::Awaiter> awaiter;
  };

  // The end of a wait (the send was not done at once).
  ABSL_ATTRIBUTE_NOINLINE SendResult<T> ResumeWaited() {
    if (auto* buffered = std::get_if<BufferedSend<T>>(&wait_)) {
      buffered->Finish();
      return buffered->Take();
    }
    if (auto* slow = std::get_if<Slow>(&wait_)) return slow->awaiter->await_resume();
    RendezvousPark<T>& wait = *std::get<std::unique_ptr<RendezvousPark<T>>>(wait_);
    const channel_internal::OperationToken selected = wait.park.await_resume();
    if (selected == wait.token()) {
      wait.packet.WaitReady();  // the receiver has moved the value out
      return SendResult<T>::Sent();
    }
    channel_internal::Flavor<T>& flavor = channel_internal::FlavorAccess::Of(tx_);
    flavor.UnwatchSend(wait.token());
    T value = std::move(*wait.packet.value);  // not chosen: nobody touches the packet
    if (selected == channel_internal::kAborted && wait.park.strand_cancelled()) {
      return SendResult<T>::Failed(SendError::kCancelled, std::move(value));
    }
    // The channel closed (kDisconnected): kClosed, the value handed back.
    SendResult<T> now = flavor.TrySend(std::move(value));
    TROUPE_DCHECK(now.ok() || now.error() != SendError::kFull);
    return now;
  }

  Sender<T>& tx_;
  std::optional<T> value_;
  std::variant<std::monostate, SendResult<T>, BufferedSend<T>, Slow,
               std::unique_ptr<RendezvousPark<T>>>
      wait_;
};

}  // namespace async_internal

// Recv()
//
// `co_await Recv(rx)`: the next value; kClosed once the channel is closed
// and drained; kCancelled if the task is cancelled while it waits.
template <typename T>
async_internal::RecvAwaiter<T> Recv(Receiver<T>& rx) {
  return async_internal::RecvAwaiter<T>(rx);
}

// Send()
//
// `co_await Send(tx, std::move(value))`: sent once there is room (for a
// rendezvous channel, once a receiver took it); kClosed or kCancelled with
// the value handed back.
template <typename T>
async_internal::SendAwaiter<T> Send(Sender<T>& tx, T value) {
  return async_internal::SendAwaiter<T>(tx, std::move(value));
}

// AwaitSelect()
//
// `co_await AwaitSelect(select)`: Select::Wait() for a task. Runs exactly
// one handler (an arm's, or the default's) and says which, or returns
// kCancelled having run none. The select must outlive the await.
inline async_internal::Op<SelectResult> AwaitSelect(Select& select) {
  return async_internal::RunSelect(select);
}

}  // namespace troupe

#endif  // TROUPE_ASYNC_CHANNEL_H_
