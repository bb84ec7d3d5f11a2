// Handlers that return a Task, and tasks bound to an actor: replies,
// non-reentrancy (mail held in order), Reentrant(), Sender()/Reply() after
// an await, stop and restart while suspended (frames unwind before
// OnStop), ask cycles failing fast, and resumptions from foreign threads
// landing on the actor's turn (run under TSAN).

#include <atomic>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/supervisor.h"
#include "actor/testdata/test_messages.pb.h"
#include "async/channel.h"
#include "async/future.h"
#include "async/leak_check_test_base.h"
#include "async/sleep.h"
#include "async/task.h"
#include "async/throws_on_move.h"
#include "base/log_capture.h"
#include "channel/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "threads/future.h"
#include "threads/thread.h"

namespace troupe {
namespace {

using async_internal::ThrowsOnMove;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testkit::Eventually;

constexpr absl::Duration kWait = absl::Seconds(30);

// What the actors did, in order; read by the test thread at any time.
class EventLog {
 public:
  void Add(std::string event) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(event));
  }
  std::vector<std::string> Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  bool Contains(const std::string& event) const {
    for (const std::string& e : Snapshot()) {
      if (e == event) return true;
    }
    return false;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> events_;
};

// Logs when a frame that holds it unwinds.
struct Unwinds {
  EventLog* log;
  std::string event;
  ~Unwinds() { log->Add(event); }
};

// Await `future`, then reply with its value + id.
struct Wait {
  Future<int> future;
  int id = 0;
};
// The same through Reentrant().
struct WaitReentrant {
  Future<int> future;
  int id = 0;
};
// Await `future`, then Reply() explicitly (a Task<void> handler).
struct WaitThenReply {
  Future<int> future;
};
struct Note {
  int id = 0;
};
struct Boom {};

class Gated : public Actor {
 public:
  explicit Gated(EventLog* log) : log_(log) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Wait>([this](Wait& w) -> Task<int> {
          const Unwinds unwinds{log_, absl::StrCat("unwound ", w.id)};
          log_->Add(absl::StrCat("start ", w.id));
          absl::StatusOr<int> v = co_await std::move(w.future);
          log_->Add(absl::StrCat("end ", w.id));
          if (!v.ok()) co_return v.status();
          co_return *v + w.id;
        })
        .On<WaitReentrant>([this](WaitReentrant& w) -> Task<int> {
          const Unwinds unwinds{log_, absl::StrCat("unwound ", w.id)};
          log_->Add(absl::StrCat("start ", w.id));
          absl::StatusOr<int> v = co_await Reentrant(std::move(w.future));
          log_->Add(absl::StrCat("end ", w.id));
          if (!v.ok()) co_return v.status();
          co_return *v + w.id;
        })
        .On<WaitThenReply>([this](WaitThenReply& w) -> Task<absl::Status> {
          const ActorRef asker = Sender();
          absl::StatusOr<int> v = co_await std::move(w.future);
          if (!v.ok()) co_return v.status();
          log_->Add(Sender() == asker && asker ? "same sender" : "sender changed");
          log_->Add(Self() == self_at_start_ ? "same self" : "self changed");
          test::Pong pong;
          pong.set_seq(*v);
          Reply(std::move(pong));
          co_return absl::OkStatus();
        })
        .On<Note>([this](const Note& n) { log_->Add(absl::StrCat("note ", n.id)); })
        .On<ActorRef>([this](const ActorRef& other) { Watch(other); })
        .On<proto::Down>([this](const proto::Down&) { log_->Add("down"); })
        .On<Boom>([](const Boom&) { throw std::runtime_error("boom"); })
        .On<test::Ping>([](const test::Ping& p) {
          test::Pong pong;
          pong.set_seq(p.seq());
          return pong;
        })
        .On<std::string>([](const std::string& what) -> Task<int> {
          if (what == "throw") throw std::runtime_error("thrown in a task");
          co_return absl::NotFoundError("no " + what);
        });
  }
  void OnStart() override { self_at_start_ = Self(); }
  void OnStop() override { log_->Add("stop"); }

