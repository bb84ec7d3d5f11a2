// Many actors, many messages, exact accounting: 10^5 actors pass 10^3
// tokens 10^7 times in all (scaled down under the sanitizers by
// TROUPE_STRESS_SCALE). Every message is handled exactly once, no actor
// ever runs two handlers at once, and the totals match to the message. The
// same holds through a crash storm: thousands of supervised actors failing
// and restarting while four threads send to them.

#include <atomic>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/supervisor.h"
#include "actor/testdata/test_messages.pb.h"
#include "base/log_capture.h"
#include "base/stress.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "threads/latch.h"
#include "threads/thread.h"

namespace troupe {
namespace {

struct Shared {
  std::vector<ActorRef> peers;  // written before the first token is sent
  std::atomic<int64_t> handled{0};
  std::atomic<int64_t> overlaps{0};
  Latch* finished = nullptr;
};

class Relay : public Actor {
 public:
  Relay(Shared* shared, int64_t index) : shared_(shared), index_(index) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<test::Hop>([this](test::Hop& hop) {
      if (inside_.exchange(true, std::memory_order_relaxed)) {
        shared_->overlaps.fetch_add(1, std::memory_order_relaxed);
      }
      ++handled_;
      if (hop.remaining() == 0) {
        shared_->finished->CountDown();
      } else {
        hop.set_remaining(hop.remaining() - 1);
        const size_t n = shared_->peers.size();
        const size_t next = static_cast<size_t>(index_ * 7919 + handled_ * 104729) % n;
        shared_->peers[next].Tell(std::move(hop));
      }
      inside_.store(false, std::memory_order_relaxed);
    });
  }
  void OnStop() override { shared_->handled.fetch_add(handled_, std::memory_order_relaxed); }

 private:
  Shared* shared_;
  const int64_t index_;
  int64_t handled_ = 0;
  std::atomic<bool> inside_{false};
};

TEST(ActorStressTest, TokensAcrossManyActorsExactTotals) {
  const int64_t actors = ScaledCount(100'000, 1000);
  const int64_t tokens = 1000;
  const int64_t hops_per_token = ScaledCount(10'000, 100);

  Shared shared;
  Latch finished(tokens);
  shared.finished = &finished;
  ActorSystem system;
  shared.peers.reserve(static_cast<size_t>(actors));
  for (int64_t i = 0; i < actors; ++i) shared.peers.push_back(system.Spawn<Relay>(&shared, i));

  // Inject from several threads at once, so senders race with the relays.
  std::vector<Thread<void>> injectors;
  for (int t = 0; t < 4; ++t) {
    injectors.emplace_back("injector", [&, t] {
      for (int64_t k = t; k < tokens; k += 4) {
        test::Hop hop;
        hop.set_remaining(hops_per_token);
        shared.peers[static_cast<size_t>(k * 97 % actors)].Tell(std::move(hop));
      }
    });
  }
  for (Thread<void>& t : injectors) ASSERT_TRUE(t.Join().ok());
  ASSERT_TRUE(finished.WaitFor(absl::Minutes(5)));
  system.Shutdown();

  EXPECT_EQ(shared.handled.load(), tokens * (hops_per_token + 1));
  EXPECT_EQ(shared.overlaps.load(), 0);
  EXPECT_EQ(system.dead_letters().total(), 0);
  EXPECT_EQ(system.live_actors(), 0);
}

// Senders race with actors stopping: every message is either handled or
// dead-lettered, never lost and never both.
class CountThenStop : public Actor {
 public:
  CountThenStop(std::atomic<int64_t>* handled, int64_t stop_after)
      : handled_(handled), stop_after_(stop_after) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int64_t>([this](int64_t) {
      handled_->fetch_add(1, std::memory_order_relaxed);
      if (++seen_ == stop_after_) Stop();
    });
  }

 private:
  std::atomic<int64_t>* handled_;
  const int64_t stop_after_;
  int64_t seen_ = 0;
};

TEST(ActorStressTest, MailRacingStopsIsHandledOrDeadLettered) {
  const int64_t actors = ScaledCount(2000, 100);
  const int64_t per_sender = ScaledCount(200'000, 10'000);
  constexpr int kSenders = 4;
  std::atomic<int64_t> handled{0};
  ActorSystem system;
  std::vector<ActorRef> refs;
  for (int64_t i = 0; i < actors; ++i) {
    refs.push_back(system.Spawn<CountThenStop>(&handled, 1 + i % 200));
  }
  std::vector<Thread<void>> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back("sender", [&, s] {
      for (int64_t i = 0; i < per_sender; ++i) {
        refs[static_cast<size_t>((i * 31 + s) % actors)].Tell(i);
      }
    });
  }
  for (Thread<void>& t : senders) ASSERT_TRUE(t.Join().ok());
  system.Shutdown();
  EXPECT_EQ(handled.load() + system.dead_letters().total(), kSenders * per_sender);
}

// Handles int64 message ids: notes each id it sees, and throws on the
// poison ones (every 53rd), which makes its supervisor restart it.
class Fragile : public Actor {
 public:
  Fragile(std::vector<std::atomic<uint8_t>>* seen, std::atomic<int64_t>* handled,
          std::atomic<int64_t>* incarnations)
      : seen_(seen), handled_(handled) {
    incarnations->fetch_add(1, std::memory_order_relaxed);
  }

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int64_t>([this](int64_t id) {
      (*seen_)[static_cast<size_t>(id)].fetch_add(1, std::memory_order_relaxed);
      if (id % 53 == 0) throw std::runtime_error("poison");
      handled_->fetch_add(1, std::memory_order_relaxed);
    });
  }

