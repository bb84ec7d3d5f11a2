// Exports: one number per receiver, finished receivers swept so the table
// stays proportional to the live ones, and many threads at once.

#include "remote/internal/exports.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "actor/actor.h"
#include "actor/actor_system.h"
#include "actor/system.pb.h"
#include "base/stress.h"
#include "gtest/gtest.h"
#include "testing/eventually.h"

namespace troupe::remote_internal {
namespace {

class Idle : public Actor {
 protected:
  Behavior MakeBehavior() override {
    return Behavior().On<int>([](int) {});
  }
};

TEST(ExportsTest, OneNumberPerReceiverAndBackAgain) {
  ActorSystem system;
  Exports exports;
  ActorRef a = system.Spawn<Idle>();
  ActorRef b = system.Spawn<Idle>();
  const uint64_t id_a = exports.Export(a.target());
  const uint64_t id_b = exports.Export(b.target());
  EXPECT_NE(id_a, 0u);
  EXPECT_NE(id_a, id_b);
  EXPECT_EQ(exports.Export(a.target()), id_a);
  EXPECT_EQ(exports.Find(id_a).get(), a.target().get());
  EXPECT_EQ(exports.Find(id_b).get(), b.target().get());
  EXPECT_FALSE(exports.Find(id_b + 1000));
  EXPECT_EQ(exports.size(), 2u);
  exports.Clear();
  EXPECT_FALSE(exports.Find(id_a));
  EXPECT_EQ(exports.size(), 0u);
}

TEST(ExportsTest, FinishedReceiversAreSweptAsTheTableGrows) {
  ActorSystem system;
  Exports exports;
  ActorRef keeper = system.Spawn<Idle>();
  const uint64_t kept = exports.Export(keeper.target());
  // Many receivers that finish: the table must not keep them all.
  for (int round = 0; round < 8; ++round) {
    std::vector<ActorRef> batch;
    for (int i = 0; i < 1000; ++i) batch.push_back(system.Spawn<Idle>());
    for (const ActorRef& ref : batch) (void)exports.Export(ref.target());
    for (const ActorRef& ref : batch) ref.Tell(proto::Stop());
    for (const ActorRef& ref : batch) testkit::WaitUntilStopped(ref);
  }
  (void)exports.Export(system.Spawn<Idle>().target());  // one more, to sweep if due
  EXPECT_LT(exports.size(), 3000u) << "finished receivers were not swept";
  EXPECT_EQ(exports.Find(kept).get(), keeper.target().get()) << "a live receiver was swept";
}

TEST(ExportsTest, ManyThreadsExportAndFind) {
  ActorSystem system;
  Exports exports;
  constexpr int kThreads = 4;
  const int kRefs = static_cast<int>(ScaledCount(200, 20));
  std::vector<std::vector<ActorRef>> refs(kThreads);
  for (auto& mine : refs) {
    for (int i = 0; i < kRefs; ++i) mine.push_back(system.Spawn<Idle>());
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int pass = 0; pass < 10; ++pass) {
        for (const ActorRef& ref : refs[t]) {
          const uint64_t id = exports.Export(ref.target());
          if (exports.Find(id).get() != ref.target().get()) wrong.fetch_add(1);
          // Another thread's ref, exported by it or not yet.
          const ActorRef& other = refs[(t + 1) % kThreads][pass % kRefs];
          if (exports.Export(other.target()) == 0) wrong.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(exports.size(), static_cast<size_t>(kThreads * kRefs));
}

}  // namespace
}  // namespace troupe::remote_internal
