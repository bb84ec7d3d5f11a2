// -----------------------------------------------------------------------------
// File: internal/ask.h
// -----------------------------------------------------------------------------
//
// `AskReceiver<R>`: the short-lived receiver of one ask's reply, in the
// manner of Akka's PromiseActorRef. `ActorRef::Ask()` sends the request
// with an AskReceiver as its sender, so replying is an ordinary Tell to the
// sender. The receiver completes the asker's Future<R> with the first of:
//   * a reply of type R (moved into the future);
//   * a reply of type absl::Status (an error reply: the future fails with it);
//   * a reply of any other type (kInvalidArgument: wrong reply type);
//   * the request being dead-lettered (kUnavailable: the target is stopped,
//     has no handler for it, or failed on it; kResourceExhausted: its
//     bounded mailbox was full);
//   * the timeout (kDeadlineExceeded);
//   * its own end with nothing claimed: nothing can reply any more (the
//     request was dropped, or the system shut down with the ask pending):
//     kUnavailable, saying which.
// Later replies go to dead letters (kNoReceiver).
//
// Lifetime: refs to it are held by the request envelope (as its sender),
// by whoever replies, and by the timeout callback until it is cancelled, so
// it lives exactly as long as something can still complete it.

#ifndef TROUPE_ACTOR_INTERNAL_ASK_H_
#define TROUPE_ACTOR_INTERNAL_ASK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "actor/dead_letters.h"
#include "actor/internal/addressable.h"
#include "actor/internal/ask_chain.h"
#include "actor/message.h"
#include "actor/wire_types.h"
#include "base/check.h"
#include "mailbox/node_pool.h"
#include "threads/future.h"
#include "threads/internal/future_state.h"

namespace troupe::actor_internal {

// Non-template helpers, defined in ask.cc (they need the ActorSystem, which
// may be gone: each enters through the link). ScheduleAskTimeout returns 0
// when there is no clock to arm (the system has shut down).
uint64_t ScheduleAskTimeout(SystemLink* link, absl::Duration timeout,
                            absl::AnyInvocable<void()> on_timeout);
void CancelAskTimeout(SystemLink* link, uint64_t timer);
void PublishLateReply(SystemLink* link, std::unique_ptr<Envelope> reply,
                      const Addressable* receiver);
absl::Status AskAbandoned(const MessageType& request, SystemLink* link, const Addressable& target);
absl::Status WrongReplyType(const MessageType& expected, const MessageType& got,
                            const Addressable& target);
absl::Status AskUndelivered(const MessageType& request, DeadLetterReason reason,
                            const Addressable& target);
absl::Status AskTimedOut(const MessageType& request, absl::Duration timeout,
                         const Addressable& target);
// Sets `chain` to the chain an ask made on this thread now carries: the
// running handler task's (internal/actor_tasks.h); none outside one.
void ChainForAsk(AskChainRef& chain);

// Get() on an ask's future in a system that runs only when its caller
// drives it (the test kit) would wait forever: the thread that would wait
// is the only one that can run the actor. It fails at once instead.
inline constexpr char kGetInATestKit[] =
    "ActorRef::Ask(...).Get() would wait forever: this actor system runs only when the test "
    "drives it; use TestKit::Ask() (testing/test_kit.h), or run the kit until the future "
    "IsReady()";

// One per ask, made by the asker's thread and freed by whoever drops the
// last reference (often the replier's): the node pool serves that pattern
// (mailbox/node_pool.h), for the receiver and its future's state alike.
//
// An ask is a hot path (an actor awaiting an ask, bench K1), and atomic
// read-modify-writes are most of its cost, so it takes none it can do
// without: the receiver claims its one completion itself, so the state
// skips its own claim (EmplaceClaimedResult); a reply reaches it without a
// reference to the replier (DeliverReply: the future wants only the value);
// the first reference to a new receiver is a plain store (FirstTo); and it
// borrows its target's link to the system (BorrowLinkFrom).
template <typename R>
class AskReceiver final : public Addressable, public PooledNode {
 public:
  AskReceiver(AddressablePtr target, const MessageType& request)
      : Addressable(BorrowLinkFrom{*target}, 0),  // target_ holds the link
        target_(std::move(target)),
        request_(&request) {
    (void)kWireType<R>;  // the reply may come from another node
    // Both owners at once: the asker's future takes the second with no
    // atomic increment (bench K1).
    auto [mine, askers] = threads_internal::NewCountedPairWith<threads_internal::SharedState<R>>(
        PoolAllocator<char>());
    state_ = std::move(mine);
    future_side_ = std::move(askers);
    if (link()->caller_driven()) state_->RefuseBlockingWaits(kGetInATestKit);
  }

