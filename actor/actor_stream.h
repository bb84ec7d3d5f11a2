// -----------------------------------------------------------------------------
// File: actor_stream.h
// -----------------------------------------------------------------------------
//
// Streams between actors, with credit: a producer sends items only as fast
// as its consumer grants credit for them, so a fast actor cannot flood a
// slow one's mailbox. The protocol is four protobuf messages
// (stream_protocol.proto): StreamOpen, StreamRequest(n), StreamCancel,
// StreamDone(status); the items are ordinary messages.
//
// The producer side is a stream (async/stream.h) that a task sends on:
//
//   .On<ticks::Subscribe>([this](const ticks::Subscribe& s) {
//     Go(troupe::ToActor(Ticks(s.symbol()), Sender()));  // a Task<absl::Status>
//   })
//
// The consumer side is either a stream, pulled by a task:
//
//   troupe::Stream<Tick> ticks = ...;
//   auto ticks = troupe::FromActor<Tick>(ticker, ticks::Subscribe());
//   while (std::optional<Tick> t = co_await ticks.Next()) { ... }
//   absl::Status how = ticks.status();
//
// or an actor's handlers, with a StreamInlet keeping its credit:
//
//   .On<troupe::proto::StreamOpen>([this](const auto&) { (void)inlet_.Accept(Sender()); })
//   .On<Tick>([this](const Tick& t) { Record(t); inlet_.Consumed(); })
//   .On<troupe::proto::StreamDone>([this](const auto& d) { Report(inlet_.Finish(d)); })
//
// What it promises:
// - At most `window` items in flight: the consumer grants the window when
//   the stream opens and grants again each time it has taken half of it,
//   so its mailbox (or a FromActor() stream's buffer) never holds more
//   than `window` of the stream's items.
// - Credit saturates at 2^64-1 (then the stream is unbounded); a request
//   of 0 ends the stream with kInvalidArgument (Reactive Streams rule 3.9).
// - Ends are never lost: the items come first, then the producer's
//   StreamDone with its stream's status (OK, or the source's error). A
//   producer whose task is cancelled or destroyed (its actor stopped, its
//   system shut down) sends StreamDone(kCancelled). A consumer that stops
//   (its stream dropped, its task cancelled, its actor with the inlet
//   stopped) sends StreamCancel; the producer's task then ends with
//   kCancelled — as it does when a consumer actor stops without a word,
//   since the producer watches it. A FromActor() stream watches its
//   producer actor until the stream opens: one that stops first, or does
//   not take the opening message, ends the stream with kCancelled or
//   kUnavailable, not a hang.
// - A ToActor() task yields its strand every kItemsBetweenYields items, so
//   an actor streaming to a consumer that keeps up still handles its mail
//   (a Stop gets in).
// - Items that arrive after a cancel are dead letters (counted); requests
//   and cancels that reach a stream that has ended are no-ops (rules 3.6,
//   3.7).
//
// Thread-safety: a FromActor() stream is pulled by one task at a time (as
// every stream); ToActor() is a task; a StreamInlet belongs to its actor.

#ifndef TROUPE_ACTOR_ACTOR_STREAM_H_
#define TROUPE_ACTOR_ACTOR_STREAM_H_

#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "actor/actor_ref.h"
#include "actor/internal/stream_endpoints.h"
#include "actor/message.h"
#include "actor/stream_protocol.pb.h"
#include "async/channel.h"
#include "async/sleep.h"
#include "async/stream.h"
#include "async/task.h"
#include "channel/channel.h"

