// -----------------------------------------------------------------------------
// File: reentrant.h
// -----------------------------------------------------------------------------
//
// `Reentrant(awaitable)`: lets an actor serve other mail while one of its
// handlers awaits. By default a handler that returns a Task is not
// reentrant: while it is suspended the actor handles no other ordinary
// message (they wait, in order), so its state cannot change under it.
// Awaiting through Reentrant() opens that gate for the length of this one
// await:
//
//   .On<Lookup>([this](const Lookup& m) -> troupe::Task<Entry> {
//     if (auto it = cache_.find(m.key()); it != cache_.end()) co_return it->second;
//     // Other lookups are served while this one waits for the store...
//     absl::StatusOr<Entry> e = co_await troupe::Reentrant(store_.Ask<Entry>(m, kTimeout));
//     // ...so cache_ may have changed here: look again before using it.
//     if (!e.ok()) co_return e.status();
//     cache_.insert_or_assign(m.key(), *e);
//     co_return *e;
//   })
//
// WARNING: across a reentrant await, the actor's state may be changed by
// the handlers that ran meanwhile (Orleans' [Reentrant], Akka's ask-then-
// pipe). Use it where the handler must keep serving (a cache, a
// coordinator that may be asked back), and re-read state after it.
//
// It accepts anything awaitable (a Future or ask, a JoinHandle, a Task, a
// channel Recv, a Sleep) and gives what that gives. Outside an actor's
// handler it changes nothing.

#ifndef TROUPE_ACTOR_REENTRANT_H_
#define TROUPE_ACTOR_REENTRANT_H_

#include <coroutine>
#include <type_traits>
#include <utility>

#include "actor/internal/actor_tasks.h"

namespace troupe {
namespace actor_internal {

// The awaiter behind an awaitable, as `co_await` finds it.
template <typename A>
decltype(auto) AwaiterOf(A&& awaitable) {
  if constexpr (requires { std::forward<A>(awaitable).operator co_await(); }) {
    return std::forward<A>(awaitable).operator co_await();
  } else if constexpr (requires { operator co_await(std::forward<A>(awaitable)); }) {
    return operator co_await(std::forward<A>(awaitable));
  } else {
    return std::forward<A>(awaitable);  // an awaiter itself: by reference
  }
}

void EnterReentrantWait(CellStrand* strand);
void LeaveReentrantWait(CellStrand* strand);

// Holds the awaiter (by value, or by reference to the awaitable, a
// temporary of the co_await's full expression that lives across it).
template <typename A>
class [[nodiscard]] ReentrantAwaiter {
 public:
  explicit ReentrantAwaiter(A&& awaitable) : inner_(AwaiterOf(std::forward<A>(awaitable))) {}
  ReentrantAwaiter(const ReentrantAwaiter&) = delete;
  ReentrantAwaiter& operator=(const ReentrantAwaiter&) = delete;

  bool await_ready() { return inner_.await_ready(); }

  template <typename Promise>
  auto await_suspend(std::coroutine_handle<Promise> awaiting) {
    // A step of the actor's task runs here, on its turn.
    strand_ = RunningStrand();
    if (strand_ != nullptr) EnterReentrantWait(strand_);
    using Result = decltype(inner_.await_suspend(awaiting));
    if constexpr (std::is_same_v<Result, bool>) {
      const bool suspended = inner_.await_suspend(awaiting);
      if (!suspended) Leave();
      return suspended;
    } else {
      return inner_.await_suspend(awaiting);
    }
  }

  decltype(auto) await_resume() {
    Leave();
    return inner_.await_resume();
  }

 private:
  void Leave() {
    if (strand_ != nullptr) LeaveReentrantWait(std::exchange(strand_, nullptr));
  }

  decltype(AwaiterOf(std::declval<A&&>())) inner_;
  CellStrand* strand_ = nullptr;
};

}  // namespace actor_internal

// Reentrant()
//
// `co_await Reentrant(x)`: awaits `x`, letting the actor handle other
// ordinary mail meanwhile (see the file comment).
template <typename A>
actor_internal::ReentrantAwaiter<A> Reentrant(A&& awaitable) {
  return actor_internal::ReentrantAwaiter<A>(std::forward<A>(awaitable));
}

}  // namespace troupe

#endif  // TROUPE_ACTOR_REENTRANT_H_
