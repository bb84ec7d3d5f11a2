#include "threads/future.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "threads/thread.h"
#include "threads/thread_pool.h"

namespace troupe {
namespace {

TEST(FutureTest, ValueSetBeforeGet) {
  Promise<int> promise;
  Future<int> future = promise.GetFuture();
  EXPECT_FALSE(future.IsReady());
  EXPECT_TRUE(promise.SetValue(7));
  EXPECT_TRUE(future.IsReady());
  EXPECT_EQ(future.Get().value(), 7);
  EXPECT_FALSE(future.Valid());
}

TEST(FutureTest, ValueSetFromAnotherThreadWakesTheWaiter) {
  Promise<std::string> promise;
  Future<std::string> future = promise.GetFuture();
  Thread producer("producer", [p = std::move(promise)]() mutable {
    absl::SleepFor(absl::Milliseconds(5));
    p.SetValue("hello");
  });
  EXPECT_EQ(future.Get().value(), "hello");
}

TEST(FutureTest, SecondSetIsRefused) {
  Promise<int> promise;
  Future<int> future = promise.GetFuture();
  EXPECT_TRUE(promise.SetValue(1));
  EXPECT_FALSE(promise.SetValue(2));
  EXPECT_FALSE(promise.SetError(absl::InternalError("late")));
  EXPECT_EQ(future.Get().value(), 1);
}

TEST(FutureTest, ErrorIsDelivered) {
  Promise<int> promise;
  Future<int> future = promise.GetFuture();
  promise.SetError(absl::NotFoundError("no such key"));
  absl::StatusOr<int> result = future.Get();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
}

TEST(FutureTest, BrokenPromiseFailsInsteadOfHanging) {
  Future<int> future;
  {
    Promise<int> promise;
    future = promise.GetFuture();
  }
  absl::StatusOr<int> result = future.Get();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(result.status().message().find("broken promise"), std::string::npos);
}

TEST(FutureTest, WaitForTimesOutAndGetForReportsDeadline) {
  Promise<int> promise;
  Future<int> future = promise.GetFuture();
  EXPECT_FALSE(future.WaitFor(absl::Milliseconds(10)));
  EXPECT_EQ(future.GetFor(absl::Milliseconds(1)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(future.Valid());  // still waitable
  promise.SetValue(3);
  EXPECT_EQ(future.GetFor(absl::Seconds(1)).value(), 3);
}

TEST(FutureTest, GetUntilAPastDeadlineReportsDeadlineThenGetsTheValue) {
  Promise<std::string> promise;
  Future<std::string> future = promise.GetFuture();
  EXPECT_EQ(future.GetUntil(absl::Now() - absl::Seconds(1)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  promise.SetValue("in");
  EXPECT_EQ(future.GetUntil(absl::Now() + absl::Seconds(10)).value(), "in");
  EXPECT_FALSE(future.Valid());  // consumed, as Get() does
}

TEST(FutureTest, InvalidFutureGetIsFailedPrecondition) {
  Future<int> future;
  EXPECT_EQ(future.Get().status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FutureTest, VoidFuture) {
  Promise<void> promise;
  Future<void> future = promise.GetFuture();
  promise.SetValue();
  EXPECT_TRUE(future.Get().ok());
}

TEST(FutureTest, MoveOnlyValue) {
  Promise<std::unique_ptr<int>> promise;
  auto future = promise.GetFuture();
  promise.SetValue(std::make_unique<int>(4));
  EXPECT_EQ(*future.Get().value(), 4);
}

// A value set from an lvalue is copied, from an rvalue moved, straight into
// the shared state; a promise that was fulfilled does not break its future
// when it goes.
TEST(FutureTest, SetValueCopiesLvaluesAndMovesRvalues) {
  Promise<std::string> copied;
  Future<std::string> copied_future = copied.GetFuture();
  const std::string kept = "kept";
  ASSERT_TRUE(copied.SetValue(kept));
  EXPECT_EQ(kept, "kept");
  { Promise<std::string> gone = std::move(copied); }
  EXPECT_EQ(copied_future.Get().value(), "kept");

  Promise<std::unique_ptr<int>> moved;
  Future<std::unique_ptr<int>> moved_future = moved.GetFuture();
  auto value = std::make_unique<int>(7);
  ASSERT_TRUE(moved.SetValue(std::move(value)));
  EXPECT_EQ(value, nullptr);
  EXPECT_EQ(*moved_future.Get().value(), 7);
}

// Counts what it allocates, so the test sees the state come from it.
template <typename T>
struct CountingAllocator {
  using value_type = T;
  explicit CountingAllocator(int* live) : live(live) {}
  template <typename U>
  CountingAllocator(const CountingAllocator<U>& other) : live(other.live) {}  // NOLINT
  T* allocate(size_t n) {
    ++*live;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, size_t n) {
    --*live;
    std::allocator<T>().deallocate(p, n);
  }
  template <typename U>
  bool operator==(const CountingAllocator<U>& other) const {
    return live == other.live;
  }
  int* live;
};

TEST(FutureTest, APromiseCanTakeItsStateFromAnAllocator) {
  int live = 0;
  {
    Promise<int> promise(std::allocator_arg, CountingAllocator<char>(&live));
    Future<int> future = promise.GetFuture();
    EXPECT_EQ(live, 1);
    Thread<void> setter("setter", [&] { promise.SetValue(42); });
    EXPECT_EQ(future.Get().value(), 42);
    ASSERT_TRUE(setter.Join().ok());
  }
  EXPECT_EQ(live, 0);
}

// A promise holds its future's share of the state until GetFuture():
// one never asked for it, or moved from, must still free the state.
TEST(FutureTest, AStateIsFreedWhetherOrNotItsFutureWasTaken) {
  int live = 0;
  {
    Promise<int> never_asked(std::allocator_arg, CountingAllocator<char>(&live));
    Promise<int> moved_from(std::allocator_arg, CountingAllocator<char>(&live));
    Promise<int> moved_to = std::move(moved_from);
    Promise<int> overwritten(std::allocator_arg, CountingAllocator<char>(&live));
    overwritten = std::move(moved_to);
    EXPECT_EQ(live, 2);  // `overwritten`'s first state went with the assignment
    Future<int> future = overwritten.GetFuture();
    overwritten = Promise<int>();  // breaks `future`; its state lives on with it
    EXPECT_EQ(live, 2);
    EXPECT_EQ(future.Get().status().code(), absl::StatusCode::kAborted);
    future = Future<int>();
    EXPECT_EQ(live, 1);  // `never_asked`'s
  }
  EXPECT_EQ(live, 0);
}

TEST(FutureTest, ThenChainsInlineWhenAlreadyReady) {
  Future<int> doubled = MakeReadyFuture(21).Then([](absl::StatusOr<int> v) { return *v * 2; });
  EXPECT_EQ(doubled.Get().value(), 42);
}

TEST(FutureTest, ThenRunsWhenTheValueArrives) {
  Promise<int> promise;
  Future<std::string> text =
      promise.GetFuture().Then([](absl::StatusOr<int> v) { return std::to_string(*v); });
  EXPECT_FALSE(text.IsReady());
  promise.SetValue(5);
  EXPECT_EQ(text.Get().value(), "5");
}

TEST(FutureTest, ThenSeesErrorsAndItsExceptionsBecomeErrors) {
  Future<int> failed = MakeErrorFuture<int>(absl::UnavailableError("down"));
  Future<bool> saw_error = std::move(failed).Then(
      [](absl::StatusOr<int> v) { return v.status().code() == absl::StatusCode::kUnavailable; });
  EXPECT_TRUE(saw_error.Get().value());

  Future<int> thrown =
      MakeReadyFuture(1).Then([](absl::StatusOr<int>) -> int { throw std::logic_error("bad"); });
  absl::StatusOr<int> result = thrown.Get();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("bad"), std::string::npos);
}

TEST(FutureTest, ThenOnAnExecutorRunsThere) {
  ThreadPool pool(2);
  Future<bool> on_pool = MakeReadyFuture(0).Then(
      pool, [&](absl::StatusOr<int>) { return ThreadPool::Current() == &pool; });
  EXPECT_TRUE(on_pool.Get().value());
}

TEST(FutureTest, WhenAllGathersInOrder) {
  std::vector<Promise<int>> promises(3);
  std::vector<Future<int>> futures;
  for (auto& p : promises) futures.push_back(p.GetFuture());
  Future<std::vector<absl::StatusOr<int>>> all = WhenAll(std::move(futures));
  promises[2].SetValue(30);
  promises[0].SetValue(10);
  EXPECT_FALSE(all.IsReady());
  promises[1].SetError(absl::InternalError("x"));
  std::vector<absl::StatusOr<int>> results = all.Get().value();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].value(), 10);
  EXPECT_FALSE(results[1].ok());
  EXPECT_EQ(results[2].value(), 30);
}

TEST(FutureTest, WhenAllOfNothingIsReady) {
  auto all = WhenAll(std::vector<Future<int>>());
  EXPECT_TRUE(all.IsReady());
  EXPECT_TRUE(all.Get().value().empty());
}

// Many producer threads race their SetValue against consumers' Then() and
// Get(): each value arrives exactly once, whichever side comes first.
TEST(FutureStressTest, RacingSetAndThen) {
  constexpr int kPairs = 2000;
  std::vector<Promise<int>> promises(kPairs);
  std::vector<Future<int>> results;
  for (auto& p : promises) results.push_back(p.GetFuture());
  Thread setter("setter", [&] {
    for (int i = 0; i < kPairs; ++i) promises[i].SetValue(i);
  });
  std::vector<Future<int>> chained;
  for (int i = 0; i < kPairs; ++i) {
    chained.push_back(std::move(results[i]).Then([](absl::StatusOr<int> v) { return *v + 1; }));
  }
  ASSERT_TRUE(setter.Join().ok());
  for (int i = 0; i < kPairs; ++i) EXPECT_EQ(chained[i].Get().value(), i + 1);
}

}  // namespace
}  // namespace troupe

namespace troupe {
namespace {

TEST(FutureTest, WhenAllOfChainedPoolFutures) {
  ThreadPool pool(2);
  for (int round = 0; round < 50; ++round) {
    std::vector<Future<int>> squares;
    for (int i = 1; i <= 10; ++i) {
      squares.push_back(
          pool.Submit([i] { return i; }).Then([](absl::StatusOr<int> v) { return *v * *v; }));
    }
    // Keep the vector: a range-for over `.Get().value()` would iterate a
    // destroyed temporary.
    std::vector<absl::StatusOr<int>> results = WhenAll(std::move(squares)).Get().value();
    int total = 0;
    for (auto& r : results) total += r.value();
    ASSERT_EQ(total, 385);
  }
}

}  // namespace
}  // namespace troupe
