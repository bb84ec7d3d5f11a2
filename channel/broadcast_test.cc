#include "channel/broadcast.h"

#include <string>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(BroadcastTest, EveryReceiverSeesEveryMessageAfterSubscribing) {
  BroadcastSender<std::string> tx = Broadcast<std::string>::Make(8);
  ASSERT_TRUE(tx.Send("before anyone listened").ok());
  BroadcastReceiver<std::string> a = tx.Subscribe();
  BroadcastReceiver<std::string> b = tx.Subscribe();
  ASSERT_TRUE(tx.Send("one").ok());
  ASSERT_TRUE(tx.Send("two").ok());
  EXPECT_EQ(*a.Recv(), "one");
  EXPECT_EQ(*a.Recv(), "two");
  EXPECT_EQ(*b.Recv(), "one");
  EXPECT_EQ(*b.Recv(), "two");
  EXPECT_EQ(a.TryRecv().error(), BroadcastError::kEmpty);
}

TEST(BroadcastTest, ASlowReceiverIsToldHowManyItMissed) {
  BroadcastSender<int> tx = Broadcast<int>::Make(4);
  BroadcastReceiver<int> slow = tx.Subscribe();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(tx.Send(i).ok());  // 6 more than it keeps
  BroadcastResult<int> first = slow.Recv();
  ASSERT_TRUE(first.lagged());
  EXPECT_EQ(first.missed(), 6u);
  for (int i = 6; i < 10; ++i) EXPECT_EQ(*slow.Recv(), i);  // then the oldest kept
}

TEST(BroadcastTest, CloseLetsReceiversDrainThenReportsClosed) {
  BroadcastSender<int> tx = Broadcast<int>::Make(4);
  BroadcastReceiver<int> rx = tx.Subscribe();
  ASSERT_TRUE(tx.Send(1).ok());
  { BroadcastSender<int> last = std::move(tx); }  // last sender gone: closed
  EXPECT_EQ(*rx.Recv(), 1);
  EXPECT_EQ(rx.Recv().error(), BroadcastError::kClosed);
}

TEST(BroadcastTest, SendAfterCloseHandsTheValueBack) {
  BroadcastSender<std::string> tx = Broadcast<std::string>::Make(4);
  tx.Close();
  SendResult<std::string> sent = tx.Send("late");
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.value(), "late");
}

TEST(BroadcastTest, RecvForTimesOut) {
  BroadcastSender<int> tx = Broadcast<int>::Make(4);
  BroadcastReceiver<int> rx = tx.Subscribe();
  EXPECT_EQ(rx.RecvFor(absl::Milliseconds(10)).error(), BroadcastError::kTimedOut);
}

// Several receivers on their own threads: each either gets every message in
// order or, if it lagged, exactly the count it missed; nothing else.
TEST(BroadcastStressTest, ReceiversAccountForEveryMessage) {
  const int64_t n = ScaledCount(100'000, 1000);
  constexpr int kReceivers = 4;
  BroadcastSender<int64_t> tx = Broadcast<int64_t>::Make(64);
  std::vector<Thread<int64_t>> receivers;
  for (int r = 0; r < kReceivers; ++r) {
    receivers.emplace_back("receiver", [rx = tx.Subscribe()]() mutable -> int64_t {
      int64_t expected = 0, accounted = 0;
      while (true) {
        BroadcastResult<int64_t> got = rx.Recv();
        if (got.ok()) {
          if (*got != expected) return -1;  // out of order or duplicated
          ++expected;
          ++accounted;
        } else if (got.lagged()) {
          expected += static_cast<int64_t>(got.missed());
          accounted += static_cast<int64_t>(got.missed());
        } else {
          return accounted;
        }
      }
    });
  }
  for (int64_t i = 0; i < n; ++i) ASSERT_TRUE(tx.Send(i).ok());
  tx.Close();
  for (auto& r : receivers) EXPECT_EQ(r.Join().value(), n);
}

}  // namespace
}  // namespace troupe
