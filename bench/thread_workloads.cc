// Thread-pool workloads P1, P1f, P2, P3 of bench/WORKLOADS.md.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/anchor.h"
#include "bench/harness.h"
#include "threads/latch.h"
#include "threads/thread.h"
#include "threads/thread_pool.h"

namespace troupe::bench {
namespace {

constexpr int64_t kTinyTasks = 10'000'000;

// P1: fire-and-forget tiny tasks from one outside thread; wait until all ran.
absl::StatusOr<Rows> SubmitTinyTasks() {
  ThreadPool pool;  // the hardware's worker count
  std::atomic<int64_t> counter{0};
  const int64_t start = NowNanos();
  for (int64_t i = 0; i < kTinyTasks; ++i) {
    pool.Execute([&counter] { counter.fetch_add(1, std::memory_order_relaxed); });
  }
  pool.Shutdown();  // drains: every task has run when it returns
  const int64_t elapsed = NowNanos() - start;
  if (counter.load() != kTinyTasks) {
    return absl::InternalError(absl::StrCat("P1 ran ", counter.load(), " tasks"));
  }
  return Rows{{"P1", static_cast<double>(elapsed) / kTinyTasks}};
}

// P1f: the same with Submit, a Future per task, waiting on every future.
absl::StatusOr<Rows> SubmitTinyTasksWithFutures() {
  ThreadPool pool;
  std::atomic<int64_t> counter{0};
  std::vector<Future<void>> futures;
  futures.reserve(kTinyTasks);
  const int64_t start = NowNanos();
  for (int64_t i = 0; i < kTinyTasks; ++i) {
    futures.push_back(pool.Submit([&counter] { counter.fetch_add(1, std::memory_order_relaxed); }));
  }
  for (Future<void>& f : futures) {
    if (!f.Get().ok()) return absl::InternalError("P1f: a task failed");
  }
  const int64_t elapsed = NowNanos() - start;
  if (counter.load() != kTinyTasks) return absl::InternalError("P1f: wrong count");
  return Rows{{"P1f", static_cast<double>(elapsed) / kTinyTasks}};
}

int64_t SequentialFib(int n) { return n < 2 ? n : SequentialFib(n - 1) + SequentialFib(n - 2); }

int64_t ParallelFib(ThreadPool& pool, int n) {
  if (n <= 15) return SequentialFib(n);
  Future<int64_t> left = pool.Submit([&pool, n] { return ParallelFib(pool, n - 1); });
  const int64_t right = ParallelFib(pool, n - 2);
  return left.Get().value() + right;
}

// P2: fork-join fib(32), a task per call above the cutoff of 15, against the
// sequential fib(32) of the same process.
absl::StatusOr<Rows> ForkJoinFib() {
  constexpr int kN = 32;
  constexpr int64_t kExpected = 2178309;
  ThreadPool pool;
  const int64_t seq_start = NowNanos();
  const int64_t seq = SequentialFib(kN);
  const int64_t seq_ns = NowNanos() - seq_start;
  const int64_t par_start = NowNanos();
  absl::StatusOr<int64_t> par = pool.Submit([&pool] { return ParallelFib(pool, kN); }).Get();
  const int64_t par_ns = NowNanos() - par_start;
  if (seq != kExpected || !par.ok() || *par != kExpected) {
    return absl::InternalError("P2: wrong fib(32)");
  }
  return Rows{{"P2", par_ns / 1e6},
              {"P2-seq", seq_ns / 1e6},
              {"P2-speedup", static_cast<double>(seq_ns) / static_cast<double>(par_ns)}};
}

// P3: create and join OS threads one after another: troupe::Thread against
// raw std::thread, in the same run.
absl::StatusOr<Rows> SpawnThreads() {
  constexpr int kThreads = 100'000;
  std::atomic<int> ran{0};
  const int64_t raw_start = NowNanos();
  for (int i = 0; i < kThreads; ++i) {
    std::thread t([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
    t.join();
  }
  const int64_t raw_ns = NowNanos() - raw_start;
  const int64_t troupe_start = NowNanos();
  for (int i = 0; i < kThreads; ++i) {
    Thread t("p3", [&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
    if (!t.Join().ok()) return absl::InternalError("P3: join failed");
  }
  const int64_t troupe_ns = NowNanos() - troupe_start;
  if (ran.load() != 2 * kThreads) return absl::InternalError("P3: wrong count");
  return Rows{{"P3", troupe_ns / 1e3 / kThreads},
              {"P3-std", raw_ns / 1e3 / kThreads},
              {"P3-ratio", static_cast<double>(troupe_ns) / static_cast<double>(raw_ns)}};
}

const bool registered = [] {
  RegisterWorkload(
      {{{"P1", "10^7 tiny tasks via Execute, one submitter", "ns/task", "<= 25"},
        AnchorRow(kGoAnchor, "P1", "p1pool", "ns/task"),
        AnchorRatioRow(kGoAnchor, "P1", "p1pool", "<= 1")},
       [] { return WithAnchor(SubmitTinyTasks(), kGoAnchor, "P1", "p1pool", "ns_per_task"); }});
  RegisterWorkload({{{"P1f", "10^7 tiny tasks via Submit (a Future each)", "ns/task", "<= 60"}},
                    SubmitTinyTasksWithFutures});
  RegisterWorkload({{{"P2", "fork-join fib(32), cutoff 15", "ms", ""},
                     {"P2-seq", "sequential fib(32), same process", "ms", ""},
                     {"P2-speedup", "P2 speed-up over sequential", "x", ">= 1.9"}},
                    ForkJoinFib});
  RegisterWorkload({{{"P3", "create+join 10^5 troupe::Thread", "us/thread", ""},
                     {"P3-std", "create+join 10^5 std::thread (baseline)", "us/thread", ""},
                     {"P3-ratio", "troupe::Thread / std::thread", "x", "<= 1.1"}},
                    SpawnThreads});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