  // Nothing holds it any more, so nothing can reply: an unclaimed ask fails
  // now rather than leave its asker with a "broken promise".
  ~AskReceiver() override {
    // Usually claimed long ago: a load spares the exchange. Nothing can
    // claim it concurrently now (nothing else holds it), so the two steps
    // cannot be split by a rival.
    if (!done_.load(std::memory_order_acquire) && Claim()) {
      Fail(AskAbandoned(*request_, link(), *target_));
    }
  }

  // Once, before the request is sent.
  Future<R> GetFuture() {
    TROUPE_DCHECK(future_side_ != nullptr, "an ask's future taken twice");
    return threads_internal::FutureFromState(std::move(future_side_));
  }

  // Starts the timeout. `self` is this receiver; the callback keeps it alive.
  void ArmTimeout(AddressablePtr self, absl::Duration timeout) {
    timeout_ = timeout;
    timer_ = ScheduleAskTimeout(link(), timeout, [self = std::move(self), this] {
      if (Claim()) Fail(AskTimedOut(*request_, timeout_, *target_));
    });
  }

  bool Deliver(std::unique_ptr<Envelope> reply) override {
    if (!Claim()) {
      PublishLateReply(link(), std::move(reply), this);
      return false;
    }
    Complete(*reply);
    return true;
  }

  bool DeliverReply(std::unique_ptr<Envelope> reply, Addressable* from) override {
    if (!Claim()) {
      reply->set_sender(AddressablePtr(from));  // dead letters say who replied
      PublishLateReply(link(), std::move(reply), this);
      return false;
    }
    Complete(*reply);
    return true;
  }

  // A reply of type R needs no envelope: the value goes straight into the
  // future. Anything else (an error, a wrong type, a late reply, which dead
  // letters show) takes the envelope path.
  bool DeliverReplyValue(const MessageType& type, void* value, Addressable* from,
                         absl::FunctionRef<std::unique_ptr<Envelope>()> make_envelope) override {
    if (&type != &MessageTypeOf<R>()) return DeliverReply(make_envelope(), from);
    // Lost to a timeout (or a reply before): DeliverReply() finds it
    // claimed and publishes the late reply.
    if (!Claim()) return DeliverReply(make_envelope(), from);
    CancelTimeout();
    state_->EmplaceClaimedResult(std::move(*static_cast<R*>(value)));
    return true;
  }

  void Undelivered(const Envelope& request, DeadLetterReason reason) override {
    if (!Claim()) return;
    CancelTimeout();
    Fail(AskUndelivered(request.type(), reason, *target_));
  }

  bool IsAlive() const override { return !done_.load(std::memory_order_acquire); }
  const AskChain* ask_chain() const override { return chain_.get(); }
  // Before the request is sent: the chain to fill in.
  AskChainRef& chain() { return chain_; }
  std::string name() const override { return "ask to " + target_->name(); }

 private:
  // The first completion wins. acq_rel: the winner's completion is the only
  // one (so the state may skip its own claim); the result it writes is
  // published by the state's own release.
  bool Claim() { return !done_.exchange(true, std::memory_order_acq_rel); }

  // The claimed completion by `reply`.
  void Complete(Envelope& reply) {
    CancelTimeout();
    if (reply.Is<R>()) {
      state_->EmplaceClaimedResult(std::move(reply.As<R>()));
    } else if (reply.Is<absl::Status>()) {
      absl::Status error = std::move(reply.As<absl::Status>());
      if (error.ok())
        error = absl::InvalidArgumentError("ask answered with an OK status, no value");
      Fail(std::move(error));
    } else {
      Fail(WrongReplyType(MessageTypeOf<R>(), reply.type(), *target_));
    }
  }
  // The claimed completion by an error.
  void Fail(absl::Status error) { state_->EmplaceClaimedResult(std::move(error)); }

  void CancelTimeout() {
    // The timer id is written before the request is sent; every completion
    // happens after that send, so reading it here is ordered after the write.
    if (timer_ != 0) CancelAskTimeout(link(), timer_);
  }

  const AddressablePtr target_;
  const MessageType* const request_;
  threads_internal::StatePtr<R> state_;        // set once, in the constructor
  threads_internal::StatePtr<R> future_side_;  // until GetFuture() takes it
  std::atomic<bool> done_{false};
  uint64_t timer_ = 0;
  absl::Duration timeout_;
  AskChainRef chain_;
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_ASK_H_
