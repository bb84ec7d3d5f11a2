#include "channel/select.h"

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/atomics.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(SelectTest, FiresTheReadyArm) {
  auto [a_tx, a_rx] = Channel<int>::Bounded(4);
  auto [b_tx, b_rx] = Channel<std::string>::Bounded(4);
  ASSERT_TRUE(b_tx.Send("hello").ok());
  std::string got;
  const SelectResult fired = Select()
                                 .OnRecv(a_rx, [&](RecvResult<int>) { FAIL() << "a is empty"; })
                                 .OnRecv(b_rx, [&](RecvResult<std::string> s) { got = *s; })
                                 .Wait();
  EXPECT_EQ(fired.arm(), 1);
  EXPECT_EQ(got, "hello");
}

TEST(SelectTest, DefaultRunsWhenNothingIsReady) {
  auto [tx, rx] = Channel<int>::Bounded(1);
  bool defaulted = false;
  const SelectResult fired = Select()
                                 .OnRecv(rx, [](RecvResult<int>) { FAIL(); })
                                 .OnDefault([&] { defaulted = true; })
                                 .Wait();
  EXPECT_EQ(fired.outcome(), SelectOutcome::kDefault);
  EXPECT_TRUE(defaulted);
}

TEST(SelectTest, TimeoutFiresWhenNothingArrives) {
  auto [tx, rx] = Channel<int>::Unbounded();
  const absl::Time start = absl::Now();
  const SelectResult fired =
      Select().OnRecv(rx, [](RecvResult<int>) { FAIL(); }).WaitFor(absl::Milliseconds(20));
  EXPECT_EQ(fired.outcome(), SelectOutcome::kTimedOut);
  EXPECT_TRUE(fired.timed_out());
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
  std::string value = "keep me";
  Select()
      .OnSend(tx, value,
              [&](SendResult<std::string> s) {
                ASSERT_FALSE(s.ok());
                back = s.TakeValue();
              })
      .Wait();
  EXPECT_EQ(back, "keep me");
}

// Issue 18: a send arm that loses (here to the timeout) used to destroy its
// value with the Select; it now stays in the caller's variable, for every
// flavour, including a rendezvous whose packet held it while blocked.
TEST(SelectTest, ASendArmThatDoesNotFireLeavesTheValueWithTheCaller) {
  auto [full_tx, full_rx] = Channel<std::unique_ptr<int>>::Bounded(1);
  ASSERT_TRUE(full_tx.Send(std::make_unique<int>(0)).ok());
  auto [zero_tx, zero_rx] = Channel<std::unique_ptr<int>>::Rendezvous();
  auto bounded = std::make_unique<int>(1);
  auto rendezvous = std::make_unique<int>(2);
  const SelectResult fired =
      Select()
          .OnSend(full_tx, bounded, [](SendResult<std::unique_ptr<int>>) { FAIL(); })
          .OnSend(zero_tx, rendezvous, [](SendResult<std::unique_ptr<int>>) { FAIL(); })
          .WaitFor(absl::Milliseconds(20));
  EXPECT_EQ(fired.outcome(), SelectOutcome::kTimedOut);
  ASSERT_NE(bounded, nullptr);
  EXPECT_EQ(*bounded, 1);
  ASSERT_NE(rendezvous, nullptr);
  EXPECT_EQ(*rendezvous, 2);
}

TEST(SelectTest, ASendArmThatLosesToAnotherArmLeavesTheValueWithTheCaller) {
  auto [full_tx, full_rx] = Channel<std::unique_ptr<int>>::Bounded(1);
  ASSERT_TRUE(full_tx.Send(std::make_unique<int>(0)).ok());
  auto [ready_tx, ready_rx] = Channel<int>::Bounded(1);
  ASSERT_TRUE(ready_tx.Send(7).ok());
  auto value = std::make_unique<int>(1);
  int got = 0;
  const SelectResult fired =
      Select()
          .OnSend(full_tx, value, [](SendResult<std::unique_ptr<int>>) { FAIL(); })
          .OnRecv(ready_rx, [&](RecvResult<int> r) { got = *r; })
          .Wait();
  EXPECT_EQ(fired.arm(), 1);
  EXPECT_EQ(got, 7);
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(*value, 1);
}