 private:
  EventLog* const log_;
  ActorRef self_at_start_;
};

class TaskHandlerTest : public async_internal::LeakCheckedTest {};

TEST_F(TaskHandlerTest, TheTasksResultIsTheReply) {
  EventLog log;
  ActorSystem system;
  ActorRef gated = system.Spawn<Gated>(&log);
  Promise<int> promise;
  Future<int> reply = gated.Ask<int>(Wait{promise.GetFuture(), 1}, kWait);
  ASSERT_TRUE(Eventually([&] { return log.Contains("start 1"); }));
  promise.SetValue(41);
  EXPECT_EQ(reply.Get().value(), 42);

  EXPECT_EQ(gated.Ask<int>(std::string("thing"), kWait).Get().status(),
            absl::NotFoundError("no thing"));
  absl::StatusOr<int> thrown = gated.Ask<int>(std::string("throw"), kWait).Get();
  EXPECT_THAT(thrown.status().message(), HasSubstr("thrown in a task"));
  // A task that fails does not fail its actor.
  EXPECT_TRUE(gated.Ask<test::Pong>(test::Ping(), kWait).Get().ok());
}

// While a handler's task is suspended, the actor handles no other
// ordinary mail: it waits, in order, and runs after the task ends.
TEST_F(TaskHandlerTest, ASuspendedHandlerHoldsTheMailInOrder) {
  EventLog log;
  ActorSystem system;
  ActorRef gated = system.Spawn<Gated>(&log);
  Promise<int> promise;
  Future<int> reply = gated.Ask<int>(Wait{promise.GetFuture(), 1}, kWait);
  gated.Tell(Note{2});
  gated.Tell(Note{3});
  ASSERT_TRUE(Eventually([&] { return log.Contains("start 1"); }));
  absl::SleepFor(absl::Milliseconds(20));  // room for a broken gate to let the notes in
  EXPECT_FALSE(log.Contains("note 2"));
  promise.SetValue(0);
  EXPECT_EQ(reply.Get().value(), 1);
  ASSERT_TRUE(gated.Ask<test::Pong>(test::Ping(), kWait).Get().ok());  // behind the notes
  EXPECT_THAT(log.Snapshot(), ElementsAre("start 1", "end 1", "unwound 1", "note 2", "note 3"));
}

TEST_F(TaskHandlerTest, ReentrantLetsOtherMailInWhileItWaits) {
  EventLog log;
  ActorSystem system;
  ActorRef gated = system.Spawn<Gated>(&log);
  Promise<int> promise;
  Future<int> reply = gated.Ask<int>(WaitReentrant{promise.GetFuture(), 1}, kWait);
  gated.Tell(Note{2});
  ASSERT_TRUE(Eventually([&] { return log.Contains("note 2"); }));
  EXPECT_FALSE(log.Contains("end 1"));
  promise.SetValue(5);
  EXPECT_EQ(reply.Get().value(), 6);
}

TEST_F(TaskHandlerTest, SenderSelfAndReplyStillMeanTheRequestAfterAnAwait) {
  EventLog log;
  ActorSystem system;
  ActorRef gated = system.Spawn<Gated>(&log);
  Promise<int> promise;
  Future<test::Pong> reply = gated.Ask<test::Pong>(WaitThenReply{promise.GetFuture()}, kWait);
  // Other mail and other tasks' steps pass through the actor meanwhile.
  Promise<int> other;
  Future<int> other_reply = gated.Ask<int>(WaitReentrant{other.GetFuture(), 9}, kWait);
  promise.SetValue(17);
  other.SetValue(1);
  absl::StatusOr<test::Pong> pong = reply.Get();
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->seq(), 17);
  EXPECT_EQ(other_reply.Get().value(), 10);
  EXPECT_TRUE(log.Contains("same sender"));
  EXPECT_TRUE(log.Contains("same self"));
}

