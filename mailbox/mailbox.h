// -----------------------------------------------------------------------------
// File: mailbox.h
// -----------------------------------------------------------------------------
//
// `Mailbox`: the lock-free, intrusive, multi-producer single-consumer queue
// behind every actor, with the actor's scheduling state folded into it.
//
//   struct Envelope : troupe::MailboxNode { Payload payload; };
//
//   // Any thread:
//   switch (mailbox.Push(envelope)) {
//     case troupe::PushResult::kWokeOwner: Schedule(actor); break;  // it was idle
//     case troupe::PushResult::kPushed: break;                      // it will see it
//     case troupe::PushResult::kClosed: DeadLetter(envelope); break; // handed back
//   }
//
//   // The owner (the actor's current run), only:
//   while (MailboxNode* node = mailbox.Pop()) Handle(node);
//   if (!mailbox.TryBlock()) Reschedule();  // a message slipped in: keep going
//
// Algorithm. Producers push onto a Treiber stack (one CAS on `head_`); the
// owner takes the whole stack with one exchange, reverses it (restoring
// arrival order) and splits it into two private FIFO caches, one per lane:
// system messages (stop, exit, down) and ordinary mail. Pop() serves the
// system cache first. A node is one word, its link with its lane in the low
// bit, so the walk reads and writes each node once, and a stack of ordinary
// mail (nearly every stack) is reversed with no per-node branch on lanes.
// The scheduling state lives in `head_` itself as two tag values that are
// never dereferenced, only compared: `kBlocked` (the owner is idle: the next
// push must schedule it) and `kClosed` (the actor is gone).
// So the hot path is one CAS per push and one exchange (a bounded
// mailbox: one CAS) per batch taken, with no other atomic. (CAF's
// `lifo_inbox` has the same shape.)
//
// Depth and the bound. The top 16 bits of `head_` count nodes, saturating
// at 65535 (user-space addresses fit in the other 48 bits on x86-64 and
// AArch64 Linux); a push adds one in the same CAS that adds its node. In
// an unbounded mailbox they count the nodes stacked since the last take,
// which resets them with its exchange. In a mailbox set up with
// EnableBound() they hold its `bound`: an upper bound of its depth (stacked
// + cached nodes). A pop lowers only the depth, and each CAS of the owner
// (a take, a Refresh(), TryBlock()) writes the depth it knows exactly at
// that instant, so the bound is never below min(depth, 65535), and
// PushBounded() can refuse an ordinary node from the word its CAS validates
// alone: no other load, no ABA question (any word with the same bound is as
// good as the one read), no extra read-modify-write. The owner knows the
// stack's size from the bound: it is the bound less `base`, the bound its
// last CAS left less the stack it left in place — unless the bound
// saturated, in which case the owner counts the stack in place (Resync)
// once it has taken it. ApproximateSize() reads the count, the owner's
// counts and `base`.
//
// Guarantees
//   * Exactly one push per idle period reports kWokeOwner: the one whose CAS
//     replaced kBlocked. An owner is never left idle with mail (TryBlock()
//     fails if anything arrived), and never runs twice at once (only the
//     waking push schedules it).
//   * FIFO per lane and per producer. A system message overtakes every
//     ordinary message not yet handed out when the owner takes the stack (at
//     the start of each PopBatch(), and whenever the ordinary cache runs
//     dry).
//   * After Close(), Push() returns kClosed and the caller keeps the node;
//     Close() hands back everything still queued. Nothing is lost, nothing
//     is freed here: the mailbox never owns memory.
//   * PushBounded(node, capacity) queues an ordinary node only into a
//     mailbox holding fewer than `capacity` nodes (capacity <= 65535), else
//     returns kFull and the caller keeps the node. System-lane nodes, and
//     every Push(), are exempt. The bound lags the owner's pops until its
//     next CAS, so a mailbox may refuse while it drains (call Refresh() to
//     catch up). Checked over every interleaving: models/bounded_push.pml.
//   * PushRun(nodes, n) (unbounded mailboxes) stacks n ordinary nodes, linked
//     beforehand, by one CAS: to the owner, n pushes with none between
//     them, and at most one wake-up (the model checks a run too).
//
// Memory ordering
//   (A) Push(): CAS on head_, acq_rel on success. Release publishes the node
//       (its payload and link) to the owner's exchange (B). Acquire, when
//       it replaces kBlocked, pairs with the release of TryBlock() (C), so the
//       run that this push schedules sees everything the previous run wrote.
//   (B) Take(): exchange(head_, nullptr) (bounded: a CAS to the bound
//       alone), acquire: pairs with (A). Refresh() and Resync() write only
//       a bound, which publishes nothing: relaxed (Resync loads acquire, to
//       walk the stacked nodes).
//   (C) TryBlock(): CAS nullptr (bounded: the bound alone) -> kBlocked,
//       release: pairs with (A). Whatever the owner writes for the next run
//       (its word's base) is written before it: once idle, the mailbox is
//       the next run's, on any thread.
//   (D) Close(): exchange(head_, kClosed), acq_rel: acquire takes the last
//       pushes (as B); no push can succeed after it.
//
// Thread-safety: Push(), PushBounded(), PushRun(), IsClosed(), IsBlocked(),
// Bound(), ApproximateSize() and popped() from any thread. Everything else only from
// the owner, and only from one thread at a time (the actor's run).
//
// Memory usage: 56 bytes (the head, two lane caches, two counts — `base`
// shares a word with the fetched count), not padded in an actor's cell: an
// actor system has millions of mailboxes (actors target <= 256 bytes
// each). A standalone `Mailbox` is 128 bytes, its halves a line apart. The
// mailbox
// comes in two halves, MailboxStack (the head, which every push writes)
// and MailboxCaches (the owner's, written on every pop), so that an owner
// can keep producers' CAS traffic off its own line without padding: an
// actor cell puts the head in front of itself, among fields the turn does
// not write (actor/internal/actor_cell.cc). `Mailbox` holds both halves,
// a cache line apart; the bench pads the one it measures (M1/M2) so that
// the figure is the queue's own.

