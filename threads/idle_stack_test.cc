#include "threads/internal/idle_stack.h"

#include <atomic>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/latch.h"
#include "threads/thread.h"

namespace troupe::threads_internal {
namespace {

bool Woken(const IdleStack::Sleeper& sleeper) {
  return sleeper.woken.load(std::memory_order_acquire) == 1;
}

TEST(IdleStackTest, WakesTheLastToEnterFirst) {
  IdleStack idle(3);
  IdleStack::Sleeper a, b, c;
  idle.Enter(&a);
  idle.Enter(&b);
  idle.Enter(&c);
  idle.WakeOne();
  EXPECT_TRUE(Woken(c));
  EXPECT_FALSE(Woken(a));
  EXPECT_FALSE(Woken(b));
  idle.WakeOne();
  EXPECT_TRUE(Woken(b));
  EXPECT_FALSE(Woken(a));
}

// A sleeper that left (it found work) is not woken; one that left after a
// waker took it is not woken twice, and may enter again, not yet woken.
TEST(IdleStackTest, ASleeperThatLeftIsNotWoken) {
  IdleStack idle(2);
  IdleStack::Sleeper a, b;
  idle.Enter(&a);
  idle.Enter(&b);
  idle.Leave(&b);
  idle.WakeOne();
  EXPECT_TRUE(Woken(a));
  EXPECT_FALSE(Woken(b));
  idle.Leave(&a);  // taken already: nothing to do
  idle.WakeOne();  // nobody left
  EXPECT_FALSE(Woken(b));
  idle.Enter(&a);
  EXPECT_FALSE(Woken(a));
}

// A wake-up that comes between Enter() and Wait() is not lost: the wait
// returns at once.
TEST(IdleStackTest, AWakeUpBeforeTheWaitIsKept) {
  IdleStack idle(1);
  IdleStack::Sleeper a;
  idle.Enter(&a);
  idle.WakeOne();
  IdleStack::Wait(&a);  // would hang if the wake-up were lost
  idle.Leave(&a);
  EXPECT_TRUE(Woken(a));
}

TEST(IdleStackTest, WakeAllWakesEverySleeper) {
  constexpr int kSleepers = 4;
  IdleStack idle(kSleepers);
  std::vector<IdleStack::Sleeper> sleepers(kSleepers);
  for (IdleStack::Sleeper& sleeper : sleepers) idle.Enter(&sleeper);
  Latch woke(kSleepers);
  std::vector<Thread<void>> threads;
  for (IdleStack::Sleeper& sleeper : sleepers) {
    threads.emplace_back("sleeper", [&idle, &sleeper, &woke] {
      IdleStack::Wait(&sleeper);
      idle.Leave(&sleeper);
      woke.CountDown();
    });
  }
  idle.WakeAll();
  EXPECT_TRUE(woke.WaitFor(absl::Seconds(30)));
  for (Thread<void>& thread : threads) ASSERT_TRUE(thread.Join().ok());
}

// Sleepers enter, wait and leave over and over while a waker picks them:
// every wait ends, each by exactly one wake-up (a wake-up lost, or given to
// two sleepers, or to one twice, would break the count or hang).
TEST(IdleStackStressTest, EachWakeUpEndsExactlyOneWait) {
  constexpr int kSleepers = 4;
  const int64_t rounds = ScaledCount(20'000, 500);
  IdleStack idle(kSleepers);
  std::vector<IdleStack::Sleeper> sleepers(kSleepers);
  std::atomic<int64_t> waits_ended{0};
  std::atomic<bool> stop{false};
  int64_t wake_ups = 0;  // the waker's
  std::vector<Thread<void>> threads;
  for (IdleStack::Sleeper& sleeper : sleepers) {
    threads.emplace_back("sleeper", [&] {
      for (int64_t r = 0; r < rounds; ++r) {
        idle.Enter(&sleeper);
        IdleStack::Wait(&sleeper);
        idle.Leave(&sleeper);
        waits_ended.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  Thread<void> waker("waker", [&] {
    while (!stop.load(std::memory_order_relaxed)) wake_ups += idle.WakeOne() ? 1 : 0;
  });
  for (Thread<void>& thread : threads) ASSERT_TRUE(thread.Join().ok());
  stop.store(true, std::memory_order_relaxed);
  ASSERT_TRUE(waker.Join().ok());
  EXPECT_EQ(waits_ended.load(), kSleepers * rounds);
  EXPECT_EQ(wake_ups, kSleepers * rounds);
}

}  // namespace
}  // namespace troupe::threads_internal
