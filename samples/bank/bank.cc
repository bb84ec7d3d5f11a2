// samples/bank: accounts as actors, transfers by ask, and a total that
// holds while accounts crash and restart.
//
//   bazel run --config=opt //samples/bank
//
// Each account is an actor under a supervisor; its balance lives in a
// ledger slot that only its own incarnations write, so a restart picks it
// up again. Tellers run transfers: ask the source to withdraw, then the
// destination to deposit, refunding the source if the deposit fails; all
// asks have timeouts. A teller's handler awaits each ask with co_await; as
// handlers that await are not reentrant, each teller runs one transfer at a
// time and the rest wait in its mailbox. Meanwhile a thread crashes random accounts. A
// restarted account keeps its mailbox, so no request is lost, and the
// total balance is the same at the end as at the start.

#include <atomic>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/supervisor.h"
#include "async/future.h"
#include "async/task.h"
#include "base/logging.h"
#include "samples/bank/bank.pb.h"
#include "threads/latch.h"
#include "threads/thread.h"

namespace {

constexpr absl::Duration kTimeout = absl::Seconds(10);

struct Ledger {
  std::vector<int64_t> balances;  // slot i: written only by account i's incarnations
  std::atomic<int> incarnations{0};
};

class Account : public troupe::Actor {
 public:
  Account(int index, Ledger* ledger) : balance_(ledger->balances[static_cast<size_t>(index)]) {
    ledger->incarnations.fetch_add(1);
  }

 protected:
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior()
        .On<bank::Deposit>([this](const bank::Deposit& d) {
          balance_ += d.amount();
          return Current();
        })
        .On<bank::Withdraw>([this](const bank::Withdraw& w) -> absl::StatusOr<bank::Balance> {
          if (balance_ < w.amount()) return absl::FailedPreconditionError("insufficient funds");
          balance_ -= w.amount();
          return Current();
        })
        .On<bank::GetBalance>([this](const bank::GetBalance&) { return Current(); })
        .On<bank::Crash>([](const bank::Crash&) -> void { throw std::runtime_error("crash"); });
  }

 private:
  bank::Balance Current() const {
    bank::Balance b;
    b.set_amount(balance_);
    return b;
  }

  int64_t& balance_;  // the ledger slot: it outlives every incarnation
};

struct Transfer {
  troupe::ActorRef from;
  troupe::ActorRef to;
  int64_t amount;
};

struct Outcome {
  std::atomic<int> done{0};
  std::atomic<int> rejected{0};
  std::atomic<int> refunded{0};
  std::atomic<int> stuck{0};
};

class Teller : public troupe::Actor {
 public:
  Teller(Outcome* outcome, troupe::Latch* finished) : outcome_(outcome), finished_(finished) {}

 protected:
  // The transfer reads top to bottom, each ask awaited in turn. A handler
  // that awaits is not reentrant: the teller's next Transfer waits in its
  // mailbox until this one is done, so each teller runs one transfer at a
  // time (money in flight stays small, and a rejection means a real
  // shortfall) without keeping a queue of its own.
  troupe::Behavior MakeBehavior() override {
    return troupe::Behavior().On<Transfer>([this](const Transfer& t) -> troupe::Task<absl::Status> {
      bank::Withdraw withdraw;
      withdraw.set_amount(t.amount);
      absl::StatusOr<bank::Balance> taken = co_await t.from.Ask<bank::Balance>(withdraw, kTimeout);
      if (!taken.ok()) {  // insufficient funds (or, in theory, a timeout: nothing moved)
        outcome_->rejected.fetch_add(1);
        co_return Finish();
      }
      bank::Deposit deposit;
      deposit.set_amount(t.amount);
      absl::StatusOr<bank::Balance> given = co_await t.to.Ask<bank::Balance>(deposit, kTimeout);
      if (!given.ok()) {
        bank::Deposit refund;  // give it back to the source
        refund.set_amount(t.amount);
        absl::StatusOr<bank::Balance> back = co_await t.from.Ask<bank::Balance>(refund, kTimeout);
        (back.ok() ? outcome_->refunded : outcome_->stuck).fetch_add(1);
      }
      co_return Finish();
    });
  }

