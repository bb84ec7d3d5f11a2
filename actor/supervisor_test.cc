// Supervision: restarts that keep the ref and the mailbox, the three
// strategies, the three restart policies, intensity and escalation, backoff
// in virtual time, and the supervisor's API (WhichChildren, StartChild).

#include "actor/supervisor.h"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor_system.h"
#include "base/log_capture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/event_log.h"
#include "testing/eventually.h"
#include "testing/test_kit.h"
#include "testing/test_probe.h"
#include "threads/latch.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);

// Shared by every incarnation of the workers of one test.
struct Tally {
  // Counts the incarnations of the worker called `name`: 1 for the first.
  int Construct(const std::string& name) {
    constructed.fetch_add(1);
    MutexLock lock(mu);
    return ++incarnations[name];
  }

  std::atomic<int> constructed{0};
  std::atomic<int> handled{0};
  testkit::EventLog log;  // "<name> start", "<name> stop"
  Mutex mu;
  absl::flat_hash_map<std::string, int> incarnations ABSL_GUARDED_BY(mu);
};

// Holds a worker inside its "block" handler until the test opens it.
struct Gate {
  Latch entered{1};
  Latch open{1};
};

// A worker: "boom" throws, "stop" stops, "block" waits at the gate it was
// given; anything else is counted. Logs start and stop with its incarnation.
class Worker : public Actor {
 public:
  Worker(std::string name, Tally* tally, Gate* gate = nullptr)
      : name_(std::move(name)), tally_(tally), gate_(gate), incarnation_(tally->Construct(name_)) {}

 protected:
  void OnStart() override { Log("start"); }
  void OnStop() override { Log("stop"); }
  Behavior MakeBehavior() override {
    return Behavior().On<std::string>([this](const std::string& command) -> std::string {
      if (command == "boom") throw std::runtime_error(absl::StrCat(name_, " went boom"));
      if (command == "stop") Stop();
      if (command == "block" && gate_ != nullptr) {
        gate_->entered.CountDown();
        gate_->open.Wait();
      }
      tally_->handled.fetch_add(1);
      return absl::StrCat(name_, "#", incarnation_);
    });
  }

 private:
  void Log(const char* event) { tally_->log.Add(absl::StrCat(name_, " ", event)); }

  std::string name_;
  Tally* tally_;
  Gate* gate_;
  int incarnation_;
};

ChildSpec WorkerSpec(const std::string& name, Tally* tally, Gate* gate = nullptr) {
  return ChildSpec::Of<Worker>(name, name, tally, gate);
}

// Waits until `n` incarnations have been constructed in all.
void WaitForConstructed(const Tally& tally, int n) {
  ASSERT_TRUE(testkit::Eventually([&] { return tally.constructed.load() >= n; }, kWait));
  ASSERT_EQ(tally.constructed.load(), n);
}

std::vector<SupervisedChild> ChildrenOf(const ActorRef& supervisor) {
  absl::StatusOr<std::vector<SupervisedChild>> children =
      supervisor.Ask<std::vector<SupervisedChild>>(WhichChildren(), kWait).Get();
  EXPECT_TRUE(children.ok()) << children.status();
  return children.ok() ? *children : std::vector<SupervisedChild>();
}

std::string AskName(const ActorRef& worker) {
  absl::StatusOr<std::string> reply = worker.Ask<std::string>(std::string("who"), kWait).Get();
  return reply.ok() ? *reply : reply.status().ToString();
}

TEST(SupervisorTest, RestartKeepsTheRefAndTheQueuedMail) {
  Tally tally;
  Gate gate;
  ActorSystem system;
  ActorRef supervisor = system.Spawn<Supervisor>(
      SupervisorOptions(), std::vector<ChildSpec>{WorkerSpec("w", &tally, &gate)});
  std::vector<SupervisedChild> children = ChildrenOf(supervisor);
  ASSERT_EQ(children.size(), 1u);
  const ActorRef worker = children[0].ref;
  EXPECT_EQ(AskName(worker), "w#1");

  // Queue a failure behind a blocked handler, then mail behind the failure.
  constexpr int kQueued = 100;
  worker.Tell(std::string("block"));
  gate.entered.Wait();
  worker.Tell(std::string("boom"));
  for (int i = 0; i < kQueued; ++i) worker.Tell(std::string("count"));
  gate.open.CountDown();

  // The new incarnation answers through the same ref, after the queued mail.
  EXPECT_EQ(AskName(worker), "w#2");
  EXPECT_EQ(tally.handled.load(), 1 + 1 + kQueued + 1);  // who, block, the mail, who
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kHandlerFailed), 1);
  EXPECT_EQ(system.dead_letters().total(), 1);
  EXPECT_THAT(tally.log.WaitForSize(3), ElementsAre("w start", "w stop", "w start"));
  EXPECT_EQ(ChildrenOf(supervisor)[0].ref, worker);
}

