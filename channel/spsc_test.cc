#include "channel/spsc.h"

#include <memory>
#include <string>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/thread.h"

namespace troupe {
namespace {

TEST(SpscTest, FullAndEmptyAreReportedWithoutBlocking) {
  auto [tx, rx] = SpscChannel<std::string>::Make(2);
  EXPECT_EQ(rx.TryRecv().error(), RecvError::kEmpty);
  EXPECT_TRUE(tx.TrySend("a").ok());
  EXPECT_TRUE(tx.TrySend("b").ok());
  SendResult<std::string> full = tx.TrySend("c");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.reason(), SendErrorReason::kFull);
  EXPECT_EQ(full.value(), "c");
  EXPECT_EQ(tx.Size(), 2u);
  EXPECT_EQ(*rx.TryRecv(), "a");
  EXPECT_EQ(*rx.TryRecv(), "b");
}

TEST(SpscTest, CapacityIsExactEvenWhenNotAPowerOfTwo) {
  auto [tx, rx] = SpscChannel<int>::Make(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(tx.TrySend(i).ok());
  EXPECT_FALSE(tx.TrySend(3).ok());
  EXPECT_EQ(tx.Capacity(), 3u);
}

TEST(SpscTest, SenderGoneClosesAfterDrain) {
  auto [tx, rx] = SpscChannel<int>::Make(4);
  ASSERT_TRUE(tx.Send(1).ok());
  { SpscSender<int> gone = std::move(tx); }
  EXPECT_EQ(*rx.Recv(), 1);
  EXPECT_EQ(rx.Recv().error(), RecvError::kClosed);
}

TEST(SpscTest, ReceiverGoneFailsSendsWithTheValue) {
  auto [tx, rx] = SpscChannel<std::unique_ptr<int>>::Make(4);
  { SpscReceiver<std::unique_ptr<int>> gone = std::move(rx); }
  SendResult<std::unique_ptr<int>> sent = tx.Send(std::make_unique<int>(3));
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.reason(), SendErrorReason::kClosed);
  EXPECT_EQ(*sent.value(), 3);
}

TEST(SpscTest, TimeoutsOnBothSides) {
  auto [tx, rx] = SpscChannel<int>::Make(1);
  EXPECT_EQ(rx.RecvFor(absl::Milliseconds(10)).error(), RecvError::kTimedOut);
  ASSERT_TRUE(tx.Send(1).ok());
  SendResult<int> late = tx.SendFor(2, absl::Milliseconds(10));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.reason(), SendErrorReason::kTimedOut);
}

TEST(SpscTest, CloseWakesASleepingReceiver) {
  auto [tx, rx] = SpscChannel<int>::Make(4);
  Thread receiver("receiver", [rx = std::move(rx)]() mutable { return rx.Recv().error(); });
  absl::SleepFor(absl::Milliseconds(30));  // long enough to be asleep
  tx.Close();
  EXPECT_EQ(receiver.Join().value(), RecvError::kClosed);
}

// A small ring forces both sides to fill, empty, sleep and wake constantly;
// every value arrives, in order, once.
TEST(SpscStressTest, InOrderThroughASmallRing) {
  const int64_t n = ScaledCount(5'000'000, 10'000);
  auto [tx, rx] = SpscChannel<int64_t>::Make(8);
  Thread producer("producer", [tx = std::move(tx), n]() mutable {
    for (int64_t i = 0; i < n; ++i) {
      if (!tx.Send(i).ok()) return false;
      if (i % 100'000 == 0) absl::SleepFor(absl::Microseconds(300));  // let the consumer park
    }
    return true;
  });
  int64_t expected = 0;
  for (int64_t& v : rx) {
    ASSERT_EQ(v, expected);
    ++expected;
  }
  EXPECT_EQ(expected, n);
  EXPECT_TRUE(producer.Join().value());
}

}  // namespace
}  // namespace troupe
