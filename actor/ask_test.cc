// Ask and reply: values, errors, timeouts, dead targets, wrong types, and
// asking from inside an actor without blocking it.

#include <atomic>
#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/testdata/test_messages.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "threads/notification.h"

namespace troupe {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kWait = absl::Seconds(30);

test::Ping PingOf(int64_t seq) {
  test::Ping ping;
  ping.set_seq(seq);
  return ping;
}

// Ping -> Pong; GetTotal -> an error reply; Add -> no reply at all;
// int -> a std::string (the wrong type for Ask<Pong>); std::string ->
// StatusOr<Pong> that fails, holds a Pong on "ok", or throws on "throw".
class Responder : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Ping>([](const test::Ping& ping) {
          test::Pong pong;
          pong.set_seq(ping.seq());
          return pong;
        })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          ReplyError(absl::PermissionDeniedError("no totals for you"));
        })
        .On<test::Add>([](const test::Add&) {})
        .On<int>([](int) { return std::string("not a pong"); })
        .On<std::string>([](const std::string& s) -> absl::StatusOr<test::Pong> {
          if (s == "throw") throw std::runtime_error("boom");
          if (s == "ok") {
            test::Pong pong;
            pong.set_seq(42);
            return pong;
          }
          return absl::NotFoundError("no such thing");
        });
  }
};

TEST(AskTest, ReplyArrivesAsTheFuturesValue) {
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  absl::StatusOr<test::Pong> pong = responder.Ask<test::Pong>(PingOf(7), kWait).Get();
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->seq(), 7);
}

TEST(AskTest, ErrorRepliesFailTheAsk) {
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  absl::StatusOr<test::Total> total = responder.Ask<test::Total>(test::GetTotal(), kWait).Get();
  EXPECT_EQ(total.status(), absl::PermissionDeniedError("no totals for you"));
  absl::StatusOr<test::Pong> pong = responder.Ask<test::Pong>(std::string("x"), kWait).Get();
  EXPECT_EQ(pong.status(), absl::NotFoundError("no such thing"));
}

// A value the handler hands back (here out of an OK StatusOr) goes into the
// asker's future without an envelope; it must arrive all the same.
TEST(AskTest, AnOkStatusOrReplyArrivesAsTheValue) {
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  absl::StatusOr<test::Pong> pong = responder.Ask<test::Pong>(std::string("ok"), kWait).Get();
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->seq(), 42);
  system.Shutdown();
  EXPECT_EQ(system.dead_letters().total(), 0);
}

TEST(AskTest, TimesOutWithAClearError) {
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  absl::StatusOr<test::Pong> pong =
      responder.Ask<test::Pong>(test::Add(), absl::Milliseconds(20)).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(pong.status().message(), HasSubstr("troupe.test.Add"));
  EXPECT_THAT(pong.status().message(), HasSubstr("timed out after 20ms"));
}

// Ask(message), with no timeout: the reply, or an error as soon as there
// can be none (the request dropped unanswered, the target gone), never a
// wait for ever.
TEST(AskTest, WithoutATimeoutTheReplyOrAnErrorComes) {
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  absl::StatusOr<test::Pong> pong = responder.Ask<test::Pong>(PingOf(3)).Get();
  ASSERT_TRUE(pong.ok()) << pong.status();
  EXPECT_EQ(pong->seq(), 3);
  absl::StatusOr<test::Pong> unanswered =
      responder.Ask<test::Pong>(test::Add()).GetFor(absl::Seconds(30));
  EXPECT_EQ(unanswered.status().code(), absl::StatusCode::kUnavailable) << unanswered.status();
  EXPECT_THAT(unanswered.status().message(), HasSubstr("without a reply"));
  responder.Tell(proto::Kill());
  testkit::WaitUntilStopped(responder);
  absl::StatusOr<test::Pong> gone = responder.Ask<test::Pong>(PingOf(4)).GetFor(absl::Seconds(30));
  EXPECT_EQ(gone.status().code(), absl::StatusCode::kUnavailable) << gone.status();
}

TEST(AskTest, WrongReplyTypeIsAnError) {
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  absl::StatusOr<test::Pong> pong = responder.Ask<test::Pong>(5, kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(pong.status().message(),
              HasSubstr("expected a reply of type troupe.test.Pong, got std::string"));
}

TEST(AskTest, DeadTargetFailsAtOnce) {
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  responder.Tell(proto::Kill());
  testkit::WaitUntilStopped(responder);
  absl::StatusOr<test::Pong> pong = responder.Ask<test::Pong>(PingOf(1), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(pong.status().message(), HasSubstr("receiver stopped"));
}

TEST(AskTest, UnhandledAndFailedRequestsFailAtOnce) {
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  absl::StatusOr<test::Pong> unhandled = responder.Ask<test::Pong>(test::Hop(), kWait).Get();
  EXPECT_EQ(unhandled.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(unhandled.status().message(), HasSubstr("unhandled"));
  absl::StatusOr<test::Pong> failed = responder.Ask<test::Pong>(std::string("throw"), kWait).Get();
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(), HasSubstr("handler failed"));
}

TEST(AskTest, EmptyRefIsAnInvalidArgument) {
  absl::StatusOr<test::Pong> pong = ActorRef().Ask<test::Pong>(PingOf(1), kWait).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kInvalidArgument);
}

// Replies late: the ask has timed out, so the reply is a dead letter.
class Sleeper : public Actor {
 public:
  explicit Sleeper(Notification* go) : go_(go) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<test::Ping>([this](const test::Ping& ping) {
      go_->WaitForNotification();
      return test::Pong();
    });
  }

 private:
  Notification* go_;
};