// A new incarnation learns why the last one ended (Akka's postRestart), and
// state kept outside the actor, passed in through the ChildSpec, survives.
struct Ledger {
  std::atomic<int> entries{0};  // outlives every incarnation
  testkit::EventLog restarts;
};

class Bookkeeper : public Actor {
 public:
  explicit Bookkeeper(std::shared_ptr<Ledger> ledger) : ledger_(std::move(ledger)) {}

 protected:
  void OnRestart(const proto::ExitReason& reason) override {
    ledger_->restarts.Add(
        absl::StrCat(proto::ExitReason::Kind_Name(reason.kind()), ": ", reason.detail()));
  }
  Behavior MakeBehavior() override {
    return Behavior().On<int>([this](int entry) {
      if (entry < 0) throw std::runtime_error("negative entry");
      return ledger_->entries.fetch_add(entry) + entry;
    });
  }

 private:
  std::shared_ptr<Ledger> ledger_;
};

TEST(SupervisorTest, ANewIncarnationIsToldWhyAndKeepsTheStatePassedIn) {
  auto ledger = std::make_shared<Ledger>();
  ActorSystem system;
  ActorRef supervisor = system.Spawn<Supervisor>(
      SupervisorOptions(),
      std::vector<ChildSpec>{ChildSpec::Of<Bookkeeper>("books", ledger).Registered()});
  // Registered: found by name, no ask to the supervisor needed.
  ActorRef books;
  ASSERT_TRUE(testkit::Eventually([&] {
    books = system.registry().Lookup("books");
    return static_cast<bool>(books);
  }));
  EXPECT_EQ(books, ChildrenOf(supervisor)[0].ref);
  EXPECT_EQ(books.Ask<int>(5, kWait).Get().value(), 5);

  books.Tell(-1);  // fails: restarted behind the same ref, under the same name
  EXPECT_THAT(ledger->restarts.WaitForSize(1), ElementsAre("FAILURE: negative entry"));
  EXPECT_EQ(system.registry().Lookup("books"), books);
  EXPECT_EQ(books.Ask<int>(2, kWait).Get().value(), 7);  // the ledger survived

  supervisor.Tell(proto::Stop());
  testkit::WaitUntilStopped(books);
  testkit::WaitForLiveActors(system, 0);
  EXPECT_FALSE(system.registry().Lookup("books"));    // a stopped child's name is gone
  EXPECT_EQ(ledger->restarts.Snapshot().size(), 1u);  // a first start is not a restart
}

TEST(SupervisorTest, TooManyRestartsEscalateToTheSupervisorsParent) {
  Tally tally;
  ActorSystem system;
  testkit::TestProbe probe(system, "probe", kWait);
  SupervisorOptions inner_options;
  inner_options.max_restarts = 3;
  inner_options.within = absl::Hours(1);
  SupervisorOptions outer_options;
  outer_options.max_restarts = 0;  // the outer one gives up at the first failure
  ActorRef outer = system.Spawn<Supervisor>(
      outer_options, std::vector<ChildSpec>{ChildSpec::Of<Supervisor>(
                         "inner", inner_options, std::vector<ChildSpec>{WorkerSpec("w", &tally)})});
  probe.Watch(outer);
  ActorRef inner = ChildrenOf(outer)[0].ref;
  ActorRef worker = ChildrenOf(inner)[0].ref;

  // Three failures are healed by restarts; the fourth is one too many.
  for (int i = 1; i <= 3; ++i) {
    worker.Tell(std::string("boom"));
    EXPECT_EQ(AskName(worker), absl::StrCat("w#", i + 1));
  }
  worker.Tell(std::string("boom"));
  // The inner supervisor fails; the outer one may restart nobody more, so
  // it fails too, taking the tree down bottom-up.
  proto::Down down = probe.ExpectDown(outer);
  EXPECT_EQ(down.reason().kind(), proto::ExitReason::FAILURE);
  EXPECT_THAT(down.reason().detail(), HasSubstr("child inner ended: FAILURE (child w ended"));
  testkit::WaitUntilStopped(inner);
  testkit::WaitUntilStopped(worker);
  EXPECT_EQ(tally.constructed.load(), 4);
}

