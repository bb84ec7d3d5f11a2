// -----------------------------------------------------------------------------
// File: internal/array_flavor.h
// -----------------------------------------------------------------------------
//
// `ArrayFlavor<T>`: the bounded channel, a ring of `capacity` slots (Dmitry
// Vyukov's bounded MPMC queue, with crossbeam's lap-stamped positions and
// close bit).
//
// Positions. head_ and tail_ each hold `lap | index`: the index in the low
// bits (below mark_bit_), the lap count above them. mark_bit_ in tail_ means
// closed. Each slot's stamp says whose turn it is: stamp == tail for the
// sender whose position is `tail`, stamp == head + 1 for the receiver whose
// position is `head`. After a receive the stamp moves one lap on.
//
// Memory ordering
//   (A) Senders claim a slot with a seq_cst CAS on tail_ and receivers with a
//       seq_cst CAS on head_; the settled "full" and "empty" checks load the
//       other index seq_cst. (crossbeam uses seq_cst fences there;
//       ThreadSanitizer does not model fences, so troupe uses seq_cst
//       operations.) The same seq_cst operations order a send before the
//       Waker's check for blocked receivers (see waker.h), so no wake-up is
//       lost.
//   (B) The value is published by the slot stamp: release store after
//       writing it, acquire load before reading it.
//   (C) A glance (Look::kGlance) decides "full"/"empty" from the slot's
//       stamp alone, so it can miss a slot that is free or filled by now;
//       nothing acts on that answer: every caller looks again, settled,
//       before it blocks, times out or runs a select's default. closing_ is
//       a relaxed hint that sends a glancing receiver to the settled check,
//       which reads the close mark in tail_ (closing_ is set first, so a
//       receiver that sees the mark sees the hint too).
//
// Waiting. A sender that finds the channel full (a receiver that finds it
// empty) spins before it blocks, pausing between two looks
// (internal/pause.h): each look reads the index and slot stamps the other
// side is busy writing.

#ifndef TROUPE_CHANNEL_INTERNAL_ARRAY_FLAVOR_H_
#define TROUPE_CHANNEL_INTERNAL_ARRAY_FLAVOR_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "base/cache_line.h"
#include "channel/internal/context.h"
#include "channel/internal/flavor.h"
#include "channel/internal/pause.h"
#include "channel/internal/waker.h"
#include "threads/atomics.h"

namespace troupe::channel_internal {

template <typename T>
class ArrayFlavor final : public Flavor<T> {
 public:
  explicit ArrayFlavor(size_t capacity) : capacity_(capacity), slots_(new Slot[capacity]) {
    uint64_t mark = 1;
    while (mark < capacity + 1) mark <<= 1;
    mark_bit_ = mark;
    one_lap_ = mark * 2;
    for (size_t i = 0; i < capacity; ++i) slots_[i].stamp.store(i, std::memory_order_relaxed);
  }

  ~ArrayFlavor() override {
    // Destroy what was never received.
    while (true) {
      std::optional<T> value;
      if (TryRecvImpl(value) != Status::kOk) break;
    }
  }

  SendResult<T> TrySend(T value) override {
    return TrySendLooking(std::move(value), Look::kSettled);
  }
  SendResult<T> GlanceSend(T value) override {
    return TrySendLooking(std::move(value), Look::kGlance);
  }
  RecvResult<T> TryRecv() override { return TryRecvLooking(Look::kSettled); }
  RecvResult<T> GlanceRecv() override { return TryRecvLooking(Look::kGlance); }

