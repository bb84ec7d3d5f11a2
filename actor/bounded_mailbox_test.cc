// Bounded mailboxes (SpawnOptions::mailbox_capacity) and their overflow
// policies: what is refused, where it goes, what is never refused, and
// that the bound holds against many senders (docs/overload.md).

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/dead_letters.h"
#include "actor/internal/mailbox_limit.h"
#include "actor/spawn.h"
#include "actor/system.pb.h"
#include "base/log_capture.h"
#include "base/stress.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "testing/test_kit.h"
#include "threads/mutex.h"
#include "threads/notification.h"
#include "threads/thread.h"

namespace troupe {
namespace {

using ::testing::HasSubstr;

// Counts the ints it handles; answers a string ask with "<text> after <n>".
class Sink : public Actor {
 public:
  explicit Sink(std::atomic<int64_t>* handled) : handled_(handled) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<int>([this](int) { handled_->fetch_add(1, std::memory_order_relaxed); })
        .On<std::string>([this](const std::string& text) {
          return text + " after " + std::to_string(handled_->load());
        });
  }

 private:
  std::atomic<int64_t>* handled_;
};

SpawnOptions Bounded(uint32_t capacity, OverflowPolicy policy = OverflowPolicy::Reject()) {
  SpawnOptions options;
  options.mailbox_capacity = capacity;
  options.overflow = std::move(policy);
  return options;
}

ActorStats StatsOf(ActorSystem& system, const ActorRef& ref) {
  for (ActorStats& actor : system.Stats().actors) {
    if (actor.id == ref.id()) return actor;
  }
  ADD_FAILURE() << "no stats for " << ref.ToString();
  return ActorStats();
}

TEST(BoundedMailboxTest, RejectSendsTheExcessToDeadLettersAndCountsIt) {
  LogCapture log;
  std::atomic<int64_t> handled{0};
  testkit::TestKit kit;
  ActorRef sink = kit.system().Spawn<Sink>(Bounded(3), &handled);
  kit.RunUntilIdle();  // started, idle
  for (int i = 0; i < 5; ++i) sink.Tell(i);
  EXPECT_EQ(kit.system().dead_letters().count(DeadLetterReason::kMailboxFull), 2);
  const ActorStats stats = StatsOf(kit.system(), sink);
  EXPECT_EQ(stats.mailbox_capacity, 3u);
  EXPECT_EQ(stats.mailbox_high_water, 3u);
  EXPECT_EQ(stats.mailbox_rejected, 2u);
  EXPECT_EQ(stats.mailbox_depth, 3u);
  EXPECT_THAT(kit.system().DumpState(), HasSubstr("mailbox 3/3 (high water 3, rejected 2)"));
  kit.RunUntilIdle();
  EXPECT_EQ(handled.load(), 3);
  // Drained: the mark stays (kept by the actor's turns once the pushes'
  // bound has left the mailbox's head word).
  EXPECT_EQ(StatsOf(kit.system(), sink).mailbox_depth, 0u);
  EXPECT_EQ(StatsOf(kit.system(), sink).mailbox_high_water, 3u);
  // Room again.
  sink.Tell(5);
  kit.RunUntilIdle();
  EXPECT_EQ(handled.load(), 4);
  EXPECT_EQ(StatsOf(kit.system(), sink).mailbox_high_water, 3u);
  // Shedding is logged, once a second per actor, not once a message.
  EXPECT_THAT(log.Output(), HasSubstr("is shedding load: mailbox full (capacity 3), rejecting 1"));
}

TEST(BoundedMailboxTest, RoomMadeByATurnIsOpenToSendersWhenTheTurnEnds) {
  std::atomic<int64_t> handled{0};
  testkit::TestKit kit;  // one message per turn
  ActorRef sink = kit.system().Spawn<Sink>(Bounded(2), &handled);
  kit.RunUntilIdle();
  sink.Tell(0);
  sink.Tell(1);
  ASSERT_TRUE(kit.Step());  // one handled; the actor is still busy
  sink.Tell(2);             // the turn's end made room for it
  EXPECT_EQ(kit.system().dead_letters().count(DeadLetterReason::kMailboxFull), 0);
  sink.Tell(3);  // full again
  EXPECT_EQ(kit.system().dead_letters().count(DeadLetterReason::kMailboxFull), 1);
  kit.RunUntilIdle();
  EXPECT_EQ(handled.load(), 3);
}

TEST(BoundedMailboxTest, AnAskToAFullActorFailsAtOnceWithResourceExhausted) {
  std::atomic<int64_t> handled{0};
  testkit::TestKit kit;
  ActorRef sink = kit.system().Spawn<Sink>(Bounded(1), &handled);
  kit.RunUntilIdle();
  sink.Tell(0);
  Future<std::string> refused = sink.Ask<std::string>(std::string("hi"), absl::Seconds(5));
  ASSERT_TRUE(refused.IsReady());  // not at the timeout
  const absl::Status status = refused.Get().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("mailbox full"));
  kit.RunUntilIdle();
  // Once drained, asks get through.
  EXPECT_EQ(*kit.Ask<std::string>(sink, std::string("hi")), "hi after 1");
}

