// -----------------------------------------------------------------------------
// File: internal/injection_queue.h
// -----------------------------------------------------------------------------
//
// `InjectionQueue<T>`: the thread pool's queue for work submitted from outside
// its workers. Unbounded, FIFO, many producers, one consumer at a time (the
// pool serialises consumers with `TryLockConsumer()`; a worker that loses
// that race goes stealing instead of waiting).
//
// Values are stored inline in blocks of `kBlockSize` slots, so a push costs no
// allocation except one block per kBlockSize pushes, and a popped value is
// moved out of its slot. (The shape follows crossbeam's `Injector`: a global
// slot index whose offset within a lap of kBlockSize + 1 tells producers
// which block and slot they own; the extra offset, kBlockSize, means "the
// next block is being installed, wait".) Unlike crossbeam, the consumer
// keeps up to kSpareBlocks blocks it emptied as spares for the producers
// that install the next ones: a steady flow (one submitter, bench P1) then
// cycles through a few blocks warm in cache, rather than allocating 3 KB on
// one thread and freeing it on another every kBlockSize pushes. One spare
// was not enough: the consumer empties blocks in bursts (a worker pops a
// batch at a time), so a second emptied block was freed while the producer
// was about to allocate one, and that malloc and free met on glibc's arena
// lock. On a 2-core machine whose cores are ~200 ns apart, the lock's
// hand-offs left the producer at ~220 ns a push and the worker far behind:
// bench P1 ran at 264-357 ns a task with one spare and 93-118 with eight
// (one sitting, 2026-12-05; Go's p1pool 76-96 in the same minutes).
//
// Memory ordering
//   (A) Push(): tail_ CAS, seq_cst. Claims the slot. seq_cst because the pool
//       pairs it with a worker's seq_cst read of tail_ in MaybeNonEmpty()
//       before sleeping: "publish work; read sleepers" against "announce
//       sleeper; read work" (Dekker), so no wake-up is lost.
//   (B) Push(): slot.ready store, release. Publishes the value written into
//       the slot; pairs with (C).
//   (C) Pop(): slot.ready load, acquire.
//   (D) Push() by the producer that claims a block's last slot: it installs
//       the next block (tail_block_ store, release; then the tail_ index skips
//       the "installing" offset, release) and links it (block->next store,
//       release) *before* writing its slot. The consumer frees a block after
//       popping its last slot, i.e. after (C) on that slot, so every producer
//       access to the block happened before: no use after free.
//   Producers that lose the CAS never dereference the block they loaded.
//   (E) The spare blocks: the consumer resets an emptied block and puts it
//       into an empty spare slot with a CAS (acq_rel); a producer about to
//       install a block takes one with an exchange (acq_rel). No producer
//       can still touch an emptied block (D), so the consumer's reset is
//       the last access before the hand-over, and the CAS and the exchange
//       on the same slot order it before the taker's use. Each slot holds
//       a whole block and is swapped whole: no ABA. The relaxed loads that
//       skip a slot are hints (a stale one costs a new block or a free).
//
// Thread-safety: Push(), Close() and MaybeNonEmpty() from any thread; Pop() only by
// the holder of the consumer lock.

#ifndef TROUPE_THREADS_INTERNAL_INJECTION_QUEUE_H_
#define TROUPE_THREADS_INTERNAL_INJECTION_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "base/cache_line.h"
#include "threads/atomics.h"

namespace troupe::threads_internal {

template <typename T>
class InjectionQueue {
 public:
  static constexpr uint64_t kBlockSize = 63;
  static constexpr uint64_t kLap = kBlockSize + 1;
  // Emptied blocks kept for reuse, at most (~3 KB each for the pool's tasks).
  static constexpr int kSpareBlocks = 8;

  InjectionQueue() {
    Block* first = new Block;
    head_block_ = first;
    tail_block_.store(first, std::memory_order_relaxed);
  }

  InjectionQueue(const InjectionQueue&) = delete;
  InjectionQueue& operator=(const InjectionQueue&) = delete;

  // Destroys any values still queued. No other thread may use the queue.
  ~InjectionQueue() {
    while (Pop().has_value()) {
    }
    delete head_block_;
    for (std::atomic<Block*>& spare : spares_) delete spare.load(std::memory_order_relaxed);
  }

