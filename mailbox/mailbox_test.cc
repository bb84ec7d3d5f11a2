#include "mailbox/mailbox.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "base/stress.h"
#include "gtest/gtest.h"
#include "threads/latch.h"
#include "threads/semaphore.h"
#include "threads/thread.h"

namespace troupe {
namespace {

struct TestNode : MailboxNode {
  TestNode(int p, int64_t s, Lane l = Lane::kOrdinary) : producer(p), seq(s) { set_lane(l); }
  int producer;
  int64_t seq;
};

int64_t Seq(MailboxNode* node) { return static_cast<TestNode*>(node)->seq; }

TEST(MailboxTest, FirstPushOntoAnIdleMailboxWakesTheOwnerOnce) {
  Mailbox mailbox;  // idle
  TestNode a(0, 1), b(0, 2);
  EXPECT_TRUE(mailbox.IsBlocked());
  EXPECT_EQ(mailbox.Push(&a), PushResult::kWokeOwner);
  EXPECT_EQ(mailbox.Push(&b), PushResult::kPushed);
  EXPECT_FALSE(mailbox.IsBlocked());
}

TEST(MailboxTest, RunningMailboxDoesNotReportAWakeUp) {
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  TestNode a(0, 1);
  EXPECT_EQ(mailbox.Push(&a), PushResult::kPushed);
}

TEST(MailboxTest, PopsInArrivalOrder) {
  Mailbox mailbox;
  std::vector<std::unique_ptr<TestNode>> nodes;
  for (int i = 0; i < 10; ++i) {
    nodes.push_back(std::make_unique<TestNode>(0, i));
    (void)mailbox.Push(nodes.back().get());
  }
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Seq(mailbox.Pop()), i);
  EXPECT_EQ(mailbox.Pop(), nullptr);
}

TEST(MailboxTest, ARunArrivesWholeAndInOrderAfterWhatCameBefore) {
  Mailbox mailbox;  // idle
  TestNode a(0, 0), b(0, 1), c(0, 2), d(0, 3), e(0, 4);
  TestNode* run[] = {&b, &c, &d};
  EXPECT_EQ(mailbox.PushRun([&](size_t i) { return run[i]; }, 3), PushResult::kWokeOwner);
  EXPECT_EQ(mailbox.ApproximateSize(), 3u);
  for (int64_t seq = 1; seq <= 3; ++seq) ASSERT_EQ(Seq(mailbox.Pop()), seq);
  ASSERT_TRUE(mailbox.TryBlock());
  EXPECT_EQ(mailbox.Push(&a), PushResult::kWokeOwner);  // a run after a single push
  EXPECT_EQ(mailbox.PushRun([&](size_t i) { return run[i]; }, 3), PushResult::kPushed);
  EXPECT_EQ(mailbox.Push(&e), PushResult::kPushed);
  EXPECT_EQ(mailbox.ApproximateSize(), 5u);
  for (int64_t seq = 0; seq <= 4; ++seq) ASSERT_EQ(Seq(mailbox.Pop()), seq);
  EXPECT_EQ(mailbox.Pop(), nullptr);
}

TEST(MailboxTest, ARunOntoAClosedMailboxIsRefusedWhole) {
  Mailbox mailbox;
  TestNode queued(0, 0);
  (void)mailbox.Push(&queued);
  EXPECT_EQ(mailbox.Close().size(), 1u);
  TestNode a(0, 1), b(0, 2);
  TestNode* run[] = {&a, &b};
  EXPECT_EQ(mailbox.PushRun([&](size_t i) { return run[i]; }, 2), PushResult::kClosed);
  EXPECT_EQ(mailbox.Close().size(), 0u);  // nothing of the run got in
}

TEST(MailboxTest, ApproximateSizeCountsUnfetchedAndCachedNodes) {
  Mailbox mailbox;
  EXPECT_EQ(mailbox.ApproximateSize(), 0u);
  std::vector<std::unique_ptr<TestNode>> nodes;
  for (int i = 0; i < 5; ++i) {
    nodes.push_back(std::make_unique<TestNode>(
        0, i, i == 3 ? MailboxNode::Lane::kSystem : MailboxNode::Lane::kOrdinary));
    (void)mailbox.Push(nodes.back().get());
    EXPECT_EQ(mailbox.ApproximateSize(), static_cast<size_t>(i + 1));
  }
  ASSERT_NE(mailbox.Pop(), nullptr);  // fetches all five, hands out one
  EXPECT_EQ(mailbox.ApproximateSize(), 4u);
  TestNode late(0, 5);
  (void)mailbox.Push(&late);  // one unfetched on top of three cached
  ASSERT_NE(mailbox.Pop(), nullptr);
  EXPECT_EQ(mailbox.ApproximateSize(), 4u);
  MailboxNode* batch[8];
  EXPECT_EQ(mailbox.PopBatch(batch, 8), 4u);
  EXPECT_EQ(mailbox.ApproximateSize(), 0u);
  EXPECT_TRUE(mailbox.TryBlock());
  EXPECT_EQ(mailbox.ApproximateSize(), 0u);

  TestNode a(0, 6), b(0, 7);
  (void)mailbox.Push(&a);
  (void)mailbox.Push(&b);
  EXPECT_EQ(mailbox.Close().size(), 2u);
  EXPECT_EQ(mailbox.ApproximateSize(), 0u);  // closed: nothing is queued
}

TEST(MailboxTest, ApproximateSizeSaturatesAtTheStacksCountLimit) {
  Mailbox mailbox;
  std::vector<TestNode> nodes;
  nodes.reserve(70'000);
  for (int i = 0; i < 70'000; ++i) {
    nodes.emplace_back(0, i);
    (void)mailbox.Push(&nodes.back());
  }
  EXPECT_EQ(mailbox.ApproximateSize(), 65'535u);  // the stack's count saturates...
  ASSERT_NE(mailbox.Pop(), nullptr);
  EXPECT_EQ(mailbox.ApproximateSize(), 69'999u);  // ...the fetch counts them all
}

TEST(MailboxTest, TryBlockSucceedsOnlyWhenNothingIsQueued) {
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  TestNode a(0, 1), b(0, 2);
  (void)mailbox.Push(&a);
  EXPECT_FALSE(mailbox.TryBlock());  // unfetched mail
  EXPECT_EQ(Seq(mailbox.Pop()), 1);
  (void)mailbox.Push(&b);
  EXPECT_FALSE(mailbox.TryBlock());  // a message slipped in after the pop
  EXPECT_EQ(Seq(mailbox.Pop()), 2);
  EXPECT_TRUE(mailbox.TryBlock());
  EXPECT_TRUE(mailbox.IsBlocked());
  TestNode c(0, 3);
  EXPECT_EQ(mailbox.Push(&c), PushResult::kWokeOwner);  // the next push wakes it
}

TEST(MailboxTest, TryBlockFailsWhileTheCacheHoldsMail) {
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  TestNode a(0, 1), b(0, 2);
  (void)mailbox.Push(&a);
  (void)mailbox.Push(&b);
  EXPECT_EQ(Seq(mailbox.Pop()), 1);  // b is now in the owner's cache
  EXPECT_FALSE(mailbox.TryBlock());
  EXPECT_EQ(Seq(mailbox.Pop()), 2);
  EXPECT_TRUE(mailbox.TryBlock());
}

TEST(MailboxTest, SystemMessagesOvertakeOrdinaryMail) {
  Mailbox mailbox;
  TestNode o1(0, 1), o2(0, 2), s1(0, 10, MailboxNode::Lane::kSystem),
      s2(0, 11, MailboxNode::Lane::kSystem), o3(0, 3);
  (void)mailbox.Push(&o1);
  (void)mailbox.Push(&s1);
  (void)mailbox.Push(&o2);
  (void)mailbox.Push(&s2);
  EXPECT_EQ(Seq(mailbox.Pop()), 10);
  EXPECT_EQ(Seq(mailbox.Pop()), 11);
  EXPECT_EQ(Seq(mailbox.Pop()), 1);
  // A system message arriving while ordinary mail is cached overtakes it at
  // the next batch.
  (void)mailbox.Push(&o3);
  TestNode s3(0, 12, MailboxNode::Lane::kSystem);
  (void)mailbox.Push(&s3);
  MailboxNode* batch[4];
  ASSERT_EQ(mailbox.PopBatch(batch, 4), 3u);
  EXPECT_EQ(Seq(batch[0]), 12);
  EXPECT_EQ(Seq(batch[1]), 2);
  EXPECT_EQ(Seq(batch[2]), 3);
}

TEST(MailboxNodeTest, LaneAndNextShareOneWordWithoutDisturbingEachOther) {
  static_assert(sizeof(MailboxNode) == sizeof(void*));
  TestNode a(0, 1, MailboxNode::Lane::kSystem), b(0, 2);
  a.set_next(&b);
  EXPECT_EQ(a.next(), &b);
  EXPECT_EQ(a.lane(), MailboxNode::Lane::kSystem);
  a.set_lane(MailboxNode::Lane::kOrdinary);
  EXPECT_EQ(a.next(), &b);
  a.set_next(nullptr);
  EXPECT_EQ(a.lane(), MailboxNode::Lane::kOrdinary);
  EXPECT_EQ(a.next(), nullptr);
}

// Every mix of lanes in one taken stack, newest first or last: each node
// keeps its lane through the queue, and each lane keeps its order.
TEST(MailboxTest, MixedStacksKeepEveryNodesLaneAndOrder) {
  for (int pattern = 0; pattern < (1 << 6); ++pattern) {
    Mailbox mailbox;
    std::vector<std::unique_ptr<TestNode>> nodes;
    std::vector<int64_t> system_order, ordinary_order;
    for (int i = 0; i < 6; ++i) {
      const bool system = (pattern >> i) & 1;
      nodes.push_back(std::make_unique<TestNode>(
          0, i, system ? MailboxNode::Lane::kSystem : MailboxNode::Lane::kOrdinary));
      (system ? system_order : ordinary_order).push_back(i);
      (void)mailbox.Push(nodes.back().get());
    }
    std::vector<int64_t> expected = system_order;
    expected.insert(expected.end(), ordinary_order.begin(), ordinary_order.end());
    std::vector<int64_t> got;
    while (MailboxNode* node = mailbox.Pop()) {
      const bool system = node->lane() == MailboxNode::Lane::kSystem;
      EXPECT_EQ(system, ((pattern >> Seq(node)) & 1) != 0) << "pattern " << pattern;
      got.push_back(Seq(node));
    }
    EXPECT_EQ(got, expected) << "pattern " << pattern;
  }
}

TEST(MailboxTest, PopBatchTakesAtMostMax) {
  Mailbox mailbox;
  std::vector<std::unique_ptr<TestNode>> nodes;
  for (int i = 0; i < 10; ++i) {
    nodes.push_back(std::make_unique<TestNode>(0, i));
    (void)mailbox.Push(nodes.back().get());
  }
  MailboxNode* batch[4];
  EXPECT_EQ(mailbox.PopBatch(batch, 4), 4u);
  EXPECT_EQ(Seq(batch[3]), 3);
  EXPECT_EQ(mailbox.CachedSize(), 6u);
  EXPECT_EQ(mailbox.PopBatch(batch, 4), 4u);
  EXPECT_EQ(mailbox.PopBatch(batch, 4), 2u);
  EXPECT_EQ(mailbox.PopBatch(batch, 4), 0u);
}

TEST(MailboxGatherTest, WaitsForTheRestOfABatchAtTheRateTheLookSaw) {
  using mailbox_internal::GatherPauses;
  using mailbox_internal::kGatherBudget;
  using mailbox_internal::kGatherPauses;
  using mailbox_internal::kGatherTarget;
  // Nothing came during the look's pauses, or the batch is whole: no wait.
  EXPECT_EQ(GatherPauses(10, 10), 0u);
  EXPECT_EQ(GatherPauses(10, kGatherTarget), 0u);
  EXPECT_EQ(GatherPauses(10, kGatherTarget + 5), 0u);
  // 8 nodes came in kGatherPauses pauses: the 32 missing take four times that.
  EXPECT_EQ(GatherPauses(24, 32), 4 * kGatherPauses);
  // 30 came; the 4 missing take a fraction of that, rounded up to a pause.
  EXPECT_EQ(GatherPauses(30, 60), 2u);
  // A slow stream is not waited for past the budget, which counts the
  // look's own pauses.
  EXPECT_EQ(GatherPauses(2, 3), kGatherBudget - kGatherPauses);
}

TEST(MailboxTest, CloseHandsBackEverythingAndRefusesLaterPushes) {
  Mailbox mailbox;
  TestNode o1(0, 1), o2(0, 2), s1(0, 10, MailboxNode::Lane::kSystem), late(0, 99);
  (void)mailbox.Push(&o1);
  (void)mailbox.Push(&o2);
  EXPECT_EQ(Seq(mailbox.Pop()), 1);
  (void)mailbox.Push(&s1);
  MailboxNodeList rest = mailbox.Close();
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(Seq(rest.PopFront()), 10);  // system lane first
  EXPECT_EQ(Seq(rest.PopFront()), 2);
  EXPECT_TRUE(mailbox.IsClosed());
  EXPECT_EQ(mailbox.Push(&late), PushResult::kClosed);
  EXPECT_EQ(late.next(), nullptr);       // untouched: still the caller's
  EXPECT_TRUE(mailbox.Close().empty());  // idempotent
  EXPECT_FALSE(mailbox.TryBlock());      // a closed mailbox never goes idle
}

// The consumer behaves like an actor: it runs only when scheduled (a waking
// push releases the semaphore), drains, and tries to go idle. Checks: every
// message exactly once, FIFO per producer, exactly one wake-up per idle
// period, and never two runs scheduled at once.
// The owner of a mailbox that `producers` producers of `per_producer`
// TestNodes each keep waking: it runs only when `scheduled`, takes what is
// queued, checks each producer's order, and goes idle. Returns its idle
// periods, the first one counted (it starts idle).
int64_t RunOwner(Mailbox& mailbox, Semaphore& scheduled, int producers, int64_t per_producer) {
  std::vector<int64_t> next(producers, 0);
  int64_t received = 0, order_errors = 0, idle_periods = 1;
  MailboxNode* batch[64];
  while (received < producers * per_producer) {
    scheduled.Acquire();  // a run starts only when scheduled
    while (true) {
      size_t n;
      while ((n = mailbox.PopBatch(batch, 64)) > 0) {
        for (size_t k = 0; k < n; ++k) {
          auto* node = static_cast<TestNode*>(batch[k]);
          if (node->seq != next[node->producer]) ++order_errors;
          next[node->producer] = node->seq + 1;
          delete node;
        }
        received += static_cast<int64_t>(n);
      }
      if (mailbox.TryBlock()) {
        ++idle_periods;
        break;
      }
    }
  }
  EXPECT_EQ(order_errors, 0);
  return idle_periods;
}

// `producers` threads each push their `per_producer` nodes with
// produce(mailbox, p, note) — note(result) after every push — against
// RunOwner's owner, which keeps going idle; meanwhile(mailbox) runs here
// while they do. Then: every idle period but the last was ended by exactly
// one wake-up, no second run was ever scheduled, and every node was
// counted in and out.
template <typename Produce, typename Meanwhile>
void AgainstAnOwnerThatKeepsGoingIdle(int producers, int64_t per_producer, Produce produce,
                                      Meanwhile meanwhile) {
  Mailbox mailbox;  // idle
  Semaphore scheduled(0);
  std::atomic<int64_t> wakes{0};
  auto note = [&](PushResult pushed) {
    if (pushed == PushResult::kWokeOwner) {
      wakes.fetch_add(1, std::memory_order_relaxed);
      scheduled.Release();
    }
  };
  std::vector<Thread<void>> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back("producer", [&, p] { produce(mailbox, p, note); });
  }
  Thread owner("owner", [&] { return RunOwner(mailbox, scheduled, producers, per_producer); });
  meanwhile(mailbox);
  for (auto& t : threads) ASSERT_TRUE(t.Join().ok());
  absl::StatusOr<int64_t> idle_periods = owner.Join();
  ASSERT_TRUE(idle_periods.ok());
  EXPECT_EQ(wakes.load(), *idle_periods - 1);
  EXPECT_EQ(scheduled.available(), 0);
  EXPECT_TRUE(mailbox.IsBlocked());
  EXPECT_EQ(mailbox.ApproximateSize(), 0u);
}

TEST(MailboxStressTest, ProducersAgainstAnOwnerThatKeepsGoingIdle) {
  constexpr int kProducers = 4;
  const int64_t per_producer = ScaledCount(2'500'000, 1000);
  AgainstAnOwnerThatKeepsGoingIdle(
      kProducers, per_producer,
      [&](Mailbox& mailbox, int p, auto& note) {
        for (int64_t i = 0; i < per_producer; ++i) note(mailbox.Push(new TestNode(p, i)));
      },
      [&](Mailbox& mailbox) {
        // Sizes read mid-run stay within what can be queued.
        const size_t most = static_cast<size_t>(kProducers * per_producer);
        for (int i = 0; i < 1000; ++i) ASSERT_LE(mailbox.ApproximateSize(), most);
      });
}

// The same with half the producers pushing runs of 1 to 17 nodes: a run
// is one push, so each still wakes an idle owner exactly once, and runs
// and single pushes interleave without a node lost or out of order.
TEST(MailboxStressTest, RunsAndSinglePushesAgainstAnOwnerThatKeepsGoingIdle) {
  const int64_t per_producer = ScaledCount(1'000'000, 1000);
  AgainstAnOwnerThatKeepsGoingIdle(
      /*producers=*/4, per_producer,
      [&](Mailbox& mailbox, int p, auto& note) {
        std::vector<TestNode*> run;
        int64_t i = 0;
        while (i < per_producer) {
          if (p % 2 == 0) {
            note(mailbox.Push(new TestNode(p, i++)));
          } else {
            const int64_t n = std::min<int64_t>(1 + i % 17, per_producer - i);
            run.clear();
            for (int64_t k = 0; k < n; ++k) run.push_back(new TestNode(p, i++));
            note(mailbox.PushRun([&](size_t k) { return run[k]; }, run.size()));
          }
        }
      },
      [](Mailbox&) {});
}

// Producers race a Close(): every node is either delivered, handed back by
// Close(), or refused (kClosed) back to its producer. None lost, none twice.
TEST(MailboxStressTest, CloseRacingProducersLosesNothing) {
  constexpr int kProducers = 3;
  const int64_t per_producer = ScaledCount(200'000, 1000);
  const int rounds = static_cast<int>(ScaledCount(20, 3));
  for (int round = 0; round < rounds; ++round) {
    Mailbox mailbox(Mailbox::InitialState::kRunning);
    std::atomic<int64_t> refused{0};
    Latch started(kProducers);
    std::vector<Thread<void>> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.emplace_back("producer", [&, p] {
        started.CountDown();
        for (int64_t i = 0; i < per_producer; ++i) {
          auto* node = new TestNode(p, i);
          if (mailbox.Push(node) == PushResult::kClosed) {
            refused.fetch_add(1, std::memory_order_relaxed);
            delete node;  // refused: still ours
          }
        }
      });
    }
    started.Wait();
    int64_t delivered = 0;
    for (int i = 0; i < 1000; ++i) {
      if (MailboxNode* node = mailbox.Pop()) {
        ++delivered;
        delete static_cast<TestNode*>(node);
      }
    }
    MailboxNodeList rest = mailbox.Close();
    int64_t returned = 0;
    while (MailboxNode* node = rest.PopFront()) {
      ++returned;
      delete static_cast<TestNode*>(node);
    }
    for (auto& p : producers) ASSERT_TRUE(p.Join().ok());
    EXPECT_EQ(delivered + returned + refused.load(), kProducers * per_producer);
  }
}

TEST(MailboxBoundedTest, RefusesOrdinaryNodesAtCapacityButNotSystemOnes) {
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  mailbox.EnableBound();
  TestNode a(0, 1), b(0, 2), c(0, 3), refused(0, 4), signal(0, 5, MailboxNode::Lane::kSystem);
  EXPECT_EQ(mailbox.PushBounded(&a, 3), PushResult::kPushed);
  EXPECT_EQ(mailbox.PushBounded(&b, 3), PushResult::kPushed);
  EXPECT_EQ(mailbox.PushBounded(&c, 3), PushResult::kPushed);
  EXPECT_EQ(mailbox.PushBounded(&refused, 3), PushResult::kFull);
  EXPECT_EQ(mailbox.PushBounded(&signal, 3), PushResult::kPushed);  // exempt
  EXPECT_EQ(mailbox.ApproximateSize(), 4u);
  // The refused node was not queued: four come out, the signal first.
  EXPECT_EQ(Seq(mailbox.Pop()), 5);
  EXPECT_EQ(Seq(mailbox.Pop()), 1);
  EXPECT_EQ(Seq(mailbox.Pop()), 2);
  EXPECT_EQ(Seq(mailbox.Pop()), 3);
  EXPECT_EQ(mailbox.Pop(), nullptr);
}

TEST(MailboxBoundedTest, RoomAppearsAtTheOwnersNextCasNotAtEachPop) {
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  mailbox.EnableBound();
  std::vector<std::unique_ptr<TestNode>> nodes;
  for (int i = 0; i < 4; ++i) nodes.push_back(std::make_unique<TestNode>(0, i));
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(mailbox.PushBounded(nodes[i].get(), 2), PushResult::kPushed);
  ASSERT_EQ(Seq(mailbox.Pop()), 0);  // takes both; one is left
  ASSERT_EQ(Seq(mailbox.Pop()), 1);  // none left, but the bound still says 2
  EXPECT_EQ(mailbox.PushBounded(nodes[2].get(), 2), PushResult::kFull);
  mailbox.Refresh();  // the owner catches the bound up
  EXPECT_EQ(mailbox.PushBounded(nodes[2].get(), 2), PushResult::kPushed);
  EXPECT_EQ(mailbox.PushBounded(nodes[3].get(), 2), PushResult::kPushed);
  EXPECT_EQ(mailbox.ApproximateSize(), 2u);
  ASSERT_EQ(Seq(mailbox.Pop()), 2);
  ASSERT_EQ(Seq(mailbox.Pop()), 3);
  EXPECT_TRUE(mailbox.TryBlock());  // going idle resets the bound too
  TestNode late(0, 9);
  EXPECT_EQ(mailbox.PushBounded(&late, 1), PushResult::kWokeOwner);
  EXPECT_EQ(Seq(mailbox.Pop()), 9);
}

TEST(MailboxBoundedTest, RefreshLeavesTheStackInPlace) {
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  mailbox.EnableBound();
  TestNode a(0, 1), b(0, 2), c(0, 3), d(0, 4);
  ASSERT_EQ(mailbox.PushBounded(&a, 2), PushResult::kPushed);
  ASSERT_EQ(mailbox.PushBounded(&b, 2), PushResult::kPushed);
  ASSERT_EQ(Seq(mailbox.Pop()), 1);                            // b cached
  mailbox.Refresh();                                           // bound 1: b
  ASSERT_EQ(mailbox.PushBounded(&c, 2), PushResult::kPushed);  // stacked
  mailbox.Refresh();                                           // nothing popped since: no change
  EXPECT_EQ(mailbox.PushBounded(&d, 2), PushResult::kFull);
  EXPECT_EQ(mailbox.ApproximateSize(), 2u);
  EXPECT_EQ(Seq(mailbox.Pop()), 2);
  EXPECT_EQ(Seq(mailbox.Pop()), 3);
  EXPECT_EQ(mailbox.Pop(), nullptr);
  EXPECT_TRUE(mailbox.TryBlock());
}

TEST(MailboxBoundedTest, PeakIsTheDeepestAnyPushSawTheMailbox) {
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  mailbox.EnableBound();
  TestNode a(0, 1), b(0, 2), c(0, 3), d(0, 4), e(0, 5);
  uint32_t peak = 0;
  ASSERT_EQ(mailbox.PushBounded(&a, 4), PushResult::kPushed);
  ASSERT_EQ(mailbox.PushBounded(&b, 4), PushResult::kPushed);
  ASSERT_EQ(mailbox.PushBounded(&c, 4), PushResult::kPushed);
  EXPECT_EQ(mailbox.Bound(), 3u);         // raised by the pushes alone
  ASSERT_EQ(Seq(mailbox.Pop(&peak)), 1);  // the take replaces a bound of 3
  EXPECT_EQ(peak, 3u);
  ASSERT_EQ(Seq(mailbox.Pop(&peak)), 2);
  ASSERT_EQ(mailbox.PushBounded(&d, 4), PushResult::kPushed);  // bound 4, depth 2
  mailbox.Refresh(&peak);                                      // replaces the 4 with the depth, 2
  EXPECT_EQ(peak, 4u);
  EXPECT_EQ(mailbox.Bound(), 2u);
  ASSERT_EQ(mailbox.PushBounded(&e, 4), PushResult::kPushed);  // bound 3: below the peak
  ASSERT_EQ(Seq(mailbox.Pop(&peak)), 3);
  ASSERT_EQ(Seq(mailbox.Pop(&peak)), 4);
  ASSERT_EQ(Seq(mailbox.Pop(&peak)), 5);
  EXPECT_EQ(peak, 4u);
  EXPECT_EQ(mailbox.Pop(&peak), nullptr);
  EXPECT_TRUE(mailbox.TryBlock());
  EXPECT_EQ(mailbox.Bound(), 0u);  // idle
}

TEST(MailboxBoundedTest, AClosedMailboxRefusesAsClosed) {
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  mailbox.EnableBound();
  EXPECT_TRUE(mailbox.Close().empty());
  TestNode a(0, 1);
  EXPECT_EQ(mailbox.PushBounded(&a, 1), PushResult::kClosed);
}

// More than 65535 exempt nodes saturate the bound: bounded pushes are
// refused while it says nothing of the depth, and admitted again once the
// owner has counted the depth back below the capacity.
TEST(MailboxBoundedTest, ASaturatedBoundRefusesUntilTheOwnerCountsAgain) {
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  mailbox.EnableBound();
  std::vector<TestNode> signals;
  signals.reserve(70'000);
  for (int i = 0; i < 70'000; ++i) {
    signals.emplace_back(0, i, MailboxNode::Lane::kSystem);
    (void)mailbox.Push(&signals.back());
  }
  TestNode ordinary(1, 0);
  EXPECT_EQ(mailbox.PushBounded(&ordinary, Mailbox::kMaxCapacity), PushResult::kFull);
  for (int i = 0; i < 69'990; ++i) ASSERT_NE(mailbox.Pop(), nullptr);  // a saturated take
  EXPECT_EQ(mailbox.PushBounded(&ordinary, 100), PushResult::kFull);   // not counted yet
  mailbox.Refresh();                                                   // resyncs: ten left
  EXPECT_EQ(mailbox.ApproximateSize(), 10u);
  EXPECT_EQ(mailbox.PushBounded(&ordinary, 100), PushResult::kPushed);
  EXPECT_EQ(mailbox.ApproximateSize(), 11u);
  int left = 0;
  while (mailbox.Pop() != nullptr) ++left;
  EXPECT_EQ(left, 11);
  EXPECT_TRUE(mailbox.TryBlock());
}

// Producers race an owner that drains slowly and refreshes the bound: every
// node is admitted or refused (none lost), each producer's admitted nodes
// arrive in order, and the depth the owner sees never exceeds the capacity.
TEST(MailboxStressTest, BoundedProducersNeverOverfillTheMailbox) {
  constexpr int kProducers = 3;
  constexpr uint32_t kCapacity = 8;
  const int64_t per_producer = ScaledCount(200'000, 1000);
  Mailbox mailbox(Mailbox::InitialState::kRunning);
  mailbox.EnableBound();
  std::atomic<int64_t> refused{0};
  std::atomic<int> running{kProducers};
  std::vector<Thread<void>> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back("producer", [&, p] {
      for (int64_t i = 0; i < per_producer; ++i) {
        auto* node = new TestNode(p, i);
        // The owner never goes idle here, so no push wakes it.
        if (mailbox.PushBounded(node, kCapacity) == PushResult::kFull) {
          refused.fetch_add(1, std::memory_order_relaxed);
          delete node;  // refused: still ours
        }
      }
      running.fetch_sub(1, std::memory_order_release);
    });
  }
  std::vector<int64_t> next(kProducers, 0);
  int64_t received = 0, order_errors = 0, overfull = 0;
  size_t deepest = 0;
  int64_t pops = 0;
  while (true) {
    const bool producers_done = running.load(std::memory_order_acquire) == 0;
    // The owner's own view is exact for what it holds, and the bound it
    // reads covers what is stacked: together, the depth at that instant.
    const size_t depth = mailbox.ApproximateSize();
    deepest = std::max(deepest, depth);
    if (depth > kCapacity) ++overfull;
    MailboxNode* node = mailbox.Pop();
    if (node == nullptr) {
      if (producers_done) break;
      mailbox.Refresh();
      continue;
    }
    auto* test_node = static_cast<TestNode*>(node);
    if (test_node->seq < next[test_node->producer]) ++order_errors;
    next[test_node->producer] = test_node->seq + 1;
    delete test_node;
    ++received;
    if (++pops % 3 == 0) mailbox.Refresh();
  }
  for (auto& p : producers) ASSERT_TRUE(p.Join().ok());
  EXPECT_EQ(order_errors, 0);
  EXPECT_EQ(overfull, 0) << "deepest " << deepest;
  EXPECT_LE(deepest, kCapacity);
  EXPECT_EQ(received + refused.load(), kProducers * per_producer);
  EXPECT_GT(received, 0);
}

TEST(MailboxTest, PushResultsPrintAsWords) {
  EXPECT_EQ(ToString(PushResult::kWokeOwner), "woke owner");
  EXPECT_EQ(::testing::PrintToString(PushResult::kClosed), "closed");
  EXPECT_EQ(ToString(PushResult::kFull), "full");
}

}  // namespace
}  // namespace troupe