namespace troupe {

// Credit windows: the default, and the largest a stream may have (a
// FromActor() stream allocates its window's buffer up front).
inline constexpr uint32_t kDefaultStreamWindow = 256;
inline constexpr uint32_t kMaxStreamWindow = 1 << 16;

struct ActorStreamOptions {
  // Items the consumer lets the producer send ahead; 1..kMaxStreamWindow.
  uint32_t window = kDefaultStreamWindow;
};

template <typename T>
class ActorStream;

// FromActor<T>()
//
// A stream of the T messages that `producer` streams back when sent `open`
// (which its handler answers with `Go(ToActor(items, Sender()))`, or by
// any producer of the protocol). Lazy: `open` goes out at the first
// Next(). An empty ref, or a window outside 1..kMaxStreamWindow, gives a
// stream that ends at once with kInvalidArgument.
template <typename T, typename M>
ActorStream<T> FromActor(const ActorRef& producer, M open, ActorStreamOptions options = {});

// ToActor()
//
// Sends every item of `items` to `consumer` as a message, against the
// consumer's credit, then StreamDone with how `items` ended; returns that
// status. kCancelled when the consumer cancelled or went away, or this
// task was cancelled (the consumer then gets StreamDone(kCancelled));
// kFailedPrecondition for a consumer that does not speak the protocol (it
// has no handler for StreamOpen); kInvalidArgument for a request of 0 or
// an empty ref; kResourceExhausted for a consumer that floods it with
// control messages. Pulls an item only when it has credit for it. A
// consumer's full bounded mailbox makes it wait for room (actor/send.h):
// the credit promised it.
template <AsyncStream S>
Task<absl::Status> ToActor(S items, ActorRef consumer);

// StreamInlet
//
// The consumer's side of one stream at a time, in an actor that takes the
// items in its handlers (see the example above). It owns the credit: call
// Consumed() after each item. Destroying it (the actor stops) cancels an
// open stream.
class StreamInlet {
 public:
  explicit StreamInlet(uint32_t window = kDefaultStreamWindow);
  StreamInlet(const StreamInlet&) = delete;
  StreamInlet& operator=(const StreamInlet&) = delete;
  ~StreamInlet();

  // StreamInlet::Accept()
  //
  // On a StreamOpen: takes the stream its sender (`producer`) offers and
  // grants the window. kInvalidArgument for an empty ref or a window
  // outside 1..kMaxStreamWindow; kFailedPrecondition when a stream is open
  // already. A refused offer is cancelled.
  absl::Status Accept(const ActorRef& producer);

  // StreamInlet::Consumed()
  //
  // `n` items were taken: once half the window is, it is granted again.
  void Consumed(uint64_t n = 1);

  // StreamInlet::Request()
  //
  // Grants `n` more items now, beyond the window (the consumer's mailbox
  // may then hold more). kInvalidArgument for 0; kFailedPrecondition with
  // no stream open.
  absl::Status Request(uint64_t n);

  // StreamInlet::Finish()
  //
  // On StreamDone: the stream's end status. The inlet may Accept() another.
  absl::Status Finish(const proto::StreamDone& done);

  // StreamInlet::Cancel()
  //
  // Tells the producer to stop; items already on their way still arrive.
  void Cancel(std::string reason = "the consumer cancelled");

  bool is_open() const { return static_cast<bool>(producer_); }
  const ActorRef& producer() const { return producer_; }
  // Items granted and not yet consumed: a bound of this stream's items in
  // the actor's mailbox.
  uint64_t outstanding() const { return granted_ - consumed_; }

 private:
  void Grant(uint64_t n);

  const uint32_t window_;
  ActorRef producer_;
  uint64_t granted_ = 0;  // saturating
  uint64_t consumed_ = 0;
  uint64_t unacknowledged_ = 0;  // consumed since the last grant
};

// -- Implementation ------------------------------------------------------------

namespace actor_internal {

// The typed half of a FromActor() stream's end: its items go into a channel
// whose capacity is the window, which a producer keeping to its credit
// never fills.
template <typename T>
class StreamInbox final : public StreamInboxBase {
 public:
  StreamInbox(SystemLink* link, uint32_t window, Sender<T> items)
      : StreamInboxBase(link, window), items_(std::move(items)) {}

 private:
  bool IsItem(const Envelope& envelope) const override { return envelope.Is<T>(); }

