// -----------------------------------------------------------------------------
// File: internal/turn_context.h
// -----------------------------------------------------------------------------
//
// What a thread knows about the actor it is serving, as thread-locals:
// which cell's turn runs here (for log tags, the tracer's "who sent this"
// and dead letters a turn causes), which cell's actor is being constructed
// (Actor::Actor() finds its cell there), and which dedicated actor owns the
// thread.
//
//   {
//     const RunningTurn running(cell);  // RunningCell() == cell until the scope ends
//     ...
//   }
//
// Turns nest: a handler that blocks on a Future on a pool worker helps with
// other tasks, which may be other actors' turns. Each scope restores what
// it replaced.

#ifndef TROUPE_ACTOR_INTERNAL_TURN_CONTEXT_H_
#define TROUPE_ACTOR_INTERNAL_TURN_CONTEXT_H_

#include <string>
#include <utility>

namespace troupe::actor_internal {

class ActorCell;

// Inline, so that a turn reaches its thread-local directly (every turn
// sets and restores RunningCell()).

// The cell whose actor is being constructed on this thread (Actor::Actor
// reads and clears it).
inline ActorCell*& ConstructingCell() {
  thread_local ActorCell* cell = nullptr;
  return cell;
}

// The dedicated actor whose thread this is, or null.
inline ActorCell*& CurrentDedicatedCell() {
  thread_local ActorCell* cell = nullptr;
  return cell;
}

// The cell whose turn runs on this thread, or null.
inline ActorCell*& RunningCell() {
  thread_local ActorCell* cell = nullptr;
  return cell;
}

// The log tag source (base/logging.h): "name#id <message type>" of the
// actor running on this thread.
void AppendRunningActorTag(std::string* out);

// Sets the thread-local `Slot()` to `cell` while it lives, and restores
// what it replaced.
template <ActorCell*& (*Slot)()>
class CellScope {
 public:
  explicit CellScope(ActorCell* cell) : outer_(std::exchange(Slot(), cell)) {}
  ~CellScope() { Slot() = outer_; }
  CellScope(const CellScope&) = delete;
  CellScope& operator=(const CellScope&) = delete;

 private:
  ActorCell* const outer_;
};

// `cell`'s turn runs on this thread.
using RunningTurn = CellScope<RunningCell>;
// `cell`'s actor is being constructed on this thread.
using ConstructingScope = CellScope<ConstructingCell>;

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_TURN_CONTEXT_H_
