// Mailbox workloads M0-M3 of bench/WORKLOADS.md, beside a mutex+deque
// baseline measured in the same run.
#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "bench/anchor.h"
#include "bench/harness.h"
#include "mailbox/mailbox.h"
#include "mailbox/node_pool.h"
#include "threads/atomics.h"

namespace troupe::bench {
namespace {

constexpr int64_t kMessages = 10'000'000;

// An envelope from the node pool (the design kept), and one from plain
// new/delete (what the pool is measured against).
struct Message : MailboxNode, PooledNode {
  explicit Message(int64_t v) : value(v) {}
  int64_t value;
};
struct PlainMessage : MailboxNode {
  explicit PlainMessage(int64_t v) : value(v) {}
  int64_t value;
};

// The shape shared by M1/M2 and their baselines: `producers` threads call
// push(i) for i in 1..kMessages/producers, while this thread (the owner)
// calls drain(&sum) until it has all of them; drain returns how many it took
// (0: spin). Checks the sum and returns ns per message, thread start and
// join included.
template <typename Push, typename Drain>
absl::StatusOr<double> ProducersToOwner(int producers, Push push, Drain drain) {
  const int64_t per_producer = kMessages / producers;
  const int64_t total = per_producer * producers;
  const int64_t start = NowNanos();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&] {
      for (int64_t i = 1; i <= per_producer; ++i) push(i);
    });
  }
  // The owner backs off as the reference queues' benchmarks do: spin a
  // little, then yield, so that on a machine with fewer cores than
  // threads a polling owner does not eat its producers' time.
  int64_t received = 0, sum = 0;
  Backoff backoff;
  while (received < total) {
    const int64_t n = drain(&sum);
    if (n == 0) {
      backoff.Snooze();
    } else {
      backoff.Reset();
    }
    received += n;
  }
  for (auto& t : threads) t.join();
  const int64_t elapsed = NowNanos() - start;
  if (sum != producers * (per_producer * (per_producer + 1) / 2)) {
    return absl::InternalError(absl::StrCat("sum wrong: ", sum));
  }
  return static_cast<double>(elapsed) / static_cast<double>(total);
}

// The mailbox: a fresh envelope per message; the owner pops in batches and
// frees them.
template <typename Message>
absl::StatusOr<double> MailboxThroughput(int producers) {
  // On a line of its own: on the stack, the owner's locals would share it.
  auto padded = std::make_unique<CachePadded<Mailbox>>(Mailbox::InitialState::kRunning);
  Mailbox& mailbox = **padded;  // the owner polls; no idling here
  MailboxNode* batch[256];
  return ProducersToOwner(
      producers, [&](int64_t i) { (void)mailbox.Push(new Message(i)); },
      [&](int64_t* sum) {
        const size_t n = mailbox.PopBatch(batch, 256);
        for (size_t k = 0; k < n; ++k) {
          auto* m = static_cast<Message*>(batch[k]);
          *sum += m->value;
          delete m;
        }
        return static_cast<int64_t>(n);
      });
}

// The alternative design the mailbox issue names: Vyukov's intrusive MPSC
// node queue (a producer exchanges the tail and links the old one; the
// consumer walks from a stub). Measured with the same pooled envelopes so
// that the figure compares only the queue algorithms.
struct VyukovNode : PooledNode {
  explicit VyukovNode(int64_t v = 0) : value(v) {}
  std::atomic<VyukovNode*> next{nullptr};
  int64_t value;
};

class VyukovQueue {
 public:
  VyukovQueue() : head_(&stub_), tail_(&stub_) {}
  void Push(VyukovNode* node) {
    node->next.store(nullptr, std::memory_order_relaxed);
    VyukovNode* prev = tail_.exchange(node, std::memory_order_acq_rel);
    prev->next.store(node, std::memory_order_release);
  }
  VyukovNode* Pop() {  // consumer only; null if empty or a push is mid-link
    VyukovNode* head = head_;
    VyukovNode* next = head->next.load(std::memory_order_acquire);
    if (head == &stub_) {
      if (next == nullptr) return nullptr;
      head_ = head = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      head_ = next;
      return head;
    }
    if (head != tail_.load(std::memory_order_acquire)) return nullptr;
    Push(&stub_);
    next = head->next.load(std::memory_order_acquire);
    if (next == nullptr) return nullptr;
    head_ = next;
    return head;
  }