// Many rounds of a send arm racing a receive arm and a receiver thread on a
// rendezvous channel: each value is either received once or still held by
// the caller, never both and never neither.
TEST(SelectStressTest, RendezvousSendArmsRacingAReceiverLoseNothing) {
  const int rounds = static_cast<int>(ScaledCount(2'000, 200));
  auto [tx, rx] = Channel<std::unique_ptr<int>>::Rendezvous();
  auto [tick_tx, tick_rx] = Channel<int>::Unbounded();
  Thread receiver("receiver", [rx = rx, tick_tx = std::move(tick_tx), rounds]() mutable {
    int64_t sum = 0;
    for (int i = 0; i < rounds; ++i) {
      if (i % 2 == 0) (void)tick_tx.Send(i);  // sometimes the other arm wins
      RecvResult<std::unique_ptr<int>> got = rx.RecvFor(absl::Microseconds(50));
      if (got.ok()) sum += **got;
    }
    return sum;
  });
  int64_t kept = 0;
  int64_t total = 0;
  for (int i = 1; i <= rounds; ++i) {
    auto value = std::make_unique<int>(i);
    total += i;
    bool sent = false;
    Select()
        .OnSend(tx, value, [&](SendResult<std::unique_ptr<int>> s) { sent = s.ok(); })
        .OnRecv(tick_rx, [](RecvResult<int>) {})
        .WaitFor(absl::Microseconds(50));
    if (sent) {
      EXPECT_EQ(value, nullptr);
    } else {
      ASSERT_NE(value, nullptr) << "round " << i << " lost its value";
      kept += *value;
    }
  }
  rx.Close();
  EXPECT_EQ(receiver.Join().value() + kept, total);
}

TEST(SelectTest, BlocksUntilAValueArrivesFromAnotherThread) {
  auto [a_tx, a_rx] = Channel<int>::Bounded(4);
  auto [b_tx, b_rx] = Channel<int>::Bounded(4);
  Thread sender("sender", [b_tx = b_tx]() mutable {
    absl::SleepFor(absl::Milliseconds(20));
    (void)b_tx.Send(42);
  });
  int got = 0;
  const SelectResult fired = Select()
                                 .OnRecv(a_rx, [](RecvResult<int>) { FAIL(); })
                                 .OnRecv(b_rx, [&](RecvResult<int> v) { got = *v; })
                                 .Wait();
  EXPECT_EQ(fired.arm(), 1);
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
  int two = 2;
  Select().OnSend(tx, two, [&](SendResult<int> s) { sent = s.ok(); }).Wait();
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
  int nine = 9;
  Select().OnSend(tx, nine, [&](SendResult<int> s) { sent = s.ok(); }).Wait();
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

// More arms than the select's inline arena holds (a few of these ~110-byte
// arms fit): the rest live on the heap. Whichever fires, every arm is
// destroyed as it was made: the token's count comes back to one, and under
// ASAN a heap arm left undeleted leaks and an inline one deleted fails.
TEST(SelectTest, ArmsBeyondTheInlineArenaFireAndAreFreed) {
  constexpr int kChannels = 12;
  std::vector<Channel<int>::Pair> channels;
  for (int i = 0; i < kChannels; ++i) channels.push_back(Channel<int>::Bounded(1));
  auto token = std::make_shared<int>(0);
  for (int ready = 0; ready < kChannels; ++ready) {
    ASSERT_TRUE(channels[ready].first.Send(ready).ok());
    int got = -1;
    Select select;
    for (int i = 0; i < kChannels; ++i) {
      std::array<char, 64> ballast{};
      select.OnRecv(channels[i].second,
                    [&got, token, ballast](RecvResult<int> v) { got = *v + ballast[0] + *token; });
    }
    SelectResult result = select.Wait();
    EXPECT_EQ(result.arm(), static_cast<size_t>(ready));
    EXPECT_EQ(got, ready);
  }
  EXPECT_EQ(token.use_count(), 1);
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

// A value whose move takes a while: it widens the window in which a bounded
// channel's slot is claimed but not yet written (or read), the window a
// select's first, glancing pass may not see through.
struct SlowToMove {
  explicit SlowToMove(int64_t v) : value(v) {}
  SlowToMove(SlowToMove&& other) noexcept : value(other.value) {
    for (int i = 0; i < 200; ++i) CpuRelax();
  }
  SlowToMove& operator=(SlowToMove&& other) noexcept {
    value = other.value;
    return *this;
  }
  int64_t value;
};

// Two senders claim consecutive slots; the second can finish while the
// first still writes the slot before it. A value whose Send has returned is
// then ready behind an unwritten slot, and a select with a default must take
// it (waiting out the unfinished write), not run the default.
TEST(SelectStressTest, ADefaultNeverHidesAValueWhoseSendReturned) {
  const int64_t per_sender = ScaledCount(40'000, 2'000);
  auto [tx, rx] = Channel<SlowToMove>::Bounded(64);
  std::atomic<int64_t> sent{0};
  std::vector<Thread<void>> senders;
  for (int k = 0; k < 2; ++k) {
    senders.emplace_back("sender", [tx = tx, &sent, per_sender]() mutable {
      for (int64_t i = 0; i < per_sender; ++i) {
        ASSERT_TRUE(tx.Send(SlowToMove(i)).ok());
        sent.fetch_add(1, std::memory_order_release);
      }
    });
  }
  { Sender<SlowToMove> drop = std::move(tx); }
  int64_t received = 0;
  int64_t hidden = 0;  // defaults run while a returned send's value waited
  while (received < 2 * per_sender) {
    const int64_t sent_before = sent.load(std::memory_order_acquire);
    bool defaulted = false;
    Select()
        .OnRecv(rx, [&](RecvResult<SlowToMove> v) { received += v.ok() ? 1 : 0; })
        .OnDefault([&] { defaulted = true; })
        .Wait();
    if (defaulted && sent_before > received) ++hidden;
  }
  for (auto& s : senders) ASSERT_TRUE(s.Join().ok());
  EXPECT_EQ(hidden, 0);
}

// The mirror image: two receivers take consecutive slots of a full channel;
// once a Recv has returned there is room, and a select with a default must
// send into it rather than run the default.
TEST(SelectStressTest, ADefaultNeverHidesRoomThatAReceiveMade) {
  constexpr int64_t kCapacity = 8;
  const int64_t total = ScaledCount(100'000, 4'000);
  auto [tx, rx] = Channel<SlowToMove>::Bounded(kCapacity);
  std::atomic<int64_t> received{0};
  std::vector<Thread<void>> receivers;
  for (int k = 0; k < 2; ++k) {
    receivers.emplace_back("receiver", [rx = rx, &received]() mutable {
      while (rx.Recv().ok()) received.fetch_add(1, std::memory_order_release);
    });
  }
  { Receiver<SlowToMove> drop = std::move(rx); }
  int64_t sent = 0;
  int64_t hidden = 0;  // defaults run while a returned receive had made room
  while (sent < total) {
    const int64_t received_before = received.load(std::memory_order_acquire);
    bool defaulted = false;
    SlowToMove value(sent);
    Select()
        .OnSend(tx, value, [&](SendResult<SlowToMove> r) { sent += r.ok() ? 1 : 0; })
        .OnDefault([&] { defaulted = true; })
        .Wait();
    if (defaulted && sent - received_before < kCapacity) ++hidden;
  }
  tx.Close();
  for (auto& r : receivers) ASSERT_TRUE(r.Join().ok());
  EXPECT_EQ(received.load(), total);
  EXPECT_EQ(hidden, 0);
}

}  // namespace
}  // namespace troupe
