// Channel workloads C1-C6 of bench/WORKLOADS.md, with SPSC (C1-spsc) and
// batch (C2b) rows.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/anchor.h"
#include "bench/harness.h"
#include "channel/channel.h"
#include "channel/select.h"
#include "channel/spsc.h"

namespace troupe::bench {
namespace {

constexpr int64_t kItems = 10'000'000;

// `producers` threads send kItems ints in all, `consumers` threads receive
// them; one send and one receive per item. Checks the sum. ns per item.
absl::StatusOr<double> MoveItems(typename Channel<int64_t>::Pair channel, int producers,
                                 int consumers) {
  auto& [tx, rx] = channel;
  const int64_t per_producer = kItems / producers;
  const int64_t total = per_producer * producers;
  std::atomic<int64_t> sum{0};
  const int64_t start = NowNanos();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([tx = tx, per_producer]() mutable {
      for (int64_t i = 1; i <= per_producer; ++i) (void)tx.Send(i);
    });
  }
  { Sender<int64_t> drop = std::move(tx); }  // closes when the producers finish
  for (int c = 0; c < consumers; ++c) {
    threads.emplace_back([rx = rx, &sum]() mutable {
      int64_t local = 0;
      while (true) {
        RecvResult<int64_t> got = rx.Recv();
        if (!got.ok()) break;
        local += *got;
      }
      sum.fetch_add(local);
    });
  }
  for (auto& t : threads) t.join();
  const int64_t elapsed = NowNanos() - start;
  if (sum.load() != producers * (per_producer * (per_producer + 1) / 2)) {
    return absl::InternalError(absl::StrCat("channel sum wrong: ", sum.load()));
  }
  return static_cast<double>(elapsed) / static_cast<double>(total);
}

absl::StatusOr<Rows> Row(const char* id, typename Channel<int64_t>::Pair channel, int producers,
                         int consumers) {
  absl::StatusOr<double> ns = MoveItems(std::move(channel), producers, consumers);
  if (!ns.ok()) return ns.status();
  return Rows{{id, *ns}};
}

// C1 on the SPSC ring.
absl::StatusOr<Rows> SpscItems() {
  auto [tx, rx] = SpscChannel<int64_t>::Make(1024);
  const int64_t start = NowNanos();
  std::thread producer([tx = std::move(tx)]() mutable {
    for (int64_t i = 1; i <= kItems; ++i) (void)tx.Send(i);
  });
  int64_t sum = 0;
  while (true) {
    RecvResult<int64_t> got = rx.Recv();
    if (!got.ok()) break;
    sum += *got;
  }
  producer.join();
  const int64_t elapsed = NowNanos() - start;
  if (sum != kItems * (kItems + 1) / 2) return absl::InternalError("C1-spsc: wrong sum");
  return Rows{{"C1-spsc", static_cast<double>(elapsed) / kItems}};
}

// C2b: C2 with the batch API on both sides (batches of 64).
absl::StatusOr<Rows> BatchedTwoProducers() {
  constexpr int kProducers = 2;
  constexpr size_t kBatch = 64;
  auto [tx, rx] = Channel<int64_t>::Bounded(1024);
  const int64_t per_producer = kItems / kProducers;
  const int64_t start = NowNanos();
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([tx = tx]() mutable {
      std::vector<int64_t> batch;
      batch.reserve(kBatch);
      for (int64_t i = 1; i <= per_producer;) {
        batch.clear();
        for (; i <= per_producer && batch.size() < kBatch; ++i) batch.push_back(i);
        (void)tx.SendBatch(batch);
      }
    });
  }
  { Sender<int64_t> drop = std::move(tx); }
  int64_t sum = 0;
  std::vector<int64_t> got;
  got.reserve(kBatch);
  while (true) {
    got.clear();
    if (rx.RecvBatch(got, kBatch) == 0) break;
    for (int64_t v : got) sum += v;
  }
  for (auto& t : producers) t.join();
  const int64_t elapsed = NowNanos() - start;
  if (sum != kProducers * (per_producer * (per_producer + 1) / 2)) {
    return absl::InternalError("C2b: wrong sum");
  }
  return Rows{{"C2b", static_cast<double>(elapsed) / (kProducers * per_producer)}};
}

