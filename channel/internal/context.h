// -----------------------------------------------------------------------------
// File: internal/context.h
// -----------------------------------------------------------------------------
//
// `Context`: where a thread blocked in a channel operation (or a select over
// several) waits, and how another thread picks it. One per thread, reused.
//
// A blocked thread registers (context, operation token) pairs on the wakers
// of the channels it waits on, then sleeps. Whoever makes one of those
// operations possible *selects* the context with that operation's token: a
// CAS from kWaiting that only one party can win, so a select fires exactly
// one arm. A timeout selects kAborted the same way, so a late notifier and
// the timeout cannot both win.
//
// The owner is a thread, or a task (async/channel.h): a task's context has a
// TaskWake function, and Unpark() resumes the task instead of waking a thread.
//
// A thread's context (a ThreadContext, which adds what a sleeping thread
// needs) is shared: the notifier holds it while it wakes the owner, which may
// meanwhile return and even end its thread. A task's
// context lives in the waiting frame, which may be destroyed the moment the
// task goes on, so the notifier must know, when it selects, whether it will
// touch the context again. One word says it: a task parks with a CAS of
// `selected_` from kWaiting to kParked (ParkTask), and a notifier selects
// with a CAS from kWaiting or kParked to its token. Exactly one of them
// wins the word first: if the owner parked, the notifier learns so from the
// CAS it won (kMustUnpark) and wakes it, and nothing else touches the frame
// until then; if the notifier selected first, it is told kSelected and
// never touches the context again, and the owner, whose CAS fails, goes on
// by itself. Checked over every interleaving by channel/models/task_park.pml.
//
// Memory ordering: TrySelect() is seq_cst on success, so a partner's writes
// before it (a rendezvous packet) are visible to the owner that observes the
// selection, and it is ordered before Unpark()'s look at a thread's sleep
// flag. ParkTask()'s CAS releases the waiting frame's fields (its waker's
// state) to the notifier's CAS that takes kParked.

#ifndef TROUPE_CHANNEL_INTERNAL_CONTEXT_H_
#define TROUPE_CHANNEL_INTERNAL_CONTEXT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace troupe::channel_internal {

// An operation token: any non-zero value other than the reserved ones below
// (in practice the address of something on the waiting thread's stack).
using OperationToken = uintptr_t;

inline constexpr OperationToken kWaiting = 0;
inline constexpr OperationToken kAborted = 1;       // timed out, or gave up
inline constexpr OperationToken kDisconnected = 2;  // the channel closed

class Context {
 public:
  // What a TrySelect() obliges its caller to do.
  enum Selection : uint8_t {
    kLost = 0,    // someone selected it first: nothing
    kSelected,    // a task that had not parked: it goes on by itself, and
                  // the context (in its frame) must not be touched again
    kMustUnpark,  // a thread, or a parked task: call Unpark() once
  };

  // TrySelect(): any thread, while the context is known to be alive (its
  // entry is in a list the caller holds locked, or its owner waits for the
  // caller). Picks `token` if nothing was picked yet. Converts to false
  // exactly when it lost.
  Selection TrySelect(OperationToken token) {
    // Read before the CAS: once a task's context is selected, its frame may
    // be gone.
    const Selection won = task_wake_ == nullptr ? kMustUnpark : kSelected;
    // One CAS from whichever of kWaiting and kParked the word holds (a
    // parked task is the usual case for a task): a failed CAS reloads it,
    // and the loop ends once someone else's token is there.
    OperationToken current = selected_.load(std::memory_order_relaxed);
    while (current == kWaiting || current == kParked) {
      // seq_cst: ordered before Unpark()'s look at sleeping_ (see there);
      // acquire when it takes kParked: the parked task's fields, released
      // by ParkTask(). relaxed on failure: a loser reads nothing the winner
      // wrote (an owner whose timeout lost reads selected(), acquire).
      if (selected_.compare_exchange_weak(current, token, std::memory_order_seq_cst,
                                          std::memory_order_relaxed)) {
        return current == kParked ? kMustUnpark : won;
      }
    }
    return kLost;
  }
  OperationToken selected() const {
    const OperationToken token = selected_.load(std::memory_order_acquire);
    return token == kParked ? kWaiting : token;
  }

  // Unpark(): any thread, once, after a TrySelect() that returned
  // kMustUnpark. Wakes the owner if it sleeps (costing no system call while
  // a thread is still spinning); a parked task is woken through its
  // TaskWake.
  void Unpark();

