#include "actor/internal/stream_endpoints.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "actor/internal/actor_cell.h"
#include "actor/system.pb.h"
#include "threads/internal/futex.h"

namespace troupe::actor_internal {

proto::StreamDone StreamDoneOf(const absl::Status& status) {
  proto::StreamDone done;
  done.set_code(static_cast<int32_t>(status.code()));
  done.set_message(std::string(status.message()));
  return done;
}

absl::Status StatusOfStreamDone(const proto::StreamDone& done) {
  // A code from another build or a hostile peer is still a failure, never
  // an accidental OK.
  if (done.code() == 0) return absl::OkStatus();
  absl::StatusCode code = static_cast<absl::StatusCode>(done.code());
  if (done.code() < 0 || done.code() > static_cast<int32_t>(absl::StatusCode::kUnauthenticated)) {
    code = absl::StatusCode::kUnknown;
  }
  return absl::Status(code, done.message());
}

void HandOffToOtherWorkers() {
  // A pool worker's before-sleep hook is that very hand-over (it runs before
  // a task blocks the worker, for the same reason); other threads have none.
  const threads_internal::BeforeSleep& hand_over = threads_internal::CurrentBeforeSleep();
  if (hand_over.fn != nullptr) hand_over.fn(hand_over.arg);
}

namespace {

// Watches `watched` for `watcher`, which is not a cell: an actor's cell
// takes a foreign watcher; another receiver may take the watch (remote/'s
// refs) or not. True if a Down will come.
bool WatchFor(const AddressablePtr& watched, const AddressablePtr& watcher) {
  proto::ExitReason final_reason;
  if (ActorCell* cell = watched->AsCell()) return cell->AddForeignWatcher(watcher, &final_reason);
  return watched->WatchedBy(watcher);
}

// Ends a watch WatchFor() took.
void UnwatchFor(Addressable& watched, const Addressable* watcher) {
  if (ActorCell* cell = watched.AsCell()) {
    cell->RemoveForeignWatcher(watcher);
  } else {
    watched.UnwatchedBy(watcher);
  }
}

}  // namespace

// -- StreamProducer --------------------------------------------------------------

StreamProducer::StreamProducer(AddressablePtr consumer)
    : StreamProducer(std::move(consumer), Channel<StreamControl>::Bounded(kMaxUnreadControl)) {}

StreamProducer::StreamProducer(AddressablePtr consumer, Channel<StreamControl>::Pair control)
    : Addressable(consumer->link(), 0),
      consumer_(std::move(consumer)),
      control_tx_(std::move(control.first)),
      control_rx_(std::move(control.second)) {}

StreamProducer::~StreamProducer() = default;

void StreamProducer::Open() {
  const AddressablePtr self(this);
  // False for an actor that has stopped (the open is about to be
  // dead-lettered) and for a FromActor() end, which cannot be watched.
  watching_ = WatchFor(consumer_, self);
  consumer_->Deliver(MakeEnvelope(proto::StreamOpen(), self));
}

void StreamProducer::DeadLetter(std::vector<std::unique_ptr<Envelope>>& run, size_t from,
                                DeadLetterReason reason) {
  for (size_t i = from; i < run.size(); ++i) {
    if (run[i] != nullptr) PublishDeadLetter(link(), std::move(run[i]), reason, consumer_.get());
  }
  run.clear();
}

std::unique_ptr<Envelope> StreamProducer::TakeEnd(const absl::Status& status) {
  finished_ = true;
  return MakeEnvelope(StreamDoneOf(status), AddressablePtr(this));
}

void StreamProducer::Finish(const absl::Status& status) {
  if (finished_) return;
  consumer_->Deliver(TakeEnd(status));
  StopListening();
}

void StreamProducer::StopListening() {
  finished_ = true;
  if (watching_) {
    watching_ = false;
    UnwatchFor(*consumer_, this);
  }
  // Later requests and cancels are no-ops (Reactive Streams 3.6, 3.7): the
  // closed channel refuses them and Deliver() drops them.
  control_rx_.Close();
}

absl::Status StreamProducer::ControlClosedStatus() const {
  if (flooded_.load(std::memory_order_relaxed)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("ToActor(): ", consumer_->name(), " sent more than ", kMaxUnreadControl,
                     " stream control messages unread; the stream is ended"));
  }
  return absl::CancelledError("ToActor(): the stream's end closed");
}