TEST(BoundedMailboxTest, TryTellHandsARefusedMessageBack) {
  std::atomic<int64_t> handled{0};
  testkit::TestKit kit;
  ActorRef sink = kit.system().Spawn<Sink>(Bounded(1, OverflowPolicy::DropNewest()), &handled);
  kit.RunUntilIdle();
  std::string first = "first";
  EXPECT_TRUE(sink.TryTell(first).ok());
  std::string second = "second";
  const absl::Status full = sink.TryTell(second);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(second, "second");  // back with the caller, whatever the policy
  EXPECT_EQ(StatsOf(kit.system(), sink).mailbox_dropped, 0u);  // handed back, not dropped
  EXPECT_EQ(kit.system().dead_letters().total(), 0);
  kit.RunUntilIdle();
  sink.Tell(proto::Stop());
  kit.RunUntilIdle();
  const absl::Status stopped = sink.TryTell(second);
  EXPECT_EQ(stopped.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second, "second");
  std::string nowhere = "x";
  EXPECT_EQ(ActorRef().TryTell(nowhere).code(), absl::StatusCode::kInvalidArgument);
}

TEST(BoundedMailboxTest, DropNewestCountsWithoutPublishingAndStillFailsAsks) {
  std::atomic<int64_t> handled{0};
  testkit::TestKit kit;
  ActorRef sink = kit.system().Spawn<Sink>(Bounded(1, OverflowPolicy::DropNewest()), &handled);
  kit.RunUntilIdle();
  for (int i = 0; i < 3; ++i) sink.Tell(i);
  Future<std::string> refused = sink.Ask<std::string>(std::string("hi"), absl::Seconds(5));
  ASSERT_TRUE(refused.IsReady());
  EXPECT_EQ(refused.Get().status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatsOf(kit.system(), sink).mailbox_dropped, 3u);
  EXPECT_EQ(kit.system().dead_letters().total(), 0);
  kit.RunUntilIdle();
  EXPECT_EQ(handled.load(), 1);
}

TEST(BoundedMailboxTest, RedirectHandsTheOverflowOnWithItsSender) {
  std::atomic<int64_t> main_handled{0}, overflow_handled{0};
  testkit::TestKit kit;
  ActorRef overflow = kit.system().Spawn<Sink>(&overflow_handled);
  ActorRef sink =
      kit.system().Spawn<Sink>(Bounded(1, OverflowPolicy::Redirect(overflow)), &main_handled);
  kit.RunUntilIdle();
  sink.Tell(0);
  sink.Tell(1);
  sink.Tell(2);
  // An ask redirected is answered by the overflow actor, to the asker.
  Future<std::string> answer = sink.Ask<std::string>(std::string("hi"), absl::Seconds(5));
  kit.RunUntilIdle();
  EXPECT_EQ(main_handled.load(), 1);
  EXPECT_EQ(overflow_handled.load(), 2);
  ASSERT_TRUE(answer.IsReady());
  EXPECT_EQ(*answer.Get(), "hi after 2");
  EXPECT_EQ(StatsOf(kit.system(), sink).mailbox_redirected, 3u);
  EXPECT_EQ(kit.system().dead_letters().total(), 0);
}

TEST(BoundedMailboxTest, ARedirectedMessageIsNeverRedirectedAgain) {
  std::atomic<int64_t> x_handled{0}, a_handled{0}, b_handled{0};
  testkit::TestKit kit;
  ActorRef x = kit.system().Spawn<Sink>(&x_handled);
  ActorRef a = kit.system().Spawn<Sink>(Bounded(1, OverflowPolicy::Redirect(x)), &a_handled);
  ActorRef b = kit.system().Spawn<Sink>(Bounded(1, OverflowPolicy::Redirect(a)), &b_handled);
  kit.RunUntilIdle();
  a.Tell(0);  // a full
  b.Tell(0);  // b full
  b.Tell(1);  // b -> a, full: rejected there, not passed on to x
  EXPECT_EQ(kit.system().dead_letters().count(DeadLetterReason::kMailboxFull), 1);
  EXPECT_EQ(StatsOf(kit.system(), b).mailbox_redirected, 1u);
  EXPECT_EQ(StatsOf(kit.system(), a).mailbox_rejected, 1u);
  a.Tell(2);  // a's own overflow still goes to x
  kit.RunUntilIdle();
  EXPECT_EQ(x_handled.load(), 1);
  EXPECT_EQ(a_handled.load(), 1);
  EXPECT_EQ(b_handled.load(), 1);
}

