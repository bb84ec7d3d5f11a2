// -----------------------------------------------------------------------------
// File: broadcast.h
// -----------------------------------------------------------------------------
//
// `Broadcast<T>`: every subscribed receiver sees every message sent after it
// subscribed (a copy each), like tokio's broadcast channel.
//
//   troupe::BroadcastSender<Price> prices = troupe::Broadcast<Price>::Make(256);
//   troupe::BroadcastReceiver<Price> feed = prices.Subscribe();
//   prices.Send(Price{...});
//   troupe::BroadcastResult<Price> got = feed.Recv();
//   if (got.lagged()) Log("missed {} prices", got.missed());
//
// Slow receivers. The channel keeps the last `capacity` messages. A send
// never blocks: when the ring is full it overwrites the oldest message. A
// receiver that has fallen more than `capacity` messages behind therefore
// cannot see some messages: its next receive reports kLagged with how many
// it missed, and the receive after that continues with the oldest message
// still kept. So a slow receiver never slows the sender or the others, and
// it always learns exactly how much it lost.
//
// Closing: the channel closes when the last sender goes away or on Close();
// receivers drain what they have not yet seen, then get kClosed.
//
// Design: one troupe::Mutex guards the ring; receivers wait on a CondVar.
// Broadcast fan-out copies T per receiver, so it suits messages that are
// cheap to copy (or shared_ptr<const T>).
//
// Thread-safety: handles may be used from any thread; each handle by one
// thread at a time (copy a sender, Subscribe() again, to share).

#ifndef TROUPE_CHANNEL_BROADCAST_H_
#define TROUPE_CHANNEL_BROADCAST_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "base/stringify.h"
#include "channel/results.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe {

template <typename T>
class BroadcastSender;
template <typename T>
class BroadcastReceiver;

enum class BroadcastError : unsigned char { kEmpty, kLagged, kClosed, kTimedOut };

// "empty", "lagged", "closed", "timed out".
std::string_view BroadcastErrorName(BroadcastError error);
template <typename Sink>
void AbslStringify(Sink& sink, BroadcastError error) {
  sink.Append(BroadcastErrorName(error));
}

// BroadcastResult<T>: a message, or why there is none (with the count of
// missed messages for kLagged).
template <typename T>
class [[nodiscard]] BroadcastResult {
 public:
  explicit BroadcastResult(T value) : value_(std::move(value)) {}
  explicit BroadcastResult(BroadcastError error, uint64_t missed = 0)
      : error_(error), missed_(missed) {}

  bool ok() const { return value_.has_value(); }
  BroadcastError error() const { return error_; }
  bool lagged() const { return !ok() && error_ == BroadcastError::kLagged; }
  uint64_t missed() const { return missed_; }
  T& value() {
    TROUPE_CHECK(ok(), "BroadcastResult::value() without a value");
    return *value_;
  }
  T& operator*() { return value(); }

 private:
  std::optional<T> value_;
  BroadcastError error_ = BroadcastError::kEmpty;
  uint64_t missed_ = 0;
};

namespace channel_internal {

template <typename T>
class BroadcastState {
 public:
  explicit BroadcastState(size_t capacity) : ring_(capacity) {
    TROUPE_CHECK(capacity >= 1, "Broadcast capacity must be at least 1");
  }

  // Returns false (and leaves `value`) if closed.
  bool Send(T& value) ABSL_LOCKS_EXCLUDED(mu_) {
    {
      MutexLock lock(mu_);
      if (closed_) return false;
      ring_[next_ % ring_.size()] = std::move(value);
      ++next_;
    }
    arrived_.SignalAll();
    return true;
  }

  uint64_t Subscribe() ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    return next_;
  }

