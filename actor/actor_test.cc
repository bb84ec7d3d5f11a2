// Behaviour of actors: handlers, ordering, isolation, lifecycle, Become,
// Stash, children, failures, dedicated threads and shutdown.

#include "actor/actor.h"

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor_system.h"
#include "actor/internal/type_names.h"
#include "actor/testdata/test_messages.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/event_log.h"
#include "testing/eventually.h"
#include "threads/latch.h"
#include "threads/notification.h"
#include "threads/thread.h"

namespace troupe {
namespace {

using ::testing::ElementsAre;

constexpr absl::Duration kWait = absl::Seconds(30);

class Counter : public Actor {
 public:
  explicit Counter(int64_t start = 0) : total_(start) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Add>([this](const test::Add& add) { total_ += add.value(); })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          test::Total total;
          total.set_value(total_);
          return total;
        });
  }

 private:
  int64_t total_;
};

int64_t TotalOf(const ActorRef& counter) {
  absl::StatusOr<test::Total> total = counter.Ask<test::Total>(test::GetTotal(), kWait).Get();
  EXPECT_TRUE(total.ok()) << total.status();
  return total.ok() ? total->value() : -1;
}

test::Add AddOf(int64_t value, int sender = 0) {
  test::Add add;
  add.set_value(value);
  add.set_sender(sender);
  return add;
}

TEST(ActorTest, RefsAreComparableAndHashable) {
  ActorSystem system;
  ActorRef a = system.Spawn<Counter>();
  ActorRef b = system.Spawn<Counter>();
  ActorRef a2 = a;
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_TRUE(a < b || b < a);
  EXPECT_NE(a.id(), b.id());
  absl::flat_hash_set<ActorRef> absl_set = {a, a2, b};
  std::unordered_set<ActorRef> std_set = {a, a2, b};
  EXPECT_EQ(absl_set.size(), 2u);
  EXPECT_EQ(std_set.size(), 2u);
  EXPECT_FALSE(ActorRef());
  EXPECT_EQ(ActorRef().ToString(), "<empty>");
  EXPECT_EQ(a.ToString(), absl::StrCat("Counter#", a.id()));  // unnamed: named after its class
}

template <typename T>
class Wrapper : public Actor {
 protected:
  Behavior MakeBehavior() override { return Behavior(); }
};

TEST(ActorTest, AnUnnamedActorIsNamedAfterItsClassWithoutNamespaceOrArguments) {
  ActorSystem system;
  EXPECT_EQ(system.Spawn<Wrapper<std::vector<int>>>().ToString().substr(0, 8), "Wrapper#");
  SpawnOptions named;
  named.name = "given";
  EXPECT_EQ(system.Spawn<Counter>(named).ToString().substr(0, 6), "given#");
  EXPECT_EQ(actor_internal::ShortTypeName(typeid(int)), "int");
}

TEST(ActorTest, ProtobufTellAndAsk) {
  ActorSystem system;
  ActorRef counter = system.Spawn<Counter>(10);
  for (int i = 1; i <= 100; ++i) counter.Tell(AddOf(i));
  EXPECT_EQ(TotalOf(counter), 10 + 5050);
}

// Plain C++ values work too, and a move-only one proves nothing is copied.
struct Greeting {
  std::unique_ptr<std::string> text;
};

class Greeter : public Actor {
 public:
  explicit Greeter(std::vector<std::string>* seen, Notification* done) : seen_(seen), done_(done) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<Greeting>([this](Greeting g) { seen_->push_back(*g.text); })
        .On<int>([this](int n) {
          seen_->push_back(std::to_string(n));
          done_->Notify();
        });
  }

 private:
  std::vector<std::string>* seen_;
  Notification* done_;
};

TEST(ActorTest, PlainCppMessagesAreMovedIn) {
  std::vector<std::string> seen;
  Notification done;
  ActorSystem system;
  ActorRef greeter = system.Spawn<Greeter>(&seen, &done);
  greeter.Tell(Greeting{std::make_unique<std::string>("hello")});
  greeter.Tell(7);
  ASSERT_TRUE(done.WaitForNotificationFor(kWait));
  EXPECT_THAT(seen, ElementsAre("hello", "7"));
}

struct CopyCounted {
  static std::atomic<int> copies;
  CopyCounted() = default;
  CopyCounted(const CopyCounted&) { copies.fetch_add(1); }
  CopyCounted(CopyCounted&&) noexcept = default;
};
std::atomic<int> CopyCounted::copies{0};

class Sink : public Actor {
 public:
  explicit Sink(Latch* latch) : latch_(latch) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<CopyCounted>([this](const CopyCounted&) { latch_->CountDown(); });
  }

 private:
  Latch* latch_;
};