  bool DeliverItem(std::unique_ptr<Envelope>& item) override {
    SendResult<T> sent = items_.TrySend(std::move(item->As<T>()));
    if (sent.ok()) return true;
    item->As<T>() = sent.TakeValue();
    DeadLetterReason reason = DeadLetterReason::kReceiverStopped;  // cancelled or ended
    if (sent.error() == SendError::kFull) {
      ProducerMisbehaved("the producer sent more items than it had credit for");
      reason = DeadLetterReason::kMailboxFull;
    }
    PublishDeadLetter(link(), std::move(item), reason, this);
    return false;
  }

  void CloseItems() override { items_.Close(); }

  Sender<T> items_;
};

// Sends a ToActor() stream's end if its task ends (or its frame is
// destroyed) without having sent it.
class ProducerGuard {
 public:
  explicit ProducerGuard(AddressablePtr consumer)
      : producer_(new StreamProducer(std::move(consumer))), keep_(producer_) {}
  ProducerGuard(const ProducerGuard&) = delete;
  ProducerGuard& operator=(const ProducerGuard&) = delete;
  ~ProducerGuard() {
    producer_->Finish(absl::CancelledError("ToActor(): the producing task ended"));
  }
  StreamProducer& producer() const { return *producer_; }

 private:
  StreamProducer* producer_;
  AddressablePtr keep_;
};

// How a producer's stream ends: its status, and whether the consumer is
// still there to be told (not when it cancelled or went away).
struct ProducerEnd {
  absl::Status status;
  bool tell_consumer;
};

// What a control message does to the stream: nullopt to go on (a grant,
// added to `credit`), or how it ends.
std::optional<ProducerEnd> ApplyStreamControl(StreamControl control, StreamProducer& producer,
                                              uint64_t& credit);
// The stream's end when the control channel itself failed (closed: a
// flood; kCancelled: this task was cancelled).
absl::Status StreamControlFailed(RecvError error, StreamProducer& producer);

// Sends `run` from `run[from]` on, which SendNow() found refused as
// `refused`, waiting for room in the consumer's full bounded mailbox (its
// credit promised room too), and empties it. OK, or kCancelled: the
// consumer has stopped, or this task was cancelled while it waited, or
// kResourceExhausted: a consumer on another node whose node's queue is
// full (it has no line to wait in). The items not sent are dead letters.
Task<absl::Status> SendRunWaiting(StreamProducer& producer,
                                  std::vector<std::unique_ptr<Envelope>>& run, size_t from,
                                  PushResult refused);
// Sends StreamDone(status), waiting for room likewise.
Task<void> SendEndWaiting(StreamProducer& producer, absl::Status status);

// Items a ToActor() task sends before it yields its strand, and the most
// it sends in one run.
inline constexpr uint32_t kItemsBetweenYields = 128;
inline constexpr size_t kRunMax = 64;

template <AsyncStream S>
Task<absl::Status> ToActorOf(S items, ActorRef consumer) {
  using T = typename S::value_type;
  if (!consumer) co_return absl::InvalidArgumentError("ToActor(): an empty consumer ActorRef");
  S source = std::move(items);
  ProducerGuard guard(consumer.target());
  StreamProducer& producer = guard.producer();
  producer.Open();
  uint64_t credit = 0;
  uint32_t since_yield = 0;
  // Items go out in runs (StreamProducer::SendNow): a run is sent when it
  // is full, and before the task waits (for credit or for its source),
  // yields, reads control or ends, so that nothing waits in it.
  std::vector<std::unique_ptr<Envelope>> run;
  run.reserve(kRunMax);
  async_internal::Slot<async_internal::NextOf<S>> next;
  async_internal::Slot<std::optional<T>> item;
  PushResult refused = PushResult::kPushed;  // what SendNow() last met
  absl::Status end;                          // how the stream ended
  bool tell_consumer = true;                 // false once it cancelled or went away
  for (;;) {
    // What the consumer said: awaited when out of credit, else read only
    // when there is news (a cancel is seen before the next item).
    if (credit == 0 || producer.TakeNews()) {
      if (size_t sent = 0; !producer.SendNow(run, &sent, &refused)) {
        if (absl::Status rest = co_await SendRunWaiting(producer, run, sent, refused); !rest.ok()) {
          end = std::move(rest);
          tell_consumer = false;
          break;
        }
      }
      RecvResult<StreamControl> said(RecvError::kEmpty);
      if (credit == 0) {
        RecvResult<StreamControl> got = co_await Recv(producer.control());
        said = std::move(got);
      } else {
        said = producer.control().TryRecv();
      }
      if (said.ok()) {
        if (std::optional<ProducerEnd> ends =
                ApplyStreamControl(std::move(*said), producer, credit)) {
          end = std::move(ends->status);
          tell_consumer = ends->tell_consumer;
          break;
        }
        // More may have come with the same news: look again before an item.
        if (credit > 0) producer.MarkNews();
        continue;
      }
      if (said.error() != RecvError::kEmpty) {
        end = StreamControlFailed(said.error(), producer);
        break;
      }
    }
    // A consumer that keeps up would keep this loop from ever suspending,
    // and so its strand — an actor's, whose Stop could then never get in.
    // Let others run.
    if (++since_yield == kItemsBetweenYields) {
      since_yield = 0;
      if (size_t sent = 0; !producer.SendNow(run, &sent, &refused)) {
        if (absl::Status rest = co_await SendRunWaiting(producer, run, sent, refused); !rest.ok()) {
          end = std::move(rest);
          tell_consumer = false;
          break;
        }
      }
      if (absl::Status yielded = co_await Yield(); !yielded.ok()) {
        end = std::move(yielded);
        break;
      }
    }
    next.EmplaceFrom([&] { return source.Next(); });
    if (next->await_ready()) {
      item.EmplaceFrom([&] { return next->await_resume(); });
    } else {  // the source must wait: what is ready goes first
      if (size_t sent = 0; !producer.SendNow(run, &sent, &refused)) {
        if (absl::Status rest = co_await SendRunWaiting(producer, run, sent, refused); !rest.ok()) {
          end = std::move(rest);
          tell_consumer = false;
          break;
        }
      }
      std::optional<T> waited = co_await async_internal::AwaitInPlace(*next, /*asked=*/true);
      item.Emplace(std::move(waited));
    }
    next.Reset();
    if (!item->has_value()) {
      end = source.status();
      break;
    }
    run.push_back(MakeEnvelope(std::move(**item)));
    item.Reset();
    if (credit != UINT64_MAX) --credit;  // saturated: unbounded
    if (size_t sent = 0; run.size() == kRunMax && !producer.SendNow(run, &sent, &refused)) {
      if (absl::Status rest = co_await SendRunWaiting(producer, run, sent, refused); !rest.ok()) {
        end = std::move(rest);
        tell_consumer = false;
        break;
      }
    }
  }
  // The end: the items still in hand, then StreamDone, both waiting for room
  // in a full bounded mailbox, unless the consumer is gone.
  if (tell_consumer) {
    absl::Status rest = absl::OkStatus();
    if (size_t sent = 0; !producer.SendNow(run, &sent, &refused)) {
      rest = co_await SendRunWaiting(producer, run, sent, refused);
    }
    if (rest.ok()) (void)co_await SendEndWaiting(producer, end);
  }
  producer.StopListening();
  co_return end;
}

}  // namespace actor_internal

// ActorStream<T>: see FromActor(). Fused: Next() is the receive of the
// stream's buffer; after every half window taken it grants credit again.
template <typename T>
class ActorStream : public StreamOps<ActorStream<T>> {
 public:
  using value_type = T;