 private:
  absl::Status Finish() {
    outcome_->done.fetch_add(1);
    finished_->CountDown();
    return absl::OkStatus();
  }

  Outcome* outcome_;
  troupe::Latch* finished_;
};

}  // namespace

int main() {
  constexpr int kAccounts = 100;
  constexpr int kTellers = 16;
  constexpr int kTransfers = 200'000;
  constexpr int64_t kOpening = 1000;
  troupe::SetLogLevel(troupe::LogLevel::kOff);  // the crashes are on purpose

  Ledger ledger;
  ledger.balances.assign(kAccounts, kOpening);
  Outcome outcome;
  troupe::Latch finished(kTransfers);
  int crashes = 0;
  absl::Duration elapsed;
  {
    troupe::ActorSystem system;
    troupe::SupervisorOptions options;
    options.max_restarts = 1'000'000;  // crashes here are expected, not a trend
    std::vector<troupe::ChildSpec> specs;
    for (int i = 0; i < kAccounts; ++i) {
      specs.push_back(troupe::ChildSpec::Of<Account>(absl::StrCat("account-", i), i, &ledger));
    }
    troupe::ActorRef bank = system.Spawn<troupe::Supervisor>(options, std::move(specs));
    auto children =
        bank.Ask<std::vector<troupe::SupervisedChild>>(troupe::WhichChildren(), kTimeout).Get();
    if (!children.ok() || children->size() != kAccounts) return 1;
    std::vector<troupe::ActorRef> tellers;
    for (int i = 0; i < kTellers; ++i) tellers.push_back(system.Spawn<Teller>(&outcome, &finished));

    const absl::Time start = absl::Now();
    std::atomic<bool> done{false};
    troupe::Thread<int> crasher("crasher", [&] {
      std::mt19937 random(7);
      int n = 0;
      while (!done.load()) {
        (*children)[random() % kAccounts].ref.Tell(bank::Crash());
        ++n;
        absl::SleepFor(absl::Microseconds(500));
      }
      return n;
    });
    std::mt19937 random(42);
    for (int i = 0; i < kTransfers; ++i) {
      const size_t from = random() % kAccounts;
      size_t to = random() % kAccounts;
      if (to == from) to = (to + 1) % kAccounts;
      tellers[static_cast<size_t>(i % kTellers)].Tell(Transfer{
          (*children)[from].ref, (*children)[to].ref, static_cast<int64_t>(1 + random() % 100)});
    }
    const bool all_done = finished.WaitFor(absl::Minutes(2));
    elapsed = absl::Now() - start;
    done.store(true);
    crashes = *crasher.Join();
    // The last crashes may still be in flight (queued, or their account
    // restarting): let them land before the shutdown stops the accounts,
    // which would dead-letter a crash still queued.
    const absl::Time settle_deadline = absl::Now() + absl::Seconds(30);
    while (ledger.incarnations.load() - kAccounts < crashes && absl::Now() < settle_deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    if (!all_done) {
      std::fprintf(stderr, "bank: the transfers did not finish\n");
      return 1;
    }
  }  // shutdown: every account's last write is in the ledger

  int64_t total = 0;
  for (int64_t b : ledger.balances) total += b;
  std::printf(
      "%d transfers between %d accounts in %.2f s (%.0f/s): %d rejected for "
      "insufficient funds, %d refunded, %d stuck\n",
      kTransfers, kAccounts, absl::ToDoubleSeconds(elapsed),
      kTransfers / absl::ToDoubleSeconds(elapsed), outcome.rejected.load(), outcome.refunded.load(),
      outcome.stuck.load());
  std::printf("%d crashes sent; %d restarts\n", crashes, ledger.incarnations.load() - kAccounts);
  std::printf("total before %lld, after %lld: %s\n", static_cast<long long>(kAccounts * kOpening),
              static_cast<long long>(total),
              total == kAccounts * kOpening && outcome.stuck.load() == 0 ? "invariant holds"
                                                                         : "MONEY WAS LOST");
  return total == kAccounts * kOpening ? 0 : 1;
}
