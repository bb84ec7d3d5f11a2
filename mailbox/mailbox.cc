#include "mailbox/mailbox.h"

#include <algorithm>
#include <vector>

#include "base/check.h"

namespace troupe {

std::string_view PushResultName(PushResult result) {
  switch (result) {
    case PushResult::kPushed:
      return "pushed";
    case PushResult::kWokeOwner:
      return "woke owner";
    case PushResult::kClosed:
      return "closed";
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

Mailbox::Mailbox(InitialState state) : head_(state == InitialState::kIdle ? kBlocked : 0) {}

size_t Mailbox::ApproximateSize() const {
  const uintptr_t head = head_.load(std::memory_order_relaxed);
  // Relaxed: a snapshot for stats. The owner keeps popped <= fetched, but
  // two relaxed loads may see them out of step, hence the guard.
  const uint64_t popped = popped_.load(std::memory_order_relaxed);
  const uint64_t fetched = fetched_.load(std::memory_order_relaxed);
  return static_cast<size_t>(CountOf(head) + (fetched >= popped ? fetched - popped : 0));
}

void Mailbox::Distribute(MailboxNode* stack) {
  // One message, the common case of a woken actor: cheaper than the loop
  // below by 3 instructions a message on A1 (callgrind).
  if (stack->next() == nullptr) {
    (stack->lane() == MailboxNode::Lane::kSystem ? system_ : ordinary_).PushBack(stack);
    CountOwner(fetched_);
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
      DistributeLanes(stack, ordinary, ordinary != nullptr ? newest : nullptr, count);
      return;
    }
    stack->link_ = reinterpret_cast<uintptr_t>(ordinary);  // lane bit 0: ordinary
    ordinary = stack;
    stack = reinterpret_cast<MailboxNode*>(link);
    ++count;
  }
  CountOwner(fetched_, count);
  ordinary_.AppendChain(ordinary, newest);
}

void Mailbox::DistributeLanes(MailboxNode* stack, MailboxNode* ordinary_head,
                              MailboxNode* ordinary_tail, uint64_t count) {
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
  CountOwner(fetched_, count);
  if (heads[0] != nullptr) ordinary_.AppendChain(heads[0], tails[0]);
  if (heads[1] != nullptr) system_.AppendChain(heads[1], tails[1]);
}

bool Mailbox::TakeSlow() {
  const uintptr_t head = head_.exchange(0, std::memory_order_acquire);  // (B)
  if (head == 0 || IsTag(head)) {
    // Only the owner replaces a node with a tag, and the owner is us.
    TROUPE_DCHECK(head == 0, "Mailbox::Take() found a tag it did not set");
    return false;
  }
  Distribute(NodeOf(head));
  return true;
}

size_t Mailbox::PopBatch(MailboxNode** out, size_t max) {
  Take();
  size_t n = system_.PopFront(out, max);
  n += ordinary_.PopFront(out + n, max - n);
  CountOwner(popped_, n);
  return n;
}

void Mailbox::ForEachQueued(absl::FunctionRef<void(const MailboxNode&)> fn) const {
  // The stack holds the newest arrivals, newest first: reverse them.
  std::vector<const MailboxNode*> arrivals;
  for (const MailboxNode* node = NodeOf(head_.load(std::memory_order_acquire)); node != nullptr;
       node = node->next()) {
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

MailboxNodeList Mailbox::Close() {
  const uintptr_t head = head_.exchange(kClosed, std::memory_order_acq_rel);  // (D)
  if (MailboxNode* stack = NodeOf(head)) Distribute(stack);  // the last arrivals, in order
  MailboxNodeList all;
  all.Append(std::move(system_));
  all.Append(std::move(ordinary_));
  popped_.store(fetched_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  return all;
}

}  // namespace troupe