  ActorStream(ActorStream&& other) noexcept = default;
  ActorStream& operator=(ActorStream&& other) noexcept {
    if (this != &other) {
      Cancel();
      inbox_ = std::move(other.inbox_);
      producer_ = std::move(other.producer_);
      open_ = std::move(other.open_);
      items_ = std::move(other.items_);
      grant_every_ = other.grant_every_;
      taken_ = other.taken_;
      invalid_ = std::move(other.invalid_);
    }
    return *this;
  }
  ~ActorStream() { Cancel(); }

  class Awaiter {
   public:
    explicit Awaiter(ActorStream* self)
        : self_(self), next_((self->StartOnce(), self->items_->Next())) {}
    bool await_ready() { return next_.await_ready(); }
    template <async_internal::TaskPromise Promise>
    bool await_suspend(std::coroutine_handle<Promise> consumer) {
      return next_.await_suspend(consumer);
    }
    std::optional<T> await_resume() {
      std::optional<T> item = next_.await_resume();
      if (item) self_->Took();
      return item;
    }

   private:
    ActorStream* self_;
    typename async_internal::ChannelStream<T>::Awaiter next_;
  };

  Awaiter Next() { return Awaiter(this); }

  // How it ended: the producer's status, or kCancelled (this consumer was
  // cancelled), kInvalidArgument (a bad FromActor() call), kUnavailable or
  // kCancelled (the producer stopped, or did not take the open message).
  absl::Status status() const {
    if (!invalid_.ok()) return invalid_;
    if (absl::Status mine = items_->status(); !mine.ok()) return mine;
    return inbox_ ? static_cast<actor_internal::StreamInboxBase*>(inbox_.get())->final_status()
                  : absl::OkStatus();
  }

