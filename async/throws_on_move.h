// -----------------------------------------------------------------------------
// File: throws_on_move.h
// -----------------------------------------------------------------------------
//
// `ThrowsOnMove`: an argument that fails on its way into a task. It can be
// moved `moves` times; the next move throws std::runtime_error("an
// argument's move threw"). Go(), TaskScope::Go() and Actor::Go() take it
// with one move, so ThrowsOnMove(1) throws as they move it into the task.
//
//   Go(pool, [](ThrowsOnMove) -> Task<int> { co_return 1; }, ThrowsOnMove(1));
//
// For tests only.

#ifndef TROUPE_ASYNC_THROWS_ON_MOVE_H_
#define TROUPE_ASYNC_THROWS_ON_MOVE_H_

#include <stdexcept>

namespace troupe::async_internal {

struct ThrowsOnMove {
  int moves_left;
  explicit ThrowsOnMove(int moves) : moves_left(moves) {}
  ThrowsOnMove(ThrowsOnMove&& other) : moves_left(other.moves_left - 1) {
    if (moves_left < 0) throw std::runtime_error("an argument's move threw");
  }
};

}  // namespace troupe::async_internal

#endif  // TROUPE_ASYNC_THROWS_ON_MOVE_H_