  // Push(): any thread. Moves `value` in and returns true, or returns false
  // (leaving `value` untouched) once the queue is closed.
  bool Push(T&& value) {
    Backoff backoff;
    Block* next_block = nullptr;  // allocated before the CAS, outside the race
    while (true) {
      uint64_t tail = tail_.load(std::memory_order_acquire);
      if (tail & kClosed) {
        delete next_block;
        return false;
      }
      const uint64_t offset = tail % kLap;
      if (offset == kBlockSize) {  // another producer is installing a block
        backoff.Snooze();
        continue;
      }
      if (offset + 1 == kBlockSize && next_block == nullptr) next_block = TakeSpareOrNew();
      Block* block = tail_block_.load(std::memory_order_acquire);
      if (!tail_.compare_exchange_weak(tail, tail + 1, std::memory_order_seq_cst,  // (A)
                                       std::memory_order_relaxed)) {
        backoff.Spin();
        continue;
      }
      if (offset + 1 == kBlockSize) {  // (D) we took the last slot: install the next block
        tail_block_.store(next_block, std::memory_order_release);
        tail_.fetch_add(1, std::memory_order_release);  // skip the "installing" offset
        block->next.store(next_block, std::memory_order_release);
        next_block = nullptr;
      }
      Slot& slot = block->slots[offset];
      new (&slot.storage) T(std::move(value));
      slot.ready.store(true, std::memory_order_release);  // (B)
      delete next_block;  // allocated for a block someone else installed
      return true;
    }
  }

  // Close(): any thread. Every later Push() fails. A push racing with it
  // either lands before (and is popped as usual) or fails: the closed bit
  // lives in tail_, so the push's CAS (A) cannot succeed after it.
  void Close() { tail_.fetch_or(kClosed, std::memory_order_seq_cst); }
  bool IsClosed() const { return tail_.load(std::memory_order_acquire) & kClosed; }

  // Pop(): consumer only. The oldest value, or nullopt if the queue is empty
  // or its oldest slot is still being written (the caller retries later).
  std::optional<T> Pop() {
    T* stored = Front();
    if (stored == nullptr) return std::nullopt;
    std::optional<T> value(std::move(*stored));
    DropFront(stored);
    return value;
  }

  // PopInto(): consumer only. Moves up to `max` of the oldest values to the
  // end of `out`, each straight from its slot; returns how many.
  size_t PopInto(std::vector<T>& out, size_t max) {
    size_t popped = 0;
    while (popped < max) {
      T* stored = Front();
      if (stored == nullptr) break;
      out.push_back(std::move(*stored));
      DropFront(stored);
      ++popped;
    }
    return popped;
  }

  // TryLockConsumer() / UnlockConsumer(): the right to Pop().
  bool TryLockConsumer() {
    // acquire: pairs with UnlockConsumer()'s release, handing over head_*.
    return !consumer_locked_.load(std::memory_order_relaxed) &&
           !consumer_locked_.exchange(true, std::memory_order_acquire);
  }
  void UnlockConsumer() { consumer_locked_.store(false, std::memory_order_release); }

  // MaybeNonEmpty(): any thread. True if something was pushed that has not
  // been popped (including a push still writing its slot). seq_cst: see (A).
  bool MaybeNonEmpty() const {
    const uint64_t tail = tail_.load(std::memory_order_seq_cst) & ~kClosed;
    return ValuesBetween(head_index_.load(std::memory_order_acquire), tail) > 0;
  }

  // BlocksAllocated(): blocks allocated since construction, besides the
  // first (a spare taken instead is not counted). For tests.
  uint64_t BlocksAllocated() const { return blocks_allocated_.load(std::memory_order_relaxed); }

  // SizeGuess(): any thread, approximate.
  int64_t SizeGuess() const {
    const uint64_t tail = tail_.load(std::memory_order_relaxed) & ~kClosed;
    return static_cast<int64_t>(ValuesBetween(head_index_.load(std::memory_order_relaxed), tail));
  }

