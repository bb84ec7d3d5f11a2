#include "threads/latch.h"

#include <vector>

#include "gtest/gtest.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(LatchTest, ZeroCountIsOpen) {
  Latch latch(0);
  EXPECT_TRUE(latch.TryWait());
  EXPECT_TRUE(latch.WaitFor(absl::ZeroDuration()));
}

TEST(LatchTest, OpensWhenCountReachesZero) {
  Latch latch(3);
  latch.CountDown();
  EXPECT_FALSE(latch.TryWait());
  EXPECT_FALSE(latch.WaitFor(absl::Milliseconds(5)));
  latch.CountDown(2);
  EXPECT_TRUE(latch.TryWait());
}

TEST(LatchTest, WaitersSeeEveryCounterWrites) {
  constexpr int kThreads = 8;
  Latch done(kThreads);
  std::vector<int> slots(kThreads, 0);
  std::vector<Thread<void>> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back("counter", [&, i] {
      slots[i] = i + 1;
      done.CountDown();
    });
  }
  done.Wait();
  int sum = 0;
  for (int v : slots) sum += v;  // read after Wait(): ordered by the latch
  EXPECT_EQ(sum, kThreads * (kThreads + 1) / 2);
}

TEST(LatchDeathTest, NegativeCountIsRejected) {
  EXPECT_DEATH(Latch latch(-1), "must not be negative");
}

}  // namespace
}  // namespace troupe