 private:
  template <typename U, typename M>
  friend ActorStream<U> FromActor(const ActorRef& producer, M open, ActorStreamOptions options);

  ActorStream(actor_internal::AddressablePtr producer, EnvelopePtr open, uint32_t window)
      : producer_(std::move(producer)), open_(std::move(open)), grant_every_(Half(window)) {
    auto [tx, rx] = Channel<T>::Bounded(window);
    inbox_ = actor_internal::AddressablePtr(
        new actor_internal::StreamInbox<T>(producer_->link(), window, std::move(tx)));
    items_.emplace(std::move(rx));
  }
  explicit ActorStream(absl::Status invalid) : invalid_(std::move(invalid)) {
    auto [tx, rx] = Channel<T>::Bounded(1);
    tx.Close();
    items_.emplace(std::move(rx));
  }

  static uint64_t Half(uint32_t window) { return window / 2 > 0 ? window / 2 : 1; }
  actor_internal::StreamInboxBase* inbox() const {
    return static_cast<actor_internal::StreamInboxBase*>(inbox_.get());
  }

  void StartOnce() {
    if (open_ != nullptr) inbox()->Start(producer_, std::move(open_));
  }
  void Took() {
    if (++taken_ < grant_every_) return;
    inbox()->Grant(taken_);
    taken_ = 0;
  }
  void Cancel() {
    if (inbox_) inbox()->Cancel();
  }

  actor_internal::AddressablePtr inbox_;
  actor_internal::AddressablePtr producer_;
  EnvelopePtr open_;  // until the first Next()
  std::optional<async_internal::ChannelStream<T>> items_;
  uint64_t grant_every_ = 1;
  uint64_t taken_ = 0;
  absl::Status invalid_;
};

template <typename T, typename M>
ActorStream<T> FromActor(const ActorRef& producer, M open, ActorStreamOptions options) {
  static_assert(!std::is_same_v<T, proto::StreamOpen> && !std::is_same_v<T, proto::StreamDone> &&
                    !std::is_same_v<T, proto::Down>,
                "a stream's items cannot be of the protocol's own types");
  if (!producer)
    return ActorStream<T>(absl::InvalidArgumentError("FromActor(): an empty ActorRef"));
  if (options.window == 0 || options.window > kMaxStreamWindow) {
    return ActorStream<T>(absl::InvalidArgumentError("FromActor(): the window must be 1.." +
                                                     std::to_string(kMaxStreamWindow) + ", not " +
                                                     std::to_string(options.window)));
  }
  return ActorStream<T>(producer.target(), MakeEnvelope(std::move(open)), options.window);
}

template <AsyncStream S>
Task<absl::Status> ToActor(S items, ActorRef consumer) {
  return actor_internal::ToActorOf(std::move(items), std::move(consumer));
}

}  // namespace troupe

#endif  // TROUPE_ACTOR_ACTOR_STREAM_H_