 private:
  std::vector<std::atomic<uint8_t>>* seen_;
  std::atomic<int64_t>* handled_;
};

TEST(ActorStressTest, CrashStormUnderASupervisorLosesNothing) {
  const int64_t children = ScaledCount(2000, 100);
  const int64_t per_sender = ScaledCount(100'000, 5'000);
  constexpr int kSenders = 4;
  const int64_t total = kSenders * per_sender;
  std::vector<std::atomic<uint8_t>> seen(static_cast<size_t>(total));
  std::atomic<int64_t> handled{0};
  std::atomic<int64_t> incarnations{0};
  // The failures are expected: keep the log quiet.
  LogCapture quiet;

  ActorSystem system;
  SupervisorOptions options;
  options.max_restarts = std::numeric_limits<int>::max();
  options.within = absl::Hours(1);
  std::vector<ChildSpec> specs;
  for (int64_t i = 0; i < children; ++i) {
    specs.push_back(
        ChildSpec::Of<Fragile>(absl::StrCat("fragile-", i), &seen, &handled, &incarnations));
  }
  ActorRef supervisor = system.Spawn<Supervisor>(options, std::move(specs));
  absl::StatusOr<std::vector<SupervisedChild>> refs =
      supervisor.Ask<std::vector<SupervisedChild>>(WhichChildren(), absl::Seconds(60)).Get();
  ASSERT_TRUE(refs.ok()) << refs.status();
  ASSERT_EQ(static_cast<int64_t>(refs->size()), children);

  std::vector<Thread<void>> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back("sender", [&, s] {
      for (int64_t i = 0; i < per_sender; ++i) {
        const int64_t id = s * per_sender + i;
        (*refs)[static_cast<size_t>((i * 31 + s) % children)].ref.Tell(id);
      }
    });
  }
  for (Thread<void>& t : senders) ASSERT_TRUE(t.Join().ok());
  // Let the storm play out: every message handled or failed (a lost one
  // would keep this waiting until the deadline).
  const DeadLetters& dead = system.dead_letters();
  EXPECT_TRUE(testkit::Eventually(
      [&] { return handled.load() + dead.count(DeadLetterReason::kHandlerFailed) >= total; },
      absl::Minutes(5)));
  ASSERT_EQ(handled.load() + dead.count(DeadLetterReason::kHandlerFailed), total);
  system.Shutdown();

  // Every id was handled once or failed once.
  int64_t seen_once = 0;
  for (const std::atomic<uint8_t>& count : seen) {
    ASSERT_LE(count.load(), 1) << "a message was handled twice";
    seen_once += count.load();
  }
  const int64_t failed = dead.count(DeadLetterReason::kHandlerFailed);
  EXPECT_EQ(seen_once, total);
  EXPECT_EQ(handled.load() + failed, total);
  EXPECT_EQ(dead.total(), failed);
  EXPECT_GT(failed, 0);
  EXPECT_EQ(incarnations.load(), children + failed);  // one restart per failure
}

}  // namespace
}  // namespace troupe