// Stop while a handler is suspended: the stop gets through, the task is
// cancelled and its frame unwinds before OnStop; the asker learns it was
// cancelled; the mail held behind it is dead-lettered, not lost silently.
TEST_F(TaskHandlerTest, StopWhileSuspendedUnwindsTheTaskBeforeOnStop) {
  EventLog log;
  Promise<int> never;  // kept alive: only the stop can end the wait
  ActorSystem system;
  ActorRef gated = system.Spawn<Gated>(&log);
  Future<int> reply = gated.Ask<int>(Wait{never.GetFuture(), 1}, kWait);
  gated.Tell(Note{2});
  ASSERT_TRUE(Eventually([&] { return log.Contains("start 1"); }));
  const int64_t dead_before = system.dead_letters().total();
  gated.Tell(proto::Stop());
  EXPECT_EQ(reply.Get().status().code(), absl::StatusCode::kCancelled);
  ASSERT_TRUE(Eventually([&] { return log.Contains("stop"); }));
  EXPECT_THAT(log.Snapshot(), ElementsAre("start 1", "end 1", "unwound 1", "stop"));
  EXPECT_TRUE(Eventually([&] { return system.dead_letters().total() > dead_before; }))
      << "the held Note was neither handled nor dead-lettered";
}

// Lifecycle signals get through a suspension: a Down reaches its handler
// while a handler's task waits (ordinary mail would not).
TEST_F(TaskHandlerTest, ADownGetsThroughWhileAHandlerIsSuspended) {
  EventLog log;
  ActorSystem system;
  ActorRef gated = system.Spawn<Gated>(&log);
  ActorRef watched = system.Spawn<Gated>(&log);
  gated.Tell(watched);  // watch it, before the suspension
  Promise<int> promise;
  Future<int> reply = gated.Ask<int>(Wait{promise.GetFuture(), 1}, kWait);
  ASSERT_TRUE(Eventually([&] { return log.Contains("start 1"); }));
  watched.Tell(proto::Stop());
  ASSERT_TRUE(Eventually([&] { return log.Contains("down"); }));
  EXPECT_FALSE(log.Contains("end 1"));
  promise.SetValue(1);
  EXPECT_EQ(reply.Get().value(), 2);
}

// A supervisor restarts an actor whose handler failed while another
// handler's task was suspended (reentrantly): the old incarnation's task
// unwinds before its OnStop, and nothing of it touches the new one.
TEST_F(TaskHandlerTest, RestartWhileSuspendedCancelsTheOldIncarnationsTasks) {
  EventLog log;
  Promise<int> never;
  ActorSystem system;
  ActorRef supervisor = system.Spawn<Supervisor>(
      SupervisorOptions(), std::vector<ChildSpec>{ChildSpec::Of<Gated>("gated", &log)});
  absl::StatusOr<std::vector<SupervisedChild>> children =
      supervisor.Ask<std::vector<SupervisedChild>>(WhichChildren(), kWait).Get();
  ASSERT_TRUE(children.ok() && children->size() == 1);
  ActorRef gated = (*children)[0].ref;

  Future<int> reply = gated.Ask<int>(WaitReentrant{never.GetFuture(), 1}, kWait);
  ASSERT_TRUE(Eventually([&] { return log.Contains("start 1"); }));
  gated.Tell(Boom());  // handled during the reentrant wait: the actor fails
  EXPECT_EQ(reply.Get().status().code(), absl::StatusCode::kCancelled);
  // The new incarnation serves, with a fresh gate.
  Promise<int> ready;
  ready.SetValue(1);
  EXPECT_EQ(gated.Ask<int>(Wait{ready.GetFuture(), 2}, kWait).Get().value(), 3);
  std::vector<std::string> events = log.Snapshot();
  ASSERT_GE(events.size(), 4u);
  EXPECT_THAT(std::vector<std::string>(events.begin(), events.begin() + 4),
              ElementsAre("start 1", "end 1", "unwound 1", "stop"));
}

