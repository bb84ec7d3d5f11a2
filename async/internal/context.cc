#include "async/internal/context.h"

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <thread>

#include "absl/base/attributes.h"
#include "async/internal/trampoline.h"
#include "base/check.h"
#include "threads/internal/futex.h"

namespace troupe::async_internal {
namespace {

// -- Hand-offs run inline ------------------------------------------------------
//
// Whoever ends a task's wait is usually a task of the same pool about to
// wait or return itself (two tasks passing values over a channel). Rather
// than pass the resumption through the pool (ExecuteNext: a closure in the
// worker's LIFO slot, taken back out by the worker loop), the thread keeps
// it here and runs it itself once the current step is over: the same order
// and the same core as the LIFO slot, without the pool's bookkeeping (bench
// K4). Only while this thread runs a resumption of that executor, and only
// for an executor whose threads may run any of its tasks
// (Executor::runs_hand_offs_inline()).
//
// The LIFO slot's two guarantees hold here too. A chain of hand-offs cannot
// hold the thread forever: after kMaxInlineChain in a row the next goes
// through ExecuteNext(), whose own chain limit then applies. And a step that
// blocks the thread (FutexWait) first gives the hand-off to the executor,
// through the thread's BeforeSleep hook: what it waits for may be that very
// task. The hook is installed once for the whole of RunServing(), not per
// hand-off: a hand-off then costs three stores, and a sleep with none
// waiting one look more. Everything here is thread-local: no ordering is
// needed.

constexpr int kMaxInlineChain = 16;

struct HandOff {
  Executor* serving;             // whose resumption this thread runs, if it opted in
  TaskContext* context;          // the hand-off waiting to run: its strand...
  std::coroutine_handle<> next;  // ...and where it resumes
  int chain;                     // hand-offs run inline in this resumption
  threads_internal::BeforeSleep outer_before_sleep;  // the thread's own hook
};
thread_local constinit HandOff tls_hand_off{};

// Passes the waiting hand-off, if any, to its executor.
void GiveBackHandOff(HandOff& hand_off) {
  if (!hand_off.next) return;
  TaskContext* const context = std::exchange(hand_off.context, nullptr);
  context->executor()->ExecuteNext(ResumeClosure(context, std::exchange(hand_off.next, nullptr)));
}

// The BeforeSleep hook while this thread serves an executor: give the
// waiting hand-off back, then do what the thread would have done (a pool
// worker hands over its LIFO slot, where the hand-off now is, to the other
// workers).
void GiveBackBeforeSleep(void* /*unused*/) {
  HandOff& hand_off = tls_hand_off;
  GiveBackHandOff(hand_off);
  const threads_internal::BeforeSleep outer = hand_off.outer_before_sleep;
  if (outer.fn != nullptr) outer.fn(outer.arg);
}

// Takes the waiting hand-off to run it here.
std::coroutine_handle<> TakeHandOff() {
  HandOff& hand_off = tls_hand_off;
  hand_off.context = nullptr;
  return std::exchange(hand_off.next, nullptr);
}

// Runs `first`, a resumption of `executor`'s, then each hand-off it and its
// successors leave behind, in one trampoline loop.
void RunServing(Executor* executor, std::coroutine_handle<> first) {
  HandOff& hand_off = tls_hand_off;
  // Nested: this thread runs a resumption from inside another one's step (a
  // worker helping its pool while it waits). The outer step's hand-off runs
  // where the executor puts it, not behind this one's chain; the hook the
  // outer RunServing installed stays (it chains to the thread's own).
  GiveBackHandOff(hand_off);
  Executor* const outer_serving = hand_off.serving;
  const int outer_chain = hand_off.chain;
  threads_internal::BeforeSleep& before_sleep = threads_internal::CurrentBeforeSleep();
  const bool installs_hook = before_sleep.fn != &GiveBackBeforeSleep;
  if (installs_hook) {
    hand_off.outer_before_sleep = before_sleep;
    before_sleep = {&GiveBackBeforeSleep, nullptr};
  }
  hand_off.serving = executor;
  hand_off.chain = 0;
  RunTrampoline(first, &TakeHandOff);
  hand_off.serving = outer_serving;
  hand_off.chain = outer_chain;
  if (installs_hook) before_sleep = hand_off.outer_before_sleep;
}

}  // namespace

bool TaskContext::TryHandOffInline(std::coroutine_handle<> handle) {
  HandOff& hand_off = tls_hand_off;
  // serving is null outside RunServing(), and never a strand that posts its
  // resumptions (an actor's: it does not run hand-offs inline).
  if (hand_off.serving == nullptr || hand_off.serving != executor() || posts_resumptions() ||
      hand_off.next || hand_off.chain >= kMaxInlineChain) {
    return false;
  }
  ++hand_off.chain;
  hand_off.context = this;
  hand_off.next = handle;
  return true;
}

void TaskContext::Resume(std::coroutine_handle<> handle) {
  if (!TryHandOffInline(handle)) ResumeElsewhere(handle);
}

ABSL_ATTRIBUTE_NOINLINE void TaskContext::ResumeElsewhere(std::coroutine_handle<> handle) {
  Executor* const executor = this->executor();
  if (executor == nullptr) {
    Transfer(handle);
  } else if (posts_resumptions()) {
    PostResume(ResumeClosure(this, handle));
  } else {
    // Whoever ended the wait is about to wait or return itself: the
    // resumption runs next on its thread (a pool's LIFO slot), not on
    // another core.
    executor->ExecuteNext(ResumeClosure(this, handle));
  }
}

void TaskContext::PostResume(ResumeClosure&& resume) { executor()->ExecuteNext(std::move(resume)); }

void TaskContext::Defer(std::coroutine_handle<> handle) {
  Executor* const executor = this->executor();
  if (executor == nullptr) {
    Transfer(handle);  // behind whatever this thread's trampoline has queued
  } else {
    executor->Defer(ResumeClosure(this, handle));
  }
}

Clock& TaskContext::clock() const { return DefaultClock(); }

void TaskContext::Cancel() {
  // A strand without an executor is resumed inline; so may be the children
  // a fan-out's CancelWait() cancels. Those resumptions run once this
  // returns (busy cleared), never inside it: a strand resumed inside it
  // could reach its own Unregister() and wait for kBusy forever.
  DeferTransfers defer;
  uintptr_t current = slot_.load(std::memory_order_acquire);
  for (;;) {
    if (current & kCancelled) return;
    if (current == 0) {
      // No wait in progress: mark it, and the next Register() fails.
      if (slot_.compare_exchange_weak(current, kCancelled, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return;
      }
      continue;
    }
    // A wait is registered: take it, marked busy so that Unregister() waits
    // until CancelWait() has returned (the canceller lives in the waiting
    // frame, which may be about to end). acquire: the canceller's fields,
    // written before Register()'s release, are visible.
    if (slot_.compare_exchange_weak(current, kCancelled | kBusy, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      std::coroutine_handle<> resume = reinterpret_cast<Canceller*>(current)->CancelWait();
      // release: what CancelWait() did happens-before the strand's
      // Unregister() returning.
      slot_.store(kCancelled, std::memory_order_release);
      // The canceller claimed the wait, so nothing else resumes the strand
      // and it cannot end before this resumption: `this` is still alive.
      if (resume) Resume(resume);
      return;
    }
  }
}

void TaskContext::WaitWhileBusy() const {
  // Bounded: Cancel() holds kBusy only across one short CancelWait().
  while (slot_.load(std::memory_order_acquire) & kBusy) std::this_thread::yield();
}

void TaskContext::SealCancellation() {
  uintptr_t current = slot_.load(std::memory_order_acquire);
  for (;;) {
    if (current & kBusy) {
      WaitWhileBusy();
      current = slot_.load(std::memory_order_acquire);
      continue;
    }
    if (current == kCancelled) return;
    if (slot_.compare_exchange_weak(current, kCancelled, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return;
    }
  }
}

void TaskContext::RootEnded(std::coroutine_handle<> /*root*/) noexcept {
  TROUPE_CHECK(false, "a task awaited by nobody ended in a strand not started with it");
}

void TaskContext::Abandon() noexcept {
  TROUPE_CHECK(false, "a strand without an executor was abandoned");
}

void ResumeClosure::operator()() && {
  // A loop of its own, even where one runs already: a worker that waits
  // inside a coroutine (a TaskScope's destructor, Future::Wait) runs pool
  // tasks meanwhile, and this one must run now, not queue behind the
  // waiting coroutine. exchange: the destructor must not abandon a strand
  // that ran.
  Executor* const executor = context_->executor();
  if (executor != nullptr && executor->runs_hand_offs_inline()) {
    RunServing(executor, std::exchange(handle_, nullptr));
  } else {
    RunTrampoline(std::exchange(handle_, nullptr));
  }
}

}  // namespace troupe::async_internal
