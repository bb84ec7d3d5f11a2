// The stream adapters that are coroutines or run tasks of their own
// (async/internal/stream_async.h): FlatMap, Zip, Merge, Batch, Buffer,
// MapAsync, and the channel, timer and file sources and sinks.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "async/block_on.h"
#include "async/channel.h"
#include "async/drain_for_test.h"
#include "async/go.h"
#include "async/leak_check_test_base.h"
#include "async/sleep.h"
#include "async/stream.h"
#include "async/task.h"
#include "channel/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"
#include "testing/virtual_clock.h"
#include "threads/thread_pool.h"

namespace troupe {
namespace {

using async_internal::Drain;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using testkit::Eventually;
using testkit::VirtualClock;

class StreamAsyncTest : public async_internal::LeakCheckedTest {};

Stream<int> FailingAfter(std::vector<int> items, absl::Status error) {
  for (int item : items) co_yield item;
  co_yield EndStream(std::move(error));
}

TEST_F(StreamAsyncTest, FlatMapYieldsEachInnerStreamInTurn) {
  auto flat = BlockOn(Range(1, 4).FlatMap([](int n) { return Range(0, n); }).Collect());
  EXPECT_THAT(flat.value(), ElementsAre(0, 0, 1, 0, 1, 2));

  auto failing = BlockOn(Drain(
      Range(0, 5).FlatMap([](int n) { return FailingAfter({n}, absl::DataLossError("inner")); })));
  ASSERT_TRUE(failing.ok());
  EXPECT_THAT(failing->first, ElementsAre(0));
  EXPECT_EQ(failing->second, absl::DataLossError("inner"));
}

TEST_F(StreamAsyncTest, ZipPairsUntilEitherEnds) {
  auto zipped = BlockOn(Zip(Range(0, 10), Iterate(std::vector<std::string>{"a", "b"})).Collect());
  EXPECT_THAT(zipped.value(), ElementsAre(std::make_pair(0, std::string("a")),
                                          std::make_pair(1, std::string("b"))));
  auto failing = BlockOn(Drain(Zip(FailingAfter({1}, absl::AbortedError("a")), Range(0, 10))));
  ASSERT_TRUE(failing.ok());
  EXPECT_EQ(failing->first.size(), 1u);
  EXPECT_EQ(failing->second, absl::AbortedError("a"));
}

TEST_F(StreamAsyncTest, FromChannelAndToChannelCarryEveryItem) {
  ThreadPool pool(2);
  auto [tx, rx] = Channel<int>::Bounded(2);
  // A pump into the channel, a stream out of it.
  JoinHandle<absl::Status> sink = Go(
      pool, [](Sender<int> tx) { return Range(0, 100).ToChannel(std::move(tx)); }, std::move(tx));
  JoinHandle<std::vector<int>> source = Go(
      pool, [](Receiver<int> rx) { return FromChannel(std::move(rx)).Collect(); }, std::move(rx));
  EXPECT_TRUE(sink.Get().ok());
  std::vector<int> got = source.Get().value();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], i);
}

// A Filter whose source must wait goes on pulling in a coroutine of its
// own; a channel's (and a Buffer's) awaiter tries its source in
// await_ready(), so it must be asked that only once.
TEST_F(StreamAsyncTest, AFilterGoesOnPullingASourceThatMustWait) {
  ThreadPool pool(2);
  auto [tx, rx] = Channel<int>::Unbounded();
  auto [btx, brx] = Channel<int>::Unbounded();
  JoinHandle<std::vector<int>> direct = Go(
      pool,
      [](Receiver<int> rx) {
        return FromChannel(std::move(rx)).Filter([](int x) { return x % 2 == 0; }).Collect();
      },
      std::move(rx));
  JoinHandle<std::vector<int>> buffered = Go(
      pool,
      [](Receiver<int> rx) {
        return FromChannel(std::move(rx))
            .Buffer(2)
            .Filter([](int x) { return x % 2 == 0; })
            .Collect();
      },
      std::move(brx));
  for (int i = 1; i <= 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // let them wait
    ASSERT_TRUE(tx.Send(i).ok());
    ASSERT_TRUE(btx.Send(i).ok());
  }
  tx.Close();
  btx.Close();
  EXPECT_THAT(direct.Get().value(), ElementsAre(2, 4, 6));
  EXPECT_THAT(buffered.Get().value(), ElementsAre(2, 4, 6));
}

