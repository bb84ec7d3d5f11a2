// -----------------------------------------------------------------------------
// File: spsc.h
// -----------------------------------------------------------------------------
//
// `SpscChannel<T>`: a bounded channel for exactly one producer thread and one
// consumer thread, as fast as the hardware allows.
//
//   auto [tx, rx] = troupe::SpscChannel<Sample>::Make(1024);
//   troupe::Thread producer("audio", [tx = std::move(tx)]() mutable {
//     while (Capture(&s)) (void)tx.Send(s);
//   });                                   // the sender going away closes it
//   for (Sample& s : rx) Mix(s);
//
// When to use: a fixed pipeline stage to stage hand-off. When not to: more
// than one sender or receiver (use Channel<T>); handles are move-only, so the
// type system keeps it single-producer single-consumer. A handle is used by
// one thread at a time, its Close() included (as any object that is not
// documented thread-safe).
//
// Design: a Lamport ring where each side caches the other's index, so the
// steady state costs no read-modify-write; a close by either side loses no
// value (a Dekker handshake over asymmetric fences). The protocol and its
// memory orderings are written down in internal/spsc_ring.h.

#ifndef TROUPE_CHANNEL_SPSC_H_
#define TROUPE_CHANNEL_SPSC_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/cache_line.h"
#include "base/check.h"
#include "channel/internal/pause.h"
#include "channel/internal/spsc_ring.h"
#include "channel/results.h"
#include "threads/atomics.h"
#include "threads/internal/asymmetric_fence.h"
#include "threads/internal/futex.h"

namespace troupe {

template <typename T>
class SpscSender;
template <typename T>
class SpscReceiver;

template <typename T>
class SpscChannel {
 public:
  using Pair = std::pair<SpscSender<T>, SpscReceiver<T>>;

  // SpscChannel::Make()
  //
  // A ring holding up to `capacity` values (>= 1).
  static Pair Make(size_t capacity) {
    auto ring = std::make_shared<channel_internal::SpscRing<T>>(capacity);
    return Pair(SpscSender<T>(ring), SpscReceiver<T>(ring));
  }
};

template <typename T>
class SpscSender {
 public:
  SpscSender(SpscSender&&) noexcept = default;
  SpscSender& operator=(SpscSender&& other) noexcept {
    if (this != &other) {
      if (ring_) ring_->CloseFromSender();
      ring_ = std::move(other.ring_);
    }
    return *this;
  }
  ~SpscSender() {
    if (ring_) ring_->CloseFromSender();
  }

  SendResult<T> TrySend(T value) {
    switch (Ring().TryPush(value)) {
      case Status::kOk:
        return SendResult<T>::Sent();
      case Status::kClosed:
        return SendResult<T>::Failed(SendError::kClosed, std::move(value));
      default:
        return SendResult<T>::Failed(SendError::kFull, std::move(value));
    }
  }
  SendResult<T> Send(T value) { return SendUntil(std::move(value), absl::InfiniteFuture()); }
  SendResult<T> SendFor(T value, absl::Duration timeout) {
    return SendUntil(std::move(value), absl::Now() + timeout);
  }
  SendResult<T> SendUntil(T value, absl::Time deadline) {
    auto& ring = Ring();
    Backoff backoff;
    while (true) {
      const Status status = ring.TryPush(value);
      if (status == Status::kOk) return SendResult<T>::Sent();
      if (status == Status::kClosed) {
        return SendResult<T>::Failed(SendError::kClosed, std::move(value));
      }
      if (!backoff.ShouldPark()) {
        channel_internal::PauseBeforeLookingAgain(backoff);
        continue;
      }
      if (!ring.Park(
              ring.producer_sleeping(), [&] { return ring.CanPush(); }, deadline) &&
          !ring.CanPush()) {
        return SendResult<T>::Failed(SendError::kTimedOut, std::move(value));
      }
    }
  }

  void Close() { Ring().CloseFromSender(); }
  bool IsClosed() const { return Ring().IsClosed(); }
  size_t size() const { return Ring().size(); }
  size_t capacity() const { return Ring().capacity(); }

 private:
  using Status = typename channel_internal::SpscRing<T>::Status;
  friend class SpscChannel<T>;
  explicit SpscSender(std::shared_ptr<channel_internal::SpscRing<T>> ring)
      : ring_(std::move(ring)) {}
  channel_internal::SpscRing<T>& Ring() const {
    TROUPE_CHECK(ring_ != nullptr, "use of a moved-from SpscSender");
    return *ring_;
  }
  std::shared_ptr<channel_internal::SpscRing<T>> ring_;
};

template <typename T>
class SpscReceiver {
 public:
  SpscReceiver(SpscReceiver&&) noexcept = default;
  SpscReceiver& operator=(SpscReceiver&& other) noexcept {
    if (this != &other) {
      if (ring_) ring_->CloseFromReceiver();
      ring_ = std::move(other.ring_);
    }
    return *this;
  }
  ~SpscReceiver() {
    if (ring_) ring_->CloseFromReceiver();
  }

  RecvResult<T> TryRecv() {
    std::optional<T> value;
    switch (Ring().TryPop(value)) {
      case Status::kOk:
        return RecvResult<T>(std::move(*value));
      case Status::kClosed:
        return RecvResult<T>(RecvError::kClosed);
      default:
        return RecvResult<T>(RecvError::kEmpty);
    }
  }
  RecvResult<T> Recv() { return RecvUntil(absl::InfiniteFuture()); }
  RecvResult<T> RecvFor(absl::Duration timeout) { return RecvUntil(absl::Now() + timeout); }
  RecvResult<T> RecvUntil(absl::Time deadline) {
    auto& ring = Ring();
    Backoff backoff;
    while (true) {
      std::optional<T> value;
      const Status status = ring.TryPop(value);
      if (status == Status::kOk) return RecvResult<T>(std::move(*value));
      if (status == Status::kClosed) return RecvResult<T>(RecvError::kClosed);
      if (!backoff.ShouldPark()) {
        channel_internal::PauseBeforeLookingAgain(backoff);
        continue;
      }
      if (!ring.Park(
              ring.consumer_sleeping(), [&] { return ring.CanPop(); }, deadline) &&
          !ring.CanPop()) {
        return RecvResult<T>(RecvError::kTimedOut);
      }
    }
  }

  // Values already sent stay receivable: drain until kClosed. A send racing
  // with the close either arrives or fails with its value handed back.
  void Close() { Ring().CloseFromReceiver(); }
  bool IsClosed() const { return Ring().IsClosed(); }
  size_t size() const { return Ring().size(); }

  // Range-for until closed and drained.
  using Iterator = channel_internal::RecvIterator<SpscReceiver, T>;
  Iterator begin() { return Iterator(this); }
  Iterator end() { return Iterator(); }

 private:
  using Status = typename channel_internal::SpscRing<T>::Status;
  friend class SpscChannel<T>;
  explicit SpscReceiver(std::shared_ptr<channel_internal::SpscRing<T>> ring)
      : ring_(std::move(ring)) {}
  channel_internal::SpscRing<T>& Ring() const {
    TROUPE_CHECK(ring_ != nullptr, "use of a moved-from SpscReceiver");
    return *ring_;
  }
  std::shared_ptr<channel_internal::SpscRing<T>> ring_;
};

}  // namespace troupe

#endif  // TROUPE_CHANNEL_SPSC_H_
