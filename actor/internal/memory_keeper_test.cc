#include "actor/internal/memory_keeper.h"

#include <cstring>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "gtest/gtest.h"
#include "mailbox/node_pool.h"
#include "testing/virtual_clock.h"
#include "threads/thread.h"

namespace troupe::actor_internal {
namespace {

constexpr absl::Duration kInterval = absl::Milliseconds(250);
constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kBlockSize = 192;  // a size class no other test here uses

// Holds the background tasks the keeper hands over, for the test to run.
class HeldTasksScheduler final : public Scheduler {
 public:
  void Schedule(Schedulable*, Priority) override { ADD_FAILURE() << "no actor runs here"; }
  void RunInBackground(absl::AnyInvocable<void() &&> task) override {
    tasks.push_back(std::move(task));
  }
  void Shutdown() override {}
  bool IsCurrentThread() const override { return false; }

  void RunAll() {
    std::vector<absl::AnyInvocable<void()&&>> now = std::move(tasks);
    tasks.clear();
    for (auto& task : now) std::move(task)();
  }

  std::vector<absl::AnyInvocable<void() &&>> tasks;
};

// Puts `bytes` of free blocks in the pool's depot: allocated and freed on a
// thread whose exit hands its lists over.
void FillTheDepot(size_t bytes) {
  Thread<void> filler("filler", [bytes] {
    std::vector<void*> blocks;
    for (size_t i = 0; i < bytes / kBlockSize; ++i) {
      blocks.push_back(PoolAllocate(kBlockSize));
      std::memset(blocks.back(), 1, kBlockSize);
    }
    for (void* block : blocks) PoolFree(block, kBlockSize);
  });
  ASSERT_TRUE(filler.Join().ok());
}

class MemoryKeeperTest : public testing::Test {
 protected:
  void SetUp() override {
#ifdef TROUPE_NODE_POOL_BYPASS
    GTEST_SKIP() << "the pool is bypassed under AddressSanitizer";
#endif
    (void)ReleaseFreePoolMemory(0);  // start from what cannot be given back
    stuck_ = GetPoolMemoryStats().depot_free_bytes;
  }