TEST(SupervisorTest, AnEscalatedSupervisorIsRestartedWithFreshChildren) {
  Tally tally;
  ActorSystem system;
  SupervisorOptions inner_options;
  inner_options.max_restarts = 0;
  ActorRef outer = system.Spawn<Supervisor>(
      SupervisorOptions(),
      std::vector<ChildSpec>{ChildSpec::Of<Supervisor>(
          "inner", inner_options, std::vector<ChildSpec>{WorkerSpec("w", &tally)})});
  ActorRef inner = ChildrenOf(outer)[0].ref;
  ActorRef first_worker = ChildrenOf(inner)[0].ref;
  first_worker.Tell(std::string("boom"));
  testkit::WaitUntilStopped(first_worker);  // the inner supervisor's children go with it

  // The outer supervisor restarted the inner one behind the same ref.
  const absl::Time deadline = absl::Now() + kWait;
  std::vector<SupervisedChild> now;
  do {
    now = ChildrenOf(inner);
  } while ((now.empty() || now[0].ref == first_worker) && absl::Now() < deadline);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0].ref, first_worker);
  EXPECT_EQ(AskName(now[0].ref), "w#2");
  EXPECT_TRUE(inner.IsAlive());
}

// Workers a, b and c, started in that order under one supervisor.
std::vector<SupervisedChild> StartThreeWorkers(ActorSystem& system, SupervisionStrategy strategy,
                                               Tally* tally) {
  SupervisorOptions options;
  options.strategy = strategy;
  ActorRef supervisor = system.Spawn<Supervisor>(
      options, std::vector<ChildSpec>{WorkerSpec("a", tally), WorkerSpec("b", tally),
                                      WorkerSpec("c", tally)});
  return ChildrenOf(supervisor);
}

TEST(SupervisorTest, AllForOneRestartsEverySibling) {
  Tally tally;
  ActorSystem system;
  std::vector<SupervisedChild> children =
      StartThreeWorkers(system, SupervisionStrategy::kAllForOne, &tally);
  ASSERT_EQ(children.size(), 3u);
  for (const SupervisedChild& child : children) AskName(child.ref);
  children[1].ref.Tell(std::string("boom"));
  WaitForConstructed(tally, 6);
  for (const SupervisedChild& child : children) EXPECT_EQ(AskName(child.ref), child.name + "#2");
  EXPECT_EQ(tally.constructed.load(), 6);
}

TEST(SupervisorTest, RestForOneRestartsTheChildAndThoseStartedAfterIt) {
  Tally tally;
  ActorSystem system;
  std::vector<SupervisedChild> children =
      StartThreeWorkers(system, SupervisionStrategy::kRestForOne, &tally);
  ASSERT_EQ(children.size(), 3u);
  EXPECT_EQ(AskName(children[0].ref), "a#1");
  children[1].ref.Tell(std::string("boom"));
  WaitForConstructed(tally, 5);
  EXPECT_EQ(AskName(children[0].ref), "a#1");
  EXPECT_EQ(AskName(children[1].ref), "b#2");
  EXPECT_EQ(AskName(children[2].ref), "c#2");
  EXPECT_EQ(tally.constructed.load(), 5);
}

