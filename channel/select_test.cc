#include "channel/select.h"

#include <atomic>
#include <string>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(SelectTest, FiresTheReadyArm) {
  auto [a_tx, a_rx] = Channel<int>::Bounded(4);
  auto [b_tx, b_rx] = Channel<std::string>::Bounded(4);
  ASSERT_TRUE(b_tx.Send("hello").ok());
  std::string got;
  const int fired = Select()
                        .OnRecv(a_rx, [&](RecvResult<int>) { FAIL() << "a is empty"; })
                        .OnRecv(b_rx, [&](RecvResult<std::string> s) { got = *s; })
                        .Wait();
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(got, "hello");
}

TEST(SelectTest, DefaultRunsWhenNothingIsReady) {
  auto [tx, rx] = Channel<int>::Bounded(1);
  bool defaulted = false;
  const int fired = Select()
                        .OnRecv(rx, [](RecvResult<int>) { FAIL(); })
                        .OnDefault([&] { defaulted = true; })
                        .Wait();
  EXPECT_EQ(fired, Select::kDefault);
  EXPECT_TRUE(defaulted);
}

TEST(SelectTest, TimeoutFiresWhenNothingArrives) {
  auto [tx, rx] = Channel<int>::Unbounded();
  bool timed_out = false;
  const absl::Time start = absl::Now();
  const int fired = Select()
                        .OnRecv(rx, [](RecvResult<int>) { FAIL(); })
                        .OnTimeout(absl::Milliseconds(20), [&] { timed_out = true; })
                        .Wait();
  EXPECT_EQ(fired, Select::kTimedOut);
  EXPECT_TRUE(timed_out);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(19));
}

TEST(SelectTest, AClosedChannelsArmFiresWithClosed) {
  auto [tx, rx] = Channel<int>::Bounded(4);
  tx.Close();
  RecvError error = RecvError::kEmpty;
  Select().OnRecv(rx, [&](RecvResult<int> r) { error = r.error(); }).Wait();
  EXPECT_EQ(error, RecvError::kClosed);
}

TEST(SelectTest, SendArmOnAClosedChannelHandsTheValueBack) {
  auto [tx, rx] = Channel<std::string>::Bounded(1);
  rx.Close();
  std::string back;
  Select()
      .OnSend(tx, std::string("keep me"),
              [&](SendResult<std::string> s) {
                ASSERT_FALSE(s.ok());
                back = s.TakeValue();
              })
      .Wait();
  EXPECT_EQ(back, "keep me");
}

TEST(SelectTest, BlocksUntilAValueArrivesFromAnotherThread) {
  auto [a_tx, a_rx] = Channel<int>::Bounded(4);
  auto [b_tx, b_rx] = Channel<int>::Bounded(4);
  Thread sender("sender", [b_tx = b_tx]() mutable {
    absl::SleepFor(absl::Milliseconds(20));
    (void)b_tx.Send(42);
  });
  int got = 0;
  const int fired = Select()
                        .OnRecv(a_rx, [](RecvResult<int>) { FAIL(); })
                        .OnRecv(b_rx, [&](RecvResult<int> v) { got = *v; })
                        .Wait();
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(got, 42);
  ASSERT_TRUE(sender.Join().ok());
}

TEST(SelectTest, SendArmProceedsWhenRoomAppears) {
  auto [tx, rx] = Channel<int>::Bounded(1);
  ASSERT_TRUE(tx.Send(1).ok());
  Thread receiver("receiver", [rx = rx]() mutable {
    absl::SleepFor(absl::Milliseconds(20));
    return *rx.Recv() + *rx.Recv();
  });
  bool sent = false;
  Select().OnSend(tx, 2, [&](SendResult<int> s) { sent = s.ok(); }).Wait();
  EXPECT_TRUE(sent);
  EXPECT_EQ(receiver.Join().value(), 3);
}