  testkit::VirtualClock clock_;
  HeldTasksScheduler scheduler_;
  size_t stuck_ = 0;
};

TEST_F(MemoryKeeperTest, ReleasesDownToTheMarkAfterTwoChecksAbove) {
  MemoryKeeper keeper(clock_, scheduler_, stuck_ + kMiB, kInterval);
  keeper.Start();
  FillTheDepot(16 * kMiB);
  clock_.Advance(kInterval);
  EXPECT_TRUE(scheduler_.tasks.empty()) << "released after one check";
  clock_.Advance(kInterval);
  ASSERT_EQ(scheduler_.tasks.size(), 1u);
  scheduler_.RunAll();
  EXPECT_LE(GetPoolMemoryStats().depot_free_bytes, stuck_ + kMiB);
  EXPECT_GE(keeper.released_bytes(), static_cast<int64_t>(14 * kMiB));
  keeper.Stop();
}

TEST_F(MemoryKeeperTest, NothingGoesBelowTheMark) {
  MemoryKeeper keeper(clock_, scheduler_, stuck_ + 64 * kMiB, kInterval);
  keeper.Start();
  FillTheDepot(16 * kMiB);
  clock_.Advance(10 * kInterval);
  EXPECT_TRUE(scheduler_.tasks.empty());
  keeper.Stop();
  (void)ReleaseFreePoolMemory(0);
}

// Free memory that is taken back into use between two checks was not idle:
// the count of checks above the mark starts again.
TEST_F(MemoryKeeperTest, ADipBelowTheMarkStartsTheCountAgain) {
  MemoryKeeper keeper(clock_, scheduler_, stuck_ + kMiB, kInterval);
  keeper.Start();
  FillTheDepot(8 * kMiB);
  clock_.Advance(kInterval);  // above: one
  std::vector<void*> taken;
  while (GetPoolMemoryStats().depot_free_bytes > stuck_ + kMiB / 2) {
    taken.push_back(PoolAllocate(kBlockSize));
  }
  clock_.Advance(kInterval);  // below: none
  for (void* block : taken) PoolFree(block, kBlockSize);
  taken.clear();
  FillTheDepot(8 * kMiB);
  clock_.Advance(kInterval);  // above: one again
  EXPECT_TRUE(scheduler_.tasks.empty());
  clock_.Advance(kInterval);  // above: two
  EXPECT_EQ(scheduler_.tasks.size(), 1u);
  scheduler_.RunAll();
  keeper.Stop();
}

// A depot whose free blocks sit in slabs partly in use cannot be brought
// under the mark: each sweep that fails doubles the wait for the next.
TEST_F(MemoryKeeperTest, AFragmentedDepotIsSweptLessAndLessOften) {
  MemoryKeeper keeper(clock_, scheduler_, stuck_ + kMiB, kInterval);
  keeper.Start();
  std::vector<void*> held;  // one block of each slab
  Thread<void> fragmenter("fragmenter", [&held] {
    std::vector<void*> blocks;
    for (size_t i = 0; i < 4 * kMiB / kBlockSize; ++i) blocks.push_back(PoolAllocate(kBlockSize));
    for (size_t i = 0; i < blocks.size(); ++i) {
      if (i % 256 == 0) {
        held.push_back(blocks[i]);
      } else {
        PoolFree(blocks[i], kBlockSize);
      }
    }
  });
  ASSERT_TRUE(fragmenter.Join().ok());
  ASSERT_GT(GetPoolMemoryStats().depot_free_bytes, stuck_ + 3 * kMiB);
  // Sweeps after 2 checks, then 4, 8, 16, 32: five in 62 checks, where a
  // sweep every other check would be 31.
  int sweeps = 0;
  for (int check = 0; check < 62; ++check) {
    clock_.Advance(kInterval);
    sweeps += static_cast<int>(scheduler_.tasks.size());
    scheduler_.RunAll();
  }
  EXPECT_EQ(sweeps, 5);
  EXPECT_EQ(keeper.released_bytes(), 0);  // every slab has a block in use
  // Freed at last, the blocks go at the next sweep, at most 64 checks on.
  Thread<void> free_held("free", [&held] {
    for (void* block : held) PoolFree(block, kBlockSize);
  });
  ASSERT_TRUE(free_held.Join().ok());
  for (int check = 0; check < MemoryKeeper::kMaxChecksBetweenSweeps; ++check) {
    clock_.Advance(kInterval);
    scheduler_.RunAll();
  }
  EXPECT_GE(keeper.released_bytes(), static_cast<int64_t>(3 * kMiB));
  EXPECT_LE(GetPoolMemoryStats().depot_free_bytes, stuck_ + kMiB);
  keeper.Stop();
}

TEST_F(MemoryKeeperTest, StopCancelsTheChecks) {
  MemoryKeeper keeper(clock_, scheduler_, stuck_ + kMiB, kInterval);
  keeper.Start();
  EXPECT_EQ(clock_.pending_timers(), 1);
  keeper.Stop();
  EXPECT_EQ(clock_.pending_timers(), 0);
  FillTheDepot(8 * kMiB);
  clock_.Advance(10 * kInterval);
  EXPECT_TRUE(scheduler_.tasks.empty());
  keeper.Stop();  // idempotent
  (void)ReleaseFreePoolMemory(0);
}

TEST_F(MemoryKeeperTest, AZeroIntervalTurnsItOff) {
  MemoryKeeper keeper(clock_, scheduler_, 0, absl::ZeroDuration());
  keeper.Start();
  EXPECT_EQ(clock_.pending_timers(), 0);
  keeper.Stop();
}

}  // namespace
}  // namespace troupe::actor_internal