// Lifecycle signals, the continuation of the actor's own Actor::Ask, and
// mail it sends itself get into a full mailbox.
struct FillYourself {
  int count;
};
struct AskPeer {
  ActorRef peer;
};

class Busy : public Actor {
 public:
  explicit Busy(std::vector<std::string>* events) : events_(events) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<int>([this](int i) { events_->push_back("int " + std::to_string(i)); })
        .On<FillYourself>([this](const FillYourself& f) {
          for (int i = 0; i < f.count; ++i) Self().Tell(100 + i);
        })
        .On<AskPeer>([this](const AskPeer& a) {
          Ask<std::string>(a.peer, std::string("q"), absl::Seconds(5),
                           [this](absl::StatusOr<std::string> r) {
                             events_->push_back("reply " + r.value_or(r.status().ToString()));
                           });
        })
        .On<ActorRef>([this](const ActorRef& other) { Watch(other); })
        .On<proto::Down>([this](const proto::Down&) { events_->push_back("down"); });
  }

 private:
  std::vector<std::string>* events_;
};

TEST(BoundedMailboxTest, SignalsContinuationsAndSelfMailAreNeverRefused) {
  std::vector<std::string> events;
  std::atomic<int64_t> peer_handled{0};
  testkit::TestKit kit;
  ActorRef peer = kit.system().Spawn<Sink>(&peer_handled);
  ActorRef busy = kit.system().Spawn<Busy>(Bounded(1), &events);
  kit.RunUntilIdle();

  busy.Tell(FillYourself{3});
  kit.RunUntilIdle();
  EXPECT_THAT(events, ::testing::ElementsAre("int 100", "int 101", "int 102"));

  // The ask is sent; its reply's continuation finds the mailbox full.
  busy.Tell(AskPeer{peer});
  kit.Step();    // busy handles AskPeer (the peer is now asked)
  busy.Tell(7);  // full again
  kit.RunUntilIdle();
  EXPECT_THAT(events, ::testing::Contains("reply q after 0"));

  EXPECT_THAT(events, ::testing::Contains("int 7"));

  events.clear();
  ActorRef watched = kit.system().Spawn<Sink>(&peer_handled);
  busy.Tell(watched);
  kit.RunUntilIdle();
  busy.Tell(8);  // full
  watched.Tell(proto::Stop());
  kit.RunUntilIdle();
  EXPECT_THAT(events, ::testing::UnorderedElementsAre("int 8", "down"));
}

