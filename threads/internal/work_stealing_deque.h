// -----------------------------------------------------------------------------
// File: internal/work_stealing_deque.h
// -----------------------------------------------------------------------------
//
// `WorkStealingDeque<T>`: the Chase–Lev deque ("Dynamic Circular Work-Stealing
// Deque", SPAA 2005; orderings after Lê, Pop, Cohen and Zappa Nardelli, PPoPP
// 2013) of pointers. The owning worker pushes and pops at the bottom (LIFO,
// cache-warm); other workers steal from the top (FIFO, the oldest and usually
// biggest tasks).
//
// Memory ordering. The textbook version relies on seq_cst *fences*, which
// ThreadSanitizer does not model (and g++ warns about under -fsanitize=thread).
// This one uses seq_cst *operations* instead at the two places where the
// fence matters:
//
//   (A) Pop():   bottom_.exchange(b - 1, seq_cst); then top_.load(seq_cst)
//   (B) Steal(): top_.load(seq_cst); then bottom_.load(seq_cst); CAS top_ seq_cst
//
// All four are in the single seq_cst total order, so the owner taking the last
// element and a thief taking it cannot both succeed: either the thief's
// bottom_ load sees the owner's decrement (and backs off), or the owner's
// top_ load sees the thief's CAS (and then both race on the same CAS, which
// exactly one wins). Push() publishes the slot with a seq_cst store of
// bottom_ (the pool also relies on that store being seq_cst to order "push
// work; check for sleeping workers").
//
// Slots are atomics (relaxed): a thief may read a slot the owner is about to
// overwrite after wrapping, but then its CAS on top_ fails and the value is
// discarded; the atomic keeps that benign race defined. Buffers retired by
// growth stay alive until the deque is destroyed, since a thief may still be
// reading one.
//
// Owner-only: Push(), Pop(). Any thread: Steal(), SizeGuess().

#ifndef TROUPE_THREADS_INTERNAL_WORK_STEALING_DEQUE_H_
#define TROUPE_THREADS_INTERNAL_WORK_STEALING_DEQUE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/cache_line.h"

namespace troupe::threads_internal {

template <typename T>
class WorkStealingDeque {
 public:
  explicit WorkStealingDeque(int64_t initial_capacity = 256) {
    int64_t capacity = 1;
    while (capacity < initial_capacity) capacity <<= 1;
    buffers_.push_back(std::make_unique<Buffer>(capacity));
    buffer_.store(buffers_.back().get(), std::memory_order_relaxed);
  }

  WorkStealingDeque(const WorkStealingDeque&) = delete;
  WorkStealingDeque& operator=(const WorkStealingDeque&) = delete;

  // Push(): owner only. Never fails; grows the ring when full.
  void Push(T* item) {
    const int64_t b = bottom_.load(std::memory_order_relaxed);
    // acquire: pairs with a thief's CAS so the slot it vacated is free.
    const int64_t t = top_.load(std::memory_order_acquire);
    Buffer* buffer = buffer_.load(std::memory_order_relaxed);
    if (b - t >= buffer->capacity) buffer = Grow(buffer, t, b);
    buffer->Put(b, item);
    // seq_cst: publishes the slot to thieves (a release would do for them)
    // and orders this push before the pool's later check for sleepers.
    bottom_.store(b + 1, std::memory_order_seq_cst);
  }

  // Pop(): owner only. The most recently pushed item, or null.
  T* Pop() {
    const int64_t b = bottom_.load(std::memory_order_relaxed) - 1;
    Buffer* buffer = buffer_.load(std::memory_order_relaxed);
    bottom_.exchange(b, std::memory_order_seq_cst);  // (A)
    int64_t t = top_.load(std::memory_order_seq_cst);
    if (t > b) {  // Empty: restore.
      bottom_.store(b + 1, std::memory_order_relaxed);
      return nullptr;
    }
    T* item = buffer->Get(b);
    if (t == b) {
      // The last item: race the thieves for it on top_.
      if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
        item = nullptr;  // A thief won.
      }
      bottom_.store(b + 1, std::memory_order_relaxed);
    }
    return item;
  }

  // Steal(): any thread. The oldest item, or null if empty or if another
  // thread won the race (callers just try elsewhere).
  T* Steal() {
    int64_t t = top_.load(std::memory_order_seq_cst);  // (B)
    const int64_t b = bottom_.load(std::memory_order_seq_cst);
    if (t >= b) return nullptr;
    // acquire: the buffer's contents were written before it was published.
    Buffer* buffer = buffer_.load(std::memory_order_acquire);
    T* item = buffer->Get(t);
    if (!top_.compare_exchange_strong(t, t + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return nullptr;
    }
    return item;
  }

  // SizeGuess(): any thread; exact only when nobody is pushing or stealing.
  int64_t SizeGuess() const {
    const int64_t b = bottom_.load(std::memory_order_relaxed);
    const int64_t t = top_.load(std::memory_order_relaxed);
    return b > t ? b - t : 0;
  }

  // Seen from another thread: might there be work? seq_cst, for the pool's
  // "check before sleeping" handshake.
  bool MaybeNonEmpty() const {
    const int64_t t = top_.load(std::memory_order_seq_cst);
    const int64_t b = bottom_.load(std::memory_order_seq_cst);
    return b > t;
  }

 private:
  struct Buffer {
    explicit Buffer(int64_t cap)
        : capacity(cap), mask(cap - 1), slots(new std::atomic<T*>[static_cast<size_t>(cap)]) {}
    T* Get(int64_t index) const { return slots[index & mask].load(std::memory_order_relaxed); }
    void Put(int64_t index, T* item) { slots[index & mask].store(item, std::memory_order_relaxed); }

    const int64_t capacity;
    const int64_t mask;
    std::unique_ptr<std::atomic<T*>[]> slots;
  };

  Buffer* Grow(Buffer* old, int64_t t, int64_t b) {
    buffers_.push_back(std::make_unique<Buffer>(old->capacity * 2));
    Buffer* bigger = buffers_.back().get();
    for (int64_t i = t; i < b; ++i) bigger->Put(i, old->Get(i));
    // release: thieves that load the new buffer (acquire) see the copies.
    buffer_.store(bigger, std::memory_order_release);
    return bigger;
  }

  alignas(kCacheLineSize) std::atomic<int64_t> top_{0};
  alignas(kCacheLineSize) std::atomic<int64_t> bottom_{0};
  std::atomic<Buffer*> buffer_{nullptr};
  std::vector<std::unique_ptr<Buffer>> buffers_;  // owner only; retired ones kept
};

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_WORK_STEALING_DEQUE_H_