bool StreamProducer::Deliver(std::unique_ptr<Envelope> envelope) {
  if (envelope->Is<proto::StreamRequest>()) {
    const uint64_t n = envelope->As<proto::StreamRequest>().n();
    StreamControl control;
    control.kind = n == 0 ? StreamControl::Kind::kZeroRequest : StreamControl::Kind::kGrant;
    control.n = n;
    Post(std::move(control));
    return true;
  }
  if (envelope->Is<proto::StreamCancel>()) {
    StreamControl control;
    control.kind = StreamControl::Kind::kCancel;
    control.detail = std::move(*envelope->As<proto::StreamCancel>().mutable_reason());
    Post(std::move(control));
    return true;
  }
  if (envelope->Is<proto::Down>() && envelope->sender().get() == consumer_.get()) {
    StreamControl control;
    control.kind = StreamControl::Kind::kGone;
    const proto::ExitReason& reason = envelope->As<proto::Down>().reason();
    control.detail = absl::StrCat(proto::ExitReason::Kind_Name(reason.kind()),
                                  reason.detail().empty() ? "" : ": ", reason.detail());
    Post(std::move(control));
    return true;
  }
  // Nothing else belongs here (an item's reply, say): a dead letter, said
  // and counted.
  PublishDeadLetter(link(), std::move(envelope), DeadLetterReason::kUnhandled, this);
  return false;
}

void StreamProducer::Undelivered(const Envelope& envelope, DeadLetterReason reason) {
  if (refused_.exchange(true, std::memory_order_relaxed)) return;
  StreamControl control;
  control.kind = StreamControl::Kind::kRefused;
  control.reason = reason;
  control.detail = absl::StrCat(envelope.type().name(), " to ", consumer_->name());
  Post(std::move(control));
}

void StreamProducer::Post(StreamControl control) {
  SendResult<StreamControl> sent = control_tx_.TrySend(std::move(control));
  if (!sent.ok() && sent.error() == SendError::kFull) {
    // Written before the close, which the task's receive of "closed"
    // orders after it.
    flooded_.store(true, std::memory_order_relaxed);
    control_tx_.Close();
  }
  // After the send (or the close): see TakeNews(). Closed before this
  // (the stream ended): nobody looks.
  news_.store(true, std::memory_order_release);
}

std::string StreamProducer::name() const { return absl::StrCat("stream to ", consumer_->name()); }

// -- StreamInboxBase ---------------------------------------------------------------

StreamInboxBase::StreamInboxBase(SystemLink* link, uint32_t window)
    : Addressable(link, 0), window_(window) {}

StreamInboxBase::~StreamInboxBase() = default;

void StreamInboxBase::Start(const AddressablePtr& producer, std::unique_ptr<Envelope> open) {
  {
    MutexLock lock(mu_);
    TROUPE_DCHECK(phase_ == Phase::kIdle, "a FromActor() stream started twice");
    phase_ = Phase::kAwaitingOpen;
    producer_actor_ = producer;
  }
  // Watch the producer until it opens the stream, so that one that stops
  // first (or never answers, then stops) ends this stream rather than
  // leaving its consumer waiting. Not under mu_: a Down may be on its way
  // into Deliver() from the cell's side meanwhile.
  const AddressablePtr self(this);
  if (WatchFor(producer, self)) {
    bool keep;
    {
      MutexLock lock(mu_);
      keep = phase_ == Phase::kAwaitingOpen;
      watching_ = keep;
    }
    if (!keep) Unwatch(producer);              // opened or ended already
  } else if (producer->AsCell() != nullptr) {  // an actor that has stopped
    End(absl::UnavailableError(absl::StrCat("FromActor(): ", producer->name(), " has stopped")));
    PublishDeadLetter(link(), std::move(open), DeadLetterReason::kReceiverStopped, producer.get());
    return;
  }
  open->set_sender(self);
  producer->Deliver(std::move(open));
}

void StreamInboxBase::Grant(uint64_t n) {
  AddressablePtr producer;
  {
    MutexLock lock(mu_);
    if (phase_ != Phase::kOpen) return;
    producer = producer_;
  }
  proto::StreamRequest request;
  request.set_n(n);
  producer->Deliver(MakeEnvelope(std::move(request)));
  HandOffToOtherWorkers();  // the producer, if this woke it
}