  SendResult<T> SendUntil(T value, absl::Time deadline) override {
    Backoff backoff;
    while (true) {
      // Spinning, glance: reading head_ would pull the line every receive
      // writes. The last look before blocking or timing out is settled.
      const Status status =
          TrySendImpl(value, backoff.ShouldPark() ? Look::kSettled : Look::kGlance);
      if (status == Status::kOk) {
        receivers_.Notify();
        return SendResult<T>::Sent();
      }
      if (status == Status::kClosed) {
        return SendResult<T>::Failed(SendError::kClosed, std::move(value));
      }
      if (!backoff.ShouldPark()) {
        PauseBeforeLookingAgain(backoff);
        continue;
      }
      if (absl::Now() >= deadline) {
        return SendResult<T>::Failed(SendError::kTimedOut, std::move(value));
      }
      // Block until a receiver makes room (or the channel closes).
      BlockOn(
          senders_, reinterpret_cast<OperationToken>(&value),
          [&] { return !IsFull() || IsClosed(); }, deadline);
      backoff.Reset();
    }
  }

  RecvResult<T> RecvUntil(absl::Time deadline) override {
    Backoff backoff;
    while (true) {
      std::optional<T> value;
      const Status status =
          TryRecvImpl(value, backoff.ShouldPark() ? Look::kSettled : Look::kGlance);
      if (status == Status::kOk) {
        senders_.Notify();
        return RecvResult<T>(std::move(*value));
      }
      if (status == Status::kClosed) return RecvResult<T>(RecvError::kClosed);
      if (!backoff.ShouldPark()) {
        PauseBeforeLookingAgain(backoff);
        continue;
      }
      if (absl::Now() >= deadline) return RecvResult<T>(RecvError::kTimedOut);
      BlockOn(
          receivers_, reinterpret_cast<OperationToken>(&value),
          [&] { return !IsEmpty() || IsClosed(); }, deadline);
      backoff.Reset();
    }
  }

  bool Close() override {
    closing_.store(true, std::memory_order_relaxed);  // (C)
    const uint64_t before = tail_.fetch_or(mark_bit_, std::memory_order_seq_cst);
    if (before & mark_bit_) return false;
    senders_.Disconnect();
    receivers_.Disconnect();
    return true;
  }

  bool IsClosed() const override { return tail_.load(std::memory_order_seq_cst) & mark_bit_; }

  size_t size() const override {
    while (true) {
      const uint64_t tail = tail_.load(std::memory_order_seq_cst);
      const uint64_t head = head_.load(std::memory_order_seq_cst);
      if (tail_.load(std::memory_order_seq_cst) != tail) continue;
      const uint64_t hix = head & (mark_bit_ - 1);
      const uint64_t tix = tail & (mark_bit_ - 1);
      if (hix < tix) return tix - hix;
      if (hix > tix) return capacity_ - hix + tix;
      return (tail & ~mark_bit_) == head ? 0 : capacity_;
    }
  }

  size_t capacity() const override { return capacity_; }

  size_t TrySendBatch(std::vector<T>& values, size_t from) override {
    size_t sent = 0;
    while (from + sent < values.size()) {
      const size_t n = SendRun(values, from + sent);
      if (n == 0) break;
      sent += n;
    }
    if (sent > 0) receivers_.Notify();
    return sent;
  }

  size_t TryRecvBatch(std::vector<T>& out, size_t max) override {
    size_t taken = 0;
    while (taken < max) {
      const size_t n = RecvRun(out, max - taken);
      if (n == 0) break;
      taken += n;
    }
    if (taken > 0) senders_.Notify();
    return taken;
  }

  bool ReadyToRecv() override { return !IsEmpty() || IsClosed(); }
  bool ReadyToSend() override { return !IsFull() || IsClosed(); }
  void WatchRecv(std::shared_ptr<Context> context, OperationToken token, Packet<T>*) override {
    receivers_.Register(std::move(context), token);
  }
  void UnwatchRecv(OperationToken token) override { receivers_.Unregister(token); }
  void WatchSend(std::shared_ptr<Context> context, OperationToken token, Packet<T>*) override {
    senders_.Register(std::move(context), token);
  }
  void UnwatchSend(OperationToken token) override { senders_.Unregister(token); }

 private:
  enum class Status { kOk, kFull, kEmpty, kClosed };

