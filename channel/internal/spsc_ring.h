// -----------------------------------------------------------------------------
// File: internal/spsc_ring.h
// -----------------------------------------------------------------------------
//
// The lock-free ring under SpscChannel<T> (channel/spsc.h); not a public API.
//
// Design: a ring (Lamport), where each side caches the other side's index and
// rereads it only when the ring looks full (producer) or empty (consumer);
// so the steady state costs no read-modify-write and touches the other
// side's cache line about once per lap. Blocking waits spin, then sleep on a
// futex. The waker's check for a sleeper is a plain load after an
// asymmetric light fence (a compiler barrier); the side that goes to sleep
// pays for the heavy half (membarrier), see threads/internal/asymmetric_fence.h.
//
// Closing. Either side may close. The channel then records where it closed,
// `close_at_`: the receiver takes every value below that position and none
// above it. When the sender closes, that is simply its own tail. When the
// receiver closes, a send may be half-way: past its "still open?" check but
// not yet published. So the receiver marks the channel as closing, issues
// the heavy fence and only then reads the tail; the sender, after publishing,
// issues the light fence and reads `close_at_` again. The fences make this a
// Dekker handshake: either the receiver's read sees the new value (which is
// then below `close_at_` and will be received) or the sender's read sees the
// close, waits for the position to be written, and takes its value back if
// it lies at or above it. A Send() that returns OK is therefore received by
// a receiver that drains after closing, and one that fails hands its value
// back: nothing is lost either way. (channel/models/spsc_close.pml checks this
// protocol over every interleaving.)
//
// Memory ordering
//   (A) tail_ release store after writing a slot, acquire load before
//       reading it; head_ likewise when a slot is handed back.
//   (B) close_at_: the sender's CAS (seq_cst) after its last publish, and the
//       receiver's release store of the tail it read (acquire) behind the
//       heavy fence, pair with the receiver's acquire load in AtTheEnd(): every
//       slot below close_at_ is published when the receiver sees it.
//   (C) Producer: tail_ store; LightFence(); close_at_ load. Receiver's
//       close: close_at_ CAS to kClosing; HeavyFence(); tail_ load. The
//       asymmetric fences order each side's store before its load, so at

#ifndef TROUPE_CHANNEL_INTERNAL_SPSC_RING_H_
#define TROUPE_CHANNEL_INTERNAL_SPSC_RING_H_

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
#include "threads/atomics.h"
#include "threads/internal/asymmetric_fence.h"
#include "threads/internal/futex.h"

namespace troupe::channel_internal {

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

  // Both handles are gone: destroy what was never received.
  ~SpscRing() {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    for (size_t i = head_.load(std::memory_order_relaxed); i != tail; ++i) {
      std::launder(reinterpret_cast<T*>(slots_[i & mask_].storage))->~T();
    }
  }

  enum class Status { kOk, kFull, kEmpty, kClosed };

