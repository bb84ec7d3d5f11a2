#include "channel/channel.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/stress.h"
#include "channel/broadcast.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "threads/latch.h"
#include "threads/notification.h"
#include "threads/thread.h"

namespace troupe {
namespace {

enum class Kind { kBounded, kUnbounded, kRendezvous };

template <typename T>
typename Channel<T>::Pair Make(Kind kind, size_t capacity = 4) {
  switch (kind) {
    case Kind::kBounded:
      return Channel<T>::Bounded(capacity);
    case Kind::kUnbounded:
      return Channel<T>::Unbounded();
    case Kind::kRendezvous:
      return Channel<T>::Rendezvous();
  }
  return Channel<T>::Unbounded();
}

class AnyFlavorTest : public ::testing::TestWithParam<Kind> {};

INSTANTIATE_TEST_SUITE_P(Flavors, AnyFlavorTest,
                         ::testing::Values(Kind::kBounded, Kind::kUnbounded, Kind::kRendezvous),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           switch (info.param) {
                             case Kind::kBounded:
                               return std::string("Bounded");
                             case Kind::kUnbounded:
                               return std::string("Unbounded");
                             case Kind::kRendezvous:
                               return std::string("Rendezvous");
                           }
                           return std::string("Unknown");
                         });

TEST_P(AnyFlavorTest, ValuesArriveInOrderAcrossThreads) {
  auto [tx, rx] = Make<int>(GetParam());
  Thread producer("producer", [tx = std::move(tx)]() mutable {
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(tx.Send(i).ok());
  });
  for (int i = 0; i < 1000; ++i) {
    RecvResult<int> got = rx.Recv();
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(*got, i);
  }
  ASSERT_TRUE(producer.Join().ok());
  // The producer's Sender is gone: closed, and drained.
  EXPECT_EQ(rx.Recv().error(), RecvError::kClosed);
}

TEST_P(AnyFlavorTest, TryRecvOnAnEmptyChannelIsEmpty) {
  auto [tx, rx] = Make<int>(GetParam());
  EXPECT_EQ(rx.TryRecv().error(), RecvError::kEmpty);
}

TEST_P(AnyFlavorTest, RecvForTimesOut) {
  auto [tx, rx] = Make<int>(GetParam());
  const absl::Time start = absl::Now();
  EXPECT_EQ(rx.RecvFor(absl::Milliseconds(20)).error(), RecvError::kTimedOut);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(19));
}

TEST_P(AnyFlavorTest, SendAfterCloseHandsTheValueBack) {
  auto [tx, rx] = Make<std::string>(GetParam());
  EXPECT_TRUE(tx.Close());
  EXPECT_FALSE(tx.Close());  // already closed
  SendResult<std::string> sent = tx.Send("precious");
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error(), SendError::kClosed);
  EXPECT_EQ(sent.value(), "precious");
  EXPECT_EQ(rx.Recv().error(), RecvError::kClosed);
  EXPECT_TRUE(rx.IsClosed());
}

TEST_P(AnyFlavorTest, LastReceiverGoneClosesForSenders) {
  auto [tx, rx] = Make<int>(GetParam());
  { Receiver<int> dropped = std::move(rx); }
  SendResult<int> sent = tx.TrySend(5);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error(), SendError::kClosed);
  EXPECT_EQ(sent.value(), 5);
}

TEST_P(AnyFlavorTest, CopiedSendersKeepItOpenUntilTheLastGoes) {
  auto [tx, rx] = Make<int>(GetParam());
  Sender<int> second = tx;
  { Sender<int> gone = std::move(tx); }
  EXPECT_FALSE(rx.IsClosed());
  { Sender<int> last = std::move(second); }
  EXPECT_TRUE(rx.IsClosed());
}

TEST_P(AnyFlavorTest, MoveOnlyValues) {
  auto [tx, rx] = Make<std::unique_ptr<int>>(GetParam());
  Thread producer("producer", [tx = std::move(tx)]() mutable {
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(tx.Send(std::make_unique<int>(i)).ok());
  });
  int sum = 0;
  for (std::unique_ptr<int>& p : rx) sum += *p;  // range-for ends at close
  EXPECT_EQ(sum, 45);
  ASSERT_TRUE(producer.Join().ok());
}