void StreamInboxBase::Cancel() {
  AddressablePtr producer;
  AddressablePtr watched;
  {
    MutexLock lock(mu_);
    // Taken, not copied: the producer's end holds this one, so a reference
    // kept here would be a cycle.
    if (phase_ == Phase::kOpen) producer = std::move(producer_);
    producer_ = AddressablePtr();
    watched = TakeWatch();
    if (phase_ != Phase::kEnded) {
      phase_ = Phase::kEnded;
      status_ = absl::CancelledError("FromActor(): the consumer cancelled");
    }
  }
  Unwatch(watched);
  CloseItems();
  if (producer) {
    proto::StreamCancel cancel;
    cancel.set_reason("the consumer stopped pulling");
    producer->Deliver(MakeEnvelope(std::move(cancel)));
  }
}

absl::Status StreamInboxBase::final_status() const {
  MutexLock lock(mu_);
  return status_;
}

bool StreamInboxBase::IsAlive() const {
  MutexLock lock(mu_);
  return phase_ != Phase::kEnded;
}

std::string StreamInboxBase::name() const { return "FromActor() stream"; }

bool StreamInboxBase::Deliver(std::unique_ptr<Envelope> envelope) {
  if (IsItem(*envelope)) return DeliverItem(envelope);
  if (envelope->Is<proto::StreamOpen>()) {
    AddressablePtr offered = envelope->sender();
    bool accepted = false;
    AddressablePtr watched;
    {
      MutexLock lock(mu_);
      if (phase_ == Phase::kAwaitingOpen && offered) {
        phase_ = Phase::kOpen;
        producer_ = offered;
        watched = TakeWatch();
        accepted = true;
      }
    }
    Unwatch(watched);
    if (!offered) return true;  // an open from nobody: nothing to answer
    if (accepted) {
      proto::StreamRequest request;
      request.set_n(window_);
      offered->Deliver(MakeEnvelope(std::move(request)));
    } else {  // a second producer, or one too late: it streams to nobody
      proto::StreamCancel cancel;
      cancel.set_reason("FromActor(): this stream has a producer already, or has ended");
      offered->Deliver(MakeEnvelope(std::move(cancel)));
    }
    return true;
  }
  if (envelope->Is<proto::StreamDone>()) {
    End(StatusOfStreamDone(envelope->As<proto::StreamDone>()));
    return true;
  }
  if (envelope->Is<proto::Down>()) {
    bool before_open;
    {
      MutexLock lock(mu_);
      before_open =
          phase_ == Phase::kAwaitingOpen && envelope->sender().get() == producer_actor_.get();
    }
    // After the open the stream's own end reports how it ended.
    if (before_open) {
      End(absl::CancelledError(
          absl::StrCat("FromActor(): ", envelope->sender() ? envelope->sender()->name() : "",
                       " stopped before it opened the stream (",
                       envelope->As<proto::Down>().reason().detail(), ")")));
    }
    return true;
  }
  PublishDeadLetter(link(), std::move(envelope), DeadLetterReason::kUnhandled, this);
  return false;
}

void StreamInboxBase::Undelivered(const Envelope& envelope, DeadLetterReason reason) {
  // The open message, most likely: the producer is gone or cannot take it.
  End(absl::UnavailableError(absl::StrCat("FromActor(): ", envelope.type().name(),
                                          " was not delivered (",
                                          std::string(DeadLetterReasonName(reason)), ")")));
}

void StreamInboxBase::End(absl::Status status) {
  AddressablePtr watched;
  {
    MutexLock lock(mu_);
    if (phase_ == Phase::kEnded) return;
    phase_ = Phase::kEnded;
    status_ = std::move(status);
    producer_ = AddressablePtr();  // (a cycle otherwise: see Cancel())
    watched = TakeWatch();
  }
  Unwatch(watched);
  CloseItems();  // after status_: the consumer reads it once it sees the close
}

void StreamInboxBase::ProducerMisbehaved(std::string why) {
  AddressablePtr producer;
  {
    MutexLock lock(mu_);
    producer = producer_;  // End() below lets go of its own
  }
  End(absl::InternalError(absl::StrCat("FromActor(): ", why)));
  if (producer) {
    proto::StreamCancel cancel;
    cancel.set_reason(std::move(why));
    producer->Deliver(MakeEnvelope(std::move(cancel)));
  }
}

AddressablePtr StreamInboxBase::TakeWatch() {
  if (!watching_) return AddressablePtr();
  watching_ = false;
  return producer_actor_;
}

void StreamInboxBase::Unwatch(const AddressablePtr& producer) {
  if (producer) UnwatchFor(*producer, this);
}

}  // namespace troupe::actor_internal
