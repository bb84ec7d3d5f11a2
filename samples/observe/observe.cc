// samples/observe: seeing inside a running actor system.
//
//   bazel run //samples/observe -- /tmp
//
// An order desk: a frontend takes orders, a pricer (under a supervisor)
// prices them and a ledger books them; an auditor watches the ledger and is
// linked to the frontend. Three orders name an unknown SKU: the pricer
// throws and is restarted. With tracing and handler timing on, main sends
// 200 orders, then prints DumpState() and writes two files into the
// directory given (default: the current one):
//
//   observe.trace.json  open in https://ui.perfetto.dev or chrome://tracing:
//                       a slice per handler run, an arrow per message
//   observe.dot         dot -Tpng observe.dot -o observe.png: the actor
//                       tree, the link, the monitor and the message flows

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/graph.h"
#include "actor/supervisor.h"
#include "actor/tracing.h"
#include "base/logging.h"
#include "samples/observe/observe.pb.h"

namespace {

constexpr int kOrders = 200;
constexpr int kBadOrders = 3;  // orders 50, 100 and 150

// Prices an order; an unknown SKU makes it throw (and its supervisor
// restart it).
class Pricer : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<observe::Order>([this](const observe::Order& order) {
      if (order.sku() == "unknown") throw std::invalid_argument("no such SKU");
      observe::Priced priced;
      priced.set_id(order.id());
      priced.set_cents(int64_t{order.quantity()} * (order.sku() == "tea" ? 350 : 120));
      Sender().Tell(priced, Self());
    });
  }
};

// Books priced orders and answers GetTotals.
class Ledger : public troupe::Actor {
 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<observe::Priced>([this](const observe::Priced& priced) {
          totals_.set_orders(totals_.orders() + 1);
          totals_.set_cents(totals_.cents() + priced.cents());
        })
        .On<observe::GetTotals>([this](const observe::GetTotals&) { return totals_; });
  }

 private:
  observe::Totals totals_;
};

// Sends each order to the pricer and each priced order to the ledger.
class Frontend : public troupe::Actor {
 public:
  Frontend(troupe::ActorRef pricer, troupe::ActorRef ledger)
      : pricer_(std::move(pricer)), ledger_(std::move(ledger)) {}

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<observe::Order>([this](const observe::Order& order) { pricer_.Tell(order, Self()); })
        .On<observe::Priced>([this](const observe::Priced& priced) { ledger_.Tell(priced); });
  }

 private:
  troupe::ActorRef pricer_;
  troupe::ActorRef ledger_;
};

// Watches the ledger and is linked to the frontend: it hears if either ends.
class Auditor : public troupe::Actor {
 public:
  Auditor(troupe::ActorRef ledger, troupe::ActorRef frontend)
      : ledger_(std::move(ledger)), frontend_(std::move(frontend)) {}

 protected:
  void OnStart() override {
    Watch(ledger_);
    Link(frontend_);
  }
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<troupe::proto::Down>(
        [](const troupe::proto::Down&) { absl::PrintF("auditor: the ledger is down\n"); });
  }

 private:
  troupe::ActorRef ledger_;
  troupe::ActorRef frontend_;
};

// Where to write: argv[1], else the directory `bazel run` was started in,
// else the current one.
std::string OutputDirectory(int argc, char** argv) {
  if (argc > 1) return argv[1];
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY")) return dir;
  return ".";
}

bool WriteText(const std::string& path, const std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return false;
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  return std::fclose(file) == 0 && written;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = OutputDirectory(argc, argv);
  troupe::SetLogLevel("actor", troupe::LogLevel::kOff);  // the pricer's failures are on purpose

  troupe::ActorSystemOptions options;
  options.name = "order-desk";
  options.workers = 2;
  troupe::ActorSystem system(std::move(options));
  system.SetHandlerTiming(true);
  system.StartTracing();

  troupe::ActorRef ledger = system.Spawn<Ledger>(troupe::SpawnOptions{.name = "ledger"});
  troupe::SupervisorOptions desk_options;
  desk_options.max_restarts = 10;
  troupe::ActorRef desk = system.Spawn<troupe::Supervisor>(
      troupe::SpawnOptions{.name = "desk"}, desk_options,
      std::vector<troupe::ChildSpec>{troupe::ChildSpec::Of<Pricer>("pricer")});
  auto children =
      desk.Ask<std::vector<troupe::SupervisedChild>>(troupe::WhichChildren(), absl::Seconds(10))
          .Get();
  if (!children.ok() || children->size() != 1) {
    absl::FPrintF(stderr, "the desk has no pricer: %s\n", children.status().ToString());
    return 1;
  }
  troupe::ActorRef frontend =
      system.Spawn<Frontend>(troupe::SpawnOptions{.name = "frontend"}, (*children)[0].ref, ledger);
  system.Spawn<Auditor>(troupe::SpawnOptions{.name = "auditor"}, ledger, frontend);

  for (int i = 1; i <= kOrders; ++i) {
    observe::Order order;
    order.set_id(i);
    order.set_sku(i % 50 == 0 && i < kOrders ? "unknown" : (i % 2 == 0 ? "tea" : "bun"));
    order.set_quantity(1 + i % 3);
    frontend.Tell(order);
  }
  // Booked orders trickle in; ask until all the good ones are there.
  observe::Totals totals;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (totals.orders() < kOrders - kBadOrders && absl::Now() < deadline) {
    auto reply = ledger.Ask<observe::Totals>(observe::GetTotals(), absl::Seconds(5)).Get();
    if (reply.ok()) totals = *reply;
  }
  system.StopTracing();
  absl::PrintF("booked %d orders, %d cents; %d failed pricing\n", totals.orders(), totals.cents(),
               kOrders - totals.orders());

  const troupe::SystemStats stats = system.Stats();
  std::fputs(troupe::FormatDumpState(stats).c_str(), stdout);

  const troupe::Trace trace = system.CollectTrace();
  int64_t sends = 0, activations = 0;
  for (const troupe::TraceEvent& event : trace.events) {
    (event.kind == troupe::TraceEvent::Kind::kSend ? sends : activations) += 1;
  }
  const std::string trace_path = absl::StrCat(dir, "/observe.trace.json");
  const std::string dot_path = absl::StrCat(dir, "/observe.dot");
  if (absl::Status written = troupe::WriteChromeTrace(trace, trace_path); !written.ok()) {
    absl::FPrintF(stderr, "%s\n", written.ToString());
    return 1;
  }
  if (!WriteText(dot_path, troupe::ActorGraphDot(stats, trace))) {
    absl::FPrintF(stderr, "cannot write %s\n", dot_path);
    return 1;
  }
  absl::PrintF("trace: %d sends, %d activations on %d threads -> %s\n", sends, activations,
               trace.threads.size(), trace_path);
  absl::PrintF("graph: %d live actors -> %s\n", stats.actors.size(), dot_path);
  system.Shutdown();
  return totals.orders() == kOrders - kBadOrders ? 0 : 1;
}
