// -----------------------------------------------------------------------------
// File: test_kit.h
// -----------------------------------------------------------------------------
//
// `TestKit`: an actor system that runs on the test's own thread, one message
// at a time, in virtual time. Same input, same interleaving, every run.
//
//   troupe::testkit::TestKit kit;
//   troupe::ActorRef counter = kit.system().Spawn<Counter>();
//   counter.Tell(Add{2});
//   EXPECT_EQ(kit.Queued().size(), 1u);         // nothing has run yet
//   kit.Step();                                 // exactly one message
//   kit.RunUntilIdle();                         // everything that follows
//   absl::StatusOr<int64_t> total = kit.Ask<int64_t>(counter, Get{});
//   kit.AdvanceTime(absl::Seconds(30));         // timers and ask timeouts fire
//   EXPECT_THAT(kit.Trace(), Contains("handle counter#1: Add"));
//
// Deterministic: the scheduler has no threads (every turn runs inside
// Step() / RunUntilIdle() / AdvanceTime()), the clock is virtual, the
// throughput is one message per turn, actor ids restart at 1 in each kit,
// and the system gives no memory back (its checks would be timers of its
// own on the test's clock: ActorSystemOptions::memory_check_interval). With `TestKitOptions::seed`
// set, the order of the waiting turns is a seeded random pick instead of FIFO: run a test under
// many seeds to explore interleavings, and a failure message names the seed that replays it.
//
// Blocking calls wait for threads that do not exist here: use kit.Ask()
// rather than ActorRef::Ask().Get(), and TestProbe's expectations, which run
// the system for you.
//
// The destructor shuts the system down, running every actor's OnStop.
//
// Thread-safety: use a TestKit from the test's thread only.

#ifndef TROUPE_TESTING_TEST_KIT_H_
#define TROUPE_TESTING_TEST_KIT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "actor/actor_system.h"
#include "gtest/gtest.h"
#include "testing/deterministic_scheduler.h"
#include "testing/virtual_clock.h"

namespace troupe::testkit {

struct TestKitOptions {
  // 0: waiting turns run in FIFO order; otherwise in a random order drawn
  // from this seed (the same seed, the same order).
  uint64_t seed = 0;
  // RunUntilIdle() gives up (and fails the test) after this many steps.
  int max_steps = 1'000'000;
  std::string name = "test";
};

// A message waiting in an actor's mailbox.
struct QueuedMessage {
  ActorRef to;
  std::string type;  // the message type's name
  std::string text;  // protobuf text format, or the type name for other values
};

class TestKit {
 public:
  explicit TestKit(TestKitOptions options = TestKitOptions());
  ~TestKit();
  TestKit(const TestKit&) = delete;
  TestKit& operator=(const TestKit&) = delete;

  ActorSystem& system() { return *system_; }

  // TestKit::Step()
  //
  // Runs one turn: one actor handles one message (or starts, or stops).
  // False if nothing was waiting.
  bool Step();

  // TestKit::RunUntilIdle()
  //
  // Steps until nothing is waiting; returns the number of steps. Fails the
  // test if the system is still busy after `max_steps`.
  int RunUntilIdle();

  // TestKit::AdvanceTime()
  //
  // Moves virtual time forward by `d`, firing timers in order and running
  // the system until idle after each, so that what a timer causes happens
  // before the next timer is due.
  void AdvanceTime(absl::Duration d);
  absl::Time Now() const { return clock_->Now(); }

  // TestKit::RunUntil()
  //
  // Runs the system, and moves virtual time forward timer by timer (at
  // most by `limit`), until `done()` holds. Returns done().
  bool RunUntil(absl::FunctionRef<bool()> done, absl::Duration limit);

  // TestKit::Queued()
  //
  // Every message waiting, actor by actor in scheduling order, each in the
  // order it will be handled. DescribeQueued() is the same as text.
  std::vector<QueuedMessage> Queued() const;
  std::string DescribeQueued() const;

  // TestKit::Trace()
  //
  // What has happened so far, one line per event: "spawn", "send", "handle",
  // "restart", "stop". Deterministic: the same test gives the same trace.
  std::vector<std::string> Trace() const;

  // TestKit::Ask()
  //
  // Asks `to` and runs the system (RunUntil) until the reply comes: virtual
  // time moves only as far as it must, and at most to the ask's timeout,
  // where the ask fails with kDeadlineExceeded as it would in real time.
  template <typename R, typename T>
  absl::StatusOr<R> Ask(const ActorRef& to, T&& message,
                        absl::Duration timeout = absl::Seconds(5)) {
    Future<R> reply = to.Ask<R>(std::forward<T>(message), timeout);
    if (!RunUntil([&] { return reply.IsReady(); }, timeout)) {
      return absl::InternalError("TestKit::Ask: no reply and no timeout");
    }
    return reply.Get();
  }

  uint64_t seed() const { return scheduler_->seed(); }
  DeterministicScheduler& scheduler() { return *scheduler_; }
  VirtualClock& clock() { return *clock_; }

 private:
  class TraceHooks;

  const int max_steps_;
  std::shared_ptr<TraceHooks> hooks_;
  DeterministicScheduler* scheduler_;  // owned by system_
  VirtualClock* clock_;                // owned by system_
  std::unique_ptr<ActorSystem> system_;
  // With a seed, every failure in the kit's scope names it.
  std::optional<::testing::ScopedTrace> seed_trace_;
};

}  // namespace troupe::testkit

#endif  // TROUPE_TESTING_TEST_KIT_H_