 private:
  struct Slot {
    std::atomic<bool> ready{false};
    alignas(T) unsigned char storage[sizeof(T)];
  };
  struct Block {
    std::atomic<Block*> next{nullptr};
    Slot slots[kBlockSize];
  };

  // How many slots in [head, tail) hold (or are claimed for) a value: every
  // index but the "installing" offsets (one per lap crossed), which no
  // producer writes and no consumer pops. After the consumer pops a block's
  // last slot it stands on such an offset with tail_ already past it, so
  // `tail != head` is no test of emptiness. 0 if `head` was read past `tail`.
  static uint64_t ValuesBetween(uint64_t head, uint64_t tail) {
    if (tail <= head) return 0;
    return (tail - head) - (tail / kLap - head / kLap);
  }

  // The oldest value, in its slot, or null (empty, or its slot still being
  // written). Steps into the next block once this one is used up.
  T* Front() {
    if (head_offset_ == kBlockSize) {
      Block* next = head_block_->next.load(std::memory_order_acquire);
      if (next == nullptr) return nullptr;  // the next block is being installed
      KeepAsSpare(std::exchange(head_block_, next));
      head_offset_ = 0;
      AdvanceHeadIndex();  // the skipped "installing" offset
    }
    Slot& slot = head_block_->slots[head_offset_];
    if (!slot.ready.load(std::memory_order_acquire)) return nullptr;  // (C)
    return std::launder(reinterpret_cast<T*>(&slot.storage));
  }

  // Ends the front value's life in its slot, moved from, and moves past it.
  void DropFront(T* stored) {
    stored->~T();
    ++head_offset_;
    AdvanceHeadIndex();
  }

  // (E) An emptied block, reset, becomes the spare (a spare nobody took
  // meanwhile is freed).
  void KeepAsSpare(Block* emptied) {
    emptied->next.store(nullptr, std::memory_order_relaxed);
    for (Slot& slot : emptied->slots) slot.ready.store(false, std::memory_order_relaxed);
    for (std::atomic<Block*>& spare : spares_) {
      if (spare.load(std::memory_order_relaxed) != nullptr) continue;
      Block* empty = nullptr;
      if (spare.compare_exchange_strong(empty, emptied, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
        return;
      }
    }
    delete emptied;  // every spare slot is full
  }

  // (E) The block a producer installs next: a spare, or a new one. Not
  // value-initialised (`new Block`, not `new Block()`): the slots' storage
  // needs no zeroing, only their flags, which their initialisers set.
  Block* TakeSpareOrNew() {
    // relaxed: only a hint that spares the exchange when there is no spare
    // (a stale answer costs a new block, or an exchange that finds null);
    // the exchange alone hands a block over.
    for (std::atomic<Block*>& spare : spares_) {
      if (spare.load(std::memory_order_relaxed) == nullptr) continue;
      if (Block* block = spare.exchange(nullptr, std::memory_order_acq_rel)) return block;
    }
    blocks_allocated_.fetch_add(1, std::memory_order_relaxed);
    return new Block;
  }

  // Only one consumer writes it at a time (the consumer lock orders them), so
  // a load and a store do; no read-modify-write on the pop path.
  void AdvanceHeadIndex() {
    head_index_.store(head_index_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  // The top bit of tail_: the queue is closed.
  static constexpr uint64_t kClosed = uint64_t{1} << 63;

  // Producer side: the global slot index (| kClosed) and the block it points into.
  alignas(kCacheLineSize) std::atomic<uint64_t> tail_{0};
  std::atomic<Block*> tail_block_{nullptr};

  // Consumer side, touched only under the consumer lock, except head_index_,
  // which mirrors the consumer's position (same numbering as tail_) for
  // MaybeNonEmpty() and SizeGuess() (single writer: fetch_add is uncontended).
  alignas(kCacheLineSize) std::atomic<bool> consumer_locked_{false};
  Block* head_block_ = nullptr;
  uint64_t head_offset_ = 0;
  std::atomic<uint64_t> head_index_{0};

  // (E) Emptied blocks for the next installs (null: none in that slot).
  std::atomic<Block*> spares_[kSpareBlocks] = {};
  std::atomic<uint64_t> blocks_allocated_{0};  // producers only, once per block
};

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_INJECTION_QUEUE_H_
