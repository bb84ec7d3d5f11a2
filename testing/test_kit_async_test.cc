// The test kit drives actors whose handlers await: each resumption of a
// task is a step, virtual time fires its sleeps, and a seeded run of a
// scenario with awaiting handlers replays exactly.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "actor/actor.h"
#include "actor/testdata/test_messages.pb.h"
#include "async/future.h"
#include "async/leak_check_test_base.h"
#include "async/sleep.h"
#include "async/task.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_kit.h"

namespace troupe::testkit {
namespace {

// Counts coroutine frames and waits: zero left after each test.
class TestKitAsyncTest : public async_internal::LeakCheckedTest {};

// Sleeps in virtual time, then replies.
class Napper : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<test::Ping>([this](const test::Ping& ping) -> Task<test::Pong> {
          if (absl::Status s = co_await Sleep(absl::Seconds(ping.seq())); !s.ok()) co_return s;
          ++woken_;
          test::Pong pong;
          pong.set_seq(ping.seq());
          co_return pong;
        })
        .On<test::GetTotal>([this](const test::GetTotal&) {
          test::Total total;
          total.set_value(woken_);
          return total;
        });
  }

 private:
  int64_t woken_ = 0;
};

TEST_F(TestKitAsyncTest, AResumptionIsAStepAndVirtualTimeFiresSleeps) {
  TestKit kit;
  ActorRef napper = kit.system().Spawn<Napper>();
  test::Ping ping;
  ping.set_seq(10);
  Future<test::Pong> reply = napper.Ask<test::Pong>(ping, absl::Minutes(1));
  kit.RunUntilIdle();  // the handler starts and sleeps
  EXPECT_FALSE(reply.IsReady());
  EXPECT_TRUE(kit.Queued().empty()) << "a suspended task waits on the clock, not in the mailbox";

  kit.clock().Advance(absl::Seconds(10));  // the sleep ends: its step is mailed, not run
  ASSERT_EQ(kit.Queued().size(), 1u) << kit.DescribeQueued();
  EXPECT_FALSE(reply.IsReady());
  EXPECT_TRUE(kit.Step());  // the step runs the rest of the handler
  ASSERT_TRUE(reply.IsReady());
  EXPECT_EQ(reply.Get()->seq(), 10);
  EXPECT_EQ(kit.Ask<test::Total>(napper, test::GetTotal())->value(), 1);
}

// Each of kActors relays a hop to the next through an awaited ask, and
// also sleeps; what the actors log, in order, depends on the seeded
// interleaving — and only on it.
class Hopper : public Actor {
 public:
  Hopper(int index, std::vector<std::string>* log) : index_(index), log_(log) {}

 protected:
  Behavior MakeBehavior() override {
    return Behavior()
        .On<ActorRef>([this](const ActorRef& next) { next_ = next; })
        .On<test::Hop>([this](const test::Hop& hop) -> Task<test::Hop> {
          log_->push_back(absl::StrCat(index_, " got ", hop.remaining()));
          if (absl::Status s = co_await Sleep(absl::Milliseconds(index_)); !s.ok()) co_return s;
          if (hop.remaining() == 0) co_return hop;
          test::Hop next;
          next.set_remaining(hop.remaining() - 1);
          absl::StatusOr<test::Hop> answer =
              co_await Reentrant(next_.Ask<test::Hop>(next, absl::Minutes(1)));
          log_->push_back(absl::StrCat(index_, " answered ", hop.remaining()));
          co_return answer;
        });
  }

 private:
  const int index_;
  std::vector<std::string>* const log_;
  ActorRef next_;
};

std::vector<std::string> RunScenario(uint64_t seed) {
  constexpr int kActors = 4;
  std::vector<std::string> log;
  TestKitOptions options;
  options.seed = seed;
  TestKit kit(options);
  std::vector<ActorRef> hoppers;
  for (int i = 0; i < kActors; ++i) hoppers.push_back(kit.system().Spawn<Hopper>(i, &log));
  for (int i = 0; i < kActors; ++i) hoppers[i].Tell(hoppers[(i + 1) % kActors]);
  std::vector<Future<test::Hop>> replies;
  for (int i = 0; i < kActors; ++i) {
    test::Hop hop;
    hop.set_remaining(3 + i);
    replies.push_back(hoppers[i].Ask<test::Hop>(hop, absl::Minutes(1)));
  }
  kit.RunUntil(
      [&] {
        for (const Future<test::Hop>& r : replies) {
          if (!r.IsReady()) return false;
        }
        return true;
      },
      absl::Minutes(1));
  for (Future<test::Hop>& r : replies) {
    absl::StatusOr<test::Hop> hop = r.Get();
    log.push_back(hop.ok() ? absl::StrCat("done ", hop->remaining()) : hop.status().ToString());
  }
  for (const std::string& line : kit.Trace()) log.push_back(line);
  return log;
}

TEST_F(TestKitAsyncTest, ASeededRunOfAwaitingHandlersReplaysExactly) {
  std::vector<std::vector<std::string>> runs;
  for (uint64_t seed : {1, 2, 3, 42}) {
    std::vector<std::string> first = RunScenario(seed);
    EXPECT_EQ(first, RunScenario(seed)) << "seed " << seed << " did not replay";
    EXPECT_THAT(first, ::testing::Contains("done 0")) << "seed " << seed;
    runs.push_back(std::move(first));
  }
  // The seeds are not all the same run: the kit explores interleavings.
  bool differ = false;
  for (const auto& run : runs) differ = differ || run != runs[0];
  EXPECT_TRUE(differ);
}

}  // namespace
}  // namespace troupe::testkit