TEST(SupervisorTest, RestartPolicies) {
  Tally tally;
  ActorSystem system;
  testkit::TestProbe probe(system, "probe", kWait);
  ActorRef supervisor = system.Spawn<Supervisor>(
      SupervisorOptions(),
      std::vector<ChildSpec>{
          WorkerSpec("permanent", &tally),
          WorkerSpec("transient-ok", &tally).WithRestart(RestartPolicy::kTransient),
          WorkerSpec("transient-boom", &tally).WithRestart(RestartPolicy::kTransient),
          WorkerSpec("temporary", &tally).WithRestart(RestartPolicy::kTemporary)});
  std::vector<SupervisedChild> children = ChildrenOf(supervisor);
  ASSERT_EQ(children.size(), 4u);
  const ActorRef permanent = children[0].ref;
  const ActorRef transient_ok = children[1].ref;
  const ActorRef transient_boom = children[2].ref;
  const ActorRef temporary = children[3].ref;

  permanent.Tell(std::string("stop"));  // even a normal stop is restarted
  EXPECT_EQ(AskName(permanent), "permanent#2");
  probe.Watch(transient_ok);
  transient_ok.Tell(std::string("stop"));  // a normal end is final
  EXPECT_EQ(probe.ExpectDown(transient_ok).reason().kind(), proto::ExitReason::NORMAL);
  transient_boom.Tell(std::string("boom"));  // an abnormal one is not
  EXPECT_EQ(AskName(transient_boom), "transient-boom#2");
  probe.Watch(temporary);
  temporary.Tell(std::string("boom"));  // never restarted
  EXPECT_EQ(probe.ExpectDown(temporary).reason().detail(), "temporary went boom");
  std::vector<SupervisedChild> left = ChildrenOf(supervisor);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].ref, permanent);
  EXPECT_EQ(left[1].ref, transient_boom);
}

TEST(SupervisorTest, AKilledChildIsRestartedWithoutItsQueuedMail) {
  Tally tally;
  Gate gate;
  ActorSystem system;
  ActorRef supervisor = system.Spawn<Supervisor>(
      SupervisorOptions(), std::vector<ChildSpec>{WorkerSpec("w", &tally, &gate)});
  const ActorRef worker = ChildrenOf(supervisor)[0].ref;
  worker.Tell(std::string("block"));
  gate.entered.Wait();
  for (int i = 0; i < 10; ++i) worker.Tell(std::string("count"));
  worker.Tell(proto::Kill());  // overtakes the ten
  gate.open.CountDown();
  EXPECT_THAT(tally.log.WaitForSize(3), ElementsAre("w start", "w stop", "w start"));
  EXPECT_EQ(AskName(worker), "w#2");
  EXPECT_EQ(tally.handled.load(), 2);  // block, then who
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kDroppedAtStop), 10);
}

TEST(SupervisorTest, BackoffDelaysRestartsInVirtualTime) {
  Tally tally;
  testkit::TestKit kit;
  SupervisorOptions options;
  options.max_restarts = 10;
  options.within = absl::Hours(1);
  options.backoff.initial = absl::Seconds(1);
  options.backoff.max = absl::Seconds(3);
  ActorRef supervisor =
      kit.system().Spawn<Supervisor>(options, std::vector<ChildSpec>{WorkerSpec("w", &tally)});
  absl::StatusOr<std::vector<SupervisedChild>> children =
      kit.Ask<std::vector<SupervisedChild>>(supervisor, WhichChildren());
  ASSERT_TRUE(children.ok()) << children.status();
  ASSERT_EQ(tally.constructed.load(), 1);
  const ActorRef worker = children->at(0).ref;

  // Restart k waits 1 s * 2^(k-1), at most 3 s: 1, 2, 3, 3.
  for (absl::Duration wait :
       {absl::Seconds(1), absl::Seconds(2), absl::Seconds(3), absl::Seconds(3)}) {
    const int before = tally.constructed.load();
    worker.Tell(std::string("boom"));
    worker.Tell(std::string("queued"));  // waits for the next incarnation
    kit.AdvanceTime(wait - absl::Milliseconds(1));
    EXPECT_EQ(tally.constructed.load(), before) << "restarted before " << wait;
    kit.AdvanceTime(absl::Milliseconds(1));
    EXPECT_EQ(tally.constructed.load(), before + 1) << "not restarted after " << wait;
  }
  kit.RunUntilIdle();
  EXPECT_EQ(tally.handled.load(), 4);  // every "queued" reached a new incarnation
}

TEST(SupervisorTest, StartChildAddsAChild) {
  Tally tally;
  ActorSystem system;
  ActorRef supervisor = system.Spawn<Supervisor>(SupervisorOptions(), std::vector<ChildSpec>{});
  absl::StatusOr<ActorRef> added =
      supervisor.Ask<ActorRef>(StartChild{WorkerSpec("late", &tally)}, kWait).Get();
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(AskName(*added), "late#1");
  added->Tell(std::string("boom"));
  EXPECT_EQ(AskName(*added), "late#2");
  ASSERT_EQ(ChildrenOf(supervisor).size(), 1u);
  EXPECT_EQ(ChildrenOf(supervisor)[0].name, "late");
}