#ifndef TROUPE_MAILBOX_MAILBOX_H_
#define TROUPE_MAILBOX_MAILBOX_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "base/cache_line.h"
#include "base/check.h"
#include "base/stringify.h"

namespace troupe {

// The intrusive link every queued envelope carries: one word, the next
// node's address with the node's lane in its low bit (nodes are 8-aligned).
// One word instead of a pointer and a lane byte saves 8 bytes per message,
// and with them a share of the cache lines a message moves between cores.
class MailboxNode {
 public:
  enum class Lane : uint8_t { kOrdinary = 0, kSystem = 1 };

  // The node after this one while queued or listed; unspecified once popped.
  MailboxNode* next() const { return reinterpret_cast<MailboxNode*>(link_ & ~kLaneBit); }
  void set_next(MailboxNode* next) {
    link_ = reinterpret_cast<uintptr_t>(next) | (link_ & kLaneBit);
  }

  Lane lane() const { return static_cast<Lane>(link_ & kLaneBit); }
  void set_lane(Lane lane) { link_ = (link_ & ~kLaneBit) | static_cast<uintptr_t>(lane); }

 private:
  friend class MailboxStack;
  friend class MailboxCaches;
  static constexpr uintptr_t kLaneBit = 1;

  uintptr_t link_ = 0;  // owned by the mailbox or list while queued
};

enum class PushResult : uint8_t {
  kPushed,     // queued; the owner is running or already scheduled
  kWokeOwner,  // queued onto an idle mailbox: the caller must schedule the owner
  kClosed,     // not queued: the caller still owns the node (dead-letter it)
  kFull,       // PushBounded() only: not queued, the mailbox is at capacity;
               // the caller still owns the node
};

// "pushed", "woke owner", "closed", "full".
std::string_view PushResultName(PushResult result);
template <typename Sink>
void AbslStringify(Sink& sink, PushResult result) {
  sink.Append(PushResultName(result));
}

// A FIFO list of nodes linked through `next`, handed out by Close() and
// TakeAll(). Not thread-safe; does not own the nodes.
class MailboxNodeList {
 public:
  MailboxNodeList() = default;
  MailboxNodeList(MailboxNodeList&& other) noexcept : head_(other.head_), tail_(other.tail_) {
    other.head_ = other.tail_ = nullptr;
  }
  MailboxNodeList& operator=(MailboxNodeList&& other) noexcept;
  MailboxNodeList(const MailboxNodeList&) = delete;
  MailboxNodeList& operator=(const MailboxNodeList&) = delete;

