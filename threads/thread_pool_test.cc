#include "threads/thread_pool.h"

#include <atomic>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/barrier.h"
#include "threads/internal/pool_job.h"
#include "threads/latch.h"
#include "threads/notification.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(ThreadPoolTest, DefaultsToOneWorkerPerCore) {
  ThreadPool pool;
  EXPECT_EQ(pool.num_workers(),
            static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(ThreadPoolTest, SubmitReturnsTheResult) {
  ThreadPool pool(2);
  Future<int> f = pool.Submit([] { return 6 * 7; });
  EXPECT_EQ(f.Get().value(), 42);
}

TEST(ThreadPoolTest, WorkersAreNamedAndKnowTheirPool) {
  ThreadPool pool(ThreadPoolOptions{1, "render"});
  auto f = pool.Submit([&] { return std::make_pair(CurrentThreadName(), ThreadPool::Current()); });
  auto [name, current] = f.Get().value();
  EXPECT_EQ(name, "render-0");
  EXPECT_EQ(current, &pool);
  EXPECT_EQ(ThreadPool::Current(), nullptr);
}

TEST(ThreadPoolTest, ThrowingTaskFailsItsFutureAndTheWorkerSurvives) {
  ThreadPool pool(1);
  Future<int> bad = pool.Submit([]() -> int { throw std::runtime_error("boom"); });
  absl::StatusOr<int> result = bad.Get();
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(result.status().message().find("boom"), std::string::npos);
  EXPECT_EQ(pool.Submit([] { return 1; }).Get().value(), 1);  // the worker lives on
  // A raw Execute() task that throws is logged, and the worker lives on too.
  pool.Execute([] { throw std::runtime_error("fire and forget"); });
  EXPECT_EQ(pool.Submit([] { return 2; }).Get().value(), 2);
}

TEST(ThreadPoolTest, NestedSubmitsGoToTheLocalDequeAndRun) {
  ThreadPool pool(2);
  Future<int> outer = pool.Submit([&] {
    std::vector<Future<int>> children;
    for (int i = 0; i < 100; ++i) children.push_back(pool.Submit([i] { return i; }));
    int sum = 0;
    for (auto& child : children) sum += child.Get().value();  // helps while waiting
    return sum;
  });
  EXPECT_EQ(outer.Get().value(), 4950);
}

// A deferred task waits behind the deque's tasks (which a one-worker pool
// runs newest first), and deferring from outside is plain Execute().
TEST(ThreadPoolTest, DeferredTaskRunsAfterTheWorkersOwnTasks) {
  ThreadPool pool(1);
  std::vector<int> order;  // touched by the one worker only, read after Shutdown
  pool.Execute([&] {
    pool.Defer([&] { order.push_back(0); });
    for (int i = 1; i <= 3; ++i) pool.Execute([&order, i] { order.push_back(i); });
  });
  Notification outside;
  pool.Defer([&] { outside.Notify(); });
  ASSERT_TRUE(outside.WaitForNotificationFor(absl::Seconds(30)));
  pool.Shutdown();
  ASSERT_EQ(order.size(), 4u);
  EXPECT_EQ(order.back(), 0);
}

// Returns once every worker of `pool` has gone to sleep for lack of work.
void WaitUntilAllAsleep(const ThreadPool& pool) {
  const auto all_parked = [&] {
    for (const WorkerStats& worker : pool.worker_stats()) {
      if (worker.parks == 0) return false;
    }
    return true;
  };
  while (!all_parked()) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(20));  // from "about to sleep" to asleep
}

// Deferring with nothing else queued wakes nobody: the deferring worker
// runs the task itself once the current one returns. The current task
// lingers after it defers, so a worker woken for the task would have all
// the time it needs to take it first.
TEST(ThreadPoolTest, DeferWithNothingWaitingRunsOnTheSameWorker) {
  ThreadPool pool(2);
  WaitUntilAllAsleep(pool);
  std::thread::id deferring, deferred;
  Notification done;
  pool.Execute([&] {
    deferring = std::this_thread::get_id();
    pool.Defer([&] {
      deferred = std::this_thread::get_id();
      done.Notify();
    });
    absl::SleepFor(absl::Milliseconds(50));
  });
  ASSERT_TRUE(done.WaitForNotificationFor(absl::Seconds(30)));
  EXPECT_EQ(deferred, deferring);
}