TEST(SelectTest, RendezvousRecvArmTakesAValueFromABlockedSender) {
  auto [tx, rx] = Channel<std::string>::Rendezvous();
  Thread sender("sender", [tx = tx]() mutable { return tx.Send("hand to hand").ok(); });
  std::string got;
  Select().OnRecv(rx, [&](RecvResult<std::string> s) { got = *s; }).Wait();
  EXPECT_EQ(got, "hand to hand");
  EXPECT_TRUE(sender.Join().value());
}

TEST(SelectTest, RendezvousSendArmIsTakenByALaterReceiver) {
  auto [tx, rx] = Channel<int>::Rendezvous();
  Thread receiver("receiver", [rx = rx]() mutable {
    absl::SleepFor(absl::Milliseconds(20));  // the select is blocked by now
    return *rx.Recv();
  });
  bool sent = false;
  Select().OnSend(tx, 9, [&](SendResult<int> s) { sent = s.ok(); }).Wait();
  EXPECT_TRUE(sent);
  EXPECT_EQ(receiver.Join().value(), 9);
}

// Both arms always ready: each must win a fair share (no arm starves).
TEST(SelectTest, FairAmongReadyArms) {
  auto [a_tx, a_rx] = Channel<int>::Unbounded();
  auto [b_tx, b_rx] = Channel<int>::Unbounded();
  constexpr int kRounds = 2000;
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_TRUE(a_tx.Send(i).ok());
    ASSERT_TRUE(b_tx.Send(i).ok());
  }
  int a = 0, b = 0;
  for (int i = 0; i < kRounds; ++i) {
    Select()
        .OnRecv(a_rx, [&](RecvResult<int>) { ++a; })
        .OnRecv(b_rx, [&](RecvResult<int>) { ++b; })
        .Wait();
  }
  EXPECT_EQ(a + b, kRounds);
  EXPECT_GT(a, kRounds / 3);  // a fair coin lands far inside these bounds
  EXPECT_GT(b, kRounds / 3);
}

// Two producers on different channels (and types), one consumer selecting:
// every value arrives exactly once, across all three flavours.
TEST(SelectStressTest, SelectingConsumerReceivesEverything) {
  const int64_t per_producer = ScaledCount(200'000, 1000);
  auto [a_tx, a_rx] = Channel<int64_t>::Bounded(64);
  auto [b_tx, b_rx] = Channel<int64_t>::Unbounded();
  auto [c_tx, c_rx] = Channel<int64_t>::Rendezvous();
  std::vector<Thread<void>> producers;
  producers.emplace_back("a", [tx = std::move(a_tx), per_producer]() mutable {
    for (int64_t i = 1; i <= per_producer; ++i) ASSERT_TRUE(tx.Send(i).ok());
  });
  producers.emplace_back("b", [tx = std::move(b_tx), per_producer]() mutable {
    for (int64_t i = 1; i <= per_producer; ++i) ASSERT_TRUE(tx.Send(i).ok());
  });
  producers.emplace_back("c", [tx = std::move(c_tx), per_producer]() mutable {
    for (int64_t i = 1; i <= per_producer / 10; ++i) ASSERT_TRUE(tx.Send(i).ok());
  });
  int64_t sums[3] = {0, 0, 0};
  int open = 3;
  bool closed[3] = {false, false, false};
  while (open > 0) {
    Select select;
    auto on = [&](int k) {
      return [&, k](RecvResult<int64_t> v) {
        if (v.ok()) {
          sums[k] += *v;
        } else if (!closed[k]) {
          closed[k] = true;
          --open;
        }
      };
    };
    if (!closed[0]) select.OnRecv(a_rx, on(0));
    if (!closed[1]) select.OnRecv(b_rx, on(1));
    if (!closed[2]) select.OnRecv(c_rx, on(2));
    select.Wait();
  }
  for (auto& p : producers) ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(sums[0], per_producer * (per_producer + 1) / 2);
  EXPECT_EQ(sums[1], per_producer * (per_producer + 1) / 2);
  const int64_t c = per_producer / 10;
  EXPECT_EQ(sums[2], c * (c + 1) / 2);
}

}  // namespace
}  // namespace troupe
