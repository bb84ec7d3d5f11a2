#include "threads/barrier.h"

#include <atomic>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(BarrierTest, SingleParticipantIsAlwaysLast) {
  Barrier barrier(1);
  EXPECT_TRUE(barrier.ArriveAndWait());
  EXPECT_TRUE(barrier.ArriveAndWait());
}

// Reused thousands of times: each round exactly one thread is told it was
// last, and no thread leaves a round before every thread has entered it.
TEST(BarrierStressTest, ReusedRoundsReleaseTogetherWithOneLeader) {
  constexpr int kThreads = 4;
  const int64_t rounds = ScaledCount(5'000, 100);
  Barrier barrier(kThreads);
  std::vector<int64_t> arrivals(static_cast<size_t>(rounds), 0);  // guarded by the barrier
  std::atomic<int64_t> leaders{0};
  std::atomic<int64_t> early{0};
  std::vector<Thread<void>> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back("round", [&] {
      for (int64_t r = 0; r < rounds; ++r) {
        if (barrier.ArriveAndWait()) {
          leaders.fetch_add(1);
          arrivals[r] = kThreads;  // only the leader writes; the next round's
                                   // barrier orders it before anyone reads
        }
        barrier.ArriveAndWait();
        if (arrivals[r] != kThreads) early.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) ASSERT_TRUE(thread.Join().ok());
  EXPECT_EQ(leaders.load(), rounds);
  EXPECT_EQ(early.load(), 0);
}

}  // namespace
}  // namespace troupe