// A -> B -> A between non-reentrant handlers fails at once with
// kFailedPrecondition naming the cycle, instead of two timeouts.
class Relay : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<ActorRef>([this](const ActorRef& peer) { peer_ = peer; })
        .On<bool>([this](bool reentrant) { reentrant_ = reentrant; })
        .On<test::Hop>([this](const test::Hop& hop) -> Task<test::Hop> {
          if (hop.remaining() == 0) co_return hop;
          test::Hop next;
          next.set_remaining(hop.remaining() - 1);
          Future<test::Hop> asked = peer_.Ask<test::Hop>(next, kWait);
          if (reentrant_) co_return co_await Reentrant(std::move(asked));
          co_return co_await std::move(asked);
        });
  }

 private:
  ActorRef peer_;
  bool reentrant_ = false;
};

TEST_F(TaskHandlerTest, AnAskCycleFailsFastNamingTheCycle) {
  ActorSystem system;
  SpawnOptions named_a;
  named_a.name = "a";
  SpawnOptions named_b;
  named_b.name = "b";
  ActorRef a = system.Spawn<Relay>(named_a);
  ActorRef b = system.Spawn<Relay>(named_b);
  a.Tell(b);
  b.Tell(a);
  test::Hop hop;
  hop.set_remaining(2);  // a asks b, b asks a
  const absl::Time start = absl::Now();
  absl::StatusOr<test::Hop> answer = a.Ask<test::Hop>(hop, kWait).Get();
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kFailedPrecondition) << answer.status();
  EXPECT_THAT(answer.status().message(), HasSubstr("ask cycle a#"));
  EXPECT_THAT(answer.status().message(), HasSubstr(" -> b#"));
  EXPECT_LT(absl::Now() - start, kWait / 2) << "it waited for a timeout";

  // With the outer await reentrant, a serves b's ask meanwhile: no cycle.
  a.Tell(true);
  answer = a.Ask<test::Hop>(hop, kWait).Get();
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->remaining(), 0);
}

// Actors spawned without a name carry their chain's one link inline in
// each ask (internal/ask_chain.h): the cycle is found all the same, named
// after their class, whether it closes on the asker itself, goes through
// another unnamed actor, or through a named one (whose handler extends the
// inline link into a shared chain).
TEST_F(TaskHandlerTest, AnAskCycleThroughUnnamedActorsNamesThemByClass) {
  ActorSystem system;
  ActorRef a = system.Spawn<Relay>();
  ActorRef b = system.Spawn<Relay>();
  SpawnOptions named;
  named.name = "n";
  ActorRef n = system.Spawn<Relay>(named);
  const std::string a_name = absl::StrCat("Relay#", a.id());
  const std::string b_name = absl::StrCat("Relay#", b.id());
  const std::string n_name = absl::StrCat("n#", n.id());
  // Asks a for `hops` hops along the peers set; the answer must be the
  // cycle error naming `cycle`.
  auto expect_cycle = [&a](int hops, const std::string& cycle) {
    test::Hop hop;
    hop.set_remaining(hops);
    absl::StatusOr<test::Hop> answer = a.Ask<test::Hop>(hop, kWait).Get();
    EXPECT_EQ(answer.status().code(), absl::StatusCode::kFailedPrecondition) << answer.status();
    EXPECT_THAT(answer.status().message(), HasSubstr(absl::StrCat("ask cycle ", cycle, ":")));
  };

  a.Tell(a);  // a asks itself
  expect_cycle(1, absl::StrCat(a_name, " -> ", a_name));

  a.Tell(b);  // a asks b, b asks a
  b.Tell(a);
  expect_cycle(2, absl::StrCat(a_name, " -> ", b_name, " -> ", a_name));

  a.Tell(n);  // a asks n, n asks a
  n.Tell(a);
  expect_cycle(2, absl::StrCat(a_name, " -> ", n_name, " -> ", a_name));

  // a asks b, b asks n, n asks b (suspended, waiting for n): a cycle that
  // does not include the first asker.
  a.Tell(b);
  b.Tell(n);
  n.Tell(b);
  expect_cycle(3, absl::StrCat(b_name, " -> ", n_name, " -> ", b_name));

  test::Hop hop;  // a asks b, b asks n, n answers: no cycle
  hop.set_remaining(2);
  absl::StatusOr<test::Hop> answer = a.Ask<test::Hop>(hop, kWait).Get();
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->remaining(), 0);
}