  BroadcastResult<T> Recv(uint64_t& cursor, absl::Time deadline, bool block)
      ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    while (cursor == next_ && !closed_) {
      if (!block) return BroadcastResult<T>(BroadcastError::kEmpty);
      if (!arrived_.WaitUntil(mu_, deadline) && cursor == next_ && !closed_) {
        return BroadcastResult<T>(BroadcastError::kTimedOut);
      }
    }
    const uint64_t oldest = next_ > ring_.size() ? next_ - ring_.size() : 0;
    if (cursor < oldest) {  // overwritten while we were away
      const uint64_t missed = oldest - cursor;
      cursor = oldest;
      return BroadcastResult<T>(BroadcastError::kLagged, missed);
    }
    if (cursor == next_) return BroadcastResult<T>(BroadcastError::kClosed);
    return BroadcastResult<T>(T(*ring_[cursor++ % ring_.size()]));
  }

  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    {
      MutexLock lock(mu_);
      closed_ = true;
    }
    arrived_.SignalAll();
  }

  bool IsClosed() ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    return closed_;
  }

  std::atomic<int64_t> senders{1};

 private:
  Mutex mu_;
  CondVar arrived_;
  std::vector<std::optional<T>> ring_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;  // sequence number of the next message
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace channel_internal

template <typename T>
class Broadcast {
 public:
  // Broadcast::Make()
  //
  // A sender keeping the last `capacity` messages (>= 1). Receivers come from
  // BroadcastSender::Subscribe().
  static BroadcastSender<T> Make(size_t capacity) {
    return BroadcastSender<T>(std::make_shared<channel_internal::BroadcastState<T>>(capacity));
  }
};

template <typename T>
class BroadcastSender {
 public:
  BroadcastSender(const BroadcastSender& other) : state_(other.state_) {
    state_->senders.fetch_add(1, std::memory_order_relaxed);
  }
  BroadcastSender(BroadcastSender&&) noexcept = default;
  BroadcastSender& operator=(BroadcastSender other) noexcept {
    Release();
    state_ = std::move(other.state_);
    return *this;
  }
  ~BroadcastSender() { Release(); }

  // BroadcastSender::Send()
  //
  // Never blocks. Fails with kClosed (value returned) once closed.
  SendResult<T> Send(T value) {
    if (State().Send(value)) return SendResult<T>::Sent();
    return SendResult<T>::Failed(SendError::kClosed, std::move(value));
  }

  // BroadcastSender::Subscribe()
  //
  // A receiver that sees every message sent from now on.
  BroadcastReceiver<T> Subscribe() { return BroadcastReceiver<T>(state_, State().Subscribe()); }

  void Close() { State().Close(); }

 private:
  friend class Broadcast<T>;
  explicit BroadcastSender(std::shared_ptr<channel_internal::BroadcastState<T>> state)
      : state_(std::move(state)) {}
  channel_internal::BroadcastState<T>& State() {
    TROUPE_CHECK(state_ != nullptr, "use of a moved-from BroadcastSender");
    return *state_;
  }
  void Release() {
    if (state_ && state_->senders.fetch_sub(1, std::memory_order_acq_rel) == 1) state_->Close();
    state_.reset();
  }
  std::shared_ptr<channel_internal::BroadcastState<T>> state_;
};

template <typename T>
class BroadcastReceiver {
 public:
  // A copy continues from the same position, independently.
  BroadcastReceiver(const BroadcastReceiver&) = default;
  BroadcastReceiver(BroadcastReceiver&&) noexcept = default;
  BroadcastReceiver& operator=(const BroadcastReceiver&) = default;
  BroadcastReceiver& operator=(BroadcastReceiver&&) noexcept = default;

  // BroadcastReceiver::Recv() / RecvFor() / RecvUntil() / TryRecv()
  //
  // The next message, or kLagged (with the count missed), kClosed once closed
  // and drained, kTimedOut, or (TryRecv) kEmpty.
  BroadcastResult<T> Recv() { return state_->Recv(cursor_, absl::InfiniteFuture(), true); }
  BroadcastResult<T> RecvFor(absl::Duration timeout) {
    return state_->Recv(cursor_, absl::Now() + timeout, true);
  }
  BroadcastResult<T> RecvUntil(absl::Time deadline) {
    return state_->Recv(cursor_, deadline, true);
  }
  BroadcastResult<T> TryRecv() { return state_->Recv(cursor_, absl::InfinitePast(), false); }

 private:
  friend class BroadcastSender<T>;
  BroadcastReceiver(std::shared_ptr<channel_internal::BroadcastState<T>> state, uint64_t cursor)
      : state_(std::move(state)), cursor_(cursor) {}
  std::shared_ptr<channel_internal::BroadcastState<T>> state_;
  uint64_t cursor_;
};

}  // namespace troupe

#endif  // TROUPE_CHANNEL_BROADCAST_H_
