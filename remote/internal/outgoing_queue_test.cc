#include "remote/internal/outgoing_queue.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "actor/message.h"
#include "gtest/gtest.h"

namespace troupe::remote_internal {
namespace {

// Mail numbered by its message (an int64 envelope), `bytes` each.
Outgoing Mail(int64_t n, size_t bytes) {
  Target target;
  target.id = 1;
  return Outgoing{std::move(target), MakeEnvelope(n), bytes};
}

std::vector<int64_t> Numbers(const std::vector<Outgoing>& batch) {
  std::vector<int64_t> numbers;
  for (const Outgoing& out : batch) numbers.push_back(out.envelope->As<int64_t>());
  return numbers;
}

TEST(OutgoingQueueTest, ABatchTakesAllThatFitsAndTradesBuffers) {
  OutgoingQueue queue;
  std::vector<Outgoing> batch;
  batch.reserve(64);  // the last batch's buffer
  const Outgoing* kept = batch.data();
  for (int64_t n = 0; n < 10; ++n) queue.Push(Mail(n, 10));
  EXPECT_EQ(queue.size(), 10u);
  EXPECT_EQ(queue.bytes(), 100u);
  queue.TakeBatch(100, batch);
  EXPECT_EQ(Numbers(batch), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
  // The queue goes on in the buffer the batch had: no allocation.
  queue.Push(Mail(10, 10));
  batch.clear();
  queue.TakeBatch(100, batch);
  EXPECT_EQ(batch.data(), kept);
}

TEST(OutgoingQueueTest, MailLargerThanTheBudgetGoesInOrderInSeveralBatches) {
  OutgoingQueue queue;
  for (int64_t n = 0; n < 10; ++n) queue.Push(Mail(n, 30));
  std::vector<int64_t> seen;
  int batches = 0;
  while (!queue.empty()) {
    std::vector<Outgoing> batch;
    queue.TakeBatch(100, batch);
    EXPECT_LE(batch.size(), 3u);  // 3 x 30 fit 100, 4 do not
    for (int64_t n : Numbers(batch)) seen.push_back(n);
    ++batches;
    EXPECT_EQ(queue.bytes(), 30 * queue.size());
  }
  EXPECT_EQ(batches, 4);
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(OutgoingQueueTest, AMessageOverTheBudgetStillGoesAlone) {
  OutgoingQueue queue;
  queue.Push(Mail(0, 500));
  queue.Push(Mail(1, 5));
  std::vector<Outgoing> batch;
  queue.TakeBatch(100, batch);
  EXPECT_EQ(Numbers(batch), (std::vector<int64_t>{0}));
  batch.clear();
  queue.TakeBatch(100, batch);
  EXPECT_EQ(Numbers(batch), (std::vector<int64_t>{1}));
  batch.clear();
  queue.TakeBatch(100, batch);  // empty: nothing
  EXPECT_TRUE(batch.empty());
}

TEST(OutgoingQueueTest, MailPushedBetweenPartialBatchesKeepsItsOrder) {
  // Batches of two, with a push after each: the head index and the
  // compaction must keep arrival order.
  OutgoingQueue queue;
  int64_t next = 0;
  for (; next < 6; ++next) queue.Push(Mail(next, 50));
  std::vector<int64_t> seen;
  for (int round = 0; round < 50; ++round) {
    std::vector<Outgoing> batch;
    queue.TakeBatch(100, batch);
    for (int64_t n : Numbers(batch)) seen.push_back(n);
    queue.Push(Mail(next++, 50));
  }
  while (!queue.empty()) {
    std::vector<Outgoing> batch;
    queue.TakeBatch(100, batch);
    for (int64_t n : Numbers(batch)) seen.push_back(n);
  }
  ASSERT_EQ(seen.size(), static_cast<size_t>(next));
  for (int64_t i = 0; i < next; ++i) EXPECT_EQ(seen[i], i);
}

TEST(OutgoingQueueTest, DrainHandsBackEverythingInOrder) {
  OutgoingQueue queue;
  for (int64_t n = 0; n < 5; ++n) queue.Push(Mail(n, 60));
  std::vector<Outgoing> batch;
  queue.TakeBatch(100, batch);  // takes 0
  std::vector<Outgoing> failed;
  queue.DrainInto(failed);
  EXPECT_EQ(Numbers(failed), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

}  // namespace
}  // namespace troupe::remote_internal
