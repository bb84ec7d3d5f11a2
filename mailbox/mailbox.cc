#include "mailbox/mailbox.h"

#include <algorithm>
#include <vector>

#include "base/check.h"
#include "threads/atomics.h"

namespace troupe {

std::string_view PushResultName(PushResult result) {
  switch (result) {
    case PushResult::kPushed:
      return "pushed";
    case PushResult::kWokeOwner:
      return "woke owner";
    case PushResult::kClosed:
      return "closed";
    case PushResult::kFull:
      return "full";
  }
  return "unknown";
}

MailboxNodeList& MailboxNodeList::operator=(MailboxNodeList&& other) noexcept {
  if (this != &other) {
    head_ = other.head_;
    tail_ = other.tail_;
    other.head_ = other.tail_ = nullptr;
  }
  return *this;
}

size_t MailboxNodeList::PopFront(MailboxNode** out, size_t max) {
  size_t n = 0;
  MailboxNode* node = head_;
  // No `next` is cleared: the caller owns what it took, and every list
  // link is written again on the node's next push or PushBack().
  for (; n < max && node != nullptr; node = node->next()) out[n++] = node;
  head_ = node;
  if (node == nullptr) tail_ = nullptr;
  return n;
}

size_t MailboxNodeList::size() const {
  size_t n = 0;
  for (const MailboxNode* node = head_; node != nullptr; node = node->next()) ++n;
  return n;
}

void MailboxNodeList::Append(MailboxNodeList&& other) {
  if (other.empty()) return;
  if (tail_ == nullptr) {
    head_ = other.head_;
  } else {
    tail_->set_next(other.head_);
  }
  tail_ = other.tail_;
  other.head_ = other.tail_ = nullptr;
}

size_t MailboxCaches::ApproximateSize(const MailboxStack& stack) const {
  const uintptr_t head = stack.head_.load(std::memory_order_relaxed);
  // Relaxed: a snapshot for stats. The owner keeps popped <= fetched, but
  // relaxed loads may see them out of step, hence the guards.
  const uint64_t owner = fetched_.load(std::memory_order_relaxed);
  const uint64_t cached = CachedOf(owner);
  uint64_t stacked = 0;
  if (Word::NodeOf(head) != nullptr) {
    const uint64_t bound = Word::BoundOf(head), base = BaseOf(owner);
    // A saturated bound says only that at least kMaxCount are stacked.
    stacked = bound == kMaxCount ? kMaxCount : bound > base ? bound - base : 0;
  }
  return static_cast<size_t>(stacked + (cached <= kFetchedMask / 2 ? cached : 0));
}

void MailboxCaches::Distribute(MailboxNode* stack, uint64_t owner) {
  // One message, the common case of a woken actor: cheaper than the loop
  // below by 3 instructions a message on A1 (callgrind).
  if (stack->next() == nullptr) {
    (stack->lane() == MailboxNode::Lane::kSystem ? system_ : ordinary_).PushBack(stack);
    SetOwnerWord(owner, 1);
    return;
  }
  // One pass over the stack (newest first): pushing each node onto the front
  // of its lane's batch both reverses it into arrival order and splits the
  // lanes. The first node seen is the newest, so it ends each batch. Mail is
  // nearly always ordinary only, so that case runs in registers; the first
  // system node moves the walk to the two-lane loop.
  MailboxNode* const newest = stack;
  MailboxNode* ordinary = nullptr;
  uint64_t count = 0;
  while (stack != nullptr) {
    const uintptr_t link = stack->link_;
    if ((link & MailboxNode::kLaneBit) != 0) [[unlikely]] {
      DistributeLanes(stack, ordinary, ordinary != nullptr ? newest : nullptr, count, owner);
      return;
    }
    stack->link_ = reinterpret_cast<uintptr_t>(ordinary);  // lane bit 0: ordinary
    ordinary = stack;
    stack = reinterpret_cast<MailboxNode*>(link);
    ++count;
  }
  SetOwnerWord(owner, count);
  ordinary_.AppendChain(ordinary, newest);
}

void MailboxCaches::DistributeLanes(MailboxNode* stack, MailboxNode* ordinary_head,
                                    MailboxNode* ordinary_tail, uint64_t count, uint64_t owner) {
  // As Distribute(), with a batch per lane; the lane bit is the index, and a
  // node's link is rewritten with its own lane.
  static_assert(static_cast<int>(MailboxNode::Lane::kSystem) == 1);
  MailboxNode* heads[2] = {ordinary_head, nullptr};
  MailboxNode* tails[2] = {ordinary_tail, nullptr};
  while (stack != nullptr) {
    const uintptr_t link = stack->link_;
    const uintptr_t lane = link & MailboxNode::kLaneBit;
    if (heads[lane] == nullptr) tails[lane] = stack;
    stack->link_ = reinterpret_cast<uintptr_t>(heads[lane]) | lane;
    heads[lane] = stack;
    stack = reinterpret_cast<MailboxNode*>(link & ~MailboxNode::kLaneBit);
    ++count;
  }
  SetOwnerWord(owner, count);
  if (heads[0] != nullptr) ordinary_.AppendChain(heads[0], tails[0]);
  if (heads[1] != nullptr) system_.AppendChain(heads[1], tails[1]);
}

bool MailboxCaches::TakeSlow(MailboxStack& stack, uintptr_t head, uint32_t* peak) {
  const uint64_t owner = fetched_.load(std::memory_order_relaxed);
  if ((owner & kBoundedBit) == 0) [[likely]] {
    // Unbounded: the bound counts the stack alone; base stays 0. (B)
    head = stack.head_.exchange(0, std::memory_order_acquire);
    Distribute(reinterpret_cast<MailboxNode*>(head & Word::kAddressMask), owner);
    return true;
  }
  const uint64_t base = BaseOf(owner);
  const uint64_t cached = CachedOf(owner);
  uintptr_t bound;
  do {
    // Only the owner replaces a node with a tag or takes the stack, and the
    // owner is us: a failed CAS means more was pushed.
    TROUPE_DCHECK(Word::NodeOf(head) != nullptr, "Mailbox::Take() lost its stack");
    // Unsaturated, the bound less base counts the stack, so the depth after
    // the take is exact; saturated, kMaxCount is still a bound. (base is
    // kMaxCount only while the bound is.)
    bound = Word::BoundOf(head) != kMaxCount
                ? std::min<uint64_t>(cached + Word::BoundOf(head) - base, kMaxCount)
                : kMaxCount;
    // (B) acquire on success; relaxed on failure (we retry with the new head).
  } while (!stack.head_.compare_exchange_weak(
      head, bound << Word::kCountShift, std::memory_order_acquire, std::memory_order_relaxed));
  RaisePeak(peak, head);
  Distribute(reinterpret_cast<MailboxNode*>(head & Word::kAddressMask), WithBase(owner, bound));
  if (Word::BoundOf(head) == kMaxCount) Resync(stack);
  return true;
}

uintptr_t MailboxCaches::Gather(MailboxStack& stack, uintptr_t head) const {
  using mailbox_internal::kGatherPauses;
  using mailbox_internal::kGatherTarget;
  // `base` is the bound the owner's last CAS left (0 unbounded), so the
  // bound less base counts the stack; saturated, there is plenty.
  const uint64_t base = BaseOf(fetched_.load(std::memory_order_relaxed));
  if (base == kMaxCount) return head;
  const uint64_t stacked = Word::BoundOf(head) - base;
  // A lone message (a ping-pong's) is no stream; a full batch needs no wait.
  if (stacked < 2 || stacked >= kGatherTarget) return head;
  for (uint64_t i = 0; i < kGatherPauses; ++i) CpuRelax();
  const uintptr_t again = stack.head_.load(std::memory_order_relaxed);
  const uint64_t pauses = mailbox_internal::GatherPauses(stacked, Word::BoundOf(again) - base);
  for (uint64_t i = 0; i < pauses; ++i) CpuRelax();
  return again;
}

bool MailboxCaches::TryBlockBounded(MailboxStack& stack, uintptr_t head) {
  const uint64_t owner = fetched_.load(std::memory_order_relaxed);
  // Not the bound the owner's last CAS left: something was pushed since.
  if (Word::BoundOf(head) != BaseOf(owner)) return false;
  // Word::kBlocked's bound is 0, and so must base be for the next run. Written
  // before the CAS: once idle, the mailbox is the next run's (on any
  // thread), and the cell may even be freed; (C) publishes the store.
  SetOwnerWord(WithBase(owner, 0));
  if (stack.head_.compare_exchange_strong(head, Word::kBlocked, std::memory_order_release,
                                          std::memory_order_relaxed)) {
    return true;
  }
  SetOwnerWord(owner);  // still running: base as it was
  return false;
}

void MailboxCaches::Resync(MailboxStack& stack) {
  // Acquire, also on failure: the walk reads the stacked nodes' links.
  uintptr_t head = stack.head_.load(std::memory_order_acquire);
  while (true) {
    const uint64_t owner = fetched_.load(std::memory_order_relaxed);
    uint64_t depth = CachedOf(owner);
    for (const MailboxNode* node = Word::NodeOf(head); node != nullptr && depth < kMaxCount;
         node = node->next()) {
      ++depth;
    }
    if (depth >= kMaxCount) return;  // still saturated: base stays kMaxCount
    if (stack.head_.compare_exchange_weak(
            head, (head & Word::kAddressMask) | (depth << Word::kCountShift),
            std::memory_order_acquire, std::memory_order_acquire)) {
      SetOwnerWord(WithBase(owner, CachedOf(owner)));  // the stack stays in place
      return;
    }
  }
}

void MailboxCaches::Refresh(MailboxStack& stack, uint32_t* peak) {
  const uint64_t owner = fetched_.load(std::memory_order_relaxed);
  if ((owner & kBoundedBit) == 0) return;  // nothing to refresh
  const uint64_t base = BaseOf(owner);
  const uint64_t cached = CachedOf(owner);
  if (base == kMaxCount) {
    // Saturated at the last take: take what is stacked (which resyncs), or
    // resync now if nothing is.
    // (The take that saturated it raised the peak to 65535 already.)
    if (!Take(stack, peak)) Resync(stack);
    return;
  }
  if (cached == base) return;  // nothing popped since the owner's last CAS
  uintptr_t head = stack.head_.load(std::memory_order_relaxed);
  do {
    if (Word::BoundOf(head) == kMaxCount) return;
    // Relaxed: the bound publishes nothing, and the stack stays in place.
  } while (!stack.head_.compare_exchange_weak(
      head,
      (head & Word::kAddressMask) | ((cached + Word::BoundOf(head) - base) << Word::kCountShift),
      std::memory_order_relaxed, std::memory_order_relaxed));
  RaisePeak(peak, head);
  SetOwnerWord(WithBase(owner, cached));
}

size_t MailboxCaches::PopBatch(MailboxStack& stack, MailboxNode** out, size_t max) {
  if (HasCached()) {
    Take(stack);
  } else {
    TakeGathering(stack, nullptr);
  }
  size_t n = system_.PopFront(out, max);
  n += ordinary_.PopFront(out + n, max - n);
  CountOwner(popped_, n);
  return n;
}

void MailboxCaches::ForEachQueued(const MailboxStack& stack,
                                  absl::FunctionRef<void(const MailboxNode&)> fn) const {
  // The stack holds the newest arrivals, newest first: reverse them.
  std::vector<const MailboxNode*> arrivals;
  for (const MailboxNode* node = Word::NodeOf(stack.head_.load(std::memory_order_acquire));
       node != nullptr; node = node->next()) {
    arrivals.push_back(node);
  }
  std::reverse(arrivals.begin(), arrivals.end());
  for (const MailboxNode* node = system_.front(); node != nullptr; node = node->next()) fn(*node);
  for (const MailboxNode* node : arrivals) {
    if (node->lane() == MailboxNode::Lane::kSystem) fn(*node);
  }
  for (const MailboxNode* node = ordinary_.front(); node != nullptr; node = node->next()) fn(*node);
  for (const MailboxNode* node : arrivals) {
    if (node->lane() == MailboxNode::Lane::kOrdinary) fn(*node);
  }
}

MailboxNodeList MailboxCaches::Close(MailboxStack& stack) {
  const uintptr_t head = stack.head_.exchange(Word::kClosed, std::memory_order_acq_rel);  // (D)
  // The last arrivals, in order; Word::kClosed's bound is 0, and so is base.
  const uint64_t owner = WithBase(fetched_.load(std::memory_order_relaxed), 0);
  if (MailboxNode* last = Word::NodeOf(head)) {
    Distribute(last, owner);
  } else {
    SetOwnerWord(owner);
  }
  MailboxNodeList all;
  all.Append(std::move(system_));
  all.Append(std::move(ordinary_));
  // Everything is handed out: popped catches up with fetched.
  const uint64_t popped = popped_.load(std::memory_order_relaxed);
  popped_.store(popped + CachedOf(fetched_.load(std::memory_order_relaxed)),
                std::memory_order_relaxed);
  return all;
}

}  // namespace troupe