// Every step of every task runs on the actor's turn, whichever thread
// ended its wait: the counter is the actor's plain state, touched by
// handlers, handler tasks resumed from foreign threads and a Go task.
// TSAN flags any step that runs beside another.
class Counter : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Wait>([this](Wait& w) -> Task<int> {
          ++count_;
          absl::StatusOr<int> v = co_await Reentrant(std::move(w.future));
          ++count_;
          co_return v;
        })
        .On<Note>([this](const Note&) { ++count_; })
        .On<int>([this](int rounds) {
          Go([this, rounds]() -> Task<absl::Status> {
            for (int i = 0; i < rounds; ++i) {
              ++count_;
              if (absl::Status s = co_await Yield(); !s.ok()) co_return s;
            }
            go_done_ = true;
            co_return absl::OkStatus();
          });
        })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          test::Total total;
          total.set_value(go_done_ ? count_ : -1);
          return total;
        });
  }

 private:
  int64_t count_ = 0;
  bool go_done_ = false;
};

TEST_F(TaskHandlerTest, ResumptionsFromForeignThreadsLandOnTheActorsTurn) {
  constexpr int kTasks = 200;
  constexpr int kNotes = 200;
  constexpr int kGoRounds = 300;
  ActorSystem system;
  ActorRef counter = system.Spawn<Counter>();
  counter.Tell(kGoRounds);
  std::vector<Promise<int>> promises(kTasks);
  std::vector<Future<int>> replies;
  for (int i = 0; i < kTasks; ++i) {
    replies.push_back(counter.Ask<int>(Wait{promises[i].GetFuture(), i}, kWait));
  }
  Thread keeper("keeper", [&promises] {
    for (size_t i = 0; i < promises.size(); ++i) promises[i].SetValue(static_cast<int>(i));
  });
  for (int i = 0; i < kNotes; ++i) counter.Tell(Note{i});
  ASSERT_TRUE(keeper.Join().ok());
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(replies[i].Get().value(), i);
  int64_t total = -1;
  ASSERT_TRUE(Eventually([&] {
    total = counter.Ask<test::Total>(test::GetTotal(), kWait).Get().value().value();
    return total != -1;
  }));
  EXPECT_EQ(total, 2 * kTasks + kNotes + kGoRounds);
}

// A handler task parked on a buffered channel is woken by the sending
// thread through a closure mailed to the actor (not a bare resumption):
// it too must run on the actor's turn, with the request still current.
struct RecvFrom {
  Receiver<int>* rx;
};
class ChannelReader : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<RecvFrom>([this](const RecvFrom& r) -> Task<absl::Status> {
          const ActorRef asker = Sender();
          RecvResult<int> got = co_await Recv(*r.rx);
          if (!got.ok()) co_return absl::UnavailableError("closed");
          if (Sender() != asker) co_return absl::InternalError("the request changed");
          test::Pong pong;
          pong.set_seq(*got);
          Reply(std::move(pong));
          co_return absl::OkStatus();
        })
        .On<Note>([this](const Note&) { ++notes_; })
        .On<test::GetTotal>([this](const test::GetTotal&) { return notes_; });
  }

 private:
  int notes_ = 0;  // the actor's own state: a race here is TSAN's to find
};