TEST(SupervisorTest, AFailingConstructorIsAFailureLikeAnyOther) {
  struct Exploding : public Actor {
    explicit Exploding(std::atomic<int>* attempts) {
      if (attempts->fetch_add(1) < 2) throw std::runtime_error("not yet");
    }
    Behavior MakeBehavior() override {
      return Behavior().On<int>([](int x) { return x + 1; });
    }
  };
  std::atomic<int> attempts{0};
  ActorSystem system;
  ActorRef supervisor = system.Spawn<Supervisor>(
      SupervisorOptions(), std::vector<ChildSpec>{ChildSpec::Of<Exploding>("x", &attempts)});
  const ActorRef child = ChildrenOf(supervisor)[0].ref;
  absl::StatusOr<int> reply = child.Ask<int>(41, kWait).Get();
  ASSERT_TRUE(reply.ok()) << reply.status();  // the third constructor call succeeded
  EXPECT_EQ(*reply, 42);
  EXPECT_EQ(attempts.load(), 3);
}

class RestartHooks : public ActorHooks {
 public:
  void OnRestart(const ActorRef& actor, const proto::ExitReason& reason) override {
    log.Add(absl::StrCat("restart ", proto::ExitReason::Kind_Name(reason.kind()), " ",
                         reason.detail()));
  }
  testkit::EventLog log;
};

TEST(SupervisorTest, HooksSeeEachRestart) {
  Tally tally;
  auto hooks = std::make_shared<RestartHooks>();
  ActorSystemOptions system_options;
  system_options.hooks = hooks;
  ActorSystem system(std::move(system_options));
  ActorRef supervisor = system.Spawn<Supervisor>(SupervisorOptions(),
                                                 std::vector<ChildSpec>{WorkerSpec("w", &tally)});
  const ActorRef worker = ChildrenOf(supervisor)[0].ref;
  worker.Tell(std::string("boom"));
  EXPECT_EQ(AskName(worker), "w#2");
  EXPECT_THAT(hooks->log.Snapshot(), ElementsAre("restart FAILURE w went boom"));
}

// Issue 18, item 10: every failure and every restart logged a line (2405
// crashes, 4810 lines). A crash loop now logs one line a second for each,
// saying how many it held back; every restart still happens.
TEST(SupervisorTest, ACrashLoopDoesNotFloodTheLog) {
  constexpr int kCrashes = 2000;
  LogCapture capture;
  Tally tally;
  ActorSystem system;
  SupervisorOptions options;
  options.max_restarts = kCrashes + 1;
  ActorRef supervisor =
      system.Spawn<Supervisor>(options, std::vector<ChildSpec>{WorkerSpec("w", &tally)});
  const ActorRef worker = ChildrenOf(supervisor)[0].ref;
  for (int i = 0; i < kCrashes; ++i) worker.Tell(std::string("boom"));
  EXPECT_EQ(AskName(worker), absl::StrCat("w#", kCrashes + 1));  // every restart happened
  const std::string output = capture.Output();
  int failed_lines = 0;
  int restart_lines = 0;
  for (size_t at = 0; (at = output.find("handler failed", at)) != std::string::npos; ++at) {
    ++failed_lines;
  }
  for (size_t at = 0; (at = output.find("restarting child", at)) != std::string::npos; ++at) {
    ++restart_lines;
  }
  // One line a second each: a loaded machine under a sanitizer may take
  // tens of seconds for the loop, never a thousand.
  EXPECT_GE(failed_lines, 1);
  EXPECT_LT(failed_lines, 100) << output.substr(0, 2000);
  EXPECT_GE(restart_lines, 1);
  EXPECT_LT(restart_lines, 100);
}

TEST(SupervisorNamesTest, PoliciesAndStrategiesPrintAsOtpSaysThem) {
  EXPECT_EQ(ToString(RestartPolicy::kTransient), "transient");
  EXPECT_EQ(ToString(SupervisionStrategy::kRestForOne), "rest for one");
  EXPECT_EQ(::testing::PrintToString(RestartPolicy::kPermanent), "permanent");
}

}  // namespace
}  // namespace troupe
