#include "actor/actor_stream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actor/send.h"

namespace troupe {

namespace actor_internal {

std::optional<ProducerEnd> ApplyStreamControl(StreamControl control, StreamProducer& producer,
                                              uint64_t& credit) {
  switch (control.kind) {
    case StreamControl::Kind::kGrant:
      credit = SaturatingAdd(credit, control.n);
      return std::nullopt;
    case StreamControl::Kind::kZeroRequest:
      return ProducerEnd{
          absl::InvalidArgumentError(
              absl::StrCat("ToActor(): ", producer.name(),
                           ": a request of 0 items; a request must be > 0 (Reactive Streams 3.9)")),
          /*tell_consumer=*/true};
    case StreamControl::Kind::kCancel:
      return ProducerEnd{absl::CancelledError(
                             absl::StrCat("ToActor(): the consumer cancelled the ", producer.name(),
                                          control.detail.empty() ? "" : ": ", control.detail)),
                         /*tell_consumer=*/false};
    case StreamControl::Kind::kGone:
      return ProducerEnd{absl::CancelledError(absl::StrCat("ToActor(): the consumer stopped (",
                                                           control.detail, ")")),
                         /*tell_consumer=*/false};
    case StreamControl::Kind::kRefused:
      if (control.reason == DeadLetterReason::kUnhandled) {
        return ProducerEnd{
            absl::FailedPreconditionError(absl::StrCat(
                "ToActor(): ", control.detail,
                " was not handled: the consumer must grant credit (FromActor() or a StreamInlet)")),
            /*tell_consumer=*/false};
      }
      return ProducerEnd{
          absl::CancelledError(absl::StrCat("ToActor(): ", control.detail, " was not delivered (",
                                            std::string(DeadLetterReasonName(control.reason)),
                                            "): the consumer is gone")),
          /*tell_consumer=*/false};
  }
  return ProducerEnd{absl::InternalError("ToActor(): an unknown stream control"), true};
}

absl::Status StreamControlFailed(RecvError error, StreamProducer& producer) {
  return error == RecvError::kCancelled
             ? absl::CancelledError("ToActor(): the producing task was cancelled")
             : producer.ControlClosedStatus();
}

Task<absl::Status> SendRunWaiting(StreamProducer& producer,
                                  std::vector<std::unique_ptr<Envelope>>& run, size_t from,
                                  PushResult refused) {
  // `run[from]` was refused as `refused`; nothing is sent twice (a
  // receiver that refused as closed may have taken the item to dead
  // letters already).
  for (;;) {
    if (refused != PushResult::kFull) {
      producer.DeadLetter(run, from, DeadLetterReason::kReceiverStopped);
      co_return absl::CancelledError(
          absl::StrCat("ToActor(): ", producer.consumer()->name(), " has stopped"));
    }
    // The consumer granted the credit: its room is owed too. Wait for it as
    // any sender that can (actor/send.h), then go on with the rest.
    absl::Status in = co_await SendEnvelopeAwaiter(producer.consumer(), run[from]);
    if (!in.ok()) {
      if (in.code() == absl::StatusCode::kResourceExhausted) {
        // A consumer with no line to wait in (on another node, its node's
        // queue full): the stream cannot keep its promise of order.
        producer.DeadLetter(run, from, DeadLetterReason::kMailboxFull);
        co_return in;
      }
      const bool cancelled = in.code() == absl::StatusCode::kCancelled;
      producer.DeadLetter(
          run, from,
          cancelled ? DeadLetterReason::kDroppedAtStop : DeadLetterReason::kReceiverStopped);
      co_return cancelled ? absl::CancelledError("ToActor(): the producing task was cancelled")
                          : absl::CancelledError(absl::StrCat(
                                "ToActor(): ", producer.consumer()->name(), " has stopped"));
    }
    if (++from == run.size()) break;
    from += producer.TrySend(run, from, &refused);
    if (from == run.size()) break;
  }
  run.clear();
  co_return absl::OkStatus();
}

Task<void> SendEndWaiting(StreamProducer& producer, absl::Status status) {
  std::unique_ptr<Envelope> end = producer.TakeEnd(status);
  absl::Status in = co_await SendEnvelopeAwaiter(producer.consumer(), end);
  if (!in.ok() && end != nullptr) {
    PublishDeadLetter(producer.link(), std::move(end),
                      in.code() == absl::StatusCode::kCancelled
                          ? DeadLetterReason::kDroppedAtStop
                          : DeadLetterReason::kReceiverStopped,
                      producer.consumer().get());
  }
}

}  // namespace actor_internal

StreamInlet::StreamInlet(uint32_t window) : window_(window) {}

StreamInlet::~StreamInlet() {
  if (is_open()) Cancel("the consuming actor stopped");
}

absl::Status StreamInlet::Accept(const ActorRef& producer) {
  if (!producer) return absl::InvalidArgumentError("StreamInlet::Accept(): an empty ActorRef");
  absl::Status refused;
  if (window_ == 0 || window_ > kMaxStreamWindow) {
    refused = absl::InvalidArgumentError(
        absl::StrCat("StreamInlet: the window must be 1..", kMaxStreamWindow, ", not ", window_));
  } else if (is_open()) {
    refused = absl::FailedPreconditionError(absl::StrCat("StreamInlet::Accept(): a stream from ",
                                                         producer_.ToString(), " is open already"));
  }
  if (!refused.ok()) {
    proto::StreamCancel cancel;
    cancel.set_reason(std::string(refused.message()));
    producer.Tell(std::move(cancel));
    return refused;
  }
  producer_ = producer;
  granted_ = 0;
  consumed_ = 0;
  unacknowledged_ = 0;
  Grant(window_);
  return absl::OkStatus();
}

void StreamInlet::Consumed(uint64_t n) {
  if (!is_open()) return;
  consumed_ += n;
  unacknowledged_ += n;
  if (unacknowledged_ >= (window_ / 2 > 0 ? window_ / 2 : 1)) {
    const uint64_t grant = unacknowledged_;
    unacknowledged_ = 0;
    Grant(grant);
  }
}

absl::Status StreamInlet::Request(uint64_t n) {
  if (n == 0) {
    return absl::InvalidArgumentError(
        "StreamInlet::Request(0): a request must be > 0 (Reactive Streams 3.9)");
  }
  if (!is_open()) return absl::FailedPreconditionError("StreamInlet::Request(): no stream is open");
  Grant(n);
  return absl::OkStatus();
}

absl::Status StreamInlet::Finish(const proto::StreamDone& done) {
  producer_ = ActorRef();
  return actor_internal::StatusOfStreamDone(done);
}

void StreamInlet::Cancel(std::string reason) {
  if (!is_open()) return;
  proto::StreamCancel cancel;
  cancel.set_reason(std::move(reason));
  producer_.Tell(std::move(cancel));
  producer_ = ActorRef();
}

void StreamInlet::Grant(uint64_t n) {
  granted_ = actor_internal::SaturatingAdd(granted_, n);
  proto::StreamRequest request;
  request.set_n(n);
  producer_.Tell(std::move(request));
  actor_internal::HandOffToOtherWorkers();  // the producer, if this woke it
}

}  // namespace troupe
