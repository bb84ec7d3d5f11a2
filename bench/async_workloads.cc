// Async workloads of bench/WORKLOADS.md: K0, the cost of one await; K2,
// the cost of starting a Go task; K3, the memory of a suspended task; K4,
// a ping-pong of tasks over rendezvous channels; K5, a TaskScope fan-out.
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "async/block_on.h"
#include "async/channel.h"
#include "async/go.h"
#include "async/task.h"
#include "async/task_scope.h"
#include "bench/anchor.h"
#include "bench/harness.h"
#include "bench/process.h"
#include "channel/channel.h"
#include "threads/thread_pool.h"

// Channel pairs are taken apart by name, not with structured bindings:
// clang 14 cannot capture those in lambdas.

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
// Go's p1go waits on a WaitGroup). Per task: the coroutine's frame (the
// task's root), a join state, one executor submission.
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

constexpr int64_t kSuspended = 1'000'000;

// K3: 10^6 tasks, each suspended in a Recv on a channel of its own (a
// bounded channel of one, as Go's a6own gives each goroutine). RSS delta
// per task, channel included; K3-chan is the channels alone, measured
// first in the same child, so K3 - K3-chan is the task's own share.
absl::StatusOr<Rows> SuspendedTaskMemory() {
  ThreadPool pool;
  std::atomic<int64_t> waiting{0};
  std::atomic<int64_t> woke{0};
  malloc_trim(0);
  const int64_t before_channels = RssBytes();
  std::vector<Sender<int64_t>> senders;
  std::vector<Receiver<int64_t>> receivers;
  senders.reserve(kSuspended);
  receivers.reserve(kSuspended);
  for (int64_t i = 0; i < kSuspended; ++i) {
    auto tx_rx = Channel<int64_t>::Bounded(1);
    Sender<int64_t>& tx = tx_rx.first;
    Receiver<int64_t>& rx = tx_rx.second;
    senders.push_back(std::move(tx));
    receivers.push_back(std::move(rx));
  }
  const int64_t before_tasks = RssBytes();
  for (int64_t i = 0; i < kSuspended; ++i) {
    Go(
        pool,
        [&waiting, &woke](Receiver<int64_t>* rx) -> Task<void> {
          waiting.fetch_add(1, std::memory_order_relaxed);
          RecvResult<int64_t> v = co_await Recv(*rx);
          if (v.ok()) woke.fetch_add(*v, std::memory_order_relaxed);
        },
        &receivers[i])
        .Detach();
  }
  while (waiting.load() < kSuspended) absl::SleepFor(absl::Milliseconds(1));
  absl::SleepFor(absl::Milliseconds(200));  // the last ones reach their await
  const int64_t after = RssBytes();
  for (Sender<int64_t>& tx : senders) {
    if (!tx.Send(1).ok()) return absl::InternalError("K3: a send failed");
  }
  pool.Shutdown();
  if (woke.load() != kSuspended) return absl::InternalError(absl::StrCat("K3: woke ", woke.load()));
  const double channel = static_cast<double>(before_tasks - before_channels) / kSuspended;
  const double task = static_cast<double>(after - before_tasks) / kSuspended;
  return Rows{{"K3", task + channel}, {"K3-chan", channel}, {"K3-task", task}};
}

constexpr int64_t kRoundTrips = 1'000'000;

// K4: two Go tasks ping-pong over two rendezvous channels (C4's workload,
// whose threads block, as tasks that suspend).
absl::StatusOr<Rows> TaskPingPong() {
  ThreadPool pool;
  auto ping_tx_ping_rx = Channel<int64_t>::Rendezvous();
  Sender<int64_t>& ping_tx = ping_tx_ping_rx.first;
  Receiver<int64_t>& ping_rx = ping_tx_ping_rx.second;
  auto pong_tx_pong_rx = Channel<int64_t>::Rendezvous();
  Sender<int64_t>& pong_tx = pong_tx_pong_rx.first;
  Receiver<int64_t>& pong_rx = pong_tx_pong_rx.second;
  const int64_t start = NowNanos();
  JoinHandle<void> echo = Go(pool, [&]() -> Task<void> {
    while (true) {
      RecvResult<int64_t> v = co_await Recv(ping_rx);
      if (!v.ok()) break;
      if (!(co_await Send(pong_tx, *v + 1)).ok()) break;
    }
  });
  JoinHandle<int64_t> driver = Go(pool, [&]() -> Task<int64_t> {
    int64_t v = 0;
    for (int64_t i = 0; i < kRoundTrips; ++i) {
      if (!(co_await Send(ping_tx, v)).ok()) break;
      RecvResult<int64_t> back = co_await Recv(pong_rx);
      if (!back.ok()) break;
      v = *back;
    }
    ping_tx.Close();
    co_return v;
  });
  absl::StatusOr<int64_t> got = driver.Get();
  const int64_t elapsed = NowNanos() - start;
  if (!echo.Get().ok() || !got.ok() || *got != kRoundTrips) {
    return absl::InternalError("K4: wrong count");
  }
  return Rows{{"K4", static_cast<double>(elapsed) / kRoundTrips}};
}