// ...but with a hand-off waiting in the worker's LIFO slot the deferred
// task is the second piece of work: another worker is woken for it and
// runs it while this one runs the hand-off.
TEST(ThreadPoolTest, DeferBehindAHandOffWakesAnotherWorker) {
  ThreadPool pool(2);
  WaitUntilAllAsleep(pool);
  std::atomic<bool> deferred_ran{false};
  std::atomic<bool> ran_meanwhile{false};
  Notification done;
  pool.Execute([&] {
    pool.ExecuteNext([&] {
      // Sleeps without FutexWait, which would hand work over to others.
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (!deferred_ran.load() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
      ran_meanwhile = deferred_ran.load();
      done.Notify();
    });
    pool.Defer([&] { deferred_ran = true; });
  });
  ASSERT_TRUE(done.WaitForNotificationFor(absl::Seconds(30)));
  EXPECT_TRUE(ran_meanwhile);
}

// ...and a task that defers and then blocks does not strand what it
// deferred: going to sleep, its worker wakes another for it.
TEST(ThreadPoolTest, ATaskThatBlocksAfterDeferringDoesNotStrandTheDeferredTask) {
  ThreadPool pool(2);
  WaitUntilAllAsleep(pool);
  Notification ran;
  Future<bool> outer = pool.Submit([&] {
    pool.Defer([&] { ran.Notify(); });
    return ran.WaitForNotificationFor(absl::Seconds(30));
  });
  EXPECT_TRUE(outer.Get().value());
}

// ExecuteNext() from a worker: the task runs right after the current one,
// ahead of everything in the deque, and a second hand-off displaces the
// first to the deque rather than dropping it.
TEST(ThreadPoolTest, ExecuteNextRunsTheHandOffFirstAndKeepsADisplacedOne) {
  ThreadPool pool(1);
  std::vector<std::string> order;  // touched by the one worker only, read after Shutdown
  pool.Execute([&] {
    pool.Execute([&] { order.push_back("queued"); });
    pool.ExecuteNext([&] { order.push_back("displaced"); });
    pool.ExecuteNext([&] { order.push_back("next"); });
    pool.Execute([&] { order.push_back("after"); });  // the deque's newest
    order.push_back("current");
  });
  Notification outside;
  pool.ExecuteNext([&] { outside.Notify(); });  // from outside: Execute()
  ASSERT_TRUE(outside.WaitForNotificationFor(absl::Seconds(30)));
  pool.Shutdown();
  // The hand-off before even the deque's newest task; the displaced one
  // went to the deque after "queued", which runs newest first.
  EXPECT_EQ(order, (std::vector<std::string>{"current", "next", "after", "displaced", "queued"}));
}

// The hand-off cannot be stolen: an idle worker looks for work all the
// while the current task runs, and the task still runs on the same thread.
TEST(ThreadPoolTest, ExecuteNextIsNotStolen) {
  ThreadPool pool(2);
  for (int round = 0; round < 20; ++round) {
    std::thread::id current;
    std::thread::id next;
    Notification done;
    pool.Execute([&] {
      current = std::this_thread::get_id();
      pool.ExecuteNext([&] {
        next = std::this_thread::get_id();
        done.Notify();
      });
      absl::SleepFor(absl::Milliseconds(1));  // the other worker searches meanwhile
    });
    ASSERT_TRUE(done.WaitForNotificationFor(absl::Seconds(30)));
    EXPECT_EQ(next, current) << "round " << round;
  }
}

// A task that blocks its worker after a hand-off (both slots: an actor's
// job and a task) would wait forever for work only that worker may run;
// blocking hands the slots over to the deque, where the other worker
// steals them.
TEST(ThreadPoolTest, AWorkerThatBlocksHandsOverItsLifoSlots) {
  struct NotifyingJob final : threads_internal::PoolJob {
    explicit NotifyingJob(Notification* ran) : ran(ran) {}
    void RunJob() override { ran->Notify(); }
    Notification* ran;
  };
  ThreadPool pool(2);
  Notification job_ran;
  Notification task_ran;
  Notification both_ran;
  NotifyingJob job(&job_ran);
  pool.Execute([&] {
    threads_internal::PoolJobs::ExecuteNext(pool, &job);
    pool.ExecuteNext([&] { task_ran.Notify(); });
    // Sleeps on a futex: the hand-offs go to the deque first.
    if (job_ran.WaitForNotificationFor(absl::Seconds(30)) &&
        task_ran.WaitForNotificationFor(absl::Seconds(30))) {
      both_ran.Notify();
    }
  });
  EXPECT_TRUE(both_ran.WaitForNotificationFor(absl::Seconds(60)));
  pool.Shutdown();
}

// Tasks a worker took from the injection queue in one batch are not its
// alone: when one of them blocks, the others still run on another worker.
TEST(ThreadPoolTest, AWorkerThatBlocksHandsOverItsInjectorBatch) {
  ThreadPool pool(2);
  // Two tasks that each block until both run: submitted back to back from
  // outside, the first worker to wake usually takes both in one batch, and
  // without the hand-over the second would wait behind the first forever.
  Notification gate;
  Latch both_waiting(2);
  for (int i = 0; i < 2; ++i) {
    pool.Execute([&] {
      both_waiting.CountDown();
      (void)gate.WaitForNotificationFor(absl::Seconds(60));
    });
  }
  ASSERT_TRUE(both_waiting.WaitFor(absl::Seconds(30)));
  // Both workers are busy now: the three tasks below wait in the injection
  // queue together, and the first worker to finish takes the first two in
  // one batch (it leaves one, the third, for the other worker).
  Notification second_ran;
  Notification first_saw_it;
  pool.Execute([&] {
    if (second_ran.WaitForNotificationFor(absl::Seconds(30))) first_saw_it.Notify();
  });
  pool.Execute([&] { second_ran.Notify(); });
  pool.Execute([] {});  // the other worker's share
  gate.Notify();
  EXPECT_TRUE(first_saw_it.WaitForNotificationFor(absl::Seconds(60)));
  pool.Shutdown();
}

// Two tasks queued together on a two-worker pool go one to each worker (a
// worker leaves a task queued for each other worker): a long
// first task that never blocks (so hands nothing over) must not hold the
// second in its worker's private batch while the other worker sleeps.
// With a minimum batch of 16 it did, nearly every run.
TEST(ThreadPoolTest, AnIdleWorkerGetsTheTaskQueuedBehindALongOne) {
  ThreadPool pool(2);
  // Both workers asleep (nothing submitted yet): the first to wake for the
  // long task usually finds both tasks queued, since the second is
  // submitted within a microsecond, long before a wake-up completes.
  std::atomic<bool> short_ran{false};
  Notification long_saw_it;
  pool.Execute([&] {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (!short_ran.load() && absl::Now() < deadline) std::this_thread::yield();  // CPU-bound
    if (short_ran.load()) long_saw_it.Notify();
  });
  pool.Execute([&] { short_ran.store(true); });
  EXPECT_TRUE(long_saw_it.WaitForNotificationFor(absl::Seconds(60)));
  pool.Shutdown();
}

// A chain of hand-offs does not hold the worker forever: work queued
// before the chain runs before it ends.
TEST(ThreadPoolTest, AChainOfHandOffsLetsQueuedWorkRun) {
  ThreadPool pool(1);
  constexpr int kChain = 100;
  int steps = 0;  // the one worker only
  int queued_ran_at = -1;
  Notification done;
  std::function<void()> step = [&] {
    if (++steps == kChain) {
      done.Notify();
      return;
    }
    pool.ExecuteNext([&] { step(); });
  };
  pool.Execute([&] {
    pool.Execute([&] { queued_ran_at = steps; });
    pool.ExecuteNext([&] { step(); });
  });
  ASSERT_TRUE(done.WaitForNotificationFor(absl::Seconds(30)));
  pool.Shutdown();
  EXPECT_GE(queued_ran_at, 0);
  EXPECT_LT(queued_ran_at, kChain);
}

// Tasks that keep refilling one worker's deque do not starve the global queue.
TEST(ThreadPoolTest, GlobalQueueIsServedWhileADequeKeepsRefilling) {
  ThreadPool pool(1);
  std::atomic<bool> stop{false};
  std::function<void()> respawn = [&] {
    if (!stop.load()) pool.Execute([&] { respawn(); });
  };
  pool.Execute([&] { respawn(); });
  Notification served;
  pool.Execute([&] { served.Notify(); });  // from outside: the global queue
  EXPECT_TRUE(served.WaitForNotificationFor(absl::Seconds(30)));
  stop.store(true);
  pool.Shutdown();
}

int64_t Fib(ThreadPool& pool, int n) {
  if (n < 2) return n;
  if (n < 12) return Fib(pool, n - 1) + Fib(pool, n - 2);
  Future<int64_t> left = pool.Submit([&pool, n] { return Fib(pool, n - 1); });
  const int64_t right = Fib(pool, n - 2);
  return left.Get().value() + right;
}

// Fork-join on two workers, every worker blocked in Get() at some point:
// without helping while waiting, this deadlocks.
TEST(ThreadPoolTest, ForkJoinOnTwoWorkersDoesNotDeadlock) {
  ThreadPool pool(2);
  EXPECT_EQ(pool.Submit([&] { return Fib(pool, 24); }).Get().value(), 46368);
  ThreadPool single(1);
  EXPECT_EQ(single.Submit([&] { return Fib(single, 20); }).Get().value(), 6765);
}

TEST(ThreadPoolTest, ParallelForVisitsEveryIndexOnce) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> visits(10'007);
  ASSERT_TRUE(pool.ParallelFor(0, 10'007, 64, [&](int64_t i) { visits[i].fetch_add(1); }).ok());
  for (auto& v : visits) ASSERT_EQ(v.load(), 1);
  EXPECT_TRUE(pool.ParallelFor(5, 5, 1, [](int64_t) { FAIL(); }).ok());
  EXPECT_EQ(pool.ParallelFor(0, 10, 0, [](int64_t) {}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(ThreadPoolTest, ParallelForReportsAThrownException) {
  ThreadPool pool(2);
  absl::Status status = pool.ParallelFor(0, 1000, 10, [](int64_t i) {
    if (i == 517) throw std::out_of_range("index 517");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("index 517"), std::string::npos);
}

TEST(ThreadPoolTest, ParallelMapKeepsOrder) {
  ThreadPool pool(2);
  std::vector<int> inputs(1000);
  std::iota(inputs.begin(), inputs.end(), 0);
  absl::StatusOr<std::vector<std::string>> out = pool.ParallelMap(
      inputs, [](int x) { return std::to_string(x * x); }, 7);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ((*out)[i], std::to_string(i * i));
}

TEST(ThreadPoolTest, ParallelForFromInsideATaskRunsOnTheSamePool) {
  ThreadPool pool(2);
  Future<int64_t> f = pool.Submit([&] {
    std::atomic<int64_t> sum{0};
    absl::Status s = pool.ParallelFor(0, 1000, 10, [&](int64_t i) { sum.fetch_add(i); });
    return s.ok() ? sum.load() : -1;
  });
  EXPECT_EQ(f.Get().value(), 499500);
}

TEST(ThreadPoolTest, ShutdownDrainsQueuedWorkIncludingChildren) {
  std::atomic<int> ran{0};
  auto pool = std::make_unique<ThreadPool>(2);
  Notification gate;
  pool->Execute([&] { gate.WaitForNotification(); });
  for (int i = 0; i < 100; ++i) {
    pool->Execute([&, p = pool.get()] {
      ran.fetch_add(1);
      p->Execute([&] { ran.fetch_add(1); });  // accepted while draining
    });
  }
  Thread opener("opener", [&] {
    absl::SleepFor(absl::Milliseconds(10));
    gate.Notify();
  });
  pool->Shutdown();
  EXPECT_EQ(ran.load(), 200);
  ASSERT_TRUE(opener.Join().ok());
}

TEST(ThreadPoolTest, SubmitAfterShutdownIsRejectedWithAnError) {
  ThreadPool pool(1);
  pool.Shutdown();
  EXPECT_FALSE(pool.TryExecute([] {}));
  Future<int> f = pool.Submit([] { return 1; });
  EXPECT_EQ(f.Get().status().code(), absl::StatusCode::kCancelled);
  pool.Execute([] {});
  EXPECT_EQ(pool.stats().rejected, 3);
  pool.Shutdown();  // idempotent
}

TEST(ThreadPoolTest, ShutdownNowCancelsQueuedTasks) {
  ThreadPool pool(1);
  Notification started, gate;
  pool.Execute([&] {
    started.Notify();
    gate.WaitForNotification();
  });
  started.WaitForNotification();
  std::vector<Future<int>> queued;
  for (int i = 0; i < 50; ++i) queued.push_back(pool.Submit([i] { return i; }));
  Thread opener("opener", [&] {
    absl::SleepFor(absl::Milliseconds(10));
    gate.Notify();
  });
  pool.ShutdownNow();
  ASSERT_TRUE(opener.Join().ok());
  for (auto& f : queued) {
    EXPECT_EQ(f.Get().status().code(), absl::StatusCode::kCancelled);
  }
  EXPECT_EQ(pool.stats().cancelled, 50);
}

TEST(ThreadPoolTest, StatsCountWork) {
  ThreadPool pool(2);
  Latch done(1000);
  for (int i = 0; i < 1000; ++i) pool.Execute([&] { done.CountDown(); });
  done.Wait();
  pool.Shutdown();
  ThreadPoolStats stats = pool.stats();
  EXPECT_EQ(stats.workers, 2);
  EXPECT_EQ(stats.executed, 1000);
  EXPECT_EQ(stats.queued, 0);
  EXPECT_EQ(stats.running, 0);
}

// Polls `pool`'s worker 0 until `done(stats)` or ten seconds pass.
template <typename Predicate>
WorkerStats WaitForWorker0(const ThreadPool& pool, Predicate done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  WorkerStats stats = pool.worker_stats()[0];
  while (!done(stats) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
    stats = pool.worker_stats()[0];
  }
  return stats;
}

TEST(ThreadPoolTest, WorkerStatsSplitBusyAndIdleTime) {
  ThreadPool pool(1);
  const WorkerStats asleep = WaitForWorker0(pool, [](const WorkerStats& s) { return s.parks > 0; });
  ASSERT_GT(asleep.parks, 0) << "an idle worker sleeps";
  EXPECT_GT(asleep.idle, absl::ZeroDuration());
  EXPECT_LE(asleep.idle, asleep.uptime);
  EXPECT_LT(asleep.busy_fraction, 1.0);

  // While a task runs, none of the time counts as idle.
  Notification started, release;
  pool.Execute([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  const WorkerStats before = pool.worker_stats()[0];
  absl::SleepFor(absl::Milliseconds(30));
  const WorkerStats after = pool.worker_stats()[0];
  EXPECT_EQ(after.idle, before.idle);
  EXPECT_GT(after.uptime, before.uptime);
  EXPECT_GT(after.busy_fraction, before.busy_fraction);
  release.Notify();

  const WorkerStats done =
      WaitForWorker0(pool, [](const WorkerStats& s) { return s.executed == 1; });
  EXPECT_EQ(done.executed, 1);
  EXPECT_EQ(done.steals, 0);
  EXPECT_EQ(done.index, 0);
}

// A job that records, while it runs, whether its worker's stats name it;
// then hands off to `next`, if any, as an actor wakes another.
class SelfCheckingJob final : public threads_internal::PoolJob {
 public:
  SelfCheckingJob(ThreadPool* pool, SelfCheckingJob* next) : pool_(pool), next_(next) {}
  void RunJob() override {
    for (const WorkerStats& worker : pool_->worker_stats()) {
      if (worker.running_job == this) named = true;
    }
    if (next_ != nullptr) threads_internal::PoolJobs::ExecuteNext(*pool_, next_);
    done.Notify();
  }
  bool named = false;  // written before done.Notify(), read after
  Notification done;

 private:
  ThreadPool* const pool_;
  SelfCheckingJob* const next_;
};

// Every path a job can take shows it as running: from outside the pool,
// the LIFO slot, the global queue after a long chain of hand-offs (the
// pool's limit is 16), the deque a displaced job moves to, and Defer.
TEST(ThreadPoolTest, WorkerStatsNameTheJobWhicheverPathItTook) {
  ThreadPool pool(1);
  constexpr int kChain = 40;
  std::vector<std::unique_ptr<SelfCheckingJob>> chain(kChain);
  for (int i = kChain - 1; i >= 0; --i) {
    chain[i] =
        std::make_unique<SelfCheckingJob>(&pool, i + 1 < kChain ? chain[i + 1].get() : nullptr);
  }
  threads_internal::PoolJobs::ExecuteNext(pool, chain[0].get());  // from outside
  for (int i = 0; i < kChain; ++i) {
    chain[i]->done.WaitForNotification();
    EXPECT_TRUE(chain[i]->named) << "hand-off " << i;
  }

  SelfCheckingJob displaced(&pool, nullptr);
  SelfCheckingJob slot(&pool, nullptr);
  SelfCheckingJob deferred(&pool, nullptr);
  pool.Execute([&] {
    threads_internal::PoolJobs::ExecuteNext(pool, &displaced);
    threads_internal::PoolJobs::ExecuteNext(pool, &slot);  // moves `displaced` to the deque
    threads_internal::PoolJobs::Defer(pool, &deferred);
  });
  for (SelfCheckingJob* job : {&displaced, &slot, &deferred}) {
    job->done.WaitForNotification();
    EXPECT_TRUE(job->named);
  }
}

TEST(ThreadPoolTest, DefaultPoolRunsTasks) {
  EXPECT_EQ(DefaultThreadPool().Submit([] { return 3; }).Get().value(), 3);
}

// 10^6 tasks from several outside submitters at once: exact count, no loss.
TEST(ThreadPoolStressTest, ConcurrentSubmittersExactCount) {
  constexpr int kSubmitters = 4;
  const int64_t per_submitter = ScaledCount(250'000);
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  Latch done(kSubmitters * per_submitter);
  std::vector<Thread<void>> submitters;
  for (int s = 0; s < kSubmitters; ++s) {
    submitters.emplace_back("submitter", [&] {
      for (int64_t i = 1; i <= per_submitter; ++i) {
        pool.Execute([&, i] {
          sum.fetch_add(i, std::memory_order_relaxed);
          done.CountDown();
        });
      }
    });
  }
  for (auto& s : submitters) ASSERT_TRUE(s.Join().ok());
  done.Wait();
  EXPECT_EQ(sum.load(), kSubmitters * per_submitter * (per_submitter + 1) / 2);
  EXPECT_EQ(pool.stats().rejected, 0);
}

// Steal-heavy recursion on four workers (more workers than cores), with
// futures everywhere: exact result, repeatedly. (Whether a given child is
// stolen depends on timing: its parent may pop it first while it waits.)
TEST(ThreadPoolStressTest, StealHeavyForkJoin) {
  ThreadPool pool(4);
  const int rounds = static_cast<int>(ScaledCount(20, 2));
  for (int r = 0; r < rounds; ++r) {
    ASSERT_EQ(pool.Submit([&] { return Fib(pool, 22); }).Get().value(), 17711);
  }
}

// Two children of one task must run at the same time (they meet at a
// barrier), so the second can only run if another worker steals it from the
// parent's deque; without stealing this test would hang.
TEST(ThreadPoolTest, IdleWorkersStealFromABusyWorker) {
  ThreadPool pool(2);
  const int rounds = static_cast<int>(ScaledCount(50, 5));
  for (int r = 0; r < rounds; ++r) {
    Future<bool> parent = pool.Submit([&] {
      Barrier meet(2);
      Future<void> a = pool.Submit([&] { meet.ArriveAndWait(); });
      Future<void> b = pool.Submit([&] { meet.ArriveAndWait(); });
      return a.Get().ok() && b.Get().ok();
    });
    ASSERT_TRUE(parent.Get().value());
  }
  EXPECT_GT(pool.stats().steals, 0);
}

int64_t TotalParks(const ThreadPool& pool) {
  int64_t parks = 0;
  for (const WorkerStats& worker : pool.worker_stats()) parks += worker.parks;
  return parks;
}

// A task from outside wakes the worker that went to sleep last: with every
// worker asleep, each task runs on the worker that ran the one before
// (which went back to sleep after it). Waking the longest asleep instead
// would pass the tasks round the three workers.
TEST(ThreadPoolTest, AWakeUpGoesToTheWorkerThatWentToSleepLast) {
  ThreadPool pool(3);
  WaitUntilAllAsleep(pool);
  std::set<std::thread::id> ran_on;
  for (int round = 0; round < 6; ++round) {
    const int64_t parks = TotalParks(pool);
    Notification done;
    pool.Execute([&] {
      ran_on.insert(std::this_thread::get_id());
      done.Notify();
    });
    ASSERT_TRUE(done.WaitForNotificationFor(absl::Seconds(30)));
    // One worker woke for the task; wait until it is back on the stack.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (TotalParks(pool) == parks && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_GT(TotalParks(pool), parks);
  }
  EXPECT_EQ(ran_on.size(), 1u);
}

// Workers go idle and are woken over and over (bursts with gaps): a lost
// wake-up would hang this test.
TEST(ThreadPoolStressTest, IdleWakeCyclesLoseNoWakeUps) {
  ThreadPool pool(2);
  const int64_t bursts = ScaledCount(2'000, 50);
  for (int64_t b = 0; b < bursts; ++b) {
    Latch done(3);
    for (int i = 0; i < 3; ++i) pool.Execute([&] { done.CountDown(); });
    ASSERT_TRUE(done.WaitFor(absl::Seconds(30))) << "burst " << b;
    if (b % 100 == 0) absl::SleepFor(absl::Microseconds(200));  // let workers park
  }
}

}  // namespace
}  // namespace troupe