  // ParkTask(): a task's owner, in await_suspend, after registering. True:
  // the task suspends, and the notifier that selects the context wakes it;
  // from then on the caller must not touch the waiting frame (it may be
  // resumed elsewhere at once). False: the context was selected already
  // and nobody will wake it: the task goes on at once.
  bool ParkTask() {
    OperationToken expected = kWaiting;
    // release: the frame's fields, for the notifier that takes kParked;
    // acquire (on failure): the selecting partner's writes.
    return selected_.compare_exchange_strong(expected, kParked, std::memory_order_acq_rel,
                                             std::memory_order_acquire);
  }

  // ParkLocked(): a task's owner, instead of ParkTask(), when its context
  // sits in the list of one channel only and the owner holds that
  // channel's lock, before it registers the wait for cancellation (a
  // rendezvous wait, Flavor::TryRecvOrPark). Nothing can select the
  // context meanwhile: a partner or a close needs the lock, a cancellation
  // the registration. So a relaxed store suffices where ParkTask() needs a
  // CAS; the lock's release, and the registration's, publish it.
  // UnparkLocked() undoes it when the registration fails, still under the
  // lock (the task is cancelled and goes on at once).
  void ParkLocked() { selected_.store(kParked, std::memory_order_relaxed); }
  void UnparkLocked() { selected_.store(kWaiting, std::memory_order_relaxed); }

  // Rearm(): a task's owner, after a selection, once the context's entry
  // has left every list (the selecting partner removed it, or the owner
  // unwatched): ready to register and park again. Whoever may still select
  // it concurrently (a cancellation) is the owner's to handle. A relaxed
  // store: the owner orders it before any later cancellation with a
  // read-modify-write on its strand's slot before it parks again
  // (TaskContext::CancelRequestedOnRearm, async/models/buffered_wait.pml).
  void Rearm() { Reset(); }

  // The owner's thread; none for a task (TrySelectOther never takes a
  // task's entry for the caller's own).
  std::thread::id thread_id() const;

  // How a task is resumed when a context it parked on is selected: called
  // once, by the notifier that won the park handshake. A plain function,
  // not an interface, so that the context costs no pointer back to its
  // owner: a task's park derives from its Context and casts back.
  using TaskWake = void (*)(Context* context) noexcept;

  // A task's context, woken through `wake`. It lives in the waiting frame
  // (it is a base of the task's park); the channels' lists refer to it
  // through a non-owning pointer (Unowned()), and its owner removes every
  // entry before the frame ends. Two words: a task suspended on a channel
  // carries one (bench K3).
  explicit Context(TaskWake wake) : task_wake_(wake) {}

  // A task's context as the lists hold contexts: a shared_ptr that owns
  // nothing and counts nothing (the aliasing constructor with an empty
  // owner), so copying it costs no atomic operation.
  std::shared_ptr<Context> Unowned() {
    return std::shared_ptr<Context>(std::shared_ptr<void>(), this);
  }

 private:
  friend class ThreadContext;  // its sleep reads selected_ and resets it

  void Reset();

  // A task parked and waits to be selected; selected() reports it as
  // kWaiting. Never a token (tokens are addresses).
  static constexpr OperationToken kParked = 3;

  std::atomic<OperationToken> selected_{kWaiting};
  const TaskWake task_wake_;  // null: the context is a ThreadContext
};

// A blocked thread's context: one per thread, reused.
class ThreadContext final : public Context {
 public:
  // ThreadContext::Current()
  //
  // The calling thread's context, reset and ready to register. Shared: a
  // notifier holds it while it wakes the owner, which may meanwhile return
  // and even end its thread.
  static std::shared_ptr<ThreadContext> Current();

  ThreadContext() : Context(nullptr), thread_id_(std::this_thread::get_id()) {}

  // WaitUntil(): owner only. Sleeps until selected or until `deadline`, when
  // it selects kAborted itself (unless someone won first). Returns the winner.
  OperationToken WaitUntil(absl::Time deadline);

 private:
  friend class Context;

  // Context::Unpark() for a thread: wakes it if it sleeps.
  void Wake();

  // The futex word: 1 while the owner sleeps (or is about to). The owner
  // does "sleeping_ = 1; look at selected_; sleep", a notifier "select;
  // exchange sleeping_ to 0, wake if it was 1": all seq_cst, so either the
  // owner sees the selection or the notifier sees the sleeper.
  std::atomic<uint32_t> sleeping_{0};
  const std::thread::id thread_id_;
};

inline void Context::Unpark() {
  if (task_wake_ != nullptr) {
    // The task parked (TrySelect said kMustUnpark) and waits for this call:
    // its frame is alive until the wake resumes it.
    task_wake_(this);
  } else {
    static_cast<ThreadContext*>(this)->Wake();
  }
}

inline std::thread::id Context::thread_id() const {
  if (task_wake_ != nullptr) return std::thread::id();
  return static_cast<const ThreadContext*>(this)->thread_id_;
}

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_CONTEXT_H_
