// -----------------------------------------------------------------------------
// File: internal/future_state.h
// -----------------------------------------------------------------------------
//
// The state a Promise and its Future share (threads/future.h): the result,
// the ready flag a waiter sleeps on, the one continuation, and the hook that
// lets a waiting pool worker run other tasks. Not a public API.

#ifndef TROUPE_THREADS_INTERNAL_FUTURE_STATE_H_
#define TROUPE_THREADS_INTERNAL_FUTURE_STATE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "threads/result.h"

namespace troupe::threads_internal {

// Lets a blocked Future::Wait() on a pool worker run other tasks. A pool
// worker installs itself for its thread; null elsewhere.
class WaitHelper {
 public:
  virtual ~WaitHelper() = default;
  // Runs one queued task if there is one; returns whether it ran one.
  virtual bool RunOneTask() = 0;
};
WaitHelper*& CurrentWaitHelper();

// Blocking waits on futures that are not ready, for a layer above to judge:
// the actors warn when one blocks an actor's turn. Debug builds report each
// Future::Get() that must wait, with its caller's return address as the
// call site. The observer is installed once (at static initialisation) and
// must be thread-safe.
using BlockingWaitObserver = void (*)(const void* call_site);
void SetBlockingWaitObserver(BlockingWaitObserver observer);
void NoteBlockingWait(const void* call_site);

// The non-template half of a future's shared state: readiness and waiting.
class FutureCore {
 public:
  bool IsReady() const { return (ready_.load(std::memory_order_acquire) & kReady) != 0; }

  // Blocks until ready or the deadline; returns IsReady(). Returns at once
  // if blocking waits are refused.
  bool WaitUntil(absl::Time deadline) const;

  // For a future whose value only a thread that would be waiting can
  // produce (an ask in a system that runs only when the test drives it):
  // Get() on it, not yet ready, fails at once with `why` instead of hanging.
  // Set before the future is handed out.
  void RefuseBlockingWaits(const char* why) { blocking_refused_ = why; }
  const char* blocking_refused() const { return blocking_refused_; }

 protected:
  // Marks the state ready (after the result was written) and wakes sleepers.
  void PublishReady();

 private:
  static constexpr uint32_t kReady = 1;
  static constexpr uint32_t kSleeper = 2;  // someone may be in FutexWait
  mutable std::atomic<uint32_t> ready_{0};
  const char* blocking_refused_ = nullptr;
};

template <typename T>
class SharedState : public FutureCore {
 public:
  // The continuation is given the result by reference, to move from (one
  // move less per hop than by value); the state lives while it runs, held
  // by the promise that sets it or by whoever registers the callback.
  using Callback = absl::AnyInvocable<void(Result<T>&&) &&>;

  // Stores the result once; returns false if one was already stored.
  bool SetResult(Result<T> result) { return EmplaceResult(std::move(result)); }

  // SetResult(), the result built in place from `args` (a value, or a status).
  template <typename... Args>
  bool EmplaceResult(Args&&... args) {
    if (set_.exchange(true, std::memory_order_relaxed)) return false;
    result_.emplace(std::forward<Args>(args)...);
    PublishReady();
    // acq_rel: release makes result_ visible to a callback registered later
    // (it reads result_ after seeing kDone); acquire gathers the callback
    // object a registrant published before us.
    Callback* callback = callback_.exchange(Done(), std::memory_order_acq_rel);
    if (callback != nullptr) RunCallback(callback);
    return true;
  }

  // Registers the continuation (at most one: Then() and co_await consume
  // the future); runs it now if the result is already there. It lives in
  // the state itself, not in a heap block of its own.
  void SetCallback(Callback callback) {
    Callback* stored = &callback_storage_.emplace(std::move(callback));
    Callback* expected = nullptr;
    // acq_rel pairs with the exchange in SetResult() (see there): the
    // release publishes the stored callback to the thread that runs it.
    if (!callback_.compare_exchange_strong(expected, stored, std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
      RunCallback(stored);  // expected == Done(): the result is in.
    }
  }

  Result<T> TakeResult() { return std::move(*result_); }

 private:
  // A tag, never dereferenced: "the result is in, run callbacks at once".
  static Callback* Done() { return reinterpret_cast<Callback*>(uintptr_t{1}); }

  void RunCallback(Callback* callback) {
    // The continuation moves the result out; Get() on the future is not
    // possible once Then() or co_await consumed it, so that is safe. The
    // callback is taken out of the state first, and nothing here touches
    // the state after it returns.
    Callback run = std::move(*callback);
    callback_storage_.reset();
    std::move(run)(std::move(*result_));
  }

  std::atomic<bool> set_{false};
  std::optional<Result<T>> result_;
  std::optional<Callback> callback_storage_;  // written before callback_ publishes it
  std::atomic<Callback*> callback_{nullptr};
};

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_FUTURE_STATE_H_
