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
// TaskWaker, and Unpark() resumes the task instead of waking a thread. The
// task parks with ParkTask(), the same "sleeping, then look" handshake a
// thread does before its futex wait, so exactly one of the owner (the
// selection came before it parked) and the notifier (after) goes on.
//
// Memory ordering: TrySelect() is seq_cst on success, so a partner's writes
// before it (a rendezvous packet) are visible to the owner that observes the
// selection, and it is ordered before Unpark()'s look at the sleep flag.

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

// How a task is resumed when a context it parked on is selected.
class TaskWaker {
 public:
  // Called once, by the notifier that won the park handshake.
  virtual void Wake() noexcept = 0;

 protected:
  ~TaskWaker() = default;
};

class Context {
 public:
  // Context::Current()
  //
  // The calling thread's context, reset and ready to register. Shared: a
  // notifier holds it while it wakes the owner, which may meanwhile return
  // and even end its thread.
  static std::shared_ptr<Context> Current();

  // TrySelect(): any thread. Picks `token` if nothing was picked yet.
  bool TrySelect(OperationToken token) {
    OperationToken expected = kWaiting;
    // seq_cst: ordered before Unpark()'s look at sleeping_ (see there).
    return selected_.compare_exchange_strong(expected, token, std::memory_order_seq_cst,
                                             std::memory_order_acquire);
  }
  OperationToken selected() const { return selected_.load(std::memory_order_acquire); }

  // Unpark(): any thread, after a successful TrySelect(). Wakes the owner if
  // it sleeps; costs no system call while the owner is still spinning. A
  // parked task is woken through its TaskWaker.
  void Unpark();

  // ParkTask(): a task's owner, in await_suspend, after registering. True:
  // the task suspends, and the notifier will wake it. False: the context
  // was selected already and nobody will: the task goes on at once. Once
  // the flag is up the task may be resumed elsewhere and its frame move
  // on: the caller holds a reference to this context of its own across the
  // call.
  bool ParkTask() {
    sleeping_.store(1, std::memory_order_seq_cst);
    if (selected_.load(std::memory_order_seq_cst) == kWaiting) return true;
    // Selected meanwhile: whoever takes the flag back first goes on.
    return sleeping_.exchange(0, std::memory_order_seq_cst) == 0;
  }

  // WaitUntil(): owner only. Sleeps until selected or until `deadline`, when
  // it selects kAborted itself (unless someone won first). Returns the winner.
  OperationToken WaitUntil(absl::Time deadline);

  std::thread::id thread_id() const { return thread_id_; }

  Context() : thread_id_(std::this_thread::get_id()) {}
  // A task's context: no thread (TrySelectOther never takes it for its
  // own), woken through `waker`, which must live until it is woken or the
  // task goes on without suspending.
  explicit Context(TaskWaker* waker) : task_waker_(waker) {}

 private:
  void Reset();

  std::atomic<OperationToken> selected_{kWaiting};
  // The futex word: 1 while the owner sleeps (or is about to). The owner
  // does "sleeping_ = 1; look at selected_; sleep", a notifier "select;
  // exchange sleeping_ to 0, wake if it was 1": all seq_cst, so either the
  // owner sees the selection or the notifier sees the sleeper.
  std::atomic<uint32_t> sleeping_{0};
  const std::thread::id thread_id_;
  TaskWaker* const task_waker_ = nullptr;
};

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_CONTEXT_H_
