// Overload workload O4 of bench/WORKLOADS.md: memory that comes back. A
// burst of 10^6 actors is spawned and stopped; after a second of idleness
// the process's RSS is compared with what it was before the burst. And
// O4-sweep, what one release of the pool's free memory costs.

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/system.pb.h"
#include "bench/harness.h"
#include "bench/process.h"
#include "mailbox/node_pool.h"
#include "threads/thread.h"

namespace troupe::bench {
namespace {

constexpr int64_t kBurst = 1'000'000;

class Idler : public Actor {
 public:
  explicit Idler(std::atomic<int64_t>* started) : started_(started) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int64_t>([](int64_t) {});
  }
  void OnStart() override { started_->fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t>* started_;
};

absl::StatusOr<Rows> BurstThenIdle() {
  std::atomic<int64_t> started{0};
  ActorSystem system;
  // The pool's threads and the first slabs exist before the measure starts.
  system.Spawn<Idler>(&started).Tell(proto::Stop());
  while (system.live_actors() > 0) absl::SleepFor(absl::Milliseconds(1));
  const int64_t before = RssBytes();
  {
    std::vector<ActorRef> burst;
    burst.reserve(kBurst);
    for (int64_t i = 0; i < kBurst; ++i) burst.push_back(system.Spawn<Idler>(&started));
    for (const ActorRef& actor : burst) actor.Tell(proto::Stop());
  }
  const absl::Time deadline = absl::Now() + absl::Minutes(2);
  while (system.live_actors() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  if (system.live_actors() > 0) return absl::DeadlineExceededError("O4: the burst did not stop");
  const int64_t peak = PeakRssBytes();
  absl::SleepFor(absl::Seconds(1));
  const int64_t after = RssBytes();
  return Rows{{"O4", static_cast<double>(after) / static_cast<double>(before)},
              {"O4-before", before / 1048576.0},
              {"O4-peak", peak / 1048576.0},
              {"O4-after", after / 1048576.0}};
}

// What one release costs: 10^6 free blocks of an actor cell's size in the
// depot, all of them given back.
absl::StatusOr<Rows> SweepTheDepot() {
  constexpr size_t kCellSize = 208;
  {
    std::vector<void*> blocks;
    blocks.reserve(kBurst);
    for (int64_t i = 0; i < kBurst; ++i) blocks.push_back(PoolAllocate(kCellSize));
    Thread<void> freer("freer", [&blocks] {
      for (void* block : blocks) PoolFree(block, kCellSize);
    });
    if (!freer.Join().ok()) return absl::InternalError("O4-sweep: the freeing thread failed");
  }
  const int64_t start = NowNanos();
  const size_t released = ReleaseFreePoolMemory(0);
  const int64_t elapsed = NowNanos() - start;
  // All but the slabs of the blocks this thread still lists.
  if (released < kBurst * kCellSize / 100 * 99) {
    return absl::InternalError(absl::StrCat("O4-sweep: released only ", released, " bytes"));
  }
  return Rows{{"O4-sweep", elapsed / 1e6}};
}

[[maybe_unused]] const bool registered = [] {
  RegisterWorkload(
      {{{"O4", "10^6 actors spawned and stopped, idle 1 s: RSS after / before", "x", "<= 2"},
        {"O4-before", "RSS before the burst", "MiB", ""},
        {"O4-peak", "peak RSS", "MiB", ""},
        {"O4-after", "RSS after the idle second", "MiB", ""}},
       [] { return InChildProcess(BurstThenIdle); }});
  RegisterWorkload({{{"O4-sweep", "one release of 10^6 free 208-byte blocks", "ms", ""}},
                    [] { return InChildProcess(SweepTheDepot); }});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
