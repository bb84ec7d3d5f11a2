// co_await ActorRef::Send (actor/send.h): tasks that wait for room in a
// bounded mailbox, in order, without losing or doubling a message, and
// what cancellation and a stopping receiver do to a waiting send.

#include "actor/send.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/spawn.h"
#include "actor/system.pb.h"
#include "async/go.h"
#include "async/task.h"
#include "base/stress.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "threads/mutex.h"
#include "threads/notification.h"
#include "threads/thread.h"
#include "threads/thread_pool.h"

namespace troupe {
namespace {

SpawnOptions Bounded(uint32_t capacity, bool dedicated = false) {
  SpawnOptions options;
  options.mailbox_capacity = capacity;
  options.dedicated = dedicated;
  return options;
}

ActorStats StatsOf(ActorSystem& system, const ActorRef& ref) {
  for (ActorStats& actor : system.Stats().actors) {
    if (actor.id == ref.id()) return actor;
  }
  return ActorStats();
}

// Records the ints it gets, per sender (the int's high bits), checking
// that each sender's arrive in order.
class Recorder : public Actor {
 public:
  Recorder(Mutex* mu, std::vector<int64_t>* got) : mu_(mu), got_(got) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int64_t>([this](int64_t v) {
      MutexLock lock(*mu_);
      got_->push_back(v);
    });
  }

 private:
  Mutex* mu_;
  std::vector<int64_t>* got_;
};

// Sends `count` ints (sender << 32 | i) with co_await Send.
Task<absl::Status> SendAll(ActorRef to, int64_t sender, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    int64_t message = sender << 32 | i;
    if (absl::Status sent = co_await to.Send(message); !sent.ok()) co_return sent;
  }
  co_return absl::OkStatus();
}

// Tasks on a pool, threads with TellWithin, all into a mailbox of 4:
// every message arrives once, each sender's in order, none refused, and
// the depth never passed the capacity.
TEST(SendTest, WaitingTasksAndThreadsGetEverythingInInOrder) {
  Mutex mu;
  std::vector<int64_t> got;
  ThreadPool pool(2);
  ActorSystem system;
  ActorRef recorder = system.Spawn<Recorder>(Bounded(4), &mu, &got);
  const int64_t per_sender = ScaledCount(20000, 200);
  constexpr int kTasks = 4;
  constexpr int kThreads = 2;
  std::vector<JoinHandle<absl::Status>> tasks;
  for (int t = 0; t < kTasks; ++t) tasks.push_back(Go(pool, SendAll, recorder, t, per_sender));
  std::vector<Thread<void>> threads;
  for (int t = kTasks; t < kTasks + kThreads; ++t) {
    threads.emplace_back("teller", [&, t] {
      for (int64_t i = 0; i < per_sender; ++i) {
        int64_t message = int64_t{t} << 32 | i;
        ASSERT_TRUE(recorder.TellWithin(message, absl::InfiniteFuture()).ok());
      }
    });
  }
  for (JoinHandle<absl::Status>& task : tasks) EXPECT_TRUE(task.Get().ok());
  for (Thread<void>& thread : threads) ASSERT_TRUE(thread.Join().ok());
  const int64_t total = (kTasks + kThreads) * per_sender;
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(mu);
    return static_cast<int64_t>(got.size()) == total;
  }));
  MutexLock lock(mu);
  std::vector<int64_t> next(kTasks + kThreads, 0);
  for (int64_t v : got) {
    const int64_t sender = v >> 32;
    ASSERT_EQ(v & 0xffffffff, next[static_cast<size_t>(sender)]++) << "sender " << sender;
  }
  const ActorStats stats = StatsOf(system, recorder);
  EXPECT_LE(stats.mailbox_high_water, 4u);
  EXPECT_EQ(stats.mailbox_rejected, 0u);
  EXPECT_EQ(stats.mailbox_waiting_senders, 0u);
  EXPECT_EQ(system.dead_letters().total(), 0);
}

// Blocks each turn at a gate until the test opens it.
class Gated : public Actor {
 public:
  Gated(Notification* gate, Mutex* mu, std::vector<int64_t>* got)
      : gate_(gate), mu_(mu), got_(got) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int64_t>([this](int64_t v) {
      gate_->WaitForNotification();
      MutexLock lock(*mu_);
      got_->push_back(v);
    });
  }

 private:
  Notification* gate_;
  Mutex* mu_;
  std::vector<int64_t>* got_;
};

// A gated actor (its own thread) with a mailbox of one, made full: the
// message being handled counts until its turn ends.
class FullMailboxTest : public ::testing::Test {
 protected:
  FullMailboxTest() : gated(system.Spawn<Gated>(Bounded(1, true), &gate, &mu, &got)) {
    gated.Tell(int64_t{0});
  }
  ~FullMailboxTest() override {
    if (!gate.HasBeenNotified()) gate.Notify();
  }
  uint32_t Waiting() { return StatsOf(system, gated).mailbox_waiting_senders; }