TEST_F(StreamAsyncTest, ToChannelStopsWhenTheReceiversAreGone) {
  ThreadPool pool(2);
  bool unwound = false;
  struct Unwinds {
    bool* flag;
    ~Unwinds() { *flag = true; }
  };
  auto endless = [](bool* flag) -> Stream<int> {
    Unwinds guard{flag};
    for (int i = 0;; ++i) co_yield i;
  };
  auto [tx, rx] = Channel<int>::Bounded(4);
  { Receiver<int> gone = std::move(rx); }
  JoinHandle<absl::Status> sink = Go(
      pool, [&](Sender<int> tx) { return endless(&unwound).ToChannel(std::move(tx)); },
      std::move(tx));
  absl::Status ended = sink.Get();
  EXPECT_EQ(ended.code(), absl::StatusCode::kFailedPrecondition) << ended;
  EXPECT_TRUE(unwound);
}

// Counts the items alive (a moved-from instance holds none): a Buffer's
// memory is its live items.
struct Tracked {
  static inline std::atomic<int> live{0};
  static inline std::atomic<int> most{0};
  explicit Tracked(int v) : value(v), owns(true) { Count(+1); }
  Tracked(Tracked&& other) noexcept : value(other.value), owns(std::exchange(other.owns, false)) {}
  Tracked& operator=(Tracked&& other) noexcept {
    if (owns) Count(-1);
    value = other.value;
    owns = std::exchange(other.owns, false);
    return *this;
  }
  ~Tracked() {
    if (owns) Count(-1);
  }
  static void Count(int delta) {
    const int now = live.fetch_add(delta) + delta;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
  }
  int value;
  bool owns;
};

TEST_F(StreamAsyncTest, ASlowConsumerBehindABufferKeepsItsMemoryBounded) {
  ThreadPool pool(2);
  constexpr size_t kBuffer = 8;
  Tracked::most = 0;
  auto fast = []() -> Stream<Tracked> {
    for (int i = 0; i < 1000; ++i) co_yield Tracked(i);
  };
  JoinHandle<int64_t> consumer = Go(pool, [&]() -> Task<int64_t> {
    auto buffered = fast().Buffer(kBuffer);
    int64_t sum = 0;
    while (std::optional<Tracked> item = co_await buffered.Next()) {
      sum += item->value;
      for (int i = 0; i < 3; ++i) (void)co_await Yield();  // slower than the producer
    }
    if (!buffered.status().ok()) co_return buffered.status();
    co_return sum;
  });
  EXPECT_EQ(consumer.Get().value(), 999 * 1000 / 2);
  EXPECT_EQ(Tracked::live.load(), 0);
  // The buffer's n (channel and the two runs), the producer's item in
  // hand, the consumer's: never the whole stream.
  EXPECT_LE(Tracked::most.load(), static_cast<int>(kBuffer) + 4);
  EXPECT_GE(Tracked::most.load(), static_cast<int>(kBuffer) / 2);  // it did run ahead
}

TEST_F(StreamAsyncTest, ABufferPassesTheSourcesErrorAfterItsItems) {
  ThreadPool pool(2);
  auto drained = Go(pool, [] {
    return Drain(FailingAfter({1, 2, 3}, absl::DataLossError("torn")).Buffer(2));
  });
  auto result = drained.Get();
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->first, ElementsAre(1, 2, 3));
  EXPECT_EQ(result->second, absl::DataLossError("torn"));
}

