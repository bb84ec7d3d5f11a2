// -----------------------------------------------------------------------------
// File: internal/waker.h
// -----------------------------------------------------------------------------
//
// `Waker`: the list of threads blocked on one side of a channel (its senders
// or its receivers), each entry a (Context, token), behind its own lock.
// `PacketWaiterList` is such a list without a lock, for a channel that
// guards all its state with one (the rendezvous flavour); its entries also
// carry the packet a value is handed over through. A channel calls
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

#include <algorithm>
#include <atomic>
#include <iterator>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "channel/internal/context.h"
#include "threads/mutex.h"

namespace troupe::channel_internal {

// One blocked operation in a list: whose, and which of its operations. A
// rendezvous's entries also carry the packet the value is handed over
// through. Lean on purpose: a buffered channel's list holds its first
// entry inline (WaiterList, below).
struct Waiter {
  std::shared_ptr<Context> context;
  OperationToken token;
};
struct PacketWaiter {
  std::shared_ptr<Context> context;
  OperationToken token;
  void* packet;  // where the value is exchanged
};

// An entry TrySelectOther() took out of its list, with what the selection
// obliges the caller to do.
template <typename Entry>
struct SelectedWaiter : Entry {
  // kMustUnpark if the caller must wake the owner (Wake()); kSelected for a
  // task that goes on by itself.
  Context::Selection selection;

  // Wakes the selected owner if it needs it. After this (and, for a task
  // that had not parked, already after the selection) the context may be
  // gone.
  void Wake() {
    if (selection == Context::kMustUnpark) this->context->Unpark();
  }
};

// One side's blocked operations, unsynchronised: the caller holds a lock
// (the Waker's own, or a rendezvous channel's, which guards its whole state).
// `Entries` is the sequence that holds them, in the order they came.
template <typename Entry, typename Entries>
class BasicWaiterList {
 public:
  using Selected = SelectedWaiter<Entry>;

  void Register(Entry entry) { entries_.push_back(std::move(entry)); }
  void Unregister(OperationToken token) {
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [token](const Entry& e) { return e.token == token; });
    if (it != entries_.end()) Erase(it);
  }

  // Selects a waiter of another thread with its own token, removes it and
  // returns it (the caller calls its Wake(), having handed a value over if
  // it is a rendezvous).
  std::optional<Selected> TrySelectOther() {
    // Nobody waits: the usual case for whoever is about to wait itself, and
    // not worth the call's frame.
    if (entries_.empty()) return std::nullopt;
    return SelectOtherAmongEntries();
  }

  bool HasOtherWaiter() const {
    const std::thread::id self = std::this_thread::get_id();
    return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
      return e.context->thread_id() != self && e.context->selected() == kWaiting;
    });
  }

  // Selects every waiter with kDisconnected. Returns the contexts the
  // caller must Unpark(), once it has let go of its lock: waking a task can
  // resume it on this very thread (a BlockOn() strand's task runs on the
  // thread that ends its wait), and the task then unregisters, taking that
  // lock.
  [[nodiscard]] std::vector<std::shared_ptr<Context>> Disconnect() {
    std::vector<std::shared_ptr<Context>> to_wake;
    for (const Entry& entry : entries_) {
      if (entry.context->TrySelect(kDisconnected) == Context::kMustUnpark) {
        to_wake.push_back(entry.context);
      }
    }
    return to_wake;
  }

  bool empty() const { return entries_.empty(); }

 private:
  ABSL_ATTRIBUTE_NOINLINE std::optional<Selected> SelectOtherAmongEntries() {
    // Looked up at the first thread's entry: a task's entry (no thread) is
    // never the caller's, and a rendezvous between tasks finds only those.
    std::thread::id self;
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      const std::thread::id owner = it->context->thread_id();
      if (owner != std::thread::id()) {
        if (self == std::thread::id()) self = std::this_thread::get_id();
        if (owner == self) continue;  // a select on both ends
      }
      if (const Context::Selection selection = it->context->TrySelect(it->token)) {
        std::optional<Selected> chosen(Selected{std::move(*it), selection});
        Erase(it);
        return chosen;
      }
    }
    return std::nullopt;
  }

  // The entry is usually the last (a list holds one waiter, mostly): a
  // pop_back then, which costs an inline vector far less than its erase.
  void Erase(typename Entries::iterator it) {
    if (std::next(it) == entries_.end()) {
      entries_.pop_back();
    } else {
      entries_.erase(it);
    }
  }

  Entries entries_;
};

// A buffered channel's list (in its Waker) holds one entry inline: most
// waits on a channel are one party's, and the first wait on a fresh
// channel then allocates nothing (bench K3: a suspended task would
// otherwise pay 32 bytes for its entry). The entry takes room that was
// padding: a Waker still fits its cache line (bounded and unbounded
// channels stay 320 and 256 bytes). The list is touched only when a party
// blocks.
using WaiterList = BasicWaiterList<Waiter, absl::InlinedVector<Waiter, 1>>;
// A rendezvous's lists are on every hand-off's path, where an inline
// vector's erase costs more than a vector's (bench K4: 90 more instructions
// per round trip, callgrind), and would grow the channel by half; a
// vector's one allocation is made once, on the first wait.
using PacketWaiterList = BasicWaiterList<PacketWaiter, std::vector<PacketWaiter>>;

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
  std::shared_ptr<ThreadContext> context = ThreadContext::Current();
  waker.Register(context, token);
  if (ready()) context->TrySelect(kAborted);
  const OperationToken selected = context->WaitUntil(deadline);
  if (selected == kAborted || selected == kDisconnected) waker.Unregister(token);
}

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_WAKER_H_
