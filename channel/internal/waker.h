// -----------------------------------------------------------------------------
// File: internal/waker.h
// -----------------------------------------------------------------------------
//
// `Waker`: the list of threads blocked on one side of a channel (its senders
// or its receivers), each entry a (Context, token), behind its own lock.
// `WaiterList` is the same list without a lock, for a channel that guards
// all its state with one (the rendezvous flavour); its entries also carry
// the packet a value is handed over through. A channel calls
// Notify() after every operation that may unblock the other side; Notify()
// costs one load when nobody waits.
//
// No lost wake-ups: a waiter does "Register(); re-check the channel; sleep",
// and a notifier "change the channel; Notify()". Register() publishes
// `empty_ = false` seq_cst and Notify() reads it seq_cst after the channel's
// own seq_cst update, so either the notifier sees the waiter, or the waiter's
// re-check sees the change and aborts its wait.

#ifndef TROUPE_CHANNEL_INTERNAL_WAKER_H_
#define TROUPE_CHANNEL_INTERNAL_WAKER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "channel/internal/context.h"
#include "threads/mutex.h"

namespace troupe::channel_internal {

// One side's blocked operations, unsynchronised: the caller holds a lock
// (the Waker's own, or a rendezvous channel's, which guards its whole state).
class WaiterList {
 public:
  struct Entry {
    std::shared_ptr<Context> context;
    OperationToken token;
    void* packet;  // rendezvous only: where the value is exchanged
    // Set by TrySelectOther(): kMustUnpark if the caller must wake the
    // owner (Wake()); kSelected for a task that goes on by itself.
    Context::Selection selection = Context::kLost;

    // Wakes the selected owner if it needs it. After this (and, for a task
    // that had not parked, already after the selection) the context may
    // be gone.
    void Wake() {
      if (selection == Context::kMustUnpark) context->Unpark();
    }
  };

  void Register(std::shared_ptr<Context> context, OperationToken token, void* packet) {
    entries_.push_back(Entry{std::move(context), token, packet});
  }
  void Unregister(OperationToken token);
  // Selects a waiter of another thread with its own token, removes it and
  // returns it (the caller calls its Wake(), having handed a value over if
  // it is a rendezvous).
  std::optional<Entry> TrySelectOther();
  bool HasOtherWaiter() const;
  // Selects every waiter with kDisconnected and wakes it.
  void Disconnect();
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

class Waker {
 public:
  Waker() = default;
  Waker(const Waker&) = delete;
  Waker& operator=(const Waker&) = delete;

  void Register(std::shared_ptr<Context> context, OperationToken token) ABSL_LOCKS_EXCLUDED(mu_);
  void Unregister(OperationToken token) ABSL_LOCKS_EXCLUDED(mu_);

  // Notify(): selects and wakes one waiter, if any.
  void Notify() {
    if (empty_.load(std::memory_order_seq_cst)) return;
    NotifySlow();
  }

  // Disconnect(): the channel closed. Every waiter is selected with
  // kDisconnected and woken (entries stay until their owners unregister).
  void Disconnect() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void NotifySlow() ABSL_LOCKS_EXCLUDED(mu_);
  void UpdateEmpty() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    empty_.store(waiters_.empty(), std::memory_order_seq_cst);
  }

  Mutex mu_;
  WaiterList waiters_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> empty_{true};  // entries_.empty(), written under mu_
};

// BlockOn()
//
// The waiting half of a blocking operation: registers the calling thread on
// `waker`, re-checks `ready()` (so a change that came before the
// registration is not missed), sleeps until selected or the deadline, and
// unregisters if nobody selected it. The caller then retries its operation.
template <typename Ready>
void BlockOn(Waker& waker, OperationToken token, Ready ready, absl::Time deadline) {
  std::shared_ptr<Context> context = Context::Current();
  waker.Register(context, token);
  if (ready()) context->TrySelect(kAborted);
  const OperationToken selected = context->WaitUntil(deadline);
  if (selected == kAborted || selected == kDisconnected) waker.Unregister(token);
}

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_WAKER_H_
