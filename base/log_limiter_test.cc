#include "base/log_limiter.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace troupe {
namespace {

TEST(LogLimiterTest, TheFirstEventLogsThenOnePerInterval) {
  LogLimiter limiter(/*interval_nanos=*/int64_t{3600} * 1'000'000'000);  // an hour
  int64_t skipped = -1;
  EXPECT_TRUE(limiter.ShouldLog(&skipped));
  EXPECT_EQ(skipped, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.ShouldLog(&skipped));
}

TEST(LogLimiterTest, TheNextLineSaysHowManyWereHeldBack) {
  LogLimiter limiter(/*interval_nanos=*/0);  // every event may log...
  int64_t skipped = -1;
  EXPECT_TRUE(limiter.ShouldLog(&skipped));
  EXPECT_EQ(skipped, 0);
  EXPECT_TRUE(limiter.ShouldLog(&skipped));  // ...so none is held back
  EXPECT_EQ(skipped, 0);
  EXPECT_EQ(LogLimiter::Skipped(0), "");
  EXPECT_EQ(LogLimiter::Skipped(3), " (3 more not logged)");
}

TEST(LogLimiterTest, ManyThreadsGetOneLineAndEveryOtherEventIsCounted) {
  LogLimiter limiter(/*interval_nanos=*/int64_t{3600} * 1'000'000'000);
  std::atomic<int> logged{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      int64_t skipped;
      for (int i = 0; i < 10'000; ++i) {
        if (limiter.ShouldLog(&skipped)) logged.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(logged.load(), 1);
}

}  // namespace
}  // namespace troupe
