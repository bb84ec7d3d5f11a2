#include "async/stream.h"

#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "async/block_on.h"
#include "async/channel.h"
#include "async/drain_for_test.h"
#include "async/go.h"
#include "async/leak_check_test_base.h"
#include "async/sleep.h"
#include "async/task.h"
#include "channel/channel.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "threads/thread_pool.h"

namespace troupe {
namespace {

using async_internal::Drain;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class StreamTest : public async_internal::LeakCheckedTest {};

// 0, 1, ..., n - 1, counting in `*produced` what it has yielded.
Stream<int> Numbers(int n, int* produced) {
  for (int i = 0; i < n; ++i) {
    ++*produced;
    co_yield i;
  }
}

// Numbers that wait between items (Yield goes through the executor), so
// that every pull suspends its consumer.
Stream<int> SlowNumbers(int n) {
  for (int i = 0; i < n; ++i) {
    if (absl::Status yielded = co_await Yield(); !yielded.ok()) co_yield EndStream(yielded);
    co_yield i;
  }
}

TEST_F(StreamTest, AGeneratorYieldsInOrderAndEndsOk) {
  int produced = 0;
  auto drained = BlockOn(Drain(Numbers(4, &produced)));
  ASSERT_TRUE(drained.ok());
  EXPECT_THAT(drained->first, ElementsAre(0, 1, 2, 3));
  EXPECT_TRUE(drained->second.ok());
}

TEST_F(StreamTest, EachNextPullsExactlyOneItem) {
  int produced = 0;
  absl::Status checked = BlockOn([&]() -> Task<absl::Status> {
    Stream<int> numbers = Numbers(3, &produced);
    if (produced != 0) co_return absl::InternalError("started before the first pull");
    for (int pulled = 1; pulled <= 3; ++pulled) {
      std::optional<int> item = co_await numbers.Next();
      if (!item || *item != pulled - 1 || produced != pulled) {
        co_return absl::InternalError("produced ahead of the pulls");
      }
    }
    if (co_await numbers.Next()) co_return absl::InternalError("an item past the end");
    co_return absl::OkStatus();
  }());
  EXPECT_TRUE(checked.ok()) << checked;
}

TEST_F(StreamTest, AnErrorEndComesAfterTheItemsBeforeIt) {
  auto failing = []() -> Stream<std::string> {
    co_yield std::string("a");
    co_yield "b";  // converted
    co_yield EndStream(absl::DataLossError("torn record"));
    co_yield std::string("never");
  };
  auto drained = BlockOn(Drain(failing()));
  ASSERT_TRUE(drained.ok());
  EXPECT_THAT(drained->first, ElementsAre("a", "b"));
  EXPECT_EQ(drained->second, absl::DataLossError("torn record"));
}

TEST_F(StreamTest, AnExceptionInTheProducerEndsTheStreamWithItsText) {
  auto throwing = []() -> Stream<int> {
    co_yield 1;
    throw std::runtime_error("disk on fire");
  };
  auto drained = BlockOn(Drain(throwing()));
  ASSERT_TRUE(drained.ok());
  EXPECT_THAT(drained->first, ElementsAre(1));
  EXPECT_EQ(drained->second.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(drained->second.message(), HasSubstr("disk on fire"));
}

TEST_F(StreamTest, AnLvalueYieldedIsCopiedNotMovedFrom) {
  std::string kept;
  auto names = [&]() -> Stream<std::string> {
    std::string name = "ada";
    co_yield name;
    kept = name;
  };
  auto drained = BlockOn(Drain(names()));
  ASSERT_TRUE(drained.ok());
  EXPECT_THAT(drained->first, ElementsAre("ada"));
  EXPECT_EQ(kept, "ada");
}

TEST_F(StreamTest, AdaptersOverARange) {
  EXPECT_THAT(BlockOn(Range(0, 10).Map([](int x) { return x * x; }).Collect()).value(),
              ElementsAre(0, 1, 4, 9, 16, 25, 36, 49, 64, 81));
  EXPECT_THAT(BlockOn(Range(0, 10).Filter([](int x) { return x % 3 == 0; }).Collect()).value(),
              ElementsAre(0, 3, 6, 9));
  EXPECT_THAT(BlockOn(Range(0, 10).Take(3).Collect()).value(), ElementsAre(0, 1, 2));
  EXPECT_THAT(BlockOn(Range(0, 10).TakeWhile([](int x) { return x < 4; }).Collect()).value(),
              ElementsAre(0, 1, 2, 3));
  EXPECT_THAT(BlockOn(Range(0, 0).Collect()).value(), IsEmpty());
  EXPECT_EQ(BlockOn(Range(0, 100).Filter([](int x) { return x % 2 == 1; }).Count()).value(), 50);
  EXPECT_EQ(
      BlockOn(Range<int64_t>(1, 101).Fold(int64_t{0}, [](int64_t s, int64_t x) { return s + x; }))
          .value(),
      5050);
  EXPECT_THAT(BlockOn(Iterate(std::vector<std::string>{"x", "y"})
                          .Map([](std::string s) { return s + s; })
                          .Collect())
                  .value(),
              ElementsAre("xx", "yy"));
}

TEST_F(StreamTest, AdaptersOverAProducerThatWaitsBetweenItems) {
  ThreadPool pool(2);
  // Filter's pull goes on in a coroutine of its own whenever the source
  // suspends; Take stops pulling after its count.
  JoinHandle<std::vector<int>> handle = Go(pool, [] {
    return SlowNumbers(100)
        .Filter([](int x) { return x % 7 == 0; })
        .Map([](int x) { return x + 1; })
        .Take(5)
        .Collect();
  });
  EXPECT_THAT(handle.Get().value(), ElementsAre(1, 8, 15, 22, 29));
}

TEST_F(StreamTest, TakeDoesNotPullPastItsCount) {
  int produced = 0;
  EXPECT_EQ(BlockOn(Numbers(1000, &produced).Take(3).Count()).value(), 3);
  EXPECT_EQ(produced, 3);
}

TEST_F(StreamTest, TakeWhileEndsOkAtTheFirstRefusal) {
  auto failing_later = []() -> Stream<int> {
    co_yield 1;
    co_yield 9;
    co_yield EndStream(absl::UnavailableError("never reached"));
  };
  auto drained = BlockOn(Drain(failing_later().TakeWhile([](int x) { return x < 5; })));
  ASSERT_TRUE(drained.ok());
  EXPECT_THAT(drained->first, ElementsAre(1));
  EXPECT_TRUE(drained->second.ok());
}

TEST_F(StreamTest, ASourcesErrorPassesThroughTheAdapters) {
  auto failing = []() -> Stream<int> {
    co_yield 1;
    co_yield 2;
    co_yield EndStream(absl::AbortedError("source gave up"));
  };
  auto drained =
      BlockOn(Drain(failing().Map([](int x) { return x * 10; }).Filter([](int) { return true; })));
  ASSERT_TRUE(drained.ok());
  EXPECT_THAT(drained->first, ElementsAre(10, 20));
  EXPECT_EQ(drained->second, absl::AbortedError("source gave up"));
  EXPECT_EQ(BlockOn(failing().Count()).status(), absl::AbortedError("source gave up"));
}

TEST_F(StreamTest, AnExceptionInAStageEndsTheStreamAfterTheItemsBeforeIt) {
  auto map_throws = BlockOn(Drain(Range(0, 10).Map([](int x) {
    if (x == 3) throw std::runtime_error("bad three");
    return x;
  })));
  ASSERT_TRUE(map_throws.ok());
  EXPECT_THAT(map_throws->first, ElementsAre(0, 1, 2));
  EXPECT_EQ(map_throws->second.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(map_throws->second.message(), HasSubstr("bad three"));

  // A predicate that throws while the filter pulls on in its coroutine.
  ThreadPool pool(2);
  auto filtered = Go(pool, [] {
    return Drain(SlowNumbers(10).Filter([](int x) {
      if (x == 5) throw std::runtime_error("bad five");
      return x % 2 == 0;
    }));
  });
  auto drained = filtered.Get();
  ASSERT_TRUE(drained.ok());
  EXPECT_THAT(drained->first, ElementsAre(0, 2, 4));
  EXPECT_THAT(drained->second.message(), HasSubstr("bad five"));
}

TEST_F(StreamTest, ForEachRunsPlainStatusAndTaskFunctionsAndStopsAtTheFirstError) {
  std::vector<int> seen;
  EXPECT_TRUE(BlockOn(Range(0, 3).ForEach([&](int x) { seen.push_back(x); })).ok());
  EXPECT_THAT(seen, ElementsAre(0, 1, 2));

  seen.clear();
  absl::Status stopped = BlockOn(Range(0, 10).ForEach([&](int x) {
    seen.push_back(x);
    return x == 2 ? absl::CancelledError("enough") : absl::OkStatus();
  }));
  EXPECT_EQ(stopped, absl::CancelledError("enough"));
  EXPECT_THAT(seen, ElementsAre(0, 1, 2));

  seen.clear();
  absl::Status awaited = BlockOn(Range(0, 10).ForEach([&](int x) -> Task<int> {
    seen.push_back(x);
    if (x == 1) co_return absl::NotFoundError("one");
    co_return x;
  }));
  EXPECT_EQ(awaited, absl::NotFoundError("one"));
  EXPECT_THAT(seen, ElementsAre(0, 1));
}

// Sets a flag when destroyed: shows that a frame unwound.
struct Unwinds {
  bool* flag;
  ~Unwinds() { *flag = true; }
};

TEST_F(StreamTest, DroppingAStreamUnwindsItsProducer) {
  bool unwound = false;
  auto guarded = [&]() -> Stream<int> {
    Unwinds guard{&unwound};
    for (int i = 0;; ++i) co_yield i;
  };
  absl::Status dropped = BlockOn([&]() -> Task<absl::Status> {
    Stream<int> endless = guarded();
    co_await endless.Next();
    co_await endless.Next();
    if (unwound) co_return absl::InternalError("unwound too early");
    co_return absl::OkStatus();
  }());
  EXPECT_TRUE(dropped.ok()) << dropped;
  EXPECT_TRUE(unwound);
}

TEST_F(StreamTest, CancellingTheConsumerEndsTheProducersWaitAndDeliversNothingMore) {
  ThreadPool pool(2);
  auto [tx, rx] = Channel<int>::Unbounded();
  ASSERT_TRUE(tx.Send(7).ok());
  std::atomic<int> delivered{0};
  // The producer forwards the channel's values and, cancelled, yields one
  // more anyway: the consumer must not see it.
  auto forward = [](Receiver<int>& from) -> Stream<int> {
    while (true) {
      RecvResult<int> got = co_await Recv(from);
      if (!got.ok()) {
        co_yield -1;  // ignores the cancellation
        co_return;
      }
      co_yield *got;
    }
  };
  JoinHandle<absl::Status> consumer = Go(
      pool,
      [&](Receiver<int> from) -> Task<absl::Status> {
        Stream<int> values = forward(from);
        while (std::optional<int> value = co_await values.Next()) {
          if (*value < 0) co_return absl::InternalError("a value after the cancel");
          delivered.fetch_add(1);
        }
        co_return values.status();
      },
      std::move(rx));
  while (delivered.load() == 0) std::this_thread::yield();
  consumer.Cancel();
  absl::StatusOr<absl::Status> ended = consumer.Get();
  ASSERT_TRUE(ended.ok()) << ended.status();
  EXPECT_EQ(ended->code(), absl::StatusCode::kCancelled) << *ended;
  EXPECT_EQ(delivered.load(), 1);
}

TEST_F(StreamTest, AMillionItemsPassInConstantStack) {
  int produced = 0;
  EXPECT_EQ(BlockOn(Numbers(1'000'000, &produced).Map([](int x) { return x; }).Count()).value(),
            1'000'000);
}

}  // namespace
}  // namespace troupe