TEST_F(TaskHandlerTest, AHandlerWokenFromABufferedChannelRunsOnTheActorsTurn) {
  constexpr int kRounds = 200;
  ActorSystem system;
  ActorRef reader = system.Spawn<ChannelReader>();
  auto [tx, rx] = Channel<int>::Bounded(4);
  for (int i = 0; i < kRounds; ++i) {
    Future<test::Pong> reply = reader.Ask<test::Pong>(RecvFrom{&rx}, kWait);
    reader.Tell(Note{i});                                    // held until the handler's task ends
    if (i % 2 == 0) absl::SleepFor(absl::Microseconds(50));  // often parked by now
    ASSERT_TRUE(tx.Send(i).ok());
    absl::StatusOr<test::Pong> pong = reply.Get();
    ASSERT_TRUE(pong.ok()) << pong.status();
    EXPECT_EQ(pong->seq(), i);
  }
  EXPECT_EQ(reader.Ask<int>(test::GetTotal(), kWait).Get().value(), kRounds);
}

// A task started with Actor::Go() is cancelled when its actor stops, and
// unwinds before OnStop.
class Ticker : public Actor {
 public:
  explicit Ticker(EventLog* log) : log_(log) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Note>([](const Note&) {});
  }
  void OnStart() override {
    Go([this]() -> Task<absl::Status> {
      const Unwinds unwinds{log_, "go unwound"};
      log_->Add("go started");
      for (;;) {
        if (absl::Status s = co_await Sleep(absl::Milliseconds(1)); !s.ok()) co_return s;
      }
    });
  }
  void OnStop() override {
    log_->Add("stop");
    Go([]() -> Task<absl::Status> { co_return absl::OkStatus(); });  // too late: dropped
  }

 private:
  EventLog* const log_;
};

// Once `started` is in the log, stops `actor`, waits for its OnStop() and
// returns the log.
std::vector<std::string> StopOnceStarted(const ActorRef& actor, const EventLog& log,
                                         const std::string& started) {
  EXPECT_TRUE(Eventually([&] { return log.Contains(started); }));
  actor.Tell(proto::Stop());
  EXPECT_TRUE(Eventually([&] { return log.Contains("stop"); }));
  return log.Snapshot();
}

TEST_F(TaskHandlerTest, AGoTaskIsCancelledWhenItsActorStops) {
  EventLog log;
  ActorSystem system;
  ActorRef ticker = system.Spawn<Ticker>(&log);
  EXPECT_THAT(StopOnceStarted(ticker, log, "go started"),
              ElementsAre("go started", "go unwound", "stop"));
}

// An actor's task that goes on after its cancellation (it ignores the
// kCancelled its wait ended with) finds every later wait failing at once:
// the cancellation is for good, not for the one wait it ended. (An actor's
// strands keep their cancellation slot with plain loads and stores, since
// only the actor's own turns touch it: a slot that forgot the mark, or a
// wait that did not look, would leave this task asleep for an hour and the
// actor's stop waiting for it.)
class Stubborn : public Actor {
 public:
  explicit Stubborn(EventLog* log) : log_(log) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Note>([](const Note&) {});
  }
  void OnStart() override {
    Go([this]() -> Task<absl::Status> {
      log_->Add("started");
      int cancelled = 0;
      for (int wait = 0; wait < 3; ++wait) {
        absl::Status slept = co_await Sleep(absl::Hours(1));
        if (slept.code() == absl::StatusCode::kCancelled) ++cancelled;
      }
      log_->Add(absl::StrCat("cancelled waits: ", cancelled));
      co_return absl::OkStatus();
    });
  }
  void OnStop() override { log_->Add("stop"); }

 private:
  EventLog* const log_;
};

TEST_F(TaskHandlerTest, ACancelledActorTaskFailsEveryLaterWaitAtOnce) {
  EventLog log;
  ActorSystem system;
  ActorRef stubborn = system.Spawn<Stubborn>(&log);
  EXPECT_THAT(StopOnceStarted(stubborn, log, "started"),
              ElementsAre("started", "cancelled waits: 3", "stop"));
}

