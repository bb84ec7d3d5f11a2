// -----------------------------------------------------------------------------
// File: internal/future_state.h
// -----------------------------------------------------------------------------
//
// The state a Promise and its Future share (threads/future.h): the result,
// the ready flag a waiter sleeps on, the one consumer (a callback, or an
// awaiting task's FutureWaiter), and the hook that lets a waiting pool
// worker run other tasks. Not a public API.

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
#include "threads/internal/counted.h"
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
// Counted: its owners are the promise side and the future side.
class FutureCore : public Counted {
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

// FutureWaiter
//
// The one consumer of a state that waits in place of a callback: an
// awaiting task (async/future.h). The result is built straight into the
// waiter, not into the state and then moved, and no callback object is
// made, moved or called: an await of a future costs no allocation of its
// own. The waiter's owner keeps it alive until Ready() has been called or
// it has withdrawn (SharedState::Withdraw).
template <typename T>
class FutureWaiter {
 public:
  // Written by the thread that sets the result, after it claimed the
  // waiter and before Ready().
  std::optional<Result<T>> result;

  // The result is in `result`. Called once, on the setting thread; the
  // waiter may be destroyed as soon as this starts its work (it must not
  // touch itself after handing on).
  virtual void Ready() noexcept = 0;

 protected:
  ~FutureWaiter() = default;
};

// What SharedState::Await() found.
enum class AwaitOutcome : uint8_t {
  kWaiting,    // registered: Ready() or a Withdraw() ends the wait
  kReady,      // the result is in the state: TakeResult()
  kWithdrawn,  // a Withdraw() came before the registration: not registered
};

template <typename T>
class SharedState : public FutureCore {
 public:
  // The continuation is given the result by reference, to move from (one
  // move less per hop than by value); the state lives while it runs, held
  // by the promise that sets it or by whoever registers the callback.
  using Callback = absl::AnyInvocable<void(Result<T>&&) &&>;

  // User-provided, so that a value-initialisation (`SharedState<T>()`) runs
  // the member initialisers alone: with an implicit constructor it would
  // first zero all of the state (a `rep stos` of ~150 bytes on every ask,
  // bench K1).
  SharedState() noexcept {}

  // Stores the result once; returns false if one was already stored.
  bool SetResult(Result<T> result) { return EmplaceResult(std::move(result)); }

  // SetResult(), the result built in place from `args` (a value, or a status).
  template <typename... Args>
  bool EmplaceResult(Args&&... args) {
    if (set_.exchange(true, std::memory_order_relaxed)) return false;
    Complete(std::forward<Args>(args)...);
    return true;
  }

  // EmplaceClaimedResult()
  //
  // EmplaceResult() for a setter that is the only one by construction (an
  // ask's receiver, which lets only its first completion through): the
  // state is marked set with a plain store, not the read-modify-write that
  // decides between rival setters.
  template <typename... Args>
  void EmplaceClaimedResult(Args&&... args) {
    TROUPE_DCHECK(!set_.load(std::memory_order_relaxed), "a claimed result set twice");
    set_.store(true, std::memory_order_relaxed);
    Complete(std::forward<Args>(args)...);
  }

  // True once a result was set (by the one promise: read by it).
  bool IsSet() const { return set_.load(std::memory_order_relaxed); }

  // Registers the continuation (at most one: Then() and co_await consume
  // the future); runs it now if the result is already there. It lives in
  // the state itself, not in a heap block of its own.
  void SetCallback(Callback callback) {
    Callback* stored = &callback_storage_.emplace(std::move(callback));
    uintptr_t expected = kEmpty;
    // acq_rel pairs with the exchange in EmplaceResult() (see there): the
    // release publishes the stored callback to the thread that runs it.
    if (!word_.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(stored),
                                       std::memory_order_acq_rel, std::memory_order_acquire)) {
      TROUPE_DCHECK(expected == kDone, "a second consumer of a future");
      RunCallback(stored);  // the result is in
    }
  }

