// -----------------------------------------------------------------------------
// File: internal/stream_endpoints.h
// -----------------------------------------------------------------------------
//
// The two ends of a stream between actors (actor_stream.h), each an
// Addressable that the other end's messages reach:
//   * `StreamProducer`: the end a ToActor() task sends items from. The
//     consumer's credit and cancel arrive here and wait in a small channel
//     for the task, which reads it without waiting while it has credit and
//     awaits it when it has none.
//   * `StreamInboxBase`: the untyped half of a FromActor() stream's end,
//     which takes the producer's StreamOpen and StreamDone, watches the
//     producer actor until the stream is open, and grants credit. Its typed
//     half (StreamInbox<T>, actor_stream.h) puts the items in a channel of
//     exactly the window's capacity, which credit never lets overflow.
//
// Not a public header.

#ifndef TROUPE_ACTOR_INTERNAL_STREAM_ENDPOINTS_H_
#define TROUPE_ACTOR_INTERNAL_STREAM_ENDPOINTS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "actor/dead_letters.h"
#include "actor/internal/addressable.h"
#include "actor/message.h"
#include "actor/stream_protocol.pb.h"
#include "channel/channel.h"
#include "threads/mutex.h"

namespace troupe::actor_internal {

// The end of a stream as the protocol carries it, and back.
proto::StreamDone StreamDoneOf(const absl::Status& status);
absl::Status StatusOfStreamDone(const proto::StreamDone& done);

// `a + b`, stopping at the largest uint64_t: credit saturates (a consumer
// may grant "everything" more than once).
inline uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  const uint64_t sum = a + b;
  return sum < a ? UINT64_MAX : sum;
}
// HandOffToOtherWorkers()
//
// On a pool worker: what this worker's current step scheduled to run next
// on it (the pool's LIFO hand-off slot) goes where the other workers can
// take it, and an idle one is woken. A stream's two ends wake each other —
// a run of items wakes the consumer, a grant of credit the producer — and
// each goes on working after the wake: left in the slot, the woken side
// would wait for the waker's step to end and the two would share one core
// (bench S3). Elsewhere, nothing.
void HandOffToOtherWorkers();

// What a consumer told a producer, in the order it arrived.
struct StreamControl {
  enum class Kind : uint8_t {
    kGrant,        // `n` more items (n > 0)
    kZeroRequest,  // a request of 0: the stream ends with kInvalidArgument
    kCancel,       // send nothing more; `detail` says why
    kRefused,      // something the producer sent was dead-lettered (`reason`)
    kGone,         // the consumer actor stopped; `detail` says how
  };
  Kind kind = Kind::kGrant;
  uint64_t n = 0;
  DeadLetterReason reason{};
  std::string detail;
};

class StreamProducer final : public Addressable {
 public:
  // Control messages that may wait unread: a consumer that keeps to the
  // protocol sends one request per half window it takes, and the producer
  // reads them before every item, so a handful ever wait. More means a
  // consumer flooding the producer: the stream ends (kResourceExhausted).
  static constexpr size_t kMaxUnreadControl = 64;

  // A producer streaming to `consumer` (not empty).
  explicit StreamProducer(AddressablePtr consumer);
  ~StreamProducer() override;

  // The producing task's side, on its strand -------------------------------------

  // Watches the consumer (an actor that stops without a word ends the
  // stream) and sends it StreamOpen, from this end.
  void Open();
  // Sends what it can of `run` from `run[from]` on — items, envelopes
  // without a sender, oldest first — as one push where the consumer can
  // (TryDeliverRun); returns how many went, and `*refused` says why the
  // next did not (kFull: a bounded mailbox is full; kClosed: stopped).
  // An item carries no sender: a reference to this end per item would cost
  // two contended atomic operations (bench S3), and it needs none, since
  // the consumer's mailbox answers at once.
  size_t TrySend(std::vector<std::unique_ptr<Envelope>>& run, size_t from, PushResult* refused) {
    const size_t sent = consumer_->TryDeliverRun(run, from, refused);
    if (*refused == PushResult::kWokeOwner) HandOffToOtherWorkers();
    return sent;
  }
  // TrySend() of the whole run, without waiting: true if it all went (or
  // there was nothing), and `run` is empty; else `*sent` says how many went
  // and `*refused` why the next did not, for SendRunWaiting()
  // (actor_stream.h), which only then costs a task's frame.
  bool SendNow(std::vector<std::unique_ptr<Envelope>>& run, size_t* sent, PushResult* refused) {
    if (run.empty()) return true;
    *sent = TrySend(run, 0, refused);
    if (*sent < run.size()) return false;
    run.clear();
    return true;
  }
  // The items of `run` from `from` on, which the consumer will never take,
  // to dead letters (`reason`); empties `run`.
  void DeadLetter(std::vector<std::unique_ptr<Envelope>>& run, size_t from,
                  DeadLetterReason reason);
  // StreamDone with `status`, from this end, to be sent once; after it the
  // guard's Finish() sends nothing.
  std::unique_ptr<Envelope> TakeEnd(const absl::Status& status);
  const AddressablePtr& consumer() const { return consumer_; }