  // The cancelled `task` gives `message` back, and no sender waits. (A
  // template: the tasks' Outcome is declared below.)
  template <typename Result>
  void ExpectCancelledWithTheMessageBack(JoinHandle<Result>& task, int64_t message) {
    absl::StatusOr<Result> outcome = task.Get();
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_EQ(outcome->status.code(), absl::StatusCode::kCancelled) << outcome->status;
    EXPECT_EQ(outcome->message, message);
    EXPECT_EQ(Waiting(), 0u);
  }

  // What the actor touches outlives the system, which stops it first.
  Notification gate;
  Mutex mu;
  std::vector<int64_t> got;
  ThreadPool pool{2};
  ActorSystem system;
  ActorRef gated;
};

// One send: the result, and the message as the task left it.
struct Outcome {
  absl::Status status;
  int64_t message;
};

Task<Outcome> SendOne(ActorRef to, int64_t value) {
  int64_t message = value;
  absl::Status status = co_await to.Send(message);
  co_return Outcome{status, message};
}

TEST_F(FullMailboxTest, ACancelledSendGivesTheMessageBack) {
  JoinHandle<Outcome> task = Go(pool, SendOne, gated, 7);
  ASSERT_TRUE(testkit::Eventually([&] { return Waiting() == 1; }));
  task.Cancel();
  ExpectCancelledWithTheMessageBack(task, 7);
  gate.Notify();
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(mu);
    return got.size() == 1;
  }));
  absl::SleepFor(absl::Milliseconds(20));  // a 7 that went anyway would show up now
  MutexLock lock(mu);
  EXPECT_THAT(got, ::testing::ElementsAre(0));
}

Task<Outcome> SendOnceAllowed(Notification* allowed, ActorRef to, int64_t value) {
  allowed->WaitForNotification();  // blocks a worker: a test's shortcut
  int64_t message = value;
  absl::Status status = co_await to.Send(message);
  co_return Outcome{status, message};
}

// Cancelled before it could queue: it never joins the line at all.
TEST_F(FullMailboxTest, ASendCancelledBeforeItWaitsGivesTheMessageBack) {
  Notification allowed;
  JoinHandle<Outcome> task = Go(pool, SendOnceAllowed, &allowed, gated, 7);
  task.Cancel();
  allowed.Notify();
  ExpectCancelledWithTheMessageBack(task, 7);
}

TEST_F(FullMailboxTest, ASendWaitingForAnActorThatStopsFailsWithUnavailable) {
  JoinHandle<Outcome> task = Go(pool, SendOne, gated, 7);
  ASSERT_TRUE(testkit::Eventually([&] { return Waiting() == 1; }));
  gated.Tell(proto::Stop());  // the system lane: never refused
  gate.Notify();
  absl::StatusOr<Outcome> outcome = task.Get();
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  // Either it got in before the stop (and was then dropped at the stop,
  // a dead letter) or it found the actor stopped and kept its message.
  if (outcome->status.ok()) {
    EXPECT_TRUE(testkit::Eventually([&] { return system.dead_letters().total() == 1; }));
  } else {
    EXPECT_EQ(outcome->status.code(), absl::StatusCode::kUnavailable) << outcome->status;
    EXPECT_EQ(outcome->message, 7);
  }
}

// Waiting tasks get in in the order they came, pushed by the actor itself.
TEST_F(FullMailboxTest, WaitingTasksGetInInTheOrderTheyCame) {
  std::vector<JoinHandle<Outcome>> tasks;
  for (int64_t i = 1; i <= 3; ++i) {
    tasks.push_back(Go(pool, SendOne, gated, i));
    ASSERT_TRUE(testkit::Eventually([&] { return Waiting() == static_cast<uint32_t>(i); }));
  }
  gate.Notify();
  for (JoinHandle<Outcome>& task : tasks) {
    absl::StatusOr<Outcome> outcome = task.Get();
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  }
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(mu);
    return got.size() == 4;
  }));
  MutexLock lock(mu);
  EXPECT_THAT(got, ::testing::ElementsAre(0, 1, 2, 3));
}

TEST(SendErrorsTest, AnEmptyRefIsAnInvalidArgument) {
  ThreadPool pool(1);
  absl::StatusOr<Outcome> outcome = Go(pool, SendOne, ActorRef(), 7).Get();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(outcome->message, 7);
}

TEST(SendErrorsTest, AnUnboundedActorNeverMakesATaskWait) {
  Mutex mu;
  std::vector<int64_t> got;
  ThreadPool pool(1);
  ActorSystem system;
  ActorRef recorder = system.Spawn<Recorder>(&mu, &got);
  EXPECT_TRUE(Go(pool, SendAll, recorder, 0, 1000).Get().ok());
  EXPECT_TRUE(testkit::Eventually([&] {
    MutexLock lock(mu);
    return got.size() == 1000;
  }));
}

}  // namespace
}  // namespace troupe