// A Go task whose argument throws on its way in never runs; its error is
// logged (nobody awaits it) and the actor goes on serving.
class FailingStarter : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<Note>([this](const Note& note) {
      Go([](ThrowsOnMove) -> Task<absl::Status> { co_return absl::OkStatus(); }, ThrowsOnMove(1));
      Go([](ThrowsOnMove) {}, ThrowsOnMove(1));
      return note.id + 1;
    });
  }
};

TEST_F(TaskHandlerTest, AGoTaskWhoseArgumentThrowsIsLoggedAndTheActorGoesOn) {
  LogCapture capture;
  ActorSystem system;
  ActorRef starter = system.Spawn<FailingStarter>();
  EXPECT_EQ(starter.Ask<int>(Note{1}, kWait).Get().value(), 2);
  EXPECT_EQ(starter.Ask<int>(Note{2}, kWait).Get().value(), 3);
  // The coroutine's argument throws as Go() makes its frame, inside the
  // handler; the plain callable's, as its first step calls it, on a later
  // turn, which may come after the reply.
  const auto logged = [&capture] {
    const std::string output = capture.Output();
    size_t count = 0;
    for (size_t at = output.find("an argument's move threw"); at != std::string::npos;
         at = output.find("an argument's move threw", at + 1)) {
      ++count;
    }
    return count;
  };
  EXPECT_TRUE(Eventually([&] { return logged() >= 4; }));
  EXPECT_EQ(logged(), 4u) << capture.Output();
}

// Shutting the system down while handlers are suspended and held mail
// waits: everything unwinds, nothing leaks (the fixture counts frames).
TEST_F(TaskHandlerTest, ShutdownWithSuspendedHandlersUnwindsThemAll) {
  EventLog log;
  std::vector<Promise<int>> never(8);
  std::vector<Future<int>> replies;
  {
    ActorSystem system;
    for (int i = 0; i < 8; ++i) {
      ActorRef gated = system.Spawn<Gated>(&log);
      replies.push_back(gated.Ask<int>(Wait{never[i].GetFuture(), i}, kWait));
      gated.Tell(Note{i});
    }
    ASSERT_TRUE(Eventually([&] { return log.Contains("start 7"); }));
  }
  for (Future<int>& reply : replies) EXPECT_FALSE(reply.Get().ok());
  int stops = 0;
  for (const std::string& e : log.Snapshot()) stops += e == "stop";
  EXPECT_EQ(stops, 8);
}

#ifndef NDEBUG
// Future::Get() inside a turn blocks the actor: debug builds warn, naming
// the actor, once per call site.
class Blocker : public Actor {
 protected:
  Behavior MakeBehavior() override {
    // The promise is never kept: every call must wait (and time out).
    return Behavior().On<Wait>(
        [](Wait& w) { return w.future.GetFor(absl::Milliseconds(1)).value_or(-1); });
  }
};

TEST_F(TaskHandlerTest, FutureGetInsideATurnWarnsOncePerCallSite) {
  LogCapture capture;
  ActorSystem system;
  SpawnOptions named;
  named.name = "blocker";
  ActorRef blocker = system.Spawn<Blocker>(named);
  std::vector<Promise<int>> never(3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(blocker.Ask<int>(Wait{never[i].GetFuture(), i}, kWait).Get().value(), -1);
  }
  const std::string output = capture.Output();
  EXPECT_THAT(output, HasSubstr("blocker#"));
  EXPECT_THAT(output, HasSubstr("Future::Get() blocks this actor's turn"));
  const size_t first = output.find("blocks this actor's turn");
  EXPECT_EQ(output.find("blocks this actor's turn", first + 1), std::string::npos)
      << "warned more than once for one call site:\n"
      << output;
}
#endif

}  // namespace
}  // namespace troupe