  bool empty() const { return head_ == nullptr; }
  // Counts by walking the list (O(n)): no count is kept, to keep mailboxes
  // small. For tests and stats.
  size_t size() const;
  MailboxNode* front() const { return head_; }

  void PushBack(MailboxNode* node) {
    node->set_next(nullptr);
    if (tail_ == nullptr) {
      head_ = node;
    } else {
      tail_->set_next(node);
    }
    tail_ = node;
  }
  void Append(MailboxNodeList&& other);  // moves every node of `other` to the back
  // Appends a linked chain head..tail (tail->next() must be null).
  void AppendChain(MailboxNode* head, MailboxNode* tail) {
    if (tail_ == nullptr) {
      head_ = head;
    } else {
      tail_->set_next(head);
    }
    tail_ = tail;
  }
  // Moves up to `max` nodes from the front into `out`; returns how many.
  // Their `next` links are left as they were.
  size_t PopFront(MailboxNode** out, size_t max);
  MailboxNode* PopFront() {
    MailboxNode* node = head_;
    if (node == nullptr) return nullptr;
    head_ = node->next();
    if (head_ == nullptr) tail_ = nullptr;
    node->set_next(nullptr);
    return node;
  }

 private:
  MailboxNode* head_ = nullptr;
  MailboxNode* tail_ = nullptr;
};

namespace mailbox_internal {

// The head word's encoding, shared by the mailbox's two halves. It is 0
// (running, empty), a tag, or a node's address (0 if nothing is stacked),
// with the bound in the top 16 bits. The tags are small non-zero integers
// that no allocation can return, never dereferenced, and always come with
// a bound of 0.
struct HeadWord {
  static constexpr uintptr_t kBlocked = 1;
  static constexpr uintptr_t kClosed = 2;
  static constexpr int kCountShift = 48;
  static constexpr uintptr_t kMaxCount = 0xFFFF;  // the bound saturates here
  static constexpr uintptr_t kAddressMask = (uintptr_t{1} << kCountShift) - 1;
  static constexpr uintptr_t kTagBits = 7;  // both tags fit; no node address uses them
  static bool IsTag(uintptr_t word) { return word != 0 && word <= kClosed; }
  static MailboxNode* NodeOf(uintptr_t word) {
    return IsTag(word) ? nullptr : reinterpret_cast<MailboxNode*>(word & kAddressMask);
  }
  static uintptr_t BoundOf(uintptr_t word) { return word >> kCountShift; }  // 0 for a tag
};

// An owner that runs dry lets a stream's batch gather (MailboxCaches::Gather):
// it looks at the stack once after kGatherPauses pauses, then waits for
// up to kGatherTarget nodes in all, within kGatherBudget pauses (about 1 us
// here) from the first.
inline constexpr uint64_t kGatherTarget = 64;
inline constexpr uint64_t kGatherPauses = 8;
inline constexpr uint64_t kGatherBudget = 48;

// The pauses to wait after the look, which found the stack grown from
// `before` to `now` nodes in kGatherPauses pauses: as long as the rest of
// kGatherTarget takes at that rate, rounded up, within the budget. None if
// it did not grow or holds the target already.
constexpr uint64_t GatherPauses(uint64_t before, uint64_t now) {
  if (now <= before || now >= kGatherTarget) return 0;
  const uint64_t growth = now - before;
  const uint64_t pauses = ((kGatherTarget - now) * kGatherPauses + growth - 1) / growth;
  return pauses < kGatherBudget - kGatherPauses ? pauses : kGatherBudget - kGatherPauses;
}

}  // namespace mailbox_internal

enum class MailboxInitialState { kIdle, kRunning };

// The producers' half of a mailbox: the head word they push onto. One word,
// apart from the owner's half (MailboxCaches) so that an owner may lay the
// two out on different cache lines — an actor cell keeps it in front of
// itself, beside the fields a send reads (docs/architecture.md, "Cache
// lines"). `Mailbox` below keeps both halves a line apart.
class MailboxStack {
 public:
  // An idle mailbox's first push reports kWokeOwner; a running one's does
  // not (its owner is expected to look, and to TryBlock() when done).
  explicit MailboxStack(MailboxInitialState state = MailboxInitialState::kIdle)
      : head_(state == MailboxInitialState::kIdle ? Word::kBlocked : 0) {}
  MailboxStack(const MailboxStack&) = delete;
  MailboxStack& operator=(const MailboxStack&) = delete;

