// Actor priorities (SpawnOptions::priority, ActorRef::SetPriority()): a
// high-priority actor overtakes a pool full of busy normal actors, a low
// one still runs by the aging rule (threads/priority.h), and bad input is
// an error. The latencies are measured in messages the busy actors handle
// meanwhile, not in time, so the bounds hold on a loaded machine.

#include "threads/priority.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/spawn.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"

namespace troupe {
namespace {

struct Spin {};

// Handles Spin forever, sending the next one to itself, and counts every
// one in `handled`: the busy background of the tests below.
class Busy : public Actor {
 public:
  Busy(std::atomic<int64_t>* handled, const std::atomic<bool>* stop)
      : handled_(handled), stop_(stop) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Spin>([this](const Spin&) {
      handled_->fetch_add(1, std::memory_order_relaxed);
      if (!stop_->load(std::memory_order_relaxed)) Self().Tell(Spin{});
    });
  }

 private:
  std::atomic<int64_t>* handled_;
  const std::atomic<bool>* stop_;
};

// Answers an int with how many Spins the busy actors had handled by then.
class Probe : public Actor {
 public:
  explicit Probe(const std::atomic<int64_t>* handled) : handled_(handled) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([this](int) -> int64_t { return handled_->load(); });
  }

 private:
  const std::atomic<int64_t>* handled_;
};

// One worker: the bounds below count the messages handled on the worker
// that runs the probe, and with a second worker an OS preemption between
// taking the probe's turn and running it would let the other worker's
// spins into the count. (threads/thread_pool_priority_test.cc and the
// bench's O3 cover more workers.)
constexpr int kWorkers = 1;
constexpr int kThroughput = 128;
constexpr int kBusyActors = 1000;

class PriorityTest : public ::testing::Test {
 protected:
  PriorityTest() : system(Options()) {
    for (int i = 0; i < kBusyActors; ++i) system.Spawn<Busy>(&handled, &stop).Tell(Spin{});
    EXPECT_TRUE(testkit::Eventually([&] { return handled.load() > 10 * kBusyActors; }));
  }
  ~PriorityTest() override { stop.store(true); }

  static ActorSystemOptions Options() {
    ActorSystemOptions options;
    options.workers = kWorkers;
    options.throughput = kThroughput;
    return options;
  }

  // How many Spins the busy actors handled between the ask to `probe` and
  // its answer: the probe's wait, counted in messages. The count is read
  // after the ask is sent (possibly late, never early), so the difference
  // is an upper bound.
  int64_t SpinsBeforeAnswer(const ActorRef& probe) {
    Future<int64_t> answer = probe.Ask<int64_t>(0, absl::Seconds(120));
    const int64_t asked_by = handled.load();
    absl::StatusOr<int64_t> answered_at = answer.Get();
    EXPECT_TRUE(answered_at.ok()) << answered_at.status();
    return answered_at.ok() ? *answered_at - asked_by : INT64_MAX;
  }

  // What the actors touch outlives the system, which stops them first.
  std::atomic<int64_t> handled{0};
  std::atomic<bool> stop{false};
  ActorSystem system;
};

SpawnOptions At(Priority priority) {
  SpawnOptions options;
  options.priority = priority;
  return options;
}

// The worker finishes the turn it is in (at most `throughput` messages),
// then takes the high-priority actor before any of the 1000 busy ones.
TEST_F(PriorityTest, AHighPriorityActorOvertakesAThousandBusyActors) {
  ActorRef probe = system.Spawn<Probe>(At(Priority::kHigh), &handled);
  for (int round = 0; round < 20; ++round) {
    EXPECT_LE(SpinsBeforeAnswer(probe), int64_t{kWorkers} * kThroughput) << "round " << round;
  }
}

// Low priority: nothing else is ever idle here, so only the aging rule
// lets it run: within kLowPriorityAgingInterval turns.
TEST_F(PriorityTest, ALowPriorityActorRunsDespiteAThousandBusyActors) {
  ActorRef probe = system.Spawn<Probe>(At(Priority::kLow), &handled);
  for (int round = 0; round < 5; ++round) {
    EXPECT_LE(SpinsBeforeAnswer(probe),
              int64_t{kWorkers} * (kLowPriorityAgingInterval + 1) * kThroughput)
        << "round " << round;
  }
}

TEST_F(PriorityTest, SetPriorityTakesEffectAtTheNextSchedule) {
  ActorRef probe = system.Spawn<Probe>(&handled);
  // At normal priority it queues behind the busy actors' turns: far past the
  // high-priority bound (which shows that the bound tells the two apart).
  EXPECT_GT(SpinsBeforeAnswer(probe), int64_t{kWorkers} * kThroughput);
  ASSERT_TRUE(probe.SetPriority(Priority::kHigh).ok());
  for (int round = 0; round < 10; ++round) {
    EXPECT_LE(SpinsBeforeAnswer(probe), int64_t{kWorkers} * kThroughput) << "round " << round;
  }
  bool found = false;
  for (const ActorStats& actor : system.Stats().actors) {
    if (actor.id != probe.id()) continue;
    found = true;
    EXPECT_EQ(actor.priority, Priority::kHigh);
  }
  EXPECT_TRUE(found);
  EXPECT_THAT(system.DumpState(), ::testing::HasSubstr("priority high"));
}

// Sends the int it gets back to its sender's SetPriority(), and answers
// with the status: the sender of an ask is the ask's reply receiver.
class SetsItsSendersPriority : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>(
        [this](int) { return Sender().SetPriority(Priority::kHigh).ToString(); });
  }
};

TEST(PriorityErrorsTest, SetPriorityRejectsWhatIsNotAnActorOrNotAPriority) {
  ActorSystem system;
  EXPECT_EQ(ActorRef().SetPriority(Priority::kHigh).code(), absl::StatusCode::kInvalidArgument);
  ActorRef actor = system.Spawn<SetsItsSendersPriority>();
  EXPECT_EQ(actor.SetPriority(static_cast<Priority>(3)).code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> asked = actor.Ask<std::string>(0, absl::Seconds(30)).Get();
  ASSERT_TRUE(asked.ok()) << asked.status();
  EXPECT_THAT(*asked, ::testing::HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(*asked, ::testing::HasSubstr("not an actor"));
}

TEST(PriorityErrorsTest, AnInvalidSpawnPriorityIsNotStarted) {
  ActorSystem system;
  ActorRef actor = system.Spawn<SetsItsSendersPriority>(At(static_cast<Priority>(9)));
  EXPECT_TRUE(testkit::Eventually([&] { return !actor.IsAlive(); }));
  SpawnOptions options = At(static_cast<Priority>(9));
  EXPECT_THAT(options.Validate().message(), ::testing::HasSubstr("priority 9"));
}

}  // namespace
}  // namespace troupe