TEST(BoundedMailboxTest, ACapacityTheMailboxCannotEnforceIsRefusedAtSpawn) {
  LogCapture log;
  SpawnOptions options = Bounded(70'000);
  const absl::Status invalid = options.Validate();
  EXPECT_EQ(invalid.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(invalid.message(), HasSubstr("at most 65535"));
  EXPECT_EQ(Bounded(1, OverflowPolicy::Redirect(ActorRef())).Validate().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Bounded(SpawnOptions::kMaxMailboxCapacity).Validate().ok());
  EXPECT_TRUE(SpawnOptions().Validate().ok());

  std::atomic<int64_t> handled{0};
  testkit::TestKit kit;
  ActorRef never = kit.system().Spawn<Sink>(std::move(options), &handled);
  kit.RunUntilIdle();
  EXPECT_FALSE(never.IsAlive());
  never.Tell(1);
  kit.RunUntilIdle();
  EXPECT_EQ(handled.load(), 0);
  EXPECT_THAT(log.Output(), HasSubstr("is not started: INVALID_ARGUMENT"));
}

// Records the ints it handles; the first waits for `gate` (on a thread of
// its own, so that the test can hold it up).
class Gated : public Actor {
 public:
  Gated(Notification* gate, std::vector<int>* got, Mutex* mu) : gate_(gate), got_(got), mu_(mu) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([this](int i) {
      gate_->WaitForNotification();
      MutexLock lock(*mu_);
      got_->push_back(i);
    });
  }

 private:
  Notification* gate_;
  std::vector<int>* got_;
  Mutex* mu_;
};

SpawnOptions DedicatedBounded(uint32_t capacity) {
  SpawnOptions options = Bounded(capacity);
  options.dedicated = true;
  return options;
}

uint32_t WaitingSenders(ActorSystem& system, const ActorRef& ref) {
  return StatsOf(system, ref).mailbox_waiting_senders;
}

// A gated actor with a mailbox of one, made full: its first message, 0,
// counts against the capacity until the turn handling it ends, and that
// turn is held at the gate until the test opens it.
class TellWithinTest : public ::testing::Test {
 protected:
  TellWithinTest() : gated(system.Spawn<Gated>(DedicatedBounded(1), &gate, &got, &mu)) {
    gated.Tell(0);
  }
  ~TellWithinTest() override {
    if (!gate.HasBeenNotified()) gate.Notify();
  }

  // What the actor touches outlives the system, which stops it first.
  Notification gate;
  Mutex mu;
  std::vector<int> got;
  ActorSystem system;
  ActorRef gated;
};

TEST_F(TellWithinTest, WaitingSendersGetInInTheOrderTheyCame) {
  Thread<absl::Status> first("first", [&] {
    int message = 2;
    return gated.TellWithin(message, absl::InfiniteFuture());
  });
  ASSERT_TRUE(testkit::Eventually([&] { return WaitingSenders(system, gated) == 1; }));
  Thread<absl::Status> second("second", [&] {
    int message = 3;
    return gated.TellWithin(message, absl::InfiniteFuture());
  });
  ASSERT_TRUE(testkit::Eventually([&] { return WaitingSenders(system, gated) == 2; }));
  EXPECT_THAT(system.DumpState(), HasSubstr("senders waiting 2"));
  // Each turn's end makes room for one: the first waiter, then the second.
  gate.Notify();
  ASSERT_TRUE(first.Join().value().ok());
  ASSERT_TRUE(second.Join().value().ok());
  ASSERT_TRUE(testkit::Eventually([&] {
    MutexLock lock(mu);
    return got.size() == 3;
  }));
  MutexLock lock(mu);
  EXPECT_THAT(got, ::testing::ElementsAre(0, 2, 3));
  EXPECT_EQ(system.dead_letters().total(), 0);
}

TEST_F(TellWithinTest, TheDeadlineHandsTheMessageBack) {
  int message = 2;
  const absl::Status late = gated.TellWithin(message, absl::Milliseconds(50));
  EXPECT_EQ(late.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(message, 2);
  EXPECT_EQ(WaitingSenders(system, gated), 0u);  // it left the queue
}

TEST_F(TellWithinTest, AStopWakesWaitingSendersAtOnce) {
  Thread<absl::Status> waiting("waiting", [&] {
    int message = 2;
    absl::Status s = gated.TellWithin(message, absl::InfiniteFuture());
    EXPECT_EQ(message, 2);
    return s;
  });
  ASSERT_TRUE(testkit::Eventually([&] { return WaitingSenders(system, gated) == 1; }));
  gated.Tell(proto::Kill());  // a signal gets past the full mailbox
  gate.Notify();
  absl::StatusOr<absl::Status> sent = waiting.Join();
  ASSERT_TRUE(sent.ok());
  // Either the kill came first (unavailable) or the sender got in just before.
  if (!sent->ok()) {
    EXPECT_EQ(sent->code(), absl::StatusCode::kUnavailable);
  }
}

TEST(TellWithinOnASystemThreadTest, IsRefusedNotDeadlocked) {
  std::atomic<int64_t> handled{0};
  absl::Status result;
  testkit::TestKit kit;
  ActorRef sink = kit.system().Spawn<Sink>(Bounded(1), &handled);
  kit.RunUntilIdle();
  struct TellWithinFromHere {
    ActorRef to;
  };
  class Sender : public Actor {
   public:
    explicit Sender(absl::Status* result) : result_(result) {}

   protected:
    Behavior MakeBehavior() override {
      return Behavior().On<TellWithinFromHere>([this](const TellWithinFromHere& t) {
        int message = 1;
        *result_ = t.to.TellWithin(message, absl::InfiniteFuture());
      });
    }

   private:
    absl::Status* result_;
  };
  ActorRef sender = kit.system().Spawn<Sender>(&result);
  kit.RunUntilIdle();
  sender.Tell(TellWithinFromHere{sink});  // the sender's turn comes first...
  sink.Tell(0);                           // ...and finds the sink full
  kit.RunUntil([&] { return !result.ok(); }, absl::Seconds(1));
  EXPECT_EQ(result.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.message(), HasSubstr("use TryTell"));
}

// Many blocking senders against a small mailbox: every message arrives,
// exactly once, and no sender is left waiting (a lost wake-up would hang).
TEST(TellWithinStressTest, BlockingSendersAllGetThrough) {
  constexpr int kSenders = 4;
  const int64_t per_sender = ScaledCount(20'000, 500);
  std::atomic<int64_t> handled{0};
  ActorSystem system;
  ActorRef sink = system.Spawn<Sink>(Bounded(4), &handled);
  std::vector<Thread<void>> senders;
  std::atomic<int64_t> failed{0};
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back("sender", [&] {
      for (int64_t i = 0; i < per_sender; ++i) {
        int message = static_cast<int>(i);
        if (!sink.TellWithin(message, absl::Now() + absl::Seconds(60)).ok()) {
          failed.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& sender : senders) ASSERT_TRUE(sender.Join().ok());
  EXPECT_EQ(failed.load(), 0);
  ASSERT_TRUE(testkit::Eventually([&] { return handled.load() == kSenders * per_sender; }));
  EXPECT_EQ(system.dead_letters().total(), 0);
  EXPECT_LE(StatsOf(system, sink).mailbox_high_water, 4u);
}

TEST(MailboxLimitTest, ShedsLoadInTheLogAtMostOnceASecond) {
  actor_internal::MailboxLimit limit(4, OverflowPolicy::Reject());
  int logged = 0;
  uint64_t since = 0, first_since = 0;
  for (int i = 0; i < 1000; ++i) {
    if (limit.CountRefusal(&limit.rejected, &since)) {
      if (logged++ == 0) first_since = since;
    }
  }
  EXPECT_EQ(limit.rejected.load(), 1000u);
  EXPECT_GE(logged, 1);
  EXPECT_LE(logged, 5);  // a line a second, not a line a message
  EXPECT_EQ(first_since, 1u);
}

// Many threads flood a bounded actor that handles slowly, with Tell and
// TryTell: every message is handled, refused back to TryTell, or a dead
// letter — none lost, none twice — and the bound is never exceeded.
TEST(BoundedMailboxStressTest, FloodingSendersNeverOverfillAndLoseNothing) {
  constexpr int kSenders = 4;
  constexpr uint32_t kCapacity = 16;
  const int64_t per_sender = ScaledCount(20'000, 500);
  std::atomic<int64_t> handled{0};
  ActorSystem system;
  ActorRef sink = system.Spawn<Sink>(Bounded(kCapacity), &handled);
  std::atomic<int64_t> handed_back{0};
  std::vector<Thread<void>> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back("sender", [&, s] {
      for (int64_t i = 0; i < per_sender; ++i) {
        int message = static_cast<int>(i);
        if (s % 2 == 0) {
          sink.Tell(message);
        } else if (!sink.TryTell(message).ok()) {
          handed_back.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  }
  for (auto& sender : senders) ASSERT_TRUE(sender.Join().ok());
  const int64_t rejected = system.dead_letters().count(DeadLetterReason::kMailboxFull);
  ASSERT_TRUE(testkit::Eventually(
      [&] { return handled.load() + rejected + handed_back.load() == kSenders * per_sender; },
      absl::Seconds(60)));
  const ActorStats stats = StatsOf(system, sink);
  EXPECT_LE(stats.mailbox_high_water, kCapacity);
  EXPECT_EQ(stats.mailbox_rejected, static_cast<uint64_t>(rejected));
  EXPECT_GT(handled.load(), 0);
}

// A stop while senders flood: no crash, and every message is accounted for
// (handled, refused, or dropped at the stop).
TEST(BoundedMailboxStressTest, AStopUnderFloodLosesNothing) {
  constexpr int kSenders = 3;
  const int64_t per_sender = ScaledCount(20'000, 500);
  std::atomic<int64_t> handled{0};
  ActorSystem system;
  ActorRef sink = system.Spawn<Sink>(Bounded(8), &handled);
  std::vector<Thread<void>> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back("sender", [&] {
      for (int64_t i = 0; i < per_sender; ++i) sink.Tell(static_cast<int>(i));
    });
  }
  sink.Tell(proto::Stop());
  for (auto& sender : senders) ASSERT_TRUE(sender.Join().ok());
  ASSERT_TRUE(testkit::Eventually([&] { return !sink.IsAlive(); }, absl::Seconds(60)));
  const DeadLetters& letters = system.dead_letters();
  const int64_t accounted = handled.load() + letters.count(DeadLetterReason::kMailboxFull) +
                            letters.count(DeadLetterReason::kReceiverStopped) +
                            letters.count(DeadLetterReason::kDroppedAtStop);
  EXPECT_EQ(accounted, kSenders * per_sender);
}

}  // namespace
}  // namespace troupe