  // MailboxStack::Push()
  //
  // Any thread; lock-free. See PushResult. On kClosed, `node` is untouched and
  // still the caller's.
  [[nodiscard]] PushResult Push(MailboxNode* node) { return PushNode<false>(node, 0); }

  // MailboxStack::PushBounded()
  //
  // Any thread; lock-free. As Push(), but an ordinary node is refused with
  // kFull (untouched, still the caller's) unless fewer than `capacity`
  // nodes are queued (1 <= capacity <= kMaxCapacity). A system-lane node is
  // exempt. Only for a mailbox whose owner called EnableBound(). The check
  // reads only the bound the CAS validates, so a node is never admitted
  // into a full mailbox, however the owner's steps interleave. (The depth's
  // high-water mark is the owner's to keep: Pop()'s `peak`.)
  [[nodiscard]] PushResult PushBounded(MailboxNode* node, uint32_t capacity) {
    TROUPE_DCHECK(capacity >= 1 && capacity <= kMaxCapacity, "capacity {}", capacity);
    return PushNode<true>(node, capacity);
  }

  // The largest capacity PushBounded() can enforce: the bound's ceiling.
  static constexpr uint32_t kMaxCapacity = 0xFFFF;

  // MailboxStack::PushRun()
  //
  // Any thread; lock-free. Push() for `n` >= 1 ordinary nodes at once,
  // `node_at(0)` the oldest, `node_at(n - 1)` the newest: they are linked to
  // one another first (the caller's private nodes), then stacked by one
  // CAS, so they arrive together, in order, after everything pushed before.
  // A producer sending runs saves an atomic read-modify-write per node, and
  // an idle owner is woken once per run (bench S3). The CAS is Push()'s (A),
  // with the run's newest node in place of the one node and its count added
  // to the bound: the owner cannot tell the run from n pushes with no other
  // push between them. Not for a bounded mailbox (it bypasses the
  // capacity). On kClosed nothing was queued and the nodes are still the
  // caller's.
  template <typename NodeAt>
  [[nodiscard]] PushResult PushRun(NodeAt node_at, size_t n) {
    TROUPE_DCHECK(n >= 1, "an empty run");
    MailboxNode* const oldest = node_at(size_t{0});
    MailboxNode* older = oldest;
    for (size_t i = 1; i < n; ++i) {
      MailboxNode* const node = node_at(i);
      TROUPE_DCHECK((node->link_ & MailboxNode::kLaneBit) == 0, "a system node in a run");
      node->link_ = reinterpret_cast<uintptr_t>(older);  // newer -> older, ordinary lane
      older = node;
    }
    TROUPE_DCHECK((oldest->link_ & MailboxNode::kLaneBit) == 0, "a system node in a run");
    const uintptr_t newest = reinterpret_cast<uintptr_t>(older);
    TROUPE_DCHECK((newest & ~Word::kAddressMask) == 0, "node address uses the count's bits");
    const uintptr_t added = n < Word::kMaxCount ? n : Word::kMaxCount;
    uintptr_t head = head_.load(std::memory_order_relaxed);
    uintptr_t desired;
    do {
      if (head == Word::kClosed) [[unlikely]]
        return PushResult::kClosed;
      const uintptr_t sum = (head >> Word::kCountShift) + added;
      oldest->link_ = head & Word::kAddressMask & ~Word::kTagBits;
      desired = newest | ((sum < Word::kMaxCount ? sum : Word::kMaxCount) << Word::kCountShift);
      // (A): the release publishes every node of the run and its links.
    } while (!head_.compare_exchange_weak(head, desired, std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
    return head == Word::kBlocked ? PushResult::kWokeOwner : PushResult::kPushed;
  }

  // MailboxStack::IsClosed() / IsBlocked()
  //
  // Any thread; snapshots.
  bool IsClosed() const { return head_.load(std::memory_order_acquire) == Word::kClosed; }
  bool IsBlocked() const { return head_.load(std::memory_order_acquire) == Word::kBlocked; }

  // MailboxStack::Bound()
  //
  // Any thread; a snapshot (relaxed). The count in the head word: in a
  // bounded mailbox, the bound (at least the depth), which pushes raise and
  // only the owner's CAS lowers; in an unbounded one, the nodes stacked since
  // the last take. 0 while idle or closed.
  uint32_t Bound() const {
    return static_cast<uint32_t>(Word::BoundOf(head_.load(std::memory_order_relaxed)));
  }

 private:
  friend class MailboxCaches;
  using Word = mailbox_internal::HeadWord;
  static_assert(alignof(MailboxNode) > Word::kTagBits && Word::kClosed <= Word::kTagBits);
  static_assert(Word::kMaxCount == kMaxCapacity);

  // Push() and PushBounded(): one CAS loop, the bound's check compiled in
  // only for the latter.
  template <bool kBounded>
  PushResult PushNode(MailboxNode* node, uint32_t capacity) {
    const uintptr_t address = reinterpret_cast<uintptr_t>(node);
    TROUPE_DCHECK((address & ~Word::kAddressMask) == 0, "node address {} uses the count's bits",
                  static_cast<const void*>(node));
    const uintptr_t lane = node->link_ & MailboxNode::kLaneBit;
    uintptr_t head = head_.load(std::memory_order_relaxed);
    uintptr_t desired;
    do {
      if (head == Word::kClosed) [[unlikely]]
        return PushResult::kClosed;
      const uintptr_t bound = head >> Word::kCountShift;  // 0 for a tag
      if (kBounded && lane == 0 && bound >= capacity) return PushResult::kFull;
      // Masking the tag bits turns 0 and kBlocked into "no next node" and
      // keeps any node's address (nodes are 8-aligned), without a branch.
      node->link_ = (head & Word::kAddressMask & ~Word::kTagBits) | lane;
      desired = address | ((bound + (bound != Word::kMaxCount)) << Word::kCountShift);
      // (A) acq_rel on success, relaxed on failure (we retry with the new head).
    } while (!head_.compare_exchange_weak(head, desired, std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
    return head == Word::kBlocked ? PushResult::kWokeOwner : PushResult::kPushed;
  }

  std::atomic<uintptr_t> head_;
};

// The owner's half of a mailbox: the lane caches and the owner's counts.
// Every call names the stack it owns (the same one, always).
class MailboxCaches {
 public:
  MailboxCaches() = default;
  MailboxCaches(const MailboxCaches&) = delete;
  MailboxCaches& operator=(const MailboxCaches&) = delete;

  // MailboxCaches::EnableBound()
  //
  // Before the first push, by the mailbox's creator: pushes may be bounded
  // (PushBounded), so the owner's takes keep the bound exact. An unbounded
  // mailbox's take resets the bound to the stack's count (an exchange, as
  // cheap as can be) and PushBounded() must not be used on it.
  void EnableBound() { fetched_.store(kBoundedBit, std::memory_order_relaxed); }
  bool bounded() const { return (fetched_.load(std::memory_order_relaxed) & kBoundedBit) != 0; }

  // MailboxCaches::Pop()
  //
  // Owner only. The next node, system lane first, or null when nothing is
  // queued (the owner should then TryBlock()).
  //
  // `peak`, here and in Fetch() and Refresh(): if given, raised to the bound
  // that each of the call's CASes replaces. The bound only grows between the
  // owner's CASes, so the largest of those values, and the stack's Bound()
  // now, is the deepest any push saw the mailbox: a bounded mailbox's
  // high-water mark, kept by the owner once per take so that a push pays
  // nothing for it.
  MailboxNode* Pop(MailboxStack& stack, uint32_t* peak = nullptr) {
    MailboxNode* node;
    if (!system_.empty()) {
      node = system_.PopFront();
    } else {
      if (ordinary_.empty()) TakeGathering(stack, peak);
      node = !system_.empty() ? system_.PopFront() : ordinary_.PopFront();
      if (node == nullptr) return nullptr;
    }
    CountOwner(popped_);
    return node;
  }

  // MailboxCaches::Fetch()
  //
  // Owner only. Moves whatever has arrived into the caches now, so that a
  // system-lane node pushed since the last fetch is the next Pop(), ahead
  // of ordinary nodes already cached. (Pop() itself fetches only when the
  // caches run dry, to keep producers' cache line quiet.)
  void Fetch(MailboxStack& stack, uint32_t* peak = nullptr) { Take(stack, peak); }

  // MailboxCaches::Refresh()
  //
  // Owner only. Lowers the bound to the depth, so that the pops since the
  // owner's last CAS make room for PushBounded() now rather than at the
  // next take. One CAS when anything was popped since; none otherwise.
  void Refresh(MailboxStack& stack, uint32_t* peak = nullptr);

  // MailboxCaches::ForEachQueued()
  //
  // Calls `fn` on every queued node, in the order Pop() would return them.
  // Only while nothing else touches the mailbox: neither its owner nor any
  // producer (a deterministic test between steps, say). For inspection.
  void ForEachQueued(const MailboxStack& stack,
                     absl::FunctionRef<void(const MailboxNode&)> fn) const;

  // MailboxCaches::PopBatch()
  //
  // Owner only. Takes what has arrived, then pops up to `max` nodes into
  // `out`; returns how many. One exchange per call however many arrive.
  size_t PopBatch(MailboxStack& stack, MailboxNode** out, size_t max);

  // MailboxCaches::TryBlock()
  //
  // Owner only. Goes idle if nothing is queued: returns true, and the next
  // Push() reports kWokeOwner. Returns false if a message is queued (in the
  // caches or just pushed): the owner must keep running.
  [[nodiscard]] bool TryBlock(MailboxStack& stack) {
    if (HasCached()) return false;
    uintptr_t expected = 0;
    // (C) release: this run's writes reach whoever wakes us (A, acquire).
    if (stack.head_.compare_exchange_strong(expected, Word::kBlocked, std::memory_order_release,
                                            std::memory_order_relaxed)) {
      return true;
    }
    // A bounded mailbox leaves its bound in the head: idle all the same if
    // nothing was stacked since the owner's last CAS.
    return (expected & Word::kAddressMask) == 0 && TryBlockBounded(stack, expected);
  }

  // MailboxCaches::Close()
  //
  // Owner only. Closes the mailbox and returns everything still queued, in
  // order (system lane first). Later pushes fail with kClosed. Idempotent.
  MailboxNodeList Close(MailboxStack& stack);

  // MailboxCaches::ApproximateSize()
  //
  // Any thread: how many nodes are queued (unfetched + cached). Exact while
  // nobody pushes or pops; a recent value otherwise. While the bound is
  // saturated (65535 or more queued), the unfetched nodes count as 65535.
  // Three relaxed loads.
  size_t ApproximateSize(const MailboxStack& stack) const;

  // MailboxCaches::popped()
  //
  // Any thread: how many nodes the owner has taken out since the start (a
  // recent value while it runs).
  uint64_t popped() const { return popped_.load(std::memory_order_relaxed); }

  // MailboxCaches::CachedSize()
  //
  // Owner only: the cached count plus nothing of the unfetched stack (a
  // stack has no cheap count). For stats; a lower bound; O(n).
  size_t CachedSize() const { return system_.size() + ordinary_.size(); }

  // MailboxCaches::HasCached()
  //
  // Owner only: true if Pop() would return a node without touching the
  // stack's word.
  bool HasCached() const { return !system_.empty() || !ordinary_.empty(); }

 private:
  using Word = mailbox_internal::HeadWord;
  static constexpr uintptr_t kMaxCount = Word::kMaxCount;

  // The owner's word, fetched_: the nodes moved into the caches since the
  // start (top 47 bits, so that adding to it wraps with no masking),
  // whether the mailbox is bounded (bit 16), and `base` (low 16 bits;
  // kMaxCount once the bound saturated, until a Resync()).
  static constexpr int kFetchedShift = 17;
  static constexpr uint64_t kBoundedBit = uint64_t{1} << 16;
  static constexpr uint64_t kBaseMask = kBoundedBit - 1;
  static constexpr uint64_t kFetchedMask = (uint64_t{1} << (64 - kFetchedShift)) - 1;
  static uint64_t FetchedOf(uint64_t word) { return word >> kFetchedShift; }
  static uint64_t BaseOf(uint64_t word) { return word & kBaseMask; }
  static uint64_t WithBase(uint64_t word, uint64_t base) { return (word & ~kBaseMask) | base; }
  // Stores `owner` with `taken` more fetched.
  void SetOwnerWord(uint64_t owner, uint64_t taken = 0) {
    fetched_.store(owner + (taken << kFetchedShift), std::memory_order_relaxed);
  }
  // The cached nodes, exactly (owner only; a recent value elsewhere).
  uint64_t CachedOf(uint64_t owner) const {
    return (FetchedOf(owner) - popped_.load(std::memory_order_relaxed)) & kFetchedMask;
  }

  // A count only the owner writes: a relaxed load and store, no
  // read-modify-write; readers (ApproximateSize) load it relaxed.
  static void CountOwner(std::atomic<uint64_t>& counter, uint64_t n = 1) {
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // Takes the stack (B), reverses it and appends it to the lane caches.
  // Returns false if there was nothing to take. A cheap look comes first:
  // a CAS on an empty stack would still take the line away from the
  // producers. TakeGathering() is for an owner whose caches ran dry (Pop,
  // PopBatch): a short stack that is still growing is left to grow a
  // moment first (Gather).
  bool Take(MailboxStack& stack, uint32_t* peak = nullptr) {
    const uintptr_t head = stack.head_.load(std::memory_order_relaxed);
    if ((head & Word::kAddressMask) <= Word::kClosed) return false;  // nothing stacked, or a tag
    return TakeSlow(stack, head, peak);
  }
  bool TakeGathering(MailboxStack& stack, uint32_t* peak) {
    const uintptr_t head = stack.head_.load(std::memory_order_relaxed);
    if ((head & Word::kAddressMask) <= Word::kClosed) return false;
    // A bound under 2 is a lone message (a ping-pong's): no stream to wait for.
    return TakeSlow(stack, Word::BoundOf(head) < 2 ? head : Gather(stack, head), peak);
  }
  bool TakeSlow(MailboxStack& stack, uintptr_t head, uint32_t* peak);
  // Raises *peak (if given) to the bound of `replaced`, a head word that an
  // owner's CAS has just replaced.
  static void RaisePeak(uint32_t* peak, uintptr_t replaced) {
    if (peak != nullptr && Word::BoundOf(replaced) > *peak) {
      *peak = static_cast<uint32_t>(Word::BoundOf(replaced));
    }
  }
  // The owner has run dry and finds fewer than kGatherTarget nodes stacked
  // (`head`): a producer may be streaming into the mailbox. Every take
  // writes the head, taking its line from the producers, whose next push
  // then waits for it; an owner that keeps up with one producer would do
  // that every few messages (bench M1, alternating runs: 40-46 ns a message
  // that way, 17-20 letting a batch gather). So it lets a batch gather:
  // one look, reading only, after kGatherPauses pauses tells how fast the
  // stack grows, then it pauses as long as the rest of kGatherTarget
  // should take at that rate (GatherPauses), and returns the head it saw.
  // One look and no more, because a look takes the line from the producers
  // too: looking every 8 pauses until the growth stopped, M1 fell in some
  // runs into 2-3 looks per batch of 70 and 12-14 ns a message, against 8
  // when one look sufficed (alternating binaries, one sitting, 31 fast-mood
  // runs each: 7.7-14.8 ns that way, 7.9-9.6 this one). No growth: it
  // takes at once. A lone message (a ping-pong's) is no stream: it is taken
  // without a look. Reads alone, relaxed: the take that follows is what
  // synchronises (B), and an owner may take whenever it likes, so the
  // protocol is unchanged; the head it returns may be stale, which costs
  // a bounded take's CAS one retry.
  uintptr_t Gather(MailboxStack& stack, uintptr_t head) const;
  // TryBlock() with the head at `head`: a bound and nothing stacked.
  bool TryBlockBounded(MailboxStack& stack, uintptr_t head);
  // After a take that found the bound saturated: counts the stack in place
  // and writes the exact bound, unless the depth is still past kMaxCount.
  void Resync(MailboxStack& stack);
  // Reverses a taken stack into arrival order, appends it to the caches
  // and stores the owner's word: `owner` plus the nodes taken.
  void Distribute(MailboxNode* stack, uint64_t owner);
  // The rest of Distribute() once a system node turns up: `stack` is what is
  // left to walk, the ordinary batch so far runs ordinary_head..ordinary_tail
  // (both null if empty), `count` nodes have been walked, and `owner` is
  // Distribute()'s.
  void DistributeLanes(MailboxNode* stack, MailboxNode* ordinary_head, MailboxNode* ordinary_tail,
                       uint64_t count, uint64_t owner);

  MailboxNodeList system_;    // owner only
  MailboxNodeList ordinary_;  // owner only
  // The owner's word (see SetOwnerWord) and the nodes handed out since the
  // start: the owner writes them, anyone reads them (ApproximateSize,
  // popped()).
  std::atomic<uint64_t> fetched_{0};
  std::atomic<uint64_t> popped_{0};
};

// Mailbox: both halves, for a mailbox that is an object of its own. The
// calls are the halves', with the stack filled in: Push() and PushBounded()
// any thread, the rest the owner (see above).
//
// The owner's half starts a cache line after the head word: side by side,
// every pop wrote the line every push CASes. Bench M1 (one producer, the
// owner popping batches), ten alternating runs in one sitting: 9.3-18.2
// ns a message, median 16.7, side by side (bimodal, and which mode a
// build fell into moved with unrelated code); 11.0-15.1, median 13.0, a
// line apart; moodycamel's queue 9.1-11.9, median 10.8.
class Mailbox {
 public:
  using InitialState = MailboxInitialState;
  static constexpr uint32_t kMaxCapacity = MailboxStack::kMaxCapacity;

  explicit Mailbox(InitialState state = InitialState::kIdle) : stack_(state) {}

  void EnableBound() { caches_.EnableBound(); }
  [[nodiscard]] PushResult Push(MailboxNode* node) { return stack_.Push(node); }
  template <typename NodeAt>
  [[nodiscard]] PushResult PushRun(NodeAt node_at, size_t n) {
    TROUPE_DCHECK(!caches_.bounded(), "PushRun() on a bounded mailbox");
    return stack_.PushRun(node_at, n);
  }
  [[nodiscard]] PushResult PushBounded(MailboxNode* node, uint32_t capacity) {
    TROUPE_DCHECK(caches_.bounded(), "PushBounded() on a mailbox without EnableBound()");
    return stack_.PushBounded(node, capacity);
  }
  MailboxNode* Pop(uint32_t* peak = nullptr) { return caches_.Pop(stack_, peak); }
  void Fetch(uint32_t* peak = nullptr) { caches_.Fetch(stack_, peak); }
  void Refresh(uint32_t* peak = nullptr) { caches_.Refresh(stack_, peak); }
  uint32_t Bound() const { return stack_.Bound(); }
  void ForEachQueued(absl::FunctionRef<void(const MailboxNode&)> fn) const {
    caches_.ForEachQueued(stack_, fn);
  }
  size_t PopBatch(MailboxNode** out, size_t max) { return caches_.PopBatch(stack_, out, max); }
  [[nodiscard]] bool TryBlock() { return caches_.TryBlock(stack_); }
  MailboxNodeList Close() { return caches_.Close(stack_); }
  bool IsClosed() const { return stack_.IsClosed(); }
  bool IsBlocked() const { return stack_.IsBlocked(); }
  size_t ApproximateSize() const { return caches_.ApproximateSize(stack_); }
  uint64_t popped() const { return caches_.popped(); }
  size_t CachedSize() const { return caches_.CachedSize(); }
  bool HasCached() const { return caches_.HasCached(); }

 private:
  MailboxStack stack_;
  alignas(kCacheLineSize) MailboxCaches caches_;  // a line away from the head word
};

}  // namespace troupe

#endif  // TROUPE_MAILBOX_MAILBOX_H_
