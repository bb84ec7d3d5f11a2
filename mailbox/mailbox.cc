#include "mailbox/mailbox.h"

#include "base/check.h"

namespace troupe {

MailboxNodeList& MailboxNodeList::operator=(MailboxNodeList&& other) noexcept {
  if (this != &other) {
    head_ = other.head_;
    tail_ = other.tail_;
    size_ = other.size_;
    other.head_ = other.tail_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void MailboxNodeList::PushBack(MailboxNode* node) {
  node->next = nullptr;
  if (tail_ == nullptr) {
    head_ = tail_ = node;
  } else {
    tail_->next = node;
    tail_ = node;
  }
  ++size_;
}

void MailboxNodeList::Append(MailboxNodeList&& other) {
  if (other.empty()) return;
  if (tail_ == nullptr) {
    head_ = other.head_;
  } else {
    tail_->next = other.head_;
  }
  tail_ = other.tail_;
  size_ += other.size_;
  other.head_ = other.tail_ = nullptr;
  other.size_ = 0;
}

void MailboxNodeList::AppendChain(MailboxNode* head, MailboxNode* tail, size_t count) {
  if (tail_ == nullptr) {
    head_ = head;
  } else {
    tail_->next = head;
  }
  tail_ = tail;
  size_ += count;
}

MailboxNode* MailboxNodeList::PopFront() {
  MailboxNode* node = head_;
  if (node == nullptr) return nullptr;
  head_ = node->next;
  if (head_ == nullptr) tail_ = nullptr;
  node->next = nullptr;
  --size_;
  return node;
}

Mailbox::Mailbox(InitialState state) : head_(state == InitialState::kIdle ? Blocked() : nullptr) {}

PushResult Mailbox::Push(MailboxNode* node) {
  MailboxNode* head = head_.load(std::memory_order_relaxed);
  while (true) {
    if (head == Closed()) return PushResult::kClosed;
    node->next = head == Blocked() ? nullptr : head;
    // (A) acq_rel on success, relaxed on failure (we retry with the new head).
    if (head_.compare_exchange_weak(head, node, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      return head == Blocked() ? PushResult::kWokeOwner : PushResult::kPushed;
    }
  }
}

void Mailbox::Distribute(MailboxNode* stack) {
  // One pass over the stack (newest first): pushing each node onto the front
  // of its lane's batch both reverses it into arrival order and splits the
  // lanes. The first node seen is the newest, so it ends each batch.
  MailboxNode* heads[2] = {nullptr, nullptr};
  MailboxNode* tails[2] = {nullptr, nullptr};
  size_t counts[2] = {0, 0};
  while (stack != nullptr) {
    MailboxNode* next = stack->next;
    const int lane = stack->lane == MailboxNode::Lane::kSystem ? 1 : 0;
    if (heads[lane] == nullptr) tails[lane] = stack;
    stack->next = heads[lane];
    heads[lane] = stack;
    ++counts[lane];
    stack = next;
  }
  if (heads[0] != nullptr) ordinary_.AppendChain(heads[0], tails[0], counts[0]);
  if (heads[1] != nullptr) system_.AppendChain(heads[1], tails[1], counts[1]);
}

bool Mailbox::Take() {
  // Cheap look first: an exchange on an empty stack would still take the line
  // away from the producers.
  MailboxNode* head = head_.load(std::memory_order_relaxed);
  if (head == nullptr || IsTag(head)) return false;
  head = head_.exchange(nullptr, std::memory_order_acquire);  // (B)
  if (head == nullptr || IsTag(head)) {
    // Only the owner replaces a node with a tag, and the owner is us.
    TROUPE_DCHECK(head == nullptr, "Mailbox::Take() found a tag it did not set");
    return false;
  }
  Distribute(head);
  return true;
}

MailboxNode* Mailbox::Pop() {
  if (!system_.empty()) return system_.PopFront();
  if (ordinary_.empty()) Take();
  if (!system_.empty()) return system_.PopFront();
  return ordinary_.PopFront();
}

size_t Mailbox::PopBatch(MailboxNode** out, size_t max) {
  Take();
  size_t n = 0;
  while (n < max) {
    MailboxNode* node = system_.empty() ? ordinary_.PopFront() : system_.PopFront();
    if (node == nullptr) break;
    out[n++] = node;
  }
  return n;
}

bool Mailbox::TryBlock() {
  if (HasCached()) return false;
  MailboxNode* expected = nullptr;
  // (C) release: this run's writes reach whoever wakes us (A, acquire).
  return head_.compare_exchange_strong(expected, Blocked(), std::memory_order_release,
                                       std::memory_order_relaxed);
}

MailboxNodeList Mailbox::Close() {
  MailboxNode* head = head_.exchange(Closed(), std::memory_order_acq_rel);  // (D)
  if (head != nullptr && !IsTag(head)) Distribute(head);  // the last arrivals, in order
  MailboxNodeList all;
  all.Append(std::move(system_));
  all.Append(std::move(ordinary_));
  return all;
}

}  // namespace troupe
