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

// Marks `cell`'s turn as running on this thread while it lives.
class RunningTurn {
 public:
  explicit RunningTurn(ActorCell* cell) : outer_(std::exchange(RunningCell(), cell)) {}
  ~RunningTurn() { RunningCell() = outer_; }
  RunningTurn(const RunningTurn&) = delete;
  RunningTurn& operator=(const RunningTurn&) = delete;

 private:
  ActorCell* const outer_;
};

// Marks `cell`'s actor as being constructed on this thread while it lives.
class ConstructingScope {
 public:
  explicit ConstructingScope(ActorCell* cell) : outer_(std::exchange(ConstructingCell(), cell)) {}
  ~ConstructingScope() { ConstructingCell() = outer_; }
  ConstructingScope(const ConstructingScope&) = delete;
  ConstructingScope& operator=(const ConstructingScope&) = delete;

 private:
  ActorCell* const outer_;
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_TURN_CONTEXT_H_
