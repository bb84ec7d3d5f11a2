// -----------------------------------------------------------------------------
// File: sleep.h
// -----------------------------------------------------------------------------
//
// `Sleep()` and `SleepUntil()`: suspend a task for a while without holding a
// thread, on the clock of its strand (the DefaultClock, or the one given to
// Go/BlockOn/TaskScope: the test kit's virtual clock fires them in
// AdvanceTime()). `Yield()`: let other work run first.
//
//   troupe::Task<absl::Status> Poll(Source& source) {
//     for (;;) {
//       if (source.Ready()) co_return absl::OkStatus();
//       if (absl::Status s = co_await troupe::Sleep(absl::Milliseconds(10)); !s.ok()) {
//         co_return s;                              // cancelled
//       }
//     }
//   }
//
// Each returns an absl::Status: OK when the time has come, kCancelled if
// the task was cancelled (before or during the sleep) or its clock shut
// down. A cancelled sleep is taken off the clock.
//
// Yield() resumes the task behind the work already queued on its executor
// (ThreadPool::Defer) — or, in a BlockOn strand, behind the other
// coroutines queued on this thread. A long computation in a task yields
// now and then so that other tasks on the same workers get their turn.

#ifndef TROUPE_ASYNC_SLEEP_H_
#define TROUPE_ASYNC_SLEEP_H_

#include <atomic>
#include <coroutine>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "async/internal/context.h"
#include "async/internal/leaf_wait.h"
#include "async/task.h"
#include "threads/clock.h"

namespace troupe {
namespace async_internal {

// A sleep's wait lives apart from the sleeping frame, shared with the
// clock's callback: a clock cannot take back a callback that has started,
// so the callback may still run (and lose its claim) after the task moved
// on. A reference for the awaiter, and one for the callback once it exists.
class SleepWait final : public LeafWait {
 public:
  static void* operator new(size_t size) { return AllocateFrame(size); }
  static void operator delete(void* wait, size_t size) noexcept { FreeFrame(wait, size); }

  void Ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }  // by an owner
  void Unref() noexcept {
    // acq_rel: the last owner sees the other's writes before freeing.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  TimerId timer = 0;  // written while arming, read in await_resume

 private:
  std::atomic<int> refs_{1};
};

// The clock's callback. Run: the sleep ends. Destroyed unrun (cancelled,
// or the clock shut down): the sleep ends as cancelled, if nothing ended it.
class SleepTimer {
 public:
  explicit SleepTimer(SleepWait* wait) : wait_(wait) {}
  SleepTimer(SleepTimer&& other) noexcept : wait_(std::exchange(other.wait_, nullptr)) {}
  SleepTimer& operator=(SleepTimer&&) = delete;
  ~SleepTimer() {
    if (wait_) End(wait_->Abort());
  }
  void operator()() && { End(wait_->Complete()); }

 private:
  void End(Claim claim) noexcept {
    SleepWait* wait = std::exchange(wait_, nullptr);
    if (claim == Claim::kResume) wait->context()->Resume(wait->handle());
    wait->Unref();
  }

  SleepWait* wait_;
};

class SleepAwaiter {
 public:
  SleepAwaiter(absl::Time deadline, absl::Duration duration, bool relative)
      : deadline_(deadline), duration_(duration), relative_(relative) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  // Also when the frame is destroyed without resuming (an abandoned strand).
  ~SleepAwaiter() {
    if (wait_ != nullptr) wait_->Unref();
  }

  bool await_ready() const noexcept { return false; }

  template <TaskPromise Promise>
  bool await_suspend(std::coroutine_handle<Promise> awaiting) {
    TaskContext* context = awaiting.promise().context();
    clock_ = &context->clock();
    if (relative_) deadline_ = clock_->Now() + duration_;
    if (deadline_ <= clock_->Now()) {
      cancelled_ = context->cancel_requested();
      return false;
    }
    wait_ = new SleepWait;
    return wait_->Suspend(context, awaiting, [&] {
      wait_->Ref();  // the callback's
      wait_->timer = clock_->ScheduleAt(deadline_, SleepTimer(wait_));
    });
  }

  absl::Status await_resume() {
    if (wait_ != nullptr) {
      cancelled_ = wait_->Finish();
      // A cancelled sleep leaves the clock. If the callback has started it
      // lost its claim and only drops its reference.
      if (cancelled_ && wait_->timer != 0) clock_->Cancel(wait_->timer);
    }
    if (cancelled_) {
      return absl::CancelledError(
          "a sleep ended early: the task was cancelled or its clock shut down");
    }
    return absl::OkStatus();
  }

 private:
  absl::Time deadline_;
  absl::Duration duration_;
  bool relative_;
  Clock* clock_ = nullptr;
  SleepWait* wait_ = nullptr;
  bool cancelled_ = false;
};

class YieldAwaiter {
 public:
  bool await_ready() const noexcept { return false; }

  template <TaskPromise Promise>
  void await_suspend(std::coroutine_handle<Promise> awaiting) {
    context_ = awaiting.promise().context();
    // The task may run again at once on another worker: nothing after this.
    context_->Defer(awaiting);
  }

  absl::Status await_resume() const {
    if (context_->cancel_requested()) return absl::CancelledError("the task was cancelled");
    return absl::OkStatus();
  }

 private:
  TaskContext* context_ = nullptr;
};

}  // namespace async_internal

// Sleep()
//
// `co_await Sleep(d)`: resumes once `d` has passed on the strand's clock.
inline async_internal::SleepAwaiter Sleep(absl::Duration duration) {
  return async_internal::SleepAwaiter(absl::InfinitePast(), duration, /*relative=*/true);
}

// SleepUntil()
//
// `co_await SleepUntil(t)`: resumes once the strand's clock reads `t`.
inline async_internal::SleepAwaiter SleepUntil(absl::Time deadline) {
  return async_internal::SleepAwaiter(deadline, absl::ZeroDuration(), /*relative=*/false);
}

// Yield()
//
// `co_await Yield()`: lets the work queued ahead run first. kCancelled if
// the task has been cancelled.
inline async_internal::YieldAwaiter Yield() { return {}; }

}  // namespace troupe

#endif  // TROUPE_ASYNC_SLEEP_H_
