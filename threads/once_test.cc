#include "threads/once.h"

#include <atomic>
#include <stdexcept>
#include <vector>

#include "gtest/gtest.h"
#include "threads/latch.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(OnceTest, RunsExactlyOnceUnderContention) {
  constexpr int kThreads = 8;
  Once once;
  std::atomic<int> runs{0};
  int value = 0;  // written by the one run, read by all after Call()
  Latch start(1);
  std::vector<Thread<int>> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back("caller", [&] {
      start.Wait();
      once.Call([&] {
        runs.fetch_add(1);
        value = 99;
      });
      return value;
    });
  }
  start.CountDown();
  for (auto& t : threads) EXPECT_EQ(t.Join().value(), 99);
  EXPECT_EQ(runs.load(), 1);
  EXPECT_TRUE(once.Done());
}

TEST(OnceTest, AThrowingCallLeavesItNotDoneForTheNextCaller) {
  Once once;
  once.Call([] { throw std::runtime_error("first attempt fails"); });
  EXPECT_FALSE(once.Done());
  int runs = 0;
  once.Call([&] { ++runs; });
  once.Call([&] { ++runs; });
  EXPECT_EQ(runs, 1);
  EXPECT_TRUE(once.Done());
}

}  // namespace
}  // namespace troupe
