#include "actor/internal/live_set.h"

#include "actor/internal/actor_cell.h"

namespace troupe::actor_internal {

LiveSet::Shard& LiveSet::ShardOf(const ActorCell* cell) { return shards_[cell->id() % kShards]; }

bool LiveSet::Add(ActorCell* cell, const std::atomic<bool>& closing) {
  Shard& shard = ShardOf(cell);
  MutexLock lock(shard.mu);
  cell->Ref();  // the set's reference, dropped in Remove()
  cell->live_next = shard.head;
  if (shard.head != nullptr) shard.head->live_prev = cell;
  shard.head = cell;
  size_.fetch_add(1, std::memory_order_acq_rel);
  return closing.load(std::memory_order_acquire);
}

int64_t LiveSet::Remove(ActorCell* cell) {
  Shard& shard = ShardOf(cell);
  {
    MutexLock lock(shard.mu);
    if (cell->live_prev != nullptr) {
      cell->live_prev->live_next = cell->live_next;
    } else {
      shard.head = cell->live_next;
    }
    if (cell->live_next != nullptr) cell->live_next->live_prev = cell->live_prev;
    cell->live_prev = cell->live_next = nullptr;
  }
  const int64_t left = size_.fetch_sub(1, std::memory_order_acq_rel) - 1;
  cell->Unref();
  return left;
}

std::vector<AddressablePtr> LiveSet::Collect(bool roots_only) const {
  std::vector<AddressablePtr> cells;
  for (const Shard& shard : shards_) {
    MutexLock lock(shard.mu);
    for (ActorCell* cell = shard.head; cell != nullptr; cell = cell->live_next) {
      if (!roots_only || !cell->has_parent()) cells.emplace_back(cell);
    }
  }
  return cells;
}

}  // namespace troupe::actor_internal
