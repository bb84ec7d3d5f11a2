#include "threads/synchronized.h"

#include <map>
#include <string>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/barrier.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(SynchronizedTest, ValueIsReachedThroughViews) {
  Synchronized<std::map<std::string, int>> scores;
  scores.Lock()->emplace("ada", 3);
  (*scores.Lock())["bob"] = 4;
  {
    auto view = scores.ReadLock();
    EXPECT_EQ(view->size(), 2u);
    EXPECT_EQ(view->at("ada"), 3);
  }
  const int total = scores.WithReadLock([](const auto& m) {
    int sum = 0;
    for (const auto& [name, score] : m) sum += score;
    return sum;
  });
  EXPECT_EQ(total, 7);
  EXPECT_EQ(scores.Copy().size(), 2u);
}

TEST(SynchronizedTest, ReadViewsAreShared) {
  constexpr int kReaders = 3;
  Synchronized<int> value(5);
  Barrier inside(kReaders);
  std::vector<Thread<int>> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back("reader", [&] {
      auto view = value.ReadLock();
      inside.ArriveAndWait();  // all three hold a view at once
      return *view;
    });
  }
  for (auto& r : readers) EXPECT_EQ(r.Join().value(), 5);
}

TEST(SynchronizedStressTest, ConcurrentWritersLoseNoUpdates) {
  const int64_t per_thread = ScaledCount(50'000);
  Synchronized<std::vector<int64_t>> log;
  std::vector<Thread<void>> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back("writer", [&, t] {
      for (int64_t i = 0; i < per_thread; ++i) log.WithLock([&](auto& v) { v.push_back(t); });
    });
  }
  for (auto& w : writers) ASSERT_TRUE(w.Join().ok());
  EXPECT_EQ(log.ReadLock()->size(), static_cast<size_t>(4 * per_thread));
}

}  // namespace
}  // namespace troupe
