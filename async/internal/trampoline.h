// -----------------------------------------------------------------------------
// File: internal/trampoline.h
// -----------------------------------------------------------------------------
//
// The per-thread trampoline every coroutine transfer in troupe goes through.
//
// C++20's symmetric transfer (await_suspend returning the handle to run
// next) only keeps the stack flat if the compiler turns that resume into a
// tail call, and g++ 12 does so only when optimising: at -O0 a million
// synchronous awaits overflow the stack. So transfers go through this
// thread's trampoline instead: the first transfer on a thread runs a loop; a
// transfer made while the loop runs (from inside a coroutine it resumed)
// only queues the handle and returns, the coroutine making it suspends, and
// the loop resumes the queued handles in order.
//
// Nearly every step queues at most one handle (an await, or the end of a
// task handing back to its awaiter), which takes the inline slot; a step
// that wakes several strands at once (a fan-out ending, a cancellation run
// inline) spills the rest into an overflow queue; `next` is always the
// oldest, so handles run in the order they were queued. Thread-local, so no
// ordering is needed; a handle that moves to another thread is resumed
// there by whoever took it, which starts that thread's own loop.
//
// Not a public header.

#ifndef TROUPE_ASYNC_INTERNAL_TRAMPOLINE_H_
#define TROUPE_ASYNC_INTERNAL_TRAMPOLINE_H_

#include <coroutine>
#include <cstddef>
#include <vector>

#include "absl/base/attributes.h"

namespace troupe::async_internal {

// Handles queued behind `next`, oldest at `head`; a vector, so that a loop
// that never overflows never allocates.
struct Overflow {
  std::vector<std::coroutine_handle<>> handles;
  size_t head = 0;
};

struct Trampoline {
  std::coroutine_handle<> next;
  bool running;
  Overflow* overflow;  // the running loop's
};
inline thread_local constinit Trampoline tls_trampoline{};

// Runs `first`, then whatever each resumed coroutine queued, in a loop of
// its own: a loop already running on this thread (the thread is inside a
// coroutine, and runs this from a blocking wait that helps its pool, as
// Future::Wait does) is set aside and resumes where it was afterwards.
// Executors' resumptions and BlockOn start here.
void RunTrampoline(std::coroutine_handle<> first);

// RunTrampoline(), then, each time the loop runs dry, the handle `then()`
// returns, in the same loop, until it returns null: an executor's
// resumption and the hand-offs that follow it (internal/context.cc) set
// the loop up once.
void RunTrampoline(std::coroutine_handle<> first, std::coroutine_handle<> (*then)());

// Queues `to` behind `next` (the rare case of Transfer).
void QueueOverflow(Trampoline& trampoline, std::coroutine_handle<> to);

// Resumes `to` on this thread: now if no loop runs here, else as a later
// step of the running loop, once the caller has suspended. Always inlined:
// every await and every task's end passes here, and g++ stops inlining it
// in a translation unit that holds many awaiters (bench K0: +6%
// instructions as an out-of-line call).
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Transfer(std::coroutine_handle<> to) {
  Trampoline& trampoline = tls_trampoline;
  if (!trampoline.running) {
    RunTrampoline(to);
  } else if (!trampoline.next) {
    trampoline.next = to;
  } else {
    QueueOverflow(trampoline, to);
  }
}

// Holds back the transfers made on this thread while it lives, running them
// (in order) when it ends — unless a loop runs here already, which will.
// For code outside any coroutine that may resume several strands inline
// (TaskContext::Cancel): they then run after it, not inside it.
class DeferTransfers {
 public:
  DeferTransfers();
  DeferTransfers(const DeferTransfers&) = delete;
  DeferTransfers& operator=(const DeferTransfers&) = delete;
  ~DeferTransfers();

 private:
  const bool owner_;
  Overflow overflow_;
};

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_INTERNAL_TRAMPOLINE_H_