  // Await()
  //
  // Registers `waiter` as the consumer, unless the result is in already
  // (kReady) or a Withdraw() came first (kWithdrawn). After kWaiting the
  // caller must not touch the waiter: Ready() may run at once, elsewhere.
  AwaitOutcome Await(FutureWaiter<T>* waiter) {
    uintptr_t expected = kEmpty;
    // release: the waiter's fields reach the thread that claims it.
    if (word_.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(waiter) | kWaiterTag,
                                      std::memory_order_acq_rel, std::memory_order_acquire)) {
      return AwaitOutcome::kWaiting;
    }
    if (expected == kDone) return AwaitOutcome::kReady;
    // Withdrawn while arming: clear the mark, so that the state takes a
    // result (and a callback) as if nobody had waited; if the result came
    // meanwhile, the word is kDone and stays so.
    // acq_rel as every step on the word: it orders nothing of its own (no
    // field is published with it), but keeps the word's steps one chain.
    TROUPE_DCHECK(expected == kWithdrawnWhileArming, "a second consumer of a future");
    word_.compare_exchange_strong(expected, kEmpty, std::memory_order_acq_rel,
                                  std::memory_order_acquire);
    return AwaitOutcome::kWithdrawn;
  }

  // Withdraw()
  //
  // Takes back `waiter`, once, from any thread (a cancellation). True: it
  // was registered and now is not, Ready() will not run; the result, when
  // it comes, stays in the state. False: either the result is on its way to
  // the waiter (Ready() runs or has run), or the waiter is still arming,
  // and its Await() will find kWithdrawn.
  bool Withdraw(FutureWaiter<T>* waiter) {
    // acquire on every read: a kDone seen here comes after the setter's
    // writes, so the caller may rely on Ready() being on its way. The CASes
    // publish nothing but the word itself (the waiter's fields were released
    // by its Await()); acq_rel keeps them in the word's one chain.
    const uintptr_t registered = reinterpret_cast<uintptr_t>(waiter) | kWaiterTag;
    uintptr_t word = word_.load(std::memory_order_acquire);
    while (true) {
      if (word == registered) {
        if (word_.compare_exchange_weak(word, kEmpty, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
          return true;
        }
      } else if (word == kEmpty) {
        if (word_.compare_exchange_weak(word, kWithdrawnWhileArming, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
          return false;
        }
      } else {
        return false;  // kDone: the setter claimed the waiter
      }
    }
  }

  Result<T> TakeResult() { return std::move(*result_); }

 private:
  // The consumer word: kEmpty; a Callback* (aligned, so its low bits are
  // clear); a FutureWaiter* | kWaiterTag; kWithdrawnWhileArming, a waiter's
  // Withdraw() that came before its Await(); kDone once the result is in
  // (and any consumer served).
  static constexpr uintptr_t kEmpty = 0;
  static constexpr uintptr_t kDone = 1;
  static constexpr uintptr_t kWithdrawnWhileArming = 2;
  static constexpr uintptr_t kWaiterTag = 1;

  static bool IsWaiter(uintptr_t word) { return (word & kWaiterTag) != 0 && word != kDone; }
  static FutureWaiter<T>* AsWaiter(uintptr_t word) {
    return reinterpret_cast<FutureWaiter<T>*>(word & ~kWaiterTag);
  }

  // The result is this state's (set_ is marked): hands it to the waiter,
  // or stores it and runs the callback.
  template <typename... Args>
  void Complete(Args&&... args) {
    uintptr_t word = word_.load(std::memory_order_acquire);
    // A waiter is registered: claim it (kDone; a Withdraw() racing us fails
    // and leaves its wait to us) and build the result in it. acq_rel: the
    // acquire sees the waiter's fields, which its registration released.
    if (IsWaiter(word) && word_.compare_exchange_strong(word, kDone, std::memory_order_acq_rel,
                                                        std::memory_order_acquire)) {
      Hand(AsWaiter(word), std::forward<Args>(args)...);
      return;
    }
    result_.emplace(std::forward<Args>(args)...);
    PublishReady();
    // acq_rel: release makes result_ visible to a consumer that registers
    // later (it reads result_ after seeing kDone); acquire gathers the
    // callback or waiter a consumer published before us.
    word = word_.exchange(kDone, std::memory_order_acq_rel);
    if (IsWaiter(word)) {
      Hand(AsWaiter(word), std::move(*result_));  // registered after our load
    } else if (word != kEmpty && word != kWithdrawnWhileArming) {
      RunCallback(reinterpret_cast<Callback*>(word));
    }
  }

  template <typename... Args>
  static void Hand(FutureWaiter<T>* waiter, Args&&... args) {
    waiter->result.emplace(std::forward<Args>(args)...);
    waiter->Ready();
  }

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
  std::optional<Callback> callback_storage_;  // written before word_ publishes it
  std::atomic<uintptr_t> word_{kEmpty};
};

// An owner of a SharedState<T>: the promise side or the future side.
template <typename T>
using StatePtr = CountedPtr<SharedState<T>>;

}  // namespace troupe::threads_internal

#endif  // TROUPE_THREADS_INTERNAL_FUTURE_STATE_H_
