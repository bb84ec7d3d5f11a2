// An actor cell driven alone, by a fake environment: no ActorSystem, no
// threads. What the cell asks of its environment (a turn scheduled, a dead
// letter, "finished") is recorded and checked.

#include "actor/internal/actor_cell.h"

#include <deque>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "actor/actor.h"
#include "actor/internal/cell_environment.h"
#include "actor/internal/system_link.h"
#include "actor/internal/turn_context.h"
#include "actor/system.pb.h"
#include "gtest/gtest.h"
#include "testing/virtual_clock.h"

namespace troupe::actor_internal {
namespace {

// Runs turns only when the test says so, and remembers how each was asked for.
class StepScheduler final : public Scheduler {
 public:
  void Schedule(Schedulable* runnable, Priority priority) override {
    queue_.push_back(runnable);
    ++scheduled;
  }
  void Yield(Schedulable* runnable, Priority priority) override {
    queue_.push_back(runnable);
    ++yielded;
  }
  void Shutdown() override {}
  bool IsCurrentThread() const override { return false; }

  // Runs one queued turn; false if none was queued.
  bool RunOne() {
    if (queue_.empty()) return false;
    Schedulable* next = queue_.front();
    queue_.pop_front();
    next->RunTurn();
    return true;
  }
  size_t queued() const { return queue_.size(); }

  int scheduled = 0;
  int yielded = 0;

 private:
  std::deque<Schedulable*> queue_;
};

class FakeEnvironment final : public CellEnvironment {
 public:
  explicit FakeEnvironment(int throughput) : CellEnvironment(nullptr, &scheduler, throughput) {}

  void PublishDeadLetter(EnvelopePtr envelope, DeadLetterReason reason,
                         const Addressable* receiver) override {
    dead_letters.push_back(reason);
  }
  Clock& clock() override { return *virtual_clock; }
  bool IsShuttingDown() const override { return false; }
  LogLimiter& failure_log() override { return log; }
  void UnregisterAll(Addressable* cell) override {}
  ActorRef SpawnChild(ActorCell* parent, SpawnOptions options, ActorFactory factory) override {
    ADD_FAILURE() << "no spawning in these tests";
    return ActorRef();
  }
  ActorRef SpawnSupervisedChild(ActorCell* parent, SpawnOptions options, size_t actor_size,
                                uint32_t type_name, IncarnationFactory factory) override {
    ADD_FAILURE() << "no spawning in these tests";
    return ActorRef();
  }
  void OnCellFinished(ActorCell* cell) override { finished.push_back(cell); }

  StepScheduler scheduler;
  std::unique_ptr<Clock> virtual_clock = std::make_unique<testkit::VirtualClock>();
  LogLimiter log;
  std::vector<DeadLetterReason> dead_letters;
  std::vector<ActorCell*> finished;
};

struct Add {
  int by;
};

class Counter final : public Actor {
 public:
  explicit Counter(int* total) : total_(total) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Add>([this](const Add& add) { *total_ += add.by; });
  }

 private:
  int* const total_;
};

class ActorCellTest : public ::testing::Test {
 protected:
  explicit ActorCellTest(int throughput = 128)
      : env_(throughput), link_(new SystemLink(&env_, "fake", nullptr)) {}
  ~ActorCellTest() override {
    cell_ = AddressablePtr();
    link_->Unref();
  }

  // A started Counter, its first turn scheduled but not run.
  ActorCell* StartCounter() {
    ActorCell* cell = ActorCell::Create(link_, /*id=*/1, "counter", nullptr, sizeof(Counter));
    cell_ = AddressablePtr(cell);
    Actor* actor;
    {
      const ConstructingScope constructing(cell);
      actor = new (cell->actor_storage()) Counter(&total_);
    }
    cell->Start(actor);
    return cell;
  }

  FakeEnvironment env_;
  SystemLink* const link_;
  AddressablePtr cell_;
  int total_ = 0;
};

TEST_F(ActorCellTest, OnlyTheSendThatWakesAnIdleCellSchedulesIt) {
  ActorCell* cell = StartCounter();
  EXPECT_EQ(env_.scheduler.scheduled, 1);  // the first turn
  ASSERT_TRUE(env_.scheduler.RunOne());    // nothing queued: the cell goes idle
  EXPECT_EQ(env_.scheduler.queued(), 0u);

  cell->Deliver(MakeEnvelope(Add{2}));
  cell->Deliver(MakeEnvelope(Add{3}));
  EXPECT_EQ(env_.scheduler.scheduled, 2);  // the first Deliver woke it, the second did not
  ASSERT_TRUE(env_.scheduler.RunOne());
  EXPECT_EQ(total_, 5);
  EXPECT_FALSE(env_.scheduler.RunOne());  // idle again
}

class SmallBudgetTest : public ActorCellTest {
 protected:
  SmallBudgetTest() : ActorCellTest(/*throughput=*/2) {}
};

TEST_F(SmallBudgetTest, ATurnHandlesItsBudgetThenYields) {
  ActorCell* cell = StartCounter();
  for (int i = 0; i < 5; ++i) cell->Deliver(MakeEnvelope(Add{1}));
  ASSERT_TRUE(env_.scheduler.RunOne());
  EXPECT_EQ(total_, 2);
  EXPECT_EQ(env_.scheduler.yielded, 1);
  while (env_.scheduler.RunOne()) {
  }
  EXPECT_EQ(total_, 5);
  EXPECT_EQ(env_.scheduler.yielded, 2);  // 2 + 2 + 1: the last turn went idle
}

TEST_F(ActorCellTest, AStopOvertakesQueuedMailWhichIsDeadLetteredAndTheEnvironmentIsTold) {
  ActorCell* cell = StartCounter();
  for (int i = 0; i < 3; ++i) cell->Deliver(MakeEnvelope(Add{1}));
  cell->Deliver(MakeEnvelope(proto::Stop()));
  while (env_.scheduler.RunOne()) {
  }
  EXPECT_EQ(total_, 0);
  EXPECT_FALSE(cell->IsAlive());
  ASSERT_EQ(env_.finished.size(), 1u);
  EXPECT_EQ(env_.finished[0], cell);
  EXPECT_EQ(env_.dead_letters, std::vector<DeadLetterReason>(3, DeadLetterReason::kDroppedAtStop));

  // Mail after the end goes to dead letters through the environment, too.
  EXPECT_FALSE(cell->Deliver(MakeEnvelope(Add{1})));
  EXPECT_EQ(env_.dead_letters.size(), 4u);
  EXPECT_EQ(env_.dead_letters.back(), DeadLetterReason::kReceiverStopped);
}

TEST_F(ActorCellTest, MailThatNoHandlerTakesIsDeadLetteredAsUnhandled) {
  ActorCell* cell = StartCounter();
  cell->Deliver(MakeEnvelope(std::string("not an Add")));
  while (env_.scheduler.RunOne()) {
  }
  EXPECT_TRUE(cell->IsAlive());
  EXPECT_EQ(env_.dead_letters, std::vector<DeadLetterReason>{DeadLetterReason::kUnhandled});
}

}  // namespace
}  // namespace troupe::actor_internal
