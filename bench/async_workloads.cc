// Async workloads of bench/WORKLOADS.md: K0, the cost of one await; K2,
// the cost of starting a Go task.
#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "async/block_on.h"
#include "async/go.h"
#include "async/task.h"
#include "bench/harness.h"
#include "threads/thread_pool.h"

namespace troupe::bench {
namespace {

constexpr int64_t kAwaits = 10'000'000;

Task<int64_t> Identity(int64_t value) { co_return value; }

Task<int64_t> AwaitInALoop(int64_t n) {
  int64_t sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += *co_await Identity(i);
  co_return sum;
}

// K0: one task awaits 10^7 tasks that finish at once: per await, a frame
// allocated and freed, two trampoline transfers and a result moved out.
absl::StatusOr<Rows> SynchronousAwaits() {
  const int64_t start = NowNanos();
  absl::StatusOr<int64_t> sum = BlockOn(AwaitInALoop(kAwaits));
  const int64_t elapsed = NowNanos() - start;
  if (!sum.ok() || *sum != kAwaits * (kAwaits - 1) / 2) {
    return absl::InternalError(absl::StrCat("K0: wrong sum ", sum.status().ToString()));
  }
  return Rows{{"K0", static_cast<double>(elapsed) / kAwaits}};
}

constexpr int64_t kGoTasks = 10'000'000;

// K2: P1's work as Go tasks — 10^7 tiny coroutines started from one outside
// thread and detached; the pool's drain waits for all (as P1 waits, and as
// Go's p1go waits on a WaitGroup). Per task: a frame for the runner and one
// for the coroutine, a join state, one executor submission.
absl::StatusOr<Rows> StartGoTasks() {
  ThreadPool pool;  // the hardware's worker count
  std::atomic<int64_t> counter{0};
  const int64_t start = NowNanos();
  for (int64_t i = 0; i < kGoTasks; ++i) {
    Go(pool, [&counter]() -> Task<void> {
      counter.fetch_add(1, std::memory_order_relaxed);
      co_return;
    }).Detach();
  }
  pool.Shutdown();  // drains: every task has ended when it returns
  const int64_t elapsed = NowNanos() - start;
  if (counter.load() != kGoTasks) {
    return absl::InternalError(absl::StrCat("K2 ran ", counter.load(), " tasks"));
  }
  return Rows{{"K2", static_cast<double>(elapsed) / kGoTasks}};
}

const bool registered = [] {
  RegisterWorkload({{{"K0", "a task awaits 10^7 tasks that finish at once", "ns/await", ""}},
                    SynchronousAwaits});
  RegisterWorkload(
      {{{"K2", "Go 10^7 tiny tasks from one thread, detached, drained", "ns/task", "<= Go p1go"}},
       StartGoTasks});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
