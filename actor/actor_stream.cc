#include "actor/actor_stream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace troupe {

namespace actor_internal {

std::optional<absl::Status> ApplyStreamControl(StreamControl control, StreamProducer& producer,
                                               uint64_t& credit) {
  switch (control.kind) {
    case StreamControl::Kind::kGrant:
      credit = SaturatingAdd(credit, control.n);
      return std::nullopt;
    case StreamControl::Kind::kZeroRequest: {
      absl::Status status = absl::InvalidArgumentError(
          absl::StrCat("ToActor(): ", producer.name(),
                       ": a request of 0 items; a request must be > 0 (Reactive Streams 3.9)"));
      producer.Finish(status);
      return status;
    }
    case StreamControl::Kind::kCancel:
      producer.StopListening();
      return absl::CancelledError(absl::StrCat("ToActor(): the consumer cancelled the ",
                                               producer.name(), control.detail.empty() ? "" : ": ",
                                               control.detail));
    case StreamControl::Kind::kGone:
      producer.StopListening();
      return absl::CancelledError(
          absl::StrCat("ToActor(): the consumer stopped (", control.detail, ")"));
    case StreamControl::Kind::kRefused:
      producer.StopListening();
      if (control.reason == DeadLetterReason::kUnhandled) {
        return absl::FailedPreconditionError(absl::StrCat(
            "ToActor(): ", control.detail,
            " was not handled: the consumer must grant credit (FromActor() or a StreamInlet)"));
      }
      return absl::CancelledError(absl::StrCat(
          "ToActor(): ", control.detail, " was not delivered (",
          std::string(DeadLetterReasonName(control.reason)), "): the consumer is gone"));
  }
  return absl::InternalError("ToActor(): an unknown stream control");
}

absl::Status StreamControlFailed(RecvError error, StreamProducer& producer) {
  absl::Status status = error == RecvError::kCancelled
                            ? absl::CancelledError("ToActor(): the producing task was cancelled")
                            : producer.ControlClosedStatus();
  producer.Finish(status);
  return status;
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