TEST(ActorTest, RvalueMessagesAreNeverCopied) {
  Latch latch(3);
  ActorSystem system;
  ActorRef sink = system.Spawn<Sink>(&latch);
  for (int i = 0; i < 3; ++i) sink.Tell(CopyCounted());
  ASSERT_TRUE(latch.WaitFor(kWait));
  EXPECT_EQ(CopyCounted::copies.load(), 0);
}

// Checks per-sender FIFO and that no two handlers of one actor overlap.
class OrderChecker : public Actor {
 public:
  OrderChecker(int senders, std::atomic<int>* violations)
      : last_(senders, 0), violations_(violations) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Add>([this](const test::Add& add) {
          if (inside_.exchange(true)) violations_->fetch_add(1);  // a concurrent handler
          int64_t& last = last_[add.sender()];
          if (add.value() != last + 1) violations_->fetch_add(1);  // out of order
          last = add.value();
          ++handled_;
          inside_.store(false);
        })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          test::Total total;
          total.set_value(handled_);
          return total;
        });
  }

 private:
  std::vector<int64_t> last_;
  int64_t handled_ = 0;
  std::atomic<bool> inside_{false};
  std::atomic<int>* violations_;
};

TEST(ActorTest, PerSenderOrderAndNoConcurrentHandlers) {
  constexpr int kSenders = 8;
  const int64_t per_sender = 20'000;
  std::atomic<int> violations{0};
  ActorSystem system;
  ActorRef checker = system.Spawn<OrderChecker>(kSenders, &violations);
  std::vector<Thread<void>> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back("sender", [&, s] {
      for (int64_t i = 1; i <= per_sender; ++i) checker.Tell(AddOf(i, s));
    });
  }
  for (Thread<void>& t : senders) ASSERT_TRUE(t.Join().ok());
  EXPECT_EQ(TotalOf(checker), kSenders * per_sender);
  EXPECT_EQ(violations.load(), 0);
}

// Become / Unbecome.
class Switch : public Actor {
 protected:
  Behavior MakeBehavior() override { return Off(); }

 private:
  Behavior Off() {
    return Behavior()
        .On<std::string>([this](const std::string& s) {
          if (s == "on") Become(On(), BecomeMode::kStack);
          if (s == "replace") Become(Replaced());
        })
        .On<test::GetTotal>([](const test::GetTotal&) { return Label("off"); });
  }
  Behavior On() {
    return Behavior()
        .On<std::string>([this](const std::string& s) {
          if (s == "off") Unbecome();
        })
        .On<test::GetTotal>([](const test::GetTotal&) { return Label("on"); });
  }
  Behavior Replaced() {
    return Behavior()
        .On<std::string>([this](const std::string& s) {
          if (s == "off") Unbecome();  // nothing stacked: stays
        })
        .On<test::GetTotal>([](const test::GetTotal&) { return Label("replaced"); });
  }
  static std::string Label(const char* s) { return s; }
};

std::string StateOf(const ActorRef& actor) {
  absl::StatusOr<std::string> state = actor.Ask<std::string>(test::GetTotal(), kWait).Get();
  return state.ok() ? *state : state.status().ToString();
}

TEST(ActorTest, BecomeAndUnbecome) {
  ActorSystem system;
  ActorRef sw = system.Spawn<Switch>();
  EXPECT_EQ(StateOf(sw), "off");
  sw.Tell(std::string("on"));
  EXPECT_EQ(StateOf(sw), "on");
  sw.Tell(std::string("off"));
  EXPECT_EQ(StateOf(sw), "off");
  sw.Tell(std::string("replace"));
  EXPECT_EQ(StateOf(sw), "replaced");
  sw.Tell(std::string("off"));
  EXPECT_EQ(StateOf(sw), "replaced");
}

// Stash until "open", then handle the stashed mail first, in order.
class Gate : public Actor {
 public:
  explicit Gate(std::vector<int>* log) : log_(log) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([this](int) { Stash(); }).On<std::string>([this](const std::string&) {
      Become(Open());
      UnstashAll();
    });
  }

 private:
  Behavior Open() {
    return Behavior()
        .On<int>([this](int n) { log_->push_back(n); })
        .On<test::GetTotal>(
            [this](const test::GetTotal&) { return static_cast<int64_t>(log_->size()); });
  }
  std::vector<int>* log_;
};