// C5: one consumer selects over two bounded channels, one producer each.
absl::StatusOr<Rows> SelectTwo() {
  auto [a_tx, a_rx] = Channel<int64_t>::Bounded(1024);
  auto [b_tx, b_rx] = Channel<int64_t>::Bounded(1024);
  const int64_t per_producer = kItems / 2;
  const int64_t start = NowNanos();
  std::thread a([tx = std::move(a_tx)]() mutable {
    for (int64_t i = 1; i <= per_producer; ++i) (void)tx.Send(i);
  });
  std::thread b([tx = std::move(b_tx)]() mutable {
    for (int64_t i = 1; i <= per_producer; ++i) (void)tx.Send(i);
  });
  int64_t sum = 0;
  int open = 2;
  bool a_open = true, b_open = true;
  while (open > 0) {
    Select select;
    if (a_open) {
      select.OnRecv(a_rx, [&](RecvResult<int64_t> v) {
        if (v.ok())
          sum += *v;
        else {
          a_open = false;
          --open;
        }
      });
    }
    if (b_open) {
      select.OnRecv(b_rx, [&](RecvResult<int64_t> v) {
        if (v.ok())
          sum += *v;
        else {
          b_open = false;
          --open;
        }
      });
    }
    select.Wait();
  }
  a.join();
  b.join();
  const int64_t elapsed = NowNanos() - start;
  if (sum != 2 * (per_producer * (per_producer + 1) / 2))
    return absl::InternalError("C5: wrong sum");
  return Rows{{"C5", static_cast<double>(elapsed) / (2 * per_producer)}};
}

// C4: ping-pong over two rendezvous channels between two OS threads.
absl::StatusOr<Rows> RendezvousPingPong() {
  constexpr int64_t kRoundTrips = 1'000'000;
  auto [ping_tx, ping_rx] = Channel<int64_t>::Rendezvous();
  auto [pong_tx, pong_rx] = Channel<int64_t>::Rendezvous();
  const int64_t start = NowNanos();
  std::thread echo([ping_rx = std::move(ping_rx), pong_tx = std::move(pong_tx)]() mutable {
    for (int64_t& v : ping_rx) (void)pong_tx.Send(v + 1);
  });
  int64_t wrong = 0;
  for (int64_t i = 0; i < kRoundTrips; ++i) {
    (void)ping_tx.Send(i);
    RecvResult<int64_t> back = pong_rx.Recv();
    if (!back.ok() || *back != i + 1) ++wrong;
  }
  ping_tx.Close();
  echo.join();
  const int64_t elapsed = NowNanos() - start;
  if (wrong != 0) return absl::InternalError("C4: wrong replies");
  return Rows{{"C4", static_cast<double>(elapsed) / kRoundTrips}};
}

const bool registered = [] {
  RegisterWorkload({{{"C1", "bounded(1024) 1 producer 1 consumer, 10^7", "ns/msg", "<= 20"}},
                    [] { return Row("C1", Channel<int64_t>::Bounded(1024), 1, 1); }});
  RegisterWorkload({{{"C1-spsc", "SPSC ring(1024), 10^7", "ns/msg", "<= 7"}}, SpscItems});
  RegisterWorkload({{{"C2", "bounded(1024) 2 producers 1 consumer", "ns/msg", "<= 30"}},
                    [] { return Row("C2", Channel<int64_t>::Bounded(1024), 2, 1); }});
  RegisterWorkload(
      {{{"C2b", "C2 with SendBatch/RecvBatch of 64", "ns/msg", "<= 12"}}, BatchedTwoProducers});
  RegisterWorkload({{{"C5", "select over 2 bounded(1024), one producer each", "ns/msg", "<= Go c5"},
                     AnchorRow(kGoAnchor, "C5", "c5", "ns/msg"),
                     AnchorRatioRow(kGoAnchor, "C5", "c5", "<= 1")},
                    [] { return WithAnchor(SelectTwo(), kGoAnchor, "C5", "c5", "ns_per_msg"); }});
  RegisterWorkload({{{"C3", "bounded(1024) 2 producers 2 consumers", "ns/msg", "<= 30"}},
                    [] { return Row("C3", Channel<int64_t>::Bounded(1024), 2, 2); }});
  RegisterWorkload({{{"C4", "rendezvous ping-pong, two OS threads, 10^6", "ns/trip", "<= 200"}},
                    RendezvousPingPong});
  RegisterWorkload({{{"C6", "unbounded 1 producer 1 consumer, 10^7", "ns/msg", "<= 30"}},
                    [] { return Row("C6", Channel<int64_t>::Unbounded(), 1, 1); }});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