TEST_F(StreamAsyncTest, AdaptersThatStartTasksSayWhyWithoutAnExecutor) {
  auto buffered = BlockOn(Drain(Range(0, 3).Buffer(2)));
  ASSERT_TRUE(buffered.ok());
  EXPECT_EQ(buffered->second.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(buffered->second.message(), HasSubstr("Buffer()"));
  auto zero = BlockOn(Range(0, 3).MapAsync([](int x) { return x; }, 0).Count());
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(StreamAsyncTest, MapAsyncRunsUpToItsLimitAtOnceAndKeepsTheOrder) {
  ThreadPool pool(2);
  VirtualClock clock;
  constexpr int kLimit = 3;
  std::atomic<int> running{0};
  std::atomic<int> most{0};
  // Every call sleeps on the virtual clock until the test moves it on, so
  // the limit is reached for certain; within a round, later items finish
  // first.
  auto slow_square = [&](int x) -> Task<int> {
    const int now = running.fetch_add(1) + 1;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    absl::Status slept = co_await Sleep(absl::Milliseconds(10 - x % kLimit));
    running.fetch_sub(1);
    if (!slept.ok()) co_return slept;
    co_return x* x;
  };
  JoinHandle<std::vector<int>> squares =
      Go(pool, clock, [&] { return Range(0, 2 * kLimit).MapAsync(slow_square, kLimit).Collect(); });
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(
        Eventually([&] { return running.load() == kLimit && clock.pending_timers() == kLimit; }));
    clock.Advance(absl::Milliseconds(10));
  }
  EXPECT_THAT(squares.Get().value(), ElementsAre(0, 1, 4, 9, 16, 25));
  EXPECT_EQ(most.load(), kLimit);
}

TEST_F(StreamAsyncTest, MapAsyncUnorderedGivesEachResultWhenItIsReady) {
  ThreadPool pool(2);
  auto [gate_tx, gate_rx] = Channel<int>::Unbounded();
  Receiver<int>& gate =
      gate_rx;  // (a structured binding cannot be captured before C++20 in clang 14)
  std::vector<int> seen;
  std::atomic<int> count{0};
  // Item 0 waits for the gate; 1 and 2 finish at once and come out first.
  JoinHandle<absl::Status> consumer = Go(pool, [&]() -> Task<absl::Status> {
    co_return co_await Range(0, 3)
        .MapAsyncUnordered(
            [&](int x) -> Task<int> {
              if (x == 0) (void)co_await Recv(gate);
              co_return x * 10;
            },
            3)
        .ForEach([&](int x) {
          seen.push_back(x);
          count.fetch_add(1);
        });
  });
  ASSERT_TRUE(Eventually([&] { return count.load() == 2; }));
  ASSERT_TRUE(gate_tx.Send(1).ok());
  EXPECT_TRUE(consumer.Get().ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_THAT(seen, UnorderedElementsAre(0, 10, 20));
  EXPECT_EQ(seen.back(), 0);
}

TEST_F(StreamAsyncTest, MapAsyncEndsWithTheFirstFailedResultAfterTheOnesBefore) {
  ThreadPool pool(2);
  auto drained = Go(pool, [] {
    return Drain(Range(0, 10).MapAsync(
        [](int x) -> Task<int> {
          if (x == 3) co_return absl::NotFoundError("three");
          if (x == 5) throw std::runtime_error("never reached in order");
          co_return x;
        },
        2));
  });
  auto result = drained.Get();
  ASSERT_TRUE(result.ok());
  EXPECT_THAT(result->first, ElementsAre(0, 1, 2));
  EXPECT_EQ(result->second, absl::NotFoundError("three"));
}

TEST_F(StreamAsyncTest, MergeTakesFromEveryStreamAndEndsWithTheFirstError) {
  ThreadPool pool(2);
  auto merged = Go(pool, [] { return Merge(Range(0, 3), Range(10, 12), Range(20, 21)).Collect(); });
  EXPECT_THAT(merged.Get().value(), UnorderedElementsAre(0, 1, 2, 10, 11, 20));

  auto failing = Go(pool, [] {
    return Drain(Merge(FailingAfter({1}, absl::AbortedError("one")), Range(100, 103)));
  });
  auto result = failing.Get();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->second, absl::AbortedError("one"));
  EXPECT_THAT(result->first, ::testing::Contains(1));
}

TEST_F(StreamAsyncTest, BatchFlushesWhenFullWhenItsTimeComesAndAtTheEnd) {
  ThreadPool pool(2);
  VirtualClock clock;
  auto [tx, rx] = Channel<int>::Unbounded();
  auto [out_tx, out_rx] = Channel<std::vector<int>>::Unbounded();
  JoinHandle<absl::Status> batcher = Go(
      pool, clock,
      [](Receiver<int> rx, Sender<std::vector<int>> out) {
        return FromChannel(std::move(rx))
            .Batch(3, absl::Milliseconds(10))
            .ToChannel(std::move(out));
      },
      std::move(rx), std::move(out_tx));
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(tx.Send(i).ok());
  EXPECT_THAT(out_rx.Recv().value(), ElementsAre(1, 2, 3));  // full
  // 4 waits for its time: nothing before the clock moves on.
  ASSERT_TRUE(Eventually([&] { return clock.pending_timers() > 0; }));
  EXPECT_FALSE(out_rx.RecvFor(absl::Milliseconds(20)).ok());
  clock.Advance(absl::Milliseconds(10));
  EXPECT_THAT(out_rx.Recv().value(), ElementsAre(4));  // on time
  ASSERT_TRUE(tx.Send(5).ok());
  tx.Close();
  EXPECT_THAT(out_rx.Recv().value(), ElementsAre(5));  // at the end
  EXPECT_TRUE(batcher.Get().ok());
  EXPECT_FALSE(out_rx.Recv().ok());  // closed: nothing more
}

TEST_F(StreamAsyncTest, IntervalTicksOnTheStrandsClock) {
  ThreadPool pool(2);
  VirtualClock clock;
  JoinHandle<std::vector<int64_t>> ticks =
      Go(pool, clock, [] { return Interval(absl::Seconds(1)).Take(3).Collect(); });
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(Eventually([&] { return clock.pending_timers() == 1; }));
    clock.Advance(absl::Seconds(1));
  }
  EXPECT_THAT(ticks.Get().value(), ElementsAre(0, 1, 2));
}

