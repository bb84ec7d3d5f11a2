// -----------------------------------------------------------------------------
// File: thread.h
// -----------------------------------------------------------------------------
//
// `Thread<T>`: an OS thread that runs one closure and hands its result — the
// value it returned, or the exception it threw, as a Status — to the joiner.
//
//   troupe::Thread worker("checksum", [&] { return Checksum(file); });
//   absl::StatusOr<uint32_t> sum = worker.Join();   // kInternal if it threw
//
//   troupe::Thread poller("poller", [&] { Poll(); });     // Thread<void>
//   if (!poller.JoinFor(absl::Seconds(1)).ok()) { ... }   // kDeadlineExceeded: still running
//
// The name is given to the OS (pthread_setname_np), truncated to the 15
// bytes Linux allows, so it shows in `top -H`, gdb and perf.
//
// Destruction: like std::jthread, a Thread that is still joinable when
// destroyed joins it (and discards the result), so no thread is ever left
// silently detached. Call `Detach()` to let it run on, explicitly.
//
// Thread-safety: one Thread object is used by one thread at a time (the
// owner); `IsAlive()` may be called from anywhere.

#ifndef TROUPE_THREADS_THREAD_H_
#define TROUPE_THREADS_THREAD_H_

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "threads/notification.h"
#include "threads/result.h"

namespace troupe {

namespace threads_internal {

// Sets the calling thread's OS-visible name (truncated to 15 bytes).
void SetCurrentThreadName(std::string_view name);

}  // namespace threads_internal

// CurrentThreadName()
//
// The calling thread's OS-visible name.
std::string CurrentThreadName();

template <typename T = void>
class Thread {
 public:
  // Thread::Thread()
  //
  // Starts a thread named `name` running `fn()`.
  template <typename Fn>
  Thread(std::string name, Fn&& fn) : state_(std::make_shared<State>()) {
    state_->name = std::move(name);
    thread_ = std::thread([state = state_, fn = std::forward<Fn>(fn)]() mutable {
      threads_internal::SetCurrentThreadName(state->name);
      state->result.emplace(threads_internal::RunCapturingExceptions(fn, state->name));
      // release (in Notify): the result above is visible to the joiner.
      state->done.Notify();
    });
  }

  Thread(Thread&&) noexcept = default;
  Thread& operator=(Thread&& other) noexcept {
    if (this != &other) {
      JoinIfJoinable();
      thread_ = std::move(other.thread_);
      state_ = std::move(other.state_);
    }
    return *this;
  }
  Thread(const Thread&) = delete;
  Thread& operator=(const Thread&) = delete;

  ~Thread() { JoinIfJoinable(); }

  // Thread::Join()
  //
  // Blocks until the closure has finished and returns its result: the value
  // (or OkStatus for void), or kInternal with the text of an exception it
  // threw. Joining a thread that is not joinable (already joined, detached or
  // moved from) returns kFailedPrecondition.
  Result<T> Join() {
    if (!thread_.joinable()) return NotJoinable();
    thread_.join();
    return TakeResult();
  }

  // Thread::JoinFor() / JoinUntil()
  //
  // Like Join(), but gives up when the time runs out: then it returns
  // kDeadlineExceeded and the thread stays joinable.
  Result<T> JoinFor(absl::Duration timeout) { return JoinUntil(absl::Now() + timeout); }
  Result<T> JoinUntil(absl::Time deadline) {
    if (!thread_.joinable()) return NotJoinable();
    if (!state_->done.WaitForNotificationUntil(deadline)) {
      return absl::DeadlineExceededError("thread '" + state_->name + "' is still running");
    }
    thread_.join();  // The closure is done; only the OS thread's exit is left.
    return TakeResult();
  }

  // Thread::IsAlive()
  //
  // True while the closure is still running.
  bool IsAlive() const { return state_ != nullptr && !state_->done.HasBeenNotified(); }

  // Thread::joinable()
  //
  // True until Join() succeeds, Detach() or a move.
  bool joinable() const { return thread_.joinable(); }

  // Thread::Detach()
  //
  // Lets the thread run on unowned; its result is discarded.
  void Detach() {
    if (thread_.joinable()) thread_.detach();
  }

  const std::string& name() const { return state_->name; }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  struct State {
    std::string name;
    std::optional<Result<T>> result;  // written by the thread before `done`
    Notification done;
  };

  Result<T> TakeResult() {
    Result<T> result = std::move(*state_->result);
    state_->result.reset();
    return result;
  }

  static Result<T> NotJoinable() {
    return absl::FailedPreconditionError("thread is not joinable (joined, detached or moved)");
  }

  void JoinIfJoinable() {
    if (thread_.joinable()) thread_.join();
  }

  std::shared_ptr<State> state_;
  std::thread thread_;
};

// Deduces Thread<R> from the closure: `Thread t("n", [] { return 1; });`.
template <typename Fn>
Thread(std::string, Fn&&) -> Thread<std::invoke_result_t<std::decay_t<Fn>&>>;
template <typename Fn>
Thread(const char*, Fn&&) -> Thread<std::invoke_result_t<std::decay_t<Fn>&>>;

}  // namespace troupe

#endif  // TROUPE_THREADS_THREAD_H_