  struct Slot {
    std::atomic<uint64_t> stamp{0};
    alignas(T) unsigned char storage[sizeof(T)];
    T* value() { return std::launder(reinterpret_cast<T*>(storage)); }
  };

  SendResult<T> TrySendLooking(T value, Look look) {
    switch (TrySendImpl(value, look)) {
      case Status::kOk:
        receivers_.Notify();
        return SendResult<T>::Sent();
      case Status::kClosed:
        return SendResult<T>::Failed(SendError::kClosed, std::move(value));
      default:
        return SendResult<T>::Failed(SendError::kFull, std::move(value));
    }
  }

  RecvResult<T> TryRecvLooking(Look look) {
    std::optional<T> value;
    switch (TryRecvImpl(value, look)) {
      case Status::kOk:
        senders_.Notify();
        return RecvResult<T>(std::move(*value));
      case Status::kClosed:
        return RecvResult<T>(RecvError::kClosed);
      default:
        return RecvResult<T>(RecvError::kEmpty);
    }
  }

  // Moves `value` in on success; leaves it alone otherwise.
  Status TrySendImpl(T& value, Look look = Look::kSettled) {
    Backoff backoff;
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    while (true) {
      if (tail & mark_bit_) return Status::kClosed;
      const uint64_t index = tail & (mark_bit_ - 1);
      const uint64_t lap = tail & ~(one_lap_ - 1);
      const uint64_t new_tail = index + 1 < capacity_ ? tail + 1 : lap + one_lap_;
      Slot& slot = slots_[index];
      const uint64_t stamp = slot.stamp.load(std::memory_order_acquire);  // (B)
      if (tail == stamp) {
        // (A) on failure `tail` is reloaded and we retry.
        if (tail_.compare_exchange_weak(tail, new_tail, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
          new (slot.storage) T(std::move(value));
          slot.stamp.store(tail + 1, std::memory_order_release);  // (B)
          return Status::kOk;
        }
        backoff.Spin();
      } else if (stamp + one_lap_ == tail + 1) {
        // The slot still holds last lap's value: full, unless head moved on.
        if (look == Look::kGlance) return Status::kFull;              // (C)
        const uint64_t head = head_.load(std::memory_order_seq_cst);  // (A)
        if (head + one_lap_ == tail) return Status::kFull;
        backoff.Spin();
        tail = tail_.load(std::memory_order_relaxed);
      } else {
        backoff.Snooze();  // another sender has claimed the slot and is writing
        tail = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  Status TryRecvImpl(std::optional<T>& out, Look look = Look::kSettled) {
    Backoff backoff;
    uint64_t head = head_.load(std::memory_order_relaxed);
    while (true) {
      const uint64_t index = head & (mark_bit_ - 1);
      const uint64_t lap = head & ~(one_lap_ - 1);
      Slot& slot = slots_[index];
      const uint64_t stamp = slot.stamp.load(std::memory_order_acquire);  // (B)
      if (head + 1 == stamp) {
        const uint64_t new_head = index + 1 < capacity_ ? head + 1 : lap + one_lap_;
        if (head_.compare_exchange_weak(head, new_head, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
          T* stored = slot.value();
          out.emplace(std::move(*stored));
          stored->~T();
          slot.stamp.store(head + one_lap_, std::memory_order_release);  // (B)
          return Status::kOk;
        }
        backoff.Spin();
      } else if (stamp == head) {
        // Nothing in the slot yet: empty, unless a sender has claimed it.
        if (look == Look::kGlance && !closing_.load(std::memory_order_relaxed)) {
          return Status::kEmpty;  // (C)
        }
        const uint64_t tail = tail_.load(std::memory_order_seq_cst);  // (A)
        if ((tail & ~mark_bit_) == head) {
          return (tail & mark_bit_) ? Status::kClosed : Status::kEmpty;
        }
        backoff.Spin();
        head = head_.load(std::memory_order_relaxed);
      } else {
        backoff.Snooze();  // a receiver has claimed the slot and is reading
        head = head_.load(std::memory_order_relaxed);
      }
    }
  }

  // Claims a run of free slots with one CAS on tail_ (within one lap) and
  // fills them from values[from...]. Returns how many (0: full or closed).
  size_t SendRun(std::vector<T>& values, size_t from) {
    Backoff backoff;
    while (true) {
      uint64_t tail = tail_.load(std::memory_order_relaxed);
      if (tail & mark_bit_) return 0;
      const uint64_t index = tail & (mark_bit_ - 1);
      const uint64_t lap = tail & ~(one_lap_ - 1);
      const size_t want = std::min<size_t>(values.size() - from, capacity_ - index);
      size_t run = 0;
      while (run < want &&
             slots_[index + run].stamp.load(std::memory_order_acquire) == tail + run) {
        ++run;
      }
      if (run == 0) {
        if (TrySendImpl(values[from]) != Status::kOk) return 0;
        return 1;
      }
      const uint64_t new_tail = index + run < capacity_ ? tail + run : lap + one_lap_;
      if (!tail_.compare_exchange_weak(tail, new_tail, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
        backoff.Spin();
        continue;
      }
      for (size_t i = 0; i < run; ++i) {
        Slot& slot = slots_[index + i];
        new (slot.storage) T(std::move(values[from + i]));
        slot.stamp.store(tail + i + 1, std::memory_order_release);
      }
      return run;
    }
  }

  // Claims a run of full slots with one CAS on head_ (within one lap) and
  // moves them to `out`. Returns how many (0: empty or closed).
  size_t RecvRun(std::vector<T>& out, size_t max) {
    Backoff backoff;
    while (true) {
      uint64_t head = head_.load(std::memory_order_relaxed);
      const uint64_t index = head & (mark_bit_ - 1);
      const uint64_t lap = head & ~(one_lap_ - 1);
      const size_t want = std::min<size_t>(max, capacity_ - index);
      size_t run = 0;
      while (run < want &&
             slots_[index + run].stamp.load(std::memory_order_acquire) == head + run + 1) {
        ++run;
      }
      if (run == 0) {
        std::optional<T> value;
        if (TryRecvImpl(value) != Status::kOk) return 0;
        out.push_back(std::move(*value));
        return 1;
      }
      const uint64_t new_head = index + run < capacity_ ? head + run : lap + one_lap_;
      if (!head_.compare_exchange_weak(head, new_head, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
        backoff.Spin();
        continue;
      }
      for (size_t i = 0; i < run; ++i) {
        Slot& slot = slots_[index + i];
        T* stored = slot.value();
        out.push_back(std::move(*stored));
        stored->~T();
        slot.stamp.store(head + i + one_lap_, std::memory_order_release);
      }
      return run;
    }
  }

  bool IsFull() const {
    const uint64_t tail = tail_.load(std::memory_order_seq_cst);
    const uint64_t head = head_.load(std::memory_order_seq_cst);
    return head + one_lap_ == (tail & ~mark_bit_);
  }
  bool IsEmpty() const {
    const uint64_t head = head_.load(std::memory_order_seq_cst);
    const uint64_t tail = tail_.load(std::memory_order_seq_cst);
    return (tail & ~mark_bit_) == head;
  }

  // Cache lines: the read-only shape shares the first with the vtable;
  // head_, tail_ and each Waker have their own, so that a Waker's mutex,
  // written whenever a party blocks or is woken, is not on the line every
  // try reads the shape from. The object is no bigger than before.
  const size_t capacity_;
  uint64_t mark_bit_ = 0;
  uint64_t one_lap_ = 0;
  std::unique_ptr<Slot[]> slots_;
  std::atomic<bool> closing_{false};  // (C)
  alignas(kCacheLineSize) std::atomic<uint64_t> head_{0};
  alignas(kCacheLineSize) std::atomic<uint64_t> tail_{0};
  alignas(kCacheLineSize) Waker senders_;
  alignas(kCacheLineSize) Waker receivers_;
};

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_ARRAY_FLAVOR_H_