  // Sends StreamDone with `status` now, unless it was sent (or taken) before,
  // and stops listening: the end when the task cannot wait any more (its
  // frame is being destroyed). A full bounded mailbox dead-letters it.
  void Finish(const absl::Status& status);
  // Stops listening and watching without telling the consumer (it
  // cancelled, or it is gone).
  void StopListening();
  // What the consumer said, in order.
  Receiver<StreamControl>& control() { return control_rx_; }
  // Whether the consumer may have said something since the last call: one
  // load of a line only the consumer's rare messages write, where a
  // TryRecv() on the control channel would cost a call per item. acquire,
  // when it reads true: pairs with Post()'s release, so the control sent
  // before it is in the channel for the task's TryRecv().
  bool TakeNews() {
    if (!news_.load(std::memory_order_relaxed)) [[likely]]
      return false;
    return news_.exchange(false, std::memory_order_acquire);
  }
  // The task took one control message of several, maybe: look again.
  // Relaxed: the task's own note to itself; a Post() racing it sets the
  // flag with release anyway.
  void MarkNews() { news_.store(true, std::memory_order_relaxed); }
  // Why the control channel closed under the task: the consumer sent more
  // than kMaxUnreadControl unread messages.
  absl::Status ControlClosedStatus() const;

  // The Addressable -----------------------------------------------------------------

  bool Deliver(std::unique_ptr<Envelope> envelope) override;
  void Undelivered(const Envelope& envelope, DeadLetterReason reason) override;
  bool IsAlive() const override { return !control_tx_.IsClosed(); }
  std::string name() const override;

 private:
  StreamProducer(AddressablePtr consumer, Channel<StreamControl>::Pair control);
  void Post(StreamControl control);

  const AddressablePtr consumer_;
  Sender<StreamControl> control_tx_;
  Receiver<StreamControl> control_rx_;
  std::atomic<bool> news_{false};  // set after every Post()
  std::atomic<bool> flooded_{false};
  std::atomic<bool> refused_{false};  // one kRefused is enough
  bool finished_ = false;             // the task's own, as is:
  bool watching_ = false;
};

// The consumer end of a FromActor() stream, less its items.
class StreamInboxBase : public Addressable {
 public:
  // Watches `producer` and sends it `open` (an envelope), this end as its
  // sender. Once, before any item can arrive.
  void Start(const AddressablePtr& producer, std::unique_ptr<Envelope> open);

  // `n` more items for the producer (the consumer took them).
  void Grant(uint64_t n);
  // The consumer is gone: tells the producer, and takes nothing more.
  void Cancel();
  // How the stream ended, once the items channel closed.
  absl::Status final_status() const;

  bool Deliver(std::unique_ptr<Envelope> envelope) override;
  void Undelivered(const Envelope& envelope, DeadLetterReason reason) override;
  bool IsAlive() const override;
  std::string name() const override;

 protected:
  StreamInboxBase(SystemLink* link, uint32_t window);
  ~StreamInboxBase() override;

  // An item of the stream's type; false if it was dead-lettered. The typed
  // half.
  virtual bool DeliverItem(std::unique_ptr<Envelope>& item) = 0;
  virtual bool IsItem(const Envelope& envelope) const = 0;
  // Closes the items' channel: the consumer drains it, then ends.
  virtual void CloseItems() = 0;

  // Ends the stream with `status` (the first end wins) and stops watching.
  // kResourceExhausted for a producer that sent past its credit.
  void End(absl::Status status);
  // The producer broke the protocol (`why`): cancel it, end with kInternal.
  void ProducerMisbehaved(std::string why);

  const uint32_t window_;

 private:
  enum class Phase : uint8_t { kIdle, kAwaitingOpen, kOpen, kEnded };
  // The producer actor, if this end still watches it (then no longer).
  AddressablePtr TakeWatch() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a watch TakeWatch() returned; not under mu_ (the cell's side may be
  // delivering a Down here meanwhile).
  void Unwatch(const AddressablePtr& producer);

  mutable Mutex mu_;
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kIdle;
  AddressablePtr producer_actor_ ABSL_GUARDED_BY(mu_);  // FromActor()'s target
  bool watching_ ABSL_GUARDED_BY(mu_) = false;          // it, until the open
  AddressablePtr producer_ ABSL_GUARDED_BY(mu_);        // its stream's end, once open
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_STREAM_ENDPOINTS_H_