TEST(AskTest, LateReplyIsADeadLetter) {
  Notification go;
  ActorSystem system;
  ActorRef sleeper = system.Spawn<Sleeper>(&go);
  absl::StatusOr<test::Pong> pong =
      sleeper.Ask<test::Pong>(PingOf(1), absl::Milliseconds(10)).Get();
  EXPECT_EQ(pong.status().code(), absl::StatusCode::kDeadlineExceeded);
  go.Notify();
  system.Shutdown();
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kNoReceiver), 1);
}

// Keeps the sender of each Ping (an ask's reply receiver) and answers it.
class SenderKeeper : public Actor {
 public:
  explicit SenderKeeper(ActorRef* kept) : kept_(kept) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<test::Ping>([this](const test::Ping& ping) {
      *kept_ = Sender();
      test::Pong pong;
      pong.set_seq(ping.seq());
      return pong;
    });
  }

 private:
  ActorRef* kept_;
};

TEST(AskTest, AnsweredAsksRefuseTryTellAndTellWithinAndHandTheMessageBack) {
  ActorSystem system;
  ActorRef kept;
  ActorRef keeper = system.Spawn<SenderKeeper>(&kept);
  ASSERT_TRUE(keeper.Ask<test::Pong>(PingOf(1), kWait).Get().ok());
  ASSERT_TRUE(kept);  // the ask's reply receiver, answered: no more mail
  test::Pong late;
  late.set_seq(7);
  EXPECT_EQ(kept.TryTell(late).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(late.seq(), 7);
  EXPECT_EQ(kept.TellWithin(late, kWait).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(late.seq(), 7);
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kNoReceiver), 0)
      << "refused mail stays the caller's, not a dead letter";
  kept.Tell(late);  // a Tell has nobody to hand it back to
  EXPECT_EQ(system.dead_letters().count(DeadLetterReason::kNoReceiver), 1);
}

// Asks from inside a handler; the reply runs as a continuation in the
// asker's context, while the asker keeps handling other mail.
class Asker : public Actor {
 public:
  Asker(ActorRef responder, Notification* done) : responder_(responder), done_(done) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Hop>([this](const test::Hop& hop) {
          for (int64_t i = 0; i < hop.remaining(); ++i) {
            Ask<test::Pong>(responder_, PingOf(i), kWait, [this](absl::StatusOr<test::Pong> pong) {
              if (inside_) ++overlaps_;
              if (pong.ok()) sum_ += pong->seq();
              if (++replies_ == 100) done_->Notify();
            });
          }
        })
        .On<test::Add>([this](const test::Add&) {
          inside_ = true;  // a continuation running now would see this
          ++adds_;
          inside_ = false;
        })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          test::Total total;
          total.set_value(overlaps_ * 1'000'000 + sum_);
          return total;
        });
  }

 private:
  ActorRef responder_;
  Notification* done_;
  bool inside_ = false;
  int64_t overlaps_ = 0, sum_ = 0, replies_ = 0, adds_ = 0;
};

TEST(AskTest, AskFromAnActorContinuesInItsOwnContext) {
  Notification done;
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  ActorRef asker = system.Spawn<Asker>(responder, &done);
  test::Hop hop;
  hop.set_remaining(100);
  asker.Tell(hop);
  for (int i = 0; i < 1000; ++i) asker.Tell(test::Add());
  ASSERT_TRUE(done.WaitForNotificationFor(kWait));
  absl::StatusOr<test::Total> total = asker.Ask<test::Total>(test::GetTotal(), kWait).Get();
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(total->value(), 4950);  // no overlaps, every reply summed
}

// Many asks in flight at once, each answered exactly once.
TEST(AskTest, ManyConcurrentAsks) {
  ActorSystem system;
  ActorRef responder = system.Spawn<Responder>();
  std::vector<Future<test::Pong>> replies;
  for (int i = 0; i < 1000; ++i) replies.push_back(responder.Ask<test::Pong>(PingOf(i), kWait));
  int64_t sum = 0;
  for (Future<test::Pong>& reply : replies) {
    absl::StatusOr<test::Pong> pong = reply.Get();
    ASSERT_TRUE(pong.ok()) << pong.status();
    sum += pong->seq();
  }
  EXPECT_EQ(sum, 999 * 1000 / 2);
}

}  // namespace
}  // namespace troupe