TEST_P(AnyFlavorTest, BatchesMoveEverything) {
  auto [tx, rx] = Make<int>(GetParam());
  Thread producer("producer", [tx = std::move(tx)]() mutable {
    std::vector<int> values(100);
    for (int i = 0; i < 100; ++i) values[i] = i;
    EXPECT_EQ(tx.SendBatch(values), 100u);
  });
  std::vector<int> got;
  while (rx.RecvBatch(got, 16) > 0) {
  }
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], i);
  ASSERT_TRUE(producer.Join().ok());
}

// Close while receivers are blocked: every one wakes with kClosed.
TEST_P(AnyFlavorTest, CloseWakesBlockedReceivers) {
  auto [tx, rx] = Make<int>(GetParam());
  constexpr int kReceivers = 3;
  Latch started(kReceivers);
  std::vector<Thread<RecvError>> receivers;
  for (int i = 0; i < kReceivers; ++i) {
    receivers.emplace_back("receiver", [&, rx = rx]() mutable {
      started.CountDown();
      return rx.Recv().error();
    });
  }
  started.Wait();
  absl::SleepFor(absl::Milliseconds(20));  // let them block (the result holds either way)
  tx.Close();
  for (auto& r : receivers) EXPECT_EQ(r.Join().value(), RecvError::kClosed);
}

