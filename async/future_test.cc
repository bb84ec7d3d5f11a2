#include "async/future.h"

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "async/block_on.h"
#include "async/go.h"
#include "async/leak_check_test_base.h"
#include "async/task.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "threads/future.h"
#include "threads/notification.h"
#include "threads/thread.h"
#include "threads/thread_pool.h"

namespace troupe {
namespace {

using testkit::Eventually;

class FutureAwaitTest : public async_internal::LeakCheckedTest {};

TEST_F(FutureAwaitTest, AReadyFutureGivesItsValueWithoutSuspending) {
  auto task = []() -> Task<int> {
    absl::StatusOr<int> v = co_await MakeReadyFuture(41);
    if (!v.ok()) co_return v.status();
    co_return *v + 1;
  };
  EXPECT_EQ(BlockOn(task()).value(), 42);
}

TEST_F(FutureAwaitTest, ATaskWaitsForAPromiseKeptOnAnotherThread) {
  ThreadPool pool(2);
  Promise<std::string> promise;
  Future<std::string> future = promise.GetFuture();
  std::atomic<bool> awaiting{false};
  JoinHandle<std::string> handle = Go(
      pool,
      [&awaiting](Future<std::string> f) -> Task<std::string> {
        awaiting = true;
        absl::StatusOr<std::string> v = co_await std::move(f);
        if (!v.ok()) co_return v.status();
        co_return *v + "!";
      },
      std::move(future));
  ASSERT_TRUE(Eventually([&] { return awaiting.load(); }));
  Thread keeper("keeper", [&promise] { promise.SetValue(std::string(64, 'v')); });
  ASSERT_TRUE(keeper.Join().ok());
  EXPECT_EQ(handle.Get().value(), std::string(64, 'v') + "!");
}

TEST_F(FutureAwaitTest, ErrorsBrokenPromisesAndEmptyFuturesComeBackAsStatuses) {
  auto await_one = [](Future<int> f) -> Task<int> { co_return co_await std::move(f); };
  EXPECT_EQ(BlockOn(await_one(MakeErrorFuture<int>(absl::NotFoundError("no")))).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(BlockOn(await_one(Future<int>())).status().code(),
            absl::StatusCode::kFailedPrecondition);

  ThreadPool pool(1);
  auto promise = std::make_unique<Promise<int>>();
  JoinHandle<int> handle = Go(pool, await_one, promise->GetFuture());
  promise.reset();  // broken: the awaiting task must not hang
  EXPECT_EQ(handle.Get().status().code(), absl::StatusCode::kAborted);
}

TEST_F(FutureAwaitTest, FutureOfVoidGivesAStatus) {
  Promise<void> promise;
  auto task = [](Future<void> f) -> Task<bool> {
    absl::Status s = co_await std::move(f);
    co_return s.ok();
  };
  Future<void> future = promise.GetFuture();
  promise.SetValue();
  EXPECT_TRUE(BlockOn(task(std::move(future))).value());
}

// Cancelled while waiting: the task resumes at once with kCancelled and
// unwinds; the value that comes later is dropped, and nothing leaks (the
// fixture counts the frames and the waits).
TEST_F(FutureAwaitTest, CancellationEndsTheWaitAndTheLateValueIsDropped) {
  ThreadPool pool(2);
  Promise<std::shared_ptr<int>> promise;
  std::atomic<bool> awaiting{false};
  JoinHandle<bool> handle = Go(
      pool,
      [&awaiting](Future<std::shared_ptr<int>> f) -> Task<bool> {
        awaiting = true;
        absl::StatusOr<std::shared_ptr<int>> v = co_await std::move(f);
        co_return v.status().code() == absl::StatusCode::kCancelled;
      },
      promise.GetFuture());
  ASSERT_TRUE(Eventually([&] { return awaiting.load(); }));
  handle.Cancel();
  EXPECT_TRUE(handle.Get().value());

  auto value = std::make_shared<int>(7);
  std::weak_ptr<int> watch = value;
  promise.SetValue(std::move(value));
  EXPECT_TRUE(watch.expired()) << "the late value was kept somewhere";
}

// The cancel lands before the task reaches its co_await (so the wait is
// never armed): the late value is dropped all the same.
TEST_F(FutureAwaitTest, ATaskCancelledBeforeItAwaitsDropsTheLateValueToo) {
  ThreadPool pool(2);
  Promise<std::shared_ptr<int>> promise;
  Notification cancelled;
  JoinHandle<bool> handle = Go(
      pool,
      [&cancelled](Future<std::shared_ptr<int>> f) -> Task<bool> {
        cancelled.WaitForNotification();  // blocks the worker: a test's shortcut
        absl::StatusOr<std::shared_ptr<int>> v = co_await std::move(f);
        co_return v.status().code() == absl::StatusCode::kCancelled;
      },
      promise.GetFuture());
  handle.Cancel();
  cancelled.Notify();
  EXPECT_TRUE(handle.Get().value());

  auto value = std::make_shared<int>(7);
  std::weak_ptr<int> watch = value;
  promise.SetValue(std::move(value));
  EXPECT_TRUE(watch.expired()) << "the late value was kept somewhere";
}

// Promises kept from many threads while the tasks suspend and cancels race
// with them: every task ends exactly once, with the value or kCancelled,
// and no value outlives its task (a cancelled task's is dropped when it
// comes, whichever side of the race it lands on).
TEST_F(FutureAwaitTest, CompletionsRaceCancellationsAndEveryTaskEndsOnce) {
  constexpr int kTasks = 400;
  ThreadPool pool(2);
  std::vector<Promise<std::shared_ptr<int>>> promises(kTasks);
  std::vector<std::weak_ptr<int>> values(kTasks);
  std::vector<JoinHandle<int>> handles;
  for (int i = 0; i < kTasks; ++i) {
    handles.push_back(Go(
        pool,
        [](Future<std::shared_ptr<int>> f) -> Task<int> {
          absl::StatusOr<std::shared_ptr<int>> v = co_await std::move(f);
          if (!v.ok()) co_return v.status();
          co_return **v;
        },
        promises[i].GetFuture()));
  }
  Thread keeper("keeper", [&promises, &values] {
    for (size_t i = 0; i < promises.size(); ++i) {
      auto value = std::make_shared<int>(static_cast<int>(i));
      values[i] = value;
      promises[i].SetValue(std::move(value));
      EXPECT_TRUE(promises[i].IsFulfilled());
    }
  });
  for (int i = 0; i < kTasks; i += 2) handles[i].Cancel();
  ASSERT_TRUE(keeper.Join().ok());
  for (int i = 0; i < kTasks; ++i) {
    absl::StatusOr<int> result = handles[i].Get();
    if (result.ok()) {
      EXPECT_EQ(*result, i);
    } else {
      EXPECT_EQ(result.status().code(), absl::StatusCode::kCancelled) << i;
      EXPECT_EQ(i % 2, 0) << "only cancelled tasks may fail";
    }
    EXPECT_TRUE(values[i].expired()) << "task " << i << "'s value was kept somewhere";
  }
}

// The value comes after the task's pool has shut down: the resumption is
// dropped unrun, so the strand is abandoned — its frames (and the value
// built into the waiting awaiter) are destroyed on the keeping thread, and
// the joiner learns kCancelled instead of waiting forever.
TEST_F(FutureAwaitTest, AValueForATaskWhosePoolShutDownEndsItCancelled) {
  auto pool = std::make_unique<ThreadPool>(2);
  Promise<std::shared_ptr<int>> promise;
  std::atomic<bool> awaiting{false};
  JoinHandle<int> handle = Go(
      *pool,
      [&awaiting](Future<std::shared_ptr<int>> f) -> Task<int> {
        awaiting = true;
        absl::StatusOr<std::shared_ptr<int>> v = co_await std::move(f);
        if (!v.ok()) co_return v.status();
        co_return **v;
      },
      promise.GetFuture());
  ASSERT_TRUE(Eventually([&] { return awaiting.load(); }));
  absl::SleepFor(absl::Milliseconds(20));  // into its wait, most likely
  pool->ShutdownNow();
  auto value = std::make_shared<int>(7);
  std::weak_ptr<int> watch = value;
  EXPECT_TRUE(promise.SetValue(std::move(value)));
  EXPECT_EQ(handle.Get().status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(watch.expired()) << "the value outlived the abandoned task";
  pool.reset();
}

// A value handed straight to a suspended task (it never passes through the
// future's state) still counts as set: the promise says it is fulfilled,
// refuses a second value, and breaks nothing when it goes.
TEST_F(FutureAwaitTest, APromiseThatHandedItsValueToATaskIsFulfilled) {
  ThreadPool pool(2);
  auto promise = std::make_unique<Promise<int>>();
  std::atomic<bool> awaiting{false};
  JoinHandle<int> handle = Go(
      pool,
      [&awaiting](Future<int> f) -> Task<int> {
        awaiting = true;
        co_return co_await std::move(f);
      },
      promise->GetFuture());
  ASSERT_TRUE(Eventually([&] { return awaiting.load(); }));
  absl::SleepFor(absl::Milliseconds(20));  // into its wait, most likely
  EXPECT_TRUE(promise->SetValue(5));
  EXPECT_TRUE(promise->IsFulfilled());
  EXPECT_FALSE(promise->SetValue(6));
  promise.reset();
  EXPECT_EQ(handle.Get().value(), 5);
}

}  // namespace
}  // namespace troupe
