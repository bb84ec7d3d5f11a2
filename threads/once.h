// -----------------------------------------------------------------------------
// File: once.h
// -----------------------------------------------------------------------------
//
// `Once`: runs a function exactly once, however many threads ask (like
// std::call_once, but visible to ThreadSanitizer and without exceptions
// crossing it).
//
//   troupe::Once init_once;
//   init_once.Call([] { LoadTables(); });   // every caller returns after it ran
//
// If the function throws, the exception is swallowed and the Once is left
// not-done: a caller that was waiting, or the next Call(), runs its own
// function (as std::call_once does).
//
// Memory ordering: the function's effects are visible to every caller when
// Call() returns (release on completion, acquire on the fast-path check).

#ifndef TROUPE_THREADS_ONCE_H_
#define TROUPE_THREADS_ONCE_H_

#include <atomic>
#include <cstdint>
#include <utility>

namespace troupe {

class Once {
 public:
  Once() = default;
  Once(const Once&) = delete;
  Once& operator=(const Once&) = delete;

  // Once::Call()
  //
  // Runs `fn` if no call has completed yet; otherwise waits for the running
  // one, or returns at once if it is done.
  template <typename Fn>
  void Call(Fn&& fn) {
    if (state_.load(std::memory_order_acquire) == kDone) return;
    if (!BeginOrWait()) return;  // Another caller's run completed.
    bool ok = false;
    try {
      std::forward<Fn>(fn)();
      ok = true;
    } catch (...) {
      // Swallowed by contract: the Once stays not-done; a waiting caller (or
      // the next Call) runs its own function instead.
    }
    Finish(ok);
  }

  // Once::Done()
  //
  // True once a call has completed.
  bool Done() const { return state_.load(std::memory_order_acquire) == kDone; }

 private:
  static constexpr uint32_t kIdle = 0;
  static constexpr uint32_t kRunning = 1;
  static constexpr uint32_t kDone = 2;

  // Returns true if the caller now owns the run; false once it is done.
  bool BeginOrWait();
  void Finish(bool ok);

  std::atomic<uint32_t> state_{kIdle};
};

}  // namespace troupe

#endif  // TROUPE_THREADS_ONCE_H_
