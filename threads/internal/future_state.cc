#include "threads/internal/future_state.h"

#include <algorithm>
#include <atomic>

#include "threads/atomics.h"
#include "threads/internal/futex.h"

namespace troupe::threads_internal {

WaitHelper*& CurrentWaitHelper() {
  thread_local WaitHelper* helper = nullptr;
  return helper;
}

namespace {
// Set once at static initialisation; release/acquire so that a thread that
// sees the observer also sees what its installer set up before.
std::atomic<BlockingWaitObserver> blocking_wait_observer{nullptr};
}  // namespace

void SetBlockingWaitObserver(BlockingWaitObserver observer) {
  blocking_wait_observer.store(observer, std::memory_order_release);
}

void NoteBlockingWait(const void* call_site) {
  if (BlockingWaitObserver observer = blocking_wait_observer.load(std::memory_order_acquire)) {
    observer(call_site);
  }
}

void FutureCore::PublishReady() {
  // release: the result written before this call is visible to a waiter's
  // acquire load of ready_.
  if (ready_.exchange(kReady, std::memory_order_release) & kSleeper) {
    FutexWakeAll(&ready_);
  }
}

bool FutureCore::WaitUntil(absl::Time deadline) const {
  if (IsReady()) return true;
  if (blocking_refused_ != nullptr) return false;
  WaitHelper* helper = CurrentWaitHelper();
  Backoff backoff;
  while (!IsReady()) {
    // On a pool worker: make progress on other tasks (maybe the one we wait for).
    if (helper != nullptr && helper->RunOneTask()) {
      backoff.Reset();
      continue;
    }
    if (!backoff.ShouldPark()) {
      backoff.Snooze();
      continue;
    }
    if (absl::Now() >= deadline) return IsReady();
    // Announce a sleeper so PublishReady() makes the futex call.
    uint32_t expected = 0;
    ready_.compare_exchange_strong(expected, kSleeper, std::memory_order_acquire,
                                   std::memory_order_acquire);
    if (expected & kReady) return true;
    // A worker sleeps in short slices: new tasks it could help with may
    // arrive without anyone waking this futex.
    const absl::Time until =
        helper != nullptr ? std::min(deadline, absl::Now() + absl::Milliseconds(1)) : deadline;
    FutexWait(&ready_, kSleeper, until);
  }
  return true;
}

}  // namespace troupe::threads_internal