// Several producers and consumers, with a close in the middle: every value is
// either received exactly once or handed back to its sender.
TEST_P(AnyFlavorTest, CloseRaceLosesNothing) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  const int64_t per_producer = ScaledCount(20'000, 200);
  auto [tx, rx] = Make<int64_t>(GetParam(), 16);
  std::atomic<int64_t> returned{0}, received{0}, received_sum{0}, returned_sum{0};
  std::vector<Thread<void>> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back("producer", [&, p, tx = tx]() mutable {
      for (int64_t i = 1; i <= per_producer; ++i) {
        const int64_t v = p * per_producer + i;
        SendResult<int64_t> sent = tx.Send(v);
        if (!sent.ok()) {
          returned.fetch_add(1);
          returned_sum.fetch_add(sent.value());
        }
      }
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back("consumer", [&, rx = rx]() mutable {
      for (int64_t& v : rx) {
        received.fetch_add(1);
        received_sum.fetch_add(v);
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(5));
  tx.Close();
  for (auto& t : threads) ASSERT_TRUE(t.Join().ok());
  const int64_t n = kProducers * per_producer;
  EXPECT_EQ(received.load() + returned.load(), n);
  EXPECT_EQ(received_sum.load() + returned_sum.load(), n * (n + 1) / 2);
}

// Stress: producers and consumers move many items; each arrives exactly once.
TEST_P(AnyFlavorTest, ManyProducersManyConsumersExactlyOnce) {
  constexpr int kProducers = 3;
  constexpr int kConsumers = 3;
  // 10^7 items through the buffered flavours; a rendezvous costs a hand-off
  // per item, so it moves fewer.
  const int64_t total = ScaledCount(GetParam() == Kind::kRendezvous ? 300'000 : 10'000'000, 3000);
  const int64_t per_producer = total / kProducers;
  auto [tx, rx] = Make<int64_t>(GetParam(), 64);
  std::vector<std::atomic<uint8_t>> seen(static_cast<size_t>(kProducers * per_producer));
  std::vector<Thread<void>> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back("producer", [&, p, tx = tx]() mutable {
      for (int64_t i = 0; i < per_producer; ++i) ASSERT_TRUE(tx.Send(p * per_producer + i).ok());
    });
  }
  { Sender<int64_t> last = std::move(tx); }  // producers hold the only senders now
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back("consumer", [&, rx = rx]() mutable {
      for (int64_t& v : rx) seen[v].fetch_add(1, std::memory_order_relaxed);
    });
  }
  for (auto& t : threads) ASSERT_TRUE(t.Join().ok());
  int64_t wrong = 0;
  for (auto& s : seen) wrong += s.load() != 1;
  EXPECT_EQ(wrong, 0);
}

// Batch senders and batch receivers at once: each item exactly once.
TEST_P(AnyFlavorTest, ConcurrentBatchesExactlyOnce) {
  constexpr int kProducers = 2;
  constexpr int kConsumers = 2;
  const int64_t per_producer = ScaledCount(500'000, 2000);
  auto [tx, rx] = Make<int64_t>(GetParam(), 64);
  std::vector<std::atomic<uint8_t>> seen(static_cast<size_t>(kProducers * per_producer));
  std::vector<Thread<void>> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back("producer", [&, p, tx = tx]() mutable {
      std::vector<int64_t> batch;
      for (int64_t i = 0; i < per_producer; i += 37) {
        batch.clear();
        for (int64_t k = i; k < std::min(per_producer, i + 37); ++k) {
          batch.push_back(p * per_producer + k);
        }
        ASSERT_EQ(tx.SendBatch(batch), batch.size());
      }
    });
  }
  { Sender<int64_t> last = std::move(tx); }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back("consumer", [&, rx = rx]() mutable {
      std::vector<int64_t> got;
      while (true) {
        got.clear();
        if (rx.RecvBatch(got, 50) == 0) return;
        for (int64_t v : got) seen[v].fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : threads) ASSERT_TRUE(t.Join().ok());
  int64_t wrong = 0;
  for (auto& s : seen) wrong += s.load() != 1;
  EXPECT_EQ(wrong, 0);
}

TEST(BoundedChannelTest, TrySendOnAFullChannelHandsTheValueBack) {
  auto [tx, rx] = Channel<std::string>::Bounded(2);
  EXPECT_TRUE(tx.TrySend("a").ok());
  EXPECT_TRUE(tx.TrySend("b").ok());
  SendResult<std::string> third = tx.TrySend("c");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error(), SendError::kFull);
  EXPECT_EQ(third.TakeValue(), "c");
  EXPECT_EQ(tx.size(), 2u);
  EXPECT_EQ(tx.capacity(), 2u);
  EXPECT_EQ(*rx.TryRecv(), "a");
  EXPECT_TRUE(tx.TrySend("c").ok());
}

TEST(BoundedChannelTest, BatchesClaimRunsAcrossTheWrapAndStopWhenFull) {
  auto [tx, rx] = Channel<int>::Bounded(5);
  std::vector<int> first = {0, 1, 2};
  ASSERT_EQ(tx.SendBatch(first), 3u);
  std::vector<int> got;
  ASSERT_EQ(rx.RecvBatch(got, 2), 2u);   // head now mid-ring
  std::vector<int> more = {3, 4, 5, 6};  // wraps around the end of the ring
  ASSERT_EQ(tx.SendBatch(more), 4u);
  ASSERT_EQ(rx.RecvBatch(got, 10), 5u);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  // A closed channel keeps what it could not take in the caller's vector.
  std::vector<int> rest = {7, 8};
  tx.Close();
  EXPECT_EQ(tx.SendBatch(rest), 0u);
  EXPECT_EQ(rest, (std::vector<int>{7, 8}));
}

TEST(BoundedChannelTest, SendForTimesOutWhenFull) {
  auto [tx, rx] = Channel<int>::Bounded(1);
  ASSERT_TRUE(tx.Send(1).ok());
  SendResult<int> late = tx.SendFor(2, absl::Milliseconds(20));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error(), SendError::kTimedOut);
  EXPECT_EQ(late.value(), 2);
}

TEST(BoundedChannelTest, BlockedSenderProceedsWhenRoomAppears) {
  auto [tx, rx] = Channel<int>::Bounded(1);
  ASSERT_TRUE(tx.Send(1).ok());
  Thread sender("sender", [&, tx = tx]() mutable { return tx.Send(2).ok(); });
  absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(*rx.Recv(), 1);
  EXPECT_TRUE(sender.Join().value());
  EXPECT_EQ(*rx.Recv(), 2);
}

TEST(BoundedChannelTest, BufferedValuesSurviveCloseAndDrain) {
  auto [tx, rx] = Channel<int>::Bounded(8);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(tx.Send(i).ok());
  tx.Close();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*rx.Recv(), i);
  EXPECT_EQ(rx.Recv().error(), RecvError::kClosed);
}

TEST(BoundedChannelTest, UnreceivedValuesAreDestroyedWithTheChannel) {
  auto counter = std::make_shared<int>(0);
  {
    auto [tx, rx] = Channel<std::shared_ptr<int>>::Bounded(4);
    ASSERT_TRUE(tx.Send(counter).ok());
    ASSERT_TRUE(tx.Send(counter).ok());
    EXPECT_EQ(counter.use_count(), 3);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

TEST(UnboundedChannelTest, NeverFull) {
  auto [tx, rx] = Channel<int>::Unbounded();
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(tx.TrySend(i).ok());
  EXPECT_EQ(tx.size(), 10'000u);
  for (int i = 0; i < 10'000; ++i) ASSERT_EQ(*rx.TryRecv(), i);
}

TEST(RendezvousChannelTest, TrySendWithoutAWaitingReceiverIsFull) {
  auto [tx, rx] = Channel<int>::Rendezvous();
  SendResult<int> sent = tx.TrySend(1);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error(), SendError::kFull);
  EXPECT_EQ(tx.capacity(), 0u);
}

TEST(RendezvousChannelTest, SendCompletesOnlyWhenTheValueIsTaken) {
  auto [tx, rx] = Channel<int>::Rendezvous();
  std::atomic<bool> sent{false};
  Thread sender("sender", [&, tx = tx]() mutable {
    EXPECT_TRUE(tx.Send(7).ok());
    sent.store(true);
  });
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_FALSE(sent.load());  // nobody has received yet
  EXPECT_EQ(*rx.Recv(), 7);
  ASSERT_TRUE(sender.Join().ok());
  EXPECT_TRUE(sent.load());
}

TEST(RendezvousChannelTest, SendForTimesOutAndReturnsTheValue) {
  auto [tx, rx] = Channel<std::string>::Rendezvous();
  SendResult<std::string> sent = tx.SendFor("lonely", absl::Milliseconds(10));
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error(), SendError::kTimedOut);
  EXPECT_EQ(sent.value(), "lonely");
}

TEST(RendezvousChannelTest, PingPong) {
  auto [ping_tx, ping_rx] = Channel<int>::Rendezvous();
  auto [pong_tx, pong_rx] = Channel<int>::Rendezvous();
  const int rounds = static_cast<int>(ScaledCount(20'000, 100));
  Thread echo("echo", [ping_rx = ping_rx, pong_tx = pong_tx]() mutable {
    for (int& v : ping_rx) {
      if (!pong_tx.Send(v + 1).ok()) return;
    }
  });
  for (int i = 0; i < rounds; ++i) {
    ASSERT_TRUE(ping_tx.Send(i).ok());
    ASSERT_EQ(*pong_rx.Recv(), i + 1);
  }
  ping_tx.Close();
  ASSERT_TRUE(echo.Join().ok());
}

// The two errors mirror each other, and print as words wherever troupe
// prints (fmt in logs, ostreams in test failures: base/stringify.h).
TEST(ChannelResultsTest, ErrorsMirrorEachOtherAndPrintAsWords) {
  EXPECT_EQ(ToString(SendError::kFull), "full");
  EXPECT_EQ(ToString(RecvError::kEmpty), "empty");
  EXPECT_EQ(ToString(SendError::kClosed), ToString(RecvError::kClosed));
  EXPECT_EQ(ToString(SendError::kTimedOut), ToString(RecvError::kTimedOut));
  EXPECT_EQ(fmt::format("{}", BroadcastError::kLagged), "lagged");
  EXPECT_EQ(::testing::PrintToString(RecvError::kClosed), "closed");
}

TEST(ChannelResultsTest, AskingAResultForWhatItDoesNotHoldIsABug) {
  auto [tx, rx] = Channel<int>::Bounded(1);
  SendResult<int> sent = tx.TrySend(1);
  ASSERT_TRUE(sent.ok());
  EXPECT_DEATH((void)sent.error(), "error\\(\\) on a send that succeeded");
  EXPECT_DEATH((void)sent.TakeValue(), "TakeValue\\(\\) on a send that succeeded");
  RecvResult<int> got = rx.TryRecv();
  ASSERT_TRUE(got.ok());
  EXPECT_DEATH((void)got.error(), "error\\(\\) on a receive that succeeded");
  RecvResult<int> none = rx.TryRecv();
  EXPECT_DEATH((void)none.value(), "failed receive \\(empty\\)");
}

}  // namespace
}  // namespace troupe
