// -----------------------------------------------------------------------------
// File: internal/cell_stats.h
// -----------------------------------------------------------------------------
//
// `CellStats`: the counters of one actor cell that ActorSystem::Stats()
// reads from any thread while the cell's turns write them.
//
//   stats.CountDeadLetter();                       // the cell's own turn
//   uint64_t n = stats.dead_letters_caused();      // any thread, a recent value
//
// Each counter has one writer (the cell's turn, one thread at a time), so
// it is updated with a relaxed load and a relaxed store, not a
// read-modify-write; readers get a recent value, which is all a snapshot
// promises. Nothing is published through these counters.

#ifndef TROUPE_ACTOR_INTERNAL_CELL_STATS_H_
#define TROUPE_ACTOR_INTERNAL_CELL_STATS_H_

#include <atomic>
#include <cstdint>

#include "actor/internal/lifecycle.h"

namespace troupe::actor_internal {

class CellStats {
 public:
  // 1 for the first incarnation; one more per restart.
  uint32_t incarnation() const { return incarnation_.load(std::memory_order_relaxed); }
  void CountRestart() { Bump(incarnation_, 1u); }

  // Dead letters that arose in the cell's turns.
  uint64_t dead_letters_caused() const {
    return dead_letters_caused_.load(std::memory_order_relaxed);
  }
  void CountDeadLetter() { Bump(dead_letters_caused_, uint64_t{1}); }

  // Time in handlers while handler timing is on.
  int64_t handler_nanos() const { return handler_nanos_.load(std::memory_order_relaxed); }
  void AddHandlerNanos(int64_t nanos) { Bump(handler_nanos_, nanos); }

  // The cell's phase, as stats show it.
  Phase shown_phase() const { return static_cast<Phase>(phase_.load(std::memory_order_relaxed)); }
  void ShowPhase(Phase phase) {
    phase_.store(static_cast<uint8_t>(phase), std::memory_order_relaxed);
  }

 private:
  template <typename T>
  static void Bump(std::atomic<T>& counter, T by) {
    counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::atomic<uint32_t> incarnation_{1};
  std::atomic<uint64_t> dead_letters_caused_{0};
  std::atomic<int64_t> handler_nanos_{0};
  std::atomic<uint8_t> phase_{0};
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_CELL_STATS_H_
