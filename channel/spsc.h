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
// type system keeps it single-producer single-consumer.
//
// Design: a ring (Lamport), where each side caches the other side's index and
// rereads it only when the ring looks full (producer) or empty (consumer);
// so the steady state costs no read-modify-write and touches the other
// side's cache line about once per lap. Blocking waits spin, then sleep on a
// futex. The waker's check for a sleeper is a plain load after an
// asymmetric light fence (a compiler barrier); the side that goes to sleep
// pays for the heavy half (membarrier), see threads/internal/asymmetric_fence.h.
//
// Memory ordering: a slot is published by the release store of tail_ and
// consumed after the acquire load of it; it is handed back by the release
// store of head_ and reused after the acquire load of that.

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

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/cache_line.h"
#include "base/check.h"
#include "channel/results.h"
#include "threads/atomics.h"
#include "threads/internal/asymmetric_fence.h"
#include "threads/internal/futex.h"

namespace troupe {

template <typename T>
class SpscSender;
template <typename T>
class SpscReceiver;

namespace channel_internal {

template <typename T>
class SpscRing {
 public:
  explicit SpscRing(size_t capacity) : capacity_(capacity) {
    TROUPE_CHECK(capacity >= 1, "SpscChannel capacity must be at least 1");
    size_t size = 1;
    while (size < capacity) size <<= 1;
    mask_ = size - 1;
    slots_.reset(new Slot[size]);
  }

  ~SpscRing() {
    std::optional<T> value;
    while (TryPop(value) == Status::kOk) value.reset();
  }

  enum class Status { kOk, kFull, kEmpty, kClosed };

  // Producer only. Moves `value` in on kOk.
  Status TryPush(T& value) {
    if (closed_.load(std::memory_order_relaxed)) return Status::kClosed;
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - cached_head_ == capacity_) {
      cached_head_ = head_.load(std::memory_order_acquire);  // the slot is free again
      if (tail - cached_head_ == capacity_) return Status::kFull;
    }
    new (slots_[tail & mask_].storage) T(std::move(value));
    tail_.store(tail + 1, std::memory_order_release);  // publish the slot
    WakeIfSleeping(consumer_sleeping_);
    return Status::kOk;
  }

  // Consumer only.
  Status TryPop(std::optional<T>& out) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == cached_tail_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head == cached_tail_) {
        return closed_.load(std::memory_order_acquire) &&
                       tail_.load(std::memory_order_acquire) == head
                   ? Status::kClosed
                   : Status::kEmpty;
      }
    }
    T* stored = std::launder(reinterpret_cast<T*>(slots_[head & mask_].storage));
    out.emplace(std::move(*stored));
    stored->~T();
    head_.store(head + 1, std::memory_order_release);  // hand the slot back
    WakeIfSleeping(producer_sleeping_);
    return Status::kOk;
  }

  // Sleeps until `ready()` or the deadline; false on timeout.
  template <typename Ready>
  bool Park(std::atomic<uint32_t>& sleeping, Ready ready, absl::Time deadline) {
    sleeping.store(1, std::memory_order_seq_cst);
    threads_internal::HeavyFence();  // pairs with the other side's LightFence()
    if (ready()) {
      sleeping.store(0, std::memory_order_relaxed);
      return true;
    }
    const bool in_time = threads_internal::FutexWait(&sleeping, 1, deadline);
    sleeping.store(0, std::memory_order_relaxed);
    return in_time;
  }

  bool CanPush() const {
    return closed_.load(std::memory_order_acquire) ||
           tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_acquire) <
               capacity_;
  }
  bool CanPop() const {
    return closed_.load(std::memory_order_acquire) ||
           head_.load(std::memory_order_relaxed) != tail_.load(std::memory_order_acquire);
  }

  void Close() {
    closed_.store(true, std::memory_order_seq_cst);
    ForceWake(consumer_sleeping_);
    ForceWake(producer_sleeping_);
  }
  bool IsClosed() const { return closed_.load(std::memory_order_acquire); }

  size_t Size() const {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }
  size_t capacity() const { return capacity_; }

  std::atomic<uint32_t>& consumer_sleeping() { return consumer_sleeping_; }
  std::atomic<uint32_t>& producer_sleeping() { return producer_sleeping_; }

 private:
  struct Slot {
    alignas(T) unsigned char storage[sizeof(T)];
  };

  // After publishing: wake the other side if it sleeps. The light fence
  // orders our index store before this load (the sleeper's heavy fence does
  // the rest), so a sleeper is always seen, at the cost of a plain load.
  static void WakeIfSleeping(std::atomic<uint32_t>& sleeping) {
    threads_internal::LightFence();
    if (sleeping.load(std::memory_order_relaxed) != 0) ForceWake(sleeping);
  }
  static void ForceWake(std::atomic<uint32_t>& sleeping) {
    if (sleeping.exchange(0, std::memory_order_seq_cst) != 0) {
      threads_internal::FutexWake(&sleeping, 1);
    }
  }

  const size_t capacity_;
  size_t mask_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::atomic<bool> closed_{false};

  // Each side's index shares a line only with that side's private cache of
  // the other's. The sleep flags get lines of their own: each side reads the
  // other's flag on every operation, and a flag is written only around a
  // sleep, so those lines stay shared and cheap to read.
  alignas(kCacheLineSize) std::atomic<size_t> head_{0};  // written by the consumer
  size_t cached_tail_ = 0;                               // consumer only
  alignas(kCacheLineSize) std::atomic<size_t> tail_{0};  // written by the producer
  size_t cached_head_ = 0;                               // producer only
  alignas(kCacheLineSize) std::atomic<uint32_t> consumer_sleeping_{0};
  alignas(kCacheLineSize) std::atomic<uint32_t> producer_sleeping_{0};
};

}  // namespace channel_internal

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
      if (ring_) ring_->Close();
      ring_ = std::move(other.ring_);
    }
    return *this;
  }
  ~SpscSender() {
    if (ring_) ring_->Close();
  }

  SendResult<T> TrySend(T value) {
    switch (Ring().TryPush(value)) {
      case Status::kOk:
        return SendResult<T>::Sent();
      case Status::kClosed:
        return SendResult<T>::Failed(SendErrorReason::kClosed, std::move(value));
      default:
        return SendResult<T>::Failed(SendErrorReason::kFull, std::move(value));
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
        return SendResult<T>::Failed(SendErrorReason::kClosed, std::move(value));
      }
      if (!backoff.ShouldPark()) {
        backoff.Snooze();
        continue;
      }
      if (!ring.Park(
              ring.producer_sleeping(), [&] { return ring.CanPush(); }, deadline) &&
          !ring.CanPush()) {
        return SendResult<T>::Failed(SendErrorReason::kTimedOut, std::move(value));
      }
    }
  }

  void Close() { Ring().Close(); }
  bool IsClosed() const { return Ring().IsClosed(); }
  size_t Size() const { return Ring().Size(); }
  size_t Capacity() const { return Ring().capacity(); }

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
      if (ring_) ring_->Close();
      ring_ = std::move(other.ring_);
    }
    return *this;
  }
  ~SpscReceiver() {
    if (ring_) ring_->Close();
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
        backoff.Snooze();
        continue;
      }
      if (!ring.Park(
              ring.consumer_sleeping(), [&] { return ring.CanPop(); }, deadline) &&
          !ring.CanPop()) {
        return RecvResult<T>(RecvError::kTimedOut);
      }
    }
  }

  void Close() { Ring().Close(); }
  bool IsClosed() const { return Ring().IsClosed(); }
  size_t Size() const { return Ring().Size(); }

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
