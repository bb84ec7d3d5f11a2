// A narrated run through troupe's async layer. `bazel run //samples/async_tour`.
//
//   1. A crawler: a TaskScope fans out one Go task per page over a pool;
//      the tasks send what they found back over a channel, and the
//      crawling task awaits it, holding no thread while it waits.
//   2. A broker actor whose handler asks two vendors at once and awaits
//      both replies with co_await, then replies with the cheaper quote.
//   3. Non-reentrancy made visible: two actors that ask each other from
//      suspended handlers fail at once with the cycle named, and the same
//      pair with the outer await made Reentrant() completes.
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "async/block_on.h"
#include "async/channel.h"
#include "async/future.h"
#include "async/sleep.h"
#include "async/task.h"
#include "async/task_scope.h"
#include "channel/channel.h"
#include "threads/thread_pool.h"

namespace {

constexpr absl::Duration kTimeout = absl::Seconds(10);

// -- 1. the crawler --------------------------------------------------------------

// A made-up site: page i links to 2i+1 and 2i+2, up to kPages pages.
constexpr int kPages = 2000;

struct Page {
  int id = 0;
  std::vector<int> links;
};

// "Fetches" a page: a short sleep stands for the network.
troupe::Task<absl::Status> Fetch(int id, troupe::Sender<Page>& found) {
  if (absl::Status s = co_await troupe::Sleep(absl::Microseconds(200)); !s.ok()) co_return s;
  Page page{id, {}};
  for (int link : {2 * id + 1, 2 * id + 2}) {
    if (link < kPages) page.links.push_back(link);
  }
  troupe::SendResult<Page> sent = co_await troupe::Send(found, std::move(page));
  if (!sent.ok()) co_return absl::CancelledError("nobody listens for pages any more");
  co_return absl::OkStatus();
}

troupe::Task<int> Crawl(troupe::ThreadPool& pool) {
  auto found_pair = troupe::Channel<Page>::Bounded(64);
  troupe::Sender<Page>& found_tx = found_pair.first;
  troupe::Receiver<Page>& found_rx = found_pair.second;
  troupe::TaskScope scope(pool);
  std::set<int> seen = {0};
  int pending = 1;
  scope.Go(Fetch, 0, std::ref(found_tx));
  int crawled = 0;
  while (pending > 0) {
    troupe::RecvResult<Page> page = co_await troupe::Recv(found_rx);
    if (!page.ok()) co_return absl::InternalError("the pages channel closed early");
    --pending;
    ++crawled;
    for (int link : page->links) {
      if (seen.insert(link).second) {
        ++pending;
        scope.Go(Fetch, link, std::ref(found_tx));
      }
    }
  }
  if (absl::Status s = co_await scope.Join(); !s.ok()) co_return s;
  co_return crawled;
}

void CrawlerChapter() {
  troupe::ThreadPool pool(2);
  const absl::Time start = absl::Now();
  absl::StatusOr<int> crawled = troupe::BlockOn(Crawl(pool));
  const absl::Duration took = absl::Now() - start;
  if (!crawled.ok()) {
    std::printf("[crawler] failed: %s\n", crawled.status().ToString().c_str());
    return;
  }
  std::printf("[crawler] crawled %d pages, one Go task each, in %.1f ms on 2 workers\n", *crawled,
              absl::ToDoubleMilliseconds(took));
}

// -- 2. a broker that awaits two vendors --------------------------------------------

struct QuoteRequest {
  std::string item;
};
struct Quote {
  std::string vendor;
  int64_t cents = 0;
};

class Vendor : public troupe::Actor {
 public:
  Vendor(std::string name, int64_t markup) : name_(std::move(name)), markup_(markup) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<QuoteRequest>([this](const QuoteRequest& r) {
      return Quote{name_, static_cast<int64_t>(r.item.size()) * 100 + markup_};
    });
  }

 private:
  const std::string name_;
  const int64_t markup_;
};

class Broker : public troupe::Actor {
 public:
  Broker(troupe::ActorRef a, troupe::ActorRef b) : a_(std::move(a)), b_(std::move(b)) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<QuoteRequest>(
        [this](const QuoteRequest& r) -> troupe::Task<Quote> {
          // Both asks are in flight before the first await.
          troupe::Future<Quote> from_a = a_.Ask<Quote>(r, kTimeout);
          troupe::Future<Quote> from_b = b_.Ask<Quote>(r, kTimeout);
          absl::StatusOr<Quote> qa = co_await std::move(from_a);
          absl::StatusOr<Quote> qb = co_await std::move(from_b);
          if (!qa.ok()) co_return qb;
          if (!qb.ok()) co_return qa;
          co_return qa->cents <= qb->cents ? *qa : *qb;
        });
  }

 private:
  const troupe::ActorRef a_;
  const troupe::ActorRef b_;
};

void BrokerChapter() {
  troupe::ActorSystem system;
  troupe::ActorRef broker =
      system.Spawn<Broker>(system.Spawn<Vendor>("acme", 250), system.Spawn<Vendor>("globex", 120));
  absl::StatusOr<Quote> best = broker.Ask<Quote>(QuoteRequest{"widget"}, kTimeout).Get();
  if (!best.ok()) {
    std::printf("[broker] failed: %s\n", best.status().ToString().c_str());
    return;
  }
  std::printf("[broker] asked two vendors at once from one handler: best quote %s at %lld cents\n",
              best->vendor.c_str(), static_cast<long long>(best->cents));
}

// -- 3. an ask cycle, and Reentrant() ------------------------------------------------

struct Hops {
  int remaining = 0;
};

class Relay : public troupe::Actor {
 public:
  explicit Relay(bool reentrant) : reentrant_(reentrant) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<troupe::ActorRef>([this](const troupe::ActorRef& peer) { peer_ = peer; })
        .On<Hops>([this](const Hops& h) -> troupe::Task<int> {
          if (h.remaining == 0) co_return 0;
          troupe::Future<int> asked = peer_.Ask<int>(Hops{h.remaining - 1}, kTimeout);
          absl::StatusOr<int> depth;
          if (reentrant_) {
            depth = co_await troupe::Reentrant(std::move(asked));  // serves the peer meanwhile
          } else {
            depth = co_await std::move(asked);
          }
          if (!depth.ok()) co_return depth.status();
          co_return *depth + 1;
        });
  }

 private:
  const bool reentrant_;
  troupe::ActorRef peer_;
};

void CycleChapter() {
  troupe::ActorSystem system;
  for (bool reentrant : {false, true}) {
    troupe::SpawnOptions ping_options;
    ping_options.name = reentrant ? "ping-r" : "ping";
    troupe::SpawnOptions pong_options;
    pong_options.name = reentrant ? "pong-r" : "pong";
    troupe::ActorRef ping = system.Spawn<Relay>(ping_options, reentrant);
    troupe::ActorRef pong = system.Spawn<Relay>(pong_options, false);
    ping.Tell(pong);
    pong.Tell(ping);
    const absl::Time start = absl::Now();
    absl::StatusOr<int> depth = ping.Ask<int>(Hops{2}, kTimeout).Get();
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (depth.ok()) {
      std::printf("[cycle] with Reentrant(): ping -> pong -> ping answered, depth %d\n", *depth);
    } else {
      std::printf("[cycle] without it, in %.1f ms (not the %s timeout): %s\n", ms,
                  absl::FormatDuration(kTimeout).c_str(), depth.status().ToString().c_str());
    }
  }
}

}  // namespace

int main() {
  CrawlerChapter();
  BrokerChapter();
  CycleChapter();
  std::printf("async tour complete\n");
  return 0;
}