 private:
  VyukovNode stub_;
  VyukovNode* head_;  // consumer only
  alignas(kCacheLineSize) std::atomic<VyukovNode*> tail_;
};

absl::StatusOr<double> VyukovThroughput(int producers) {
  auto queue = std::make_unique<CachePadded<VyukovQueue>>();
  return ProducersToOwner(
      producers, [&](int64_t i) { (*queue)->Push(new VyukovNode(i)); },
      [&](int64_t* sum) -> int64_t {
        VyukovNode* node = (*queue)->Pop();
        if (node == nullptr) return 0;
        *sum += node->value;
        delete node;
        return 1;
      });
}

// The same with a std::mutex-protected std::deque (plain new/delete): lock
// per push, and the consumer swaps the whole deque out under the lock.
absl::StatusOr<double> MutexDequeThroughput(int producers) {
  struct alignas(kCacheLineSize) Locked {
    std::mutex mu;
    std::deque<PlainMessage*> queue;
  };
  auto locked = std::make_unique<Locked>();
  std::deque<PlainMessage*> taken;
  return ProducersToOwner(
      producers,
      [&](int64_t i) {
        auto* m = new PlainMessage(i);
        std::lock_guard<std::mutex> lock(locked->mu);
        locked->queue.push_back(m);
      },
      [&](int64_t* sum) {
        {
          std::lock_guard<std::mutex> lock(locked->mu);
          taken.swap(locked->queue);
        }
        const auto n = static_cast<int64_t>(taken.size());
        for (PlainMessage* m : taken) {
          *sum += m->value;
          delete m;
        }
        taken.clear();
        return n;
      });
}

// Two threads bounce one cache line `round_trips` times; ns per round trip.
// A wait that outlasts the spin yields: when both threads share one CPU
// (`taskset -c 0`, or a busy machine), pure spinning would make every trip
// wait out a scheduler time slice.
double PingPongNanos(int64_t round_trips) {
  // Static and padded: on the stack it would share a line with the locals.
  alignas(kCacheLineSize) static std::atomic<int64_t> line{0};
  line.store(0);
  const auto wait_for = [](int64_t value) {
    // A look after every pause (Backoff's doubling pauses would add their
    // own latency to the figure); 256 pauses are far beyond a round trip.
    for (int spins = 0; line.load(std::memory_order_acquire) != value; ++spins) {
      if (spins < 256) {
        CpuRelax();
      } else {
        std::this_thread::yield();
      }
    }
  };
  const int64_t start = NowNanos();
  std::thread other([&] {
    for (int64_t i = 0; i < round_trips; ++i) {
      wait_for(2 * i + 1);
      line.store(2 * i + 2, std::memory_order_release);
    }
  });
  for (int64_t i = 0; i < round_trips; ++i) {
    line.store(2 * i + 1, std::memory_order_release);
    wait_for(2 * i + 2);
  }
  other.join();
  return static_cast<double>(NowNanos() - start) / static_cast<double>(round_trips);
}