TEST(ActorTest, StashAndUnstashAllKeepOrder) {
  std::vector<int> log;
  ActorSystem system;
  ActorRef gate = system.Spawn<Gate>(&log);
  for (int i = 0; i < 5; ++i) gate.Tell(i);
  gate.Tell(std::string("open"));
  gate.Tell(5);
  absl::StatusOr<int64_t> n = gate.Ask<int64_t>(test::GetTotal(), kWait).Get();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 6);
  EXPECT_THAT(log, ElementsAre(0, 1, 2, 3, 4, 5));
}

TEST(ActorTest, StashedMailIsDeadLetteredAtStop) {
  std::vector<int> log;
  ActorSystem system;
  ActorRef gate = system.Spawn<Gate>(&log);
  for (int i = 0; i < 4; ++i) gate.Tell(i);
  gate.Tell(proto::Stop());
  testkit::WaitUntilStopped(gate);
  system.Shutdown();
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kDroppedAtStop), 4);
}

// Lifecycle hooks and Stop().
class Lifecycle : public Actor {
 public:
  explicit Lifecycle(std::vector<std::string>* events) : events_(events) {
    events_->push_back("constructed");
  }
  ~Lifecycle() override { events_->push_back("destroyed"); }

 protected:
  Behavior MakeBehavior() override {
    events_->push_back("behavior");
    return Behavior().On<std::string>([this](const std::string& s) {
      events_->push_back(s);
      if (s == "stop") Stop();
    });
  }
  void OnStart() override { events_->push_back("start"); }
  void OnStop() override { events_->push_back("stop-hook"); }

 private:
  std::vector<std::string>* events_;
};

TEST(ActorTest, LifecycleOrderAndStop) {
  std::vector<std::string> events;
  ActorSystem system;
  ActorRef actor = system.Spawn<Lifecycle>(&events);
  actor.Tell(std::string("a"));
  actor.Tell(std::string("stop"));
  actor.Tell(std::string("after"));  // queued behind the stop: dead-lettered
  testkit::WaitUntilStopped(actor);
  system.Shutdown();
  EXPECT_THAT(events, ElementsAre("constructed", "behavior", "start", "a", "stop", "stop-hook",
                                  "destroyed"));
  EXPECT_FALSE(actor.IsAlive());
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kDroppedAtStop) +
                system.dead_letters().count(DeadLetterReason::kReceiverStopped),
            1);
  actor.Tell(std::string("late"));
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kReceiverStopped) +
                system.dead_letters().count(DeadLetterReason::kDroppedAtStop),
            2);
}

// Holds its worker inside a handler until released, so that later mail queues up.
class Holder : public Actor {
 public:
  Holder(std::vector<std::string>* events, Notification* entered, Notification* release)
      : events_(events), entered_(entered), release_(release) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<std::string>([this](const std::string& s) {
      events_->push_back(s);
      if (s == "hold") {
        entered_->Notify();
        release_->WaitForNotification();
      }
    });
  }
  void OnStop() override { events_->push_back("stop-hook"); }

 private:
  std::vector<std::string>* events_;
  Notification* entered_;
  Notification* release_;
};

TEST(ActorTest, KillAndStopOvertakeQueuedMail) {
  for (bool kill : {true, false}) {
    std::vector<std::string> events;
    Notification entered, release;
    ActorSystem system;
    ActorRef actor = system.Spawn<Holder>(&events, &entered, &release);
    actor.Tell(std::string("hold"));
    ASSERT_TRUE(entered.WaitForNotificationFor(kWait));
    actor.Tell(std::string("x"));
    actor.Tell(std::string("y"));
    if (kill) {
      actor.Tell(proto::Kill());
    } else {
      actor.Tell(proto::Stop());
    }
    release.Notify();
    system.Shutdown();
    EXPECT_THAT(events, ElementsAre("hold", "stop-hook"));
    EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kDroppedAtStop), 2);
  }
}

// Misused context calls are errors for the log, never crashes.
class Misuser : public Actor {
 public:
  explicit Misuser(bool* sender_was_empty) : sender_was_empty_(sender_was_empty) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([this](int) {
      Stash();
      Stash();  // twice for one message: ignored
    });
  }
  void OnStart() override {
    *sender_was_empty_ = !Sender();
    Reply(std::string("nobody asked"));  // no message being handled: a dead letter
  }

 private:
  bool* sender_was_empty_;
};

TEST(ActorTest, ContextCallsOutsideAHandlerDoNotCrash) {
  bool sender_was_empty = false;
  ActorSystem system;
  ActorRef misuser = system.Spawn<Misuser>(&sender_was_empty);
  misuser.Tell(1);
  system.Shutdown();
  EXPECT_TRUE(sender_was_empty);
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kNoReceiver), 1);
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kDroppedAtStop), 1);  // the stashed 1
}

}  // namespace
}  // namespace troupe