constexpr int64_t kFanOut = 1'000'000;
constexpr int64_t kBatch = 1'000;

// K5: a TaskScope fans out 10^6 tasks in batches of 1000; each awaits a
// value from a channel the parent then fills; the scope joins each batch.
absl::StatusOr<Rows> ScopeFanOut() {
  ThreadPool pool;
  std::atomic<int64_t> sum{0};
  const int64_t start = NowNanos();
  absl::Status done = Go(pool, [&]() -> Task<absl::Status> {
                        for (int64_t b = 0; b < kFanOut / kBatch; ++b) {
                          auto tx_rx = Channel<int64_t>::Bounded(kBatch);
                          Sender<int64_t>& tx = tx_rx.first;
                          Receiver<int64_t>& rx = tx_rx.second;
                          TaskScope scope(pool);
                          for (int64_t i = 0; i < kBatch; ++i) {
                            scope.Go(
                                [&sum](Receiver<int64_t>* rx) -> Task<absl::Status> {
                                  RecvResult<int64_t> v = co_await Recv(*rx);
                                  if (!v.ok()) co_return absl::InternalError("K5: no value");
                                  sum.fetch_add(*v, std::memory_order_relaxed);
                                  co_return absl::OkStatus();
                                },
                                &rx);
                          }
                          for (int64_t i = 0; i < kBatch; ++i) {
                            if (!(co_await Send(tx, int64_t{1})).ok())
                              co_return absl::InternalError("K5: send");
                          }
                          if (absl::Status joined = co_await scope.Join(); !joined.ok())
                            co_return joined;
                        }
                        co_return absl::OkStatus();
                      }).Get();
  const int64_t elapsed = NowNanos() - start;
  if (!done.ok() || sum.load() != kFanOut) {
    return absl::InternalError(absl::StrCat("K5: ", done.ToString(), " sum ", sum.load()));
  }
  return Rows{{"K5", kFanOut / (static_cast<double>(elapsed) / 1e9) / 1e6}};
}

const bool registered = [] {
  RegisterWorkload({{{"K0", "a task awaits 10^7 tasks that finish at once", "ns/await", ""}},
                    SynchronousAwaits});
  RegisterWorkload(
      {{{"K2", "Go 10^7 tiny tasks from one thread, detached, drained", "ns/task", "<= Go p1go"},
        AnchorRow(kGoAnchor, "K2", "p1go", "ns/task"),
        AnchorRatioRow(kGoAnchor, "K2", "p1go", "<= 1")},
       [] { return WithAnchor(StartGoTasks(), kGoAnchor, "K2", "p1go", "ns_per_task"); }});
  RegisterWorkload(
      {{{"K3", "10^6 tasks suspended on own channels (RSS delta / N)", "bytes/task", ""},
        {"K3-chan", "  of which the bounded(1) channel", "bytes/task", ""},
        {"K3-task", "  of which the suspended task", "bytes/task", "<= 256"}},
       [] { return InChildProcess(SuspendedTaskMemory); }});
  RegisterWorkload(
      {{{"K4", "two tasks ping-pong over rendezvous channels, 10^6 round trips", "ns/round trip",
         "<= 0.5 x Go c4"},
        AnchorRow(kGoAnchor, "K4", "c4", "ns/round trip"),
        AnchorRatioRow(kGoAnchor, "K4", "c4", "<= 0.5")},
       [] { return WithAnchor(TaskPingPong(), kGoAnchor, "K4", "c4", "ns_per_roundtrip"); }});
  RegisterWorkload({{{"K5", "TaskScope fans out 10^6 tasks (batches of 1000), each awaits a value",
                      "M tasks/s", "report beside K2"}},
                    ScopeFanOut});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