  // Producer only. Moves `value` in on kOk; leaves it in `value` otherwise.
  //
  // A closed channel is noticed after publishing (that check is needed for
  // a close racing the send anyway), so the fast path pays for one look at
  // close_at_, not two; a ring that is full must look before it says kFull.
  Status TryPush(T& value) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - cached_head_ == capacity_) {
      cached_head_ = head_.load(std::memory_order_acquire);  // (A) the slot is free again
      if (tail - cached_head_ == capacity_) {
        return close_at_.load(std::memory_order_relaxed) != kOpen ? Status::kClosed : Status::kFull;
      }
    }
    new (slots_[tail & mask_].storage) T(std::move(value));
    tail_.store(tail + 1, std::memory_order_release);  // (A) publish the slot
    threads_internal::LightFence();                    // (C)
    // Relaxed is enough to notice the close; ConfirmAfterClose() reads it
    // again with acquire before it trusts the position.
    if (close_at_.load(std::memory_order_relaxed) != kOpen) return ConfirmAfterClose(tail, value);
    if (consumer_sleeping_.load(std::memory_order_relaxed) != 0) ForceWake(consumer_sleeping_);
    return Status::kOk;
  }

  // Consumer only.
  Status TryPop(std::optional<T>& out) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == cached_tail_) {
      // Until this receiver closes, the tail alone says what is ready: the
      // fast path reads nothing else. Once it has closed, the close position
      // bounds what is ours (slots above it may be taken back by a sender).
      if (!closed_here_) cached_tail_ = tail_.load(std::memory_order_acquire);  // (A)
      if (head == cached_tail_) {
        const Status end = AtTheEnd(head);
        if (end != Status::kOk) return end;
      }
    }
    T* stored = std::launder(reinterpret_cast<T*>(slots_[head & mask_].storage));
    out.emplace(std::move(*stored));
    stored->~T();
    head_.store(head + 1, std::memory_order_release);  // (A) hand the slot back
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
    return close_at_.load(std::memory_order_acquire) != kOpen ||
           tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_acquire) <
               capacity_;
  }
  bool CanPop() const {
    return close_at_.load(std::memory_order_acquire) != kOpen ||
           head_.load(std::memory_order_relaxed) != tail_.load(std::memory_order_acquire);
  }

  // Producer only. Everything it sent is published, so the close position
  // is its own tail.
  void CloseFromSender() {
    size_t open = kOpen;
    close_at_.compare_exchange_strong(open, tail_.load(std::memory_order_relaxed),
                                      std::memory_order_seq_cst);  // (B)
    ForceWake(consumer_sleeping_);
    ForceWake(producer_sleeping_);
  }

  // Consumer only. A send may be in flight: see "Closing" above.
  void CloseFromReceiver() {
    closed_here_ = true;
    size_t open = kOpen;
    if (close_at_.compare_exchange_strong(open, kClosing, std::memory_order_seq_cst)) {
      threads_internal::HeavyFence();                           // (C)
      const size_t at = tail_.load(std::memory_order_acquire);  // (A)
      close_at_.store(at, std::memory_order_release);           // (B)
    }
    ForceWake(consumer_sleeping_);
    ForceWake(producer_sleeping_);
  }

  bool IsClosed() const { return close_at_.load(std::memory_order_acquire) != kOpen; }

  size_t size() const {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }
  size_t capacity() const { return capacity_; }

  std::atomic<uint32_t>& consumer_sleeping() { return consumer_sleeping_; }
  std::atomic<uint32_t>& producer_sleeping() { return producer_sleeping_; }

 private:
  struct Slot {
    alignas(T) unsigned char storage[sizeof(T)];
  };

  // TryPop() found nothing below the tail it knows: empty, closed and
  // drained, or (closed) more to take up to the close position, which
  // becomes the known tail. Out of line, like ConfirmAfterClose(): rare
  // paths, kept out of the hot ones.
  ABSL_ATTRIBUTE_NOINLINE Status AtTheEnd(size_t head) {
    const size_t at = close_at_.load(std::memory_order_acquire);  // (B)
    if (at >= kClosing) return Status::kEmpty;
    if (head == at) return Status::kClosed;  // closed and drained
    cached_tail_ = at;                       // everything below `at` is published
    return Status::kOk;
  }

  // The sender published slot `tail` and then saw the channel closed by the
  // receiver. The receiver takes the slot if its close position lies above
  // it; otherwise the value is still ours to take back. The wait for the
  // position is short: the receiver writes it right after its heavy fence.
  ABSL_ATTRIBUTE_NOINLINE Status ConfirmAfterClose(size_t tail, T& value) {
    size_t at;
    Backoff backoff;
    while ((at = close_at_.load(std::memory_order_acquire)) == kClosing) backoff.Snooze();
    if (tail < at) return Status::kOk;  // below the close: it will be received
    T* stored = std::launder(reinterpret_cast<T*>(slots_[tail & mask_].storage));
    value = std::move(*stored);
    stored->~T();
    // The receiver never reads at or above `at`; the tail goes back so that
    // size() and the destructor see only live slots.
    tail_.store(tail, std::memory_order_relaxed);
    return Status::kClosed;
  }

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

  // close_at_'s two values that are not a position.
  static constexpr size_t kOpen = ~size_t{0};
  static constexpr size_t kClosing = kOpen - 1;  // the receiver is reading the tail

  const size_t capacity_;
  size_t mask_ = 0;
  std::unique_ptr<Slot[]> slots_;
  // kOpen, kClosing, or the position where the channel closed (see above).
  // The sender reads it on every send and it is written once, on close: it
  // shares the read-mostly line rather than a line either side writes.
  std::atomic<size_t> close_at_{kOpen};

  // Each side's index shares a line only with that side's private cache of
  // the other's. The sleep flags get lines of their own: each side reads the
  // other's flag on every operation, and a flag is written only around a
  // sleep, so those lines stay shared and cheap to read.
  alignas(kCacheLineSize) std::atomic<size_t> head_{0};  // written by the consumer
  size_t cached_tail_ = 0;                               // consumer only
  bool closed_here_ = false;  // consumer only: it closed, so close_at_ bounds its reads
  alignas(kCacheLineSize) std::atomic<size_t> tail_{0};  // written by the producer
  size_t cached_head_ = 0;                               // producer only
  alignas(kCacheLineSize) std::atomic<uint32_t> consumer_sleeping_{0};
  alignas(kCacheLineSize) std::atomic<uint32_t> producer_sleeping_{0};
};

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_SPSC_RING_H_