// M1/M2 and their baselines, with moodycamel's queue on the same work when
// TROUPE_MC_ANCHOR names the C++ anchors' program. "<id>-floor" (M0's round
// trip, 10^5 times, right after the mailbox's run) tells which of this
// machine's moods the repetition ran in: its two vCPUs hand a line over in
// ~50 ns some minutes and ~400 ns others, and both queues move with that
// (bench/WORKLOADS.md, M1).
template <int kProducers>
absl::StatusOr<Rows> Throughput() {
  const std::string id = absl::StrCat("M", kProducers);
  absl::StatusOr<double> pooled = MailboxThroughput<Message>(kProducers);
  if (!pooled.ok()) return pooled.status();
  const double floor = PingPongNanos(100'000);
  // The anchor runs next, before the baselines: in the same mood.
  absl::StatusOr<Rows> rows =
      WithAnchor(Rows{{id, *pooled}, {id + "-floor", floor}}, kMoodycamelAnchor, id,
                 absl::StrCat("m", kProducers, "-imp"), "ns_per_msg");
  if (!rows.ok()) return rows.status();
  absl::StatusOr<double> plain = MailboxThroughput<PlainMessage>(kProducers);
  if (!plain.ok()) return plain.status();
  absl::StatusOr<double> vyukov = VyukovThroughput(kProducers);
  if (!vyukov.ok()) return vyukov.status();
  absl::StatusOr<double> baseline = MutexDequeThroughput(kProducers);
  if (!baseline.ok()) return baseline.status();
  rows->insert(rows->end(),
               {{id + "-new", *plain}, {id + "-vyukov", *vyukov}, {id + "-mutex", *baseline}});
  return rows;
}

// M3: push onto an idle mailbox (the push reports "schedule it"), the owner
// drains and goes idle again; the producer waits for idle before the next.
absl::StatusOr<Rows> WakeCycle() {
  constexpr int64_t kCycles = 1'000'000;
  auto padded = std::make_unique<CachePadded<Mailbox>>();  // idle
  Mailbox& mailbox = **padded;
  alignas(kCacheLineSize) static std::atomic<bool> scheduled;
  scheduled.store(false);
  std::atomic<bool> failed{false};
  std::deque<Message> messages;  // nodes are not movable: a deque never relocates
  for (int64_t i = 0; i < kCycles; ++i) messages.emplace_back(i);
  const int64_t start = NowNanos();
  std::thread owner([&] {
    for (int64_t cycle = 0; cycle < kCycles; ++cycle) {
      while (!scheduled.load(std::memory_order_acquire)) CpuRelax();
      scheduled.store(false, std::memory_order_relaxed);
      int drained = 0;
      while (mailbox.Pop() != nullptr) ++drained;
      if (drained != 1 || !mailbox.TryBlock()) failed.store(true);
    }
  });
  for (int64_t cycle = 0; cycle < kCycles; ++cycle) {
    while (!mailbox.IsBlocked()) CpuRelax();
    if (mailbox.Push(&messages[cycle]) != PushResult::kWokeOwner) failed.store(true);
    scheduled.store(true, std::memory_order_release);  // "schedule the actor"
  }
  owner.join();
  const int64_t elapsed = NowNanos() - start;
  if (failed.load()) return absl::InternalError("M3: a cycle did not wake exactly once");
  return Rows{{"M3", static_cast<double>(elapsed) / kCycles}};
}

// M0: two threads bounce one cache line: the hardware's hand-off floor.
absl::StatusOr<Rows> CacheLinePingPong() {
  constexpr int64_t kRoundTrips = 5'000'000;
  return Rows{{"M0", PingPongNanos(kRoundTrips)}};
}

// M1 and M2 share their rows; `ratio_target` is the target of the ratio
// to moodycamel's queue.
template <int kProducers>
void RegisterThroughput(const char* description, const char* ratio_target) {
  const std::string id = absl::StrCat("M", kProducers);
  const std::string anchor_workload = absl::StrCat("m", kProducers, "-imp");
  RegisterWorkload(
      {{{id, description, "ns/msg", "<= 10"},
        {id + "-floor", "  M0's round trip right after (the machine's mood)", "ns/trip", ""},
        AnchorRow(kMoodycamelAnchor, id, anchor_workload, "ns/msg"),
        AnchorRatioRow(kMoodycamelAnchor, id, anchor_workload, ratio_target),
        {id + "-new", "the same, envelopes from new/delete", "ns/msg", ""},
        {id + "-vyukov", "Vyukov node queue instead, same envelopes", "ns/msg", ""},
        {id + "-mutex", "std::mutex + std::deque, same workload", "ns/msg", ""}},
       Throughput<kProducers>});
}

const bool registered = [] {
  RegisterWorkload({{{"M0", "cache-line ping-pong between two threads (floor)", "ns/trip", ""}},
                    CacheLinePingPong});
  RegisterThroughput<1>("mailbox: 1 producer, owner pops batches, 10^7", "<= 1");
  RegisterThroughput<2>("mailbox: 2 producers, 10^7 in all", "report");
  RegisterWorkload(
      {{{"M3", "push onto idle mailbox -> wake -> drain -> idle", "ns/cycle", ""}}, WakeCycle});
  return true;
}();

}  // namespace
}  // namespace troupe::bench
