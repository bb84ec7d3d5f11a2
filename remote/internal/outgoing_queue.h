// -----------------------------------------------------------------------------
// File: internal/outgoing_queue.h
// -----------------------------------------------------------------------------
//
// `OutgoingQueue`: a peer's mail waiting for the next write, taken a frame's
// worth at a time.
//
//   OutgoingQueue queue;
//   queue.Push(Outgoing{target, std::move(envelope), bytes});  // a sender
//   std::vector<Outgoing> batch;                               // empty
//   queue.TakeBatch(frame_budget, batch);                      // the writer
//
// The peer's lock is held around every call (Peer::mu_), so the calls are
// kept O(1) in the common case: a batch takes the whole queue by trading
// buffers with `batch` (whose capacity, left by the last batch, becomes
// the queue's), so a steady flow allocates nothing. Only mail larger than
// a frame is counted out message by message, from a head index rather
// than by erasing the front, compacting once the taken part is half the
// buffer (amortised O(1) a message).
//
// Not thread-safe: the caller locks.

#ifndef TROUPE_REMOTE_INTERNAL_OUTGOING_QUEUE_H_
#define TROUPE_REMOTE_INTERNAL_OUTGOING_QUEUE_H_

#include <cstddef>
#include <iterator>
#include <utility>
#include <vector>

#include "actor/message.h"
#include "base/check.h"
#include "remote/internal/remote_ref.h"

namespace troupe::remote_internal {

// A message queued for a peer. It holds no reference to the RemoteRef it
// was sent through: one a message, taken on the sender's core and dropped
// on gRPC's, cost R1 a tenth of its rate. A dead letter names its receiver
// by a ref made when the mail fails (Peer::Fail).
struct Outgoing {
  Target target;
  EnvelopePtr envelope;
  // Its share of a frame (payload + kEnvelopeOverhead), computed by the
  // sender, so that taking a batch reads no envelope.
  size_t bytes = 0;
};

class OutgoingQueue {
 public:
  // A buffer is kept for reuse up to this many messages (about 220 KiB);
  // a larger one, left by a burst, is freed once it has been emptied.
  static constexpr size_t kKeptCapacity = 4096;

  size_t size() const { return mail_.size() - head_; }
  bool empty() const { return head_ == mail_.size(); }
  // The sum of the queued messages' Outgoing::bytes.
  size_t bytes() const { return bytes_; }

  void Push(Outgoing out) {
    bytes_ += out.bytes;
    mail_.push_back(std::move(out));
  }

  // OutgoingQueue::TakeBatch()
  //
  // Moves the oldest messages into `batch` (empty on entry): as many as
  // fit `budget` bytes together, and at least one. None if the queue is
  // empty.
  void TakeBatch(size_t budget, std::vector<Outgoing>& batch) {
    TROUPE_DCHECK(batch.empty(), "TakeBatch into a batch of {}", batch.size());
    if (empty()) return;
    if (bytes_ <= budget && head_ == 0) {
      mail_.swap(batch);
      bytes_ = 0;
      return;
    }
    size_t end = head_;
    size_t taken_bytes = 0;
    for (; end < mail_.size(); ++end) {
      if (end > head_ && taken_bytes + mail_[end].bytes > budget) break;
      taken_bytes += mail_[end].bytes;
    }
    batch.insert(batch.end(), std::make_move_iterator(mail_.begin() + head_),
                 std::make_move_iterator(mail_.begin() + end));
    bytes_ -= taken_bytes;
    head_ = end;
    if (head_ == mail_.size()) {
      mail_.clear();
      if (mail_.capacity() > kKeptCapacity) std::vector<Outgoing>().swap(mail_);
      head_ = 0;
    } else if (head_ > mail_.size() / 2) {
      mail_.erase(mail_.begin(), mail_.begin() + head_);
      head_ = 0;
    }
  }

  // OutgoingQueue::DrainInto()
  //
  // Appends every queued message to `out`, oldest first, and empties the
  // queue (its memory goes too).
  template <typename Container>
  void DrainInto(Container& out) {
    for (size_t i = head_; i < mail_.size(); ++i) out.push_back(std::move(mail_[i]));
    std::vector<Outgoing>().swap(mail_);
    head_ = 0;
    bytes_ = 0;
  }

 private:
  std::vector<Outgoing> mail_;  // queued from head_ on; before it, moved out
  size_t head_ = 0;
  size_t bytes_ = 0;
};

}  // namespace troupe::remote_internal

#endif  // TROUPE_REMOTE_INTERNAL_OUTGOING_QUEUE_H_