// An endless source that waits between items, as a slow producer does.
Stream<int> Endless() {
  for (int i = 0;; ++i) {
    (void)co_await Yield();  // cancelled or not, it goes on: only a drop ends it
    co_yield i;
  }
}

// A consumer that stops early drops a chain whose tasks are still running:
// they are cancelled and every frame is freed (the fixture checks the
// count of live frames at the end of each test).
TEST_F(StreamAsyncTest, AConsumerThatStopsEarlyFreesEveryTaskAndFrame) {
  // The clock outlives the pool: the tasks of the dropped chains end on the
  // pool after the consumers have (a Batch's timer is on the clock).
  VirtualClock clock;
  ThreadPool pool(2);
  auto buffered = Go(pool, [] { return Endless().Buffer(4).Take(3).Collect(); });
  auto merged = Go(pool, [] { return Merge(Endless(), Endless()).Take(5).Count(); });
  auto mapped = Go(pool, [] {
    return Endless()
        .MapAsync(
            [](int x) -> Task<int> {
              (void)co_await Yield();
              co_return x;
            },
            3)
        .Take(4)
        .Collect();
  });
  auto batched = Go(pool, clock, [] { return Endless().Batch(2, absl::Hours(1)).Take(2).Count(); });
  EXPECT_THAT(buffered.Get().value(), ElementsAre(0, 1, 2));
  EXPECT_EQ(merged.Get().value(), 5);
  EXPECT_THAT(mapped.Get().value(), ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(batched.Get().value(), 2);
}

TEST_F(StreamAsyncTest, FileLinesReadsAFileOrSaysWhyNot) {
  const std::string path = ::testing::TempDir() + "/stream_lines.txt";
  FILE* file = std::fopen(path.c_str(), "w");
  ASSERT_NE(file, nullptr);
  std::fputs("alpha\nbeta\n\ngamma", file);
  std::fclose(file);
  EXPECT_THAT(BlockOn(FileLines(path).Collect()).value(),
              ElementsAre("alpha", "beta", "", "gamma"));
  EXPECT_EQ(BlockOn(FileLines(path + ".missing").Count()).status().code(),
            absl::StatusCode::kNotFound);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace troupe
