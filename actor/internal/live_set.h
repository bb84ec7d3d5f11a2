// -----------------------------------------------------------------------------
// File: internal/live_set.h
// -----------------------------------------------------------------------------
//
// `LiveSet`: every cell of a system that has been spawned and has not
// finished, for shutdown (which stops the roots) and stats (which visit
// them all). An intrusive list per shard, each under its own lock, so
// spawns on different workers rarely contend.
//
//   if (live.Add(cell, shutting_down)) { /* spawned during shutdown: stop it */ }
//   ...
//   if (live.Remove(cell) == 0) { /* the last one */ }
//
// The set holds a reference to each cell it contains.

#ifndef TROUPE_ACTOR_INTERNAL_LIVE_SET_H_
#define TROUPE_ACTOR_INTERNAL_LIVE_SET_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "actor/internal/addressable.h"
#include "base/cache_line.h"
#include "threads/mutex.h"

namespace troupe::actor_internal {

class ActorCell;

class LiveSet {
 public:
  // LiveSet::Add()
  //
  // Enters `cell` and returns the value of `closing` read under the shard
  // lock. A closer that sets `closing` and then visits the set (Roots())
  // takes the same locks after its store: a cell it does not see sees the
  // flag here, and must stop before it starts.
  bool Add(ActorCell* cell, const std::atomic<bool>& closing);

  // LiveSet::Remove()
  //
  // Takes `cell` out and drops the set's reference to it (which may free
  // it). Returns how many remain.
  int64_t Remove(ActorCell* cell);

  int64_t size() const { return size_.load(std::memory_order_acquire); }

  // Refs to the cells without a parent, and to all of them.
  std::vector<AddressablePtr> Roots() const { return Collect(/*roots_only=*/true); }
  std::vector<AddressablePtr> All() const { return Collect(/*roots_only=*/false); }

 private:
  struct alignas(kCacheLineSize) Shard {
    mutable Mutex mu;
    ActorCell* head ABSL_GUARDED_BY(mu) = nullptr;
  };
  static constexpr size_t kShards = 16;
  Shard& ShardOf(const ActorCell* cell);
  std::vector<AddressablePtr> Collect(bool roots_only) const;

  alignas(kCacheLineSize) std::atomic<int64_t> size_{0};
  Shard shards_[kShards];
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_LIVE_SET_H_
