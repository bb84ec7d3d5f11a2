// -----------------------------------------------------------------------------
// File: test_util.h
// -----------------------------------------------------------------------------
//
// Helpers for the actor layer's own tests (testonly).
//
//   ActorRef actor = system.Spawn<Worker>();
//   actor.Tell(troupe::proto::Stop());
//   troupe::WaitUntilStopped(actor);   // fails the test after 30 s
//
//   troupe::EventLog log;              // actors Add(), the test waits
//   EXPECT_THAT(log.WaitForSize(3), ElementsAre("a", "b", "c"));
//
// `ManualScheduler` and `FakeClock` run a system step by step in virtual
// time (pass them in ActorSystemOptions).

#ifndef TROUPE_ACTOR_TEST_UTIL_H_
#define TROUPE_ACTOR_TEST_UTIL_H_

#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "actor/actor_ref.h"
#include "actor/clock.h"
#include "actor/scheduler.h"
#include "gtest/gtest.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe {

// Polls until `actor` has stopped, or fails the test after `timeout`.
inline void WaitUntilStopped(const ActorRef& actor, absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (actor.IsAlive() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_FALSE(actor.IsAlive()) << actor.ToString() << " did not stop within " << timeout;
}

// A thread-safe list of events that a test waits for.
class EventLog {
 public:
  void Add(std::string event) {
    MutexLock lock(mu_);
    events_.push_back(std::move(event));
    cv_.SignalAll();
  }
  // Waits until there are at least `n` events (failing the test after
  // `timeout`), and returns them all.
  std::vector<std::string> WaitForSize(size_t n, absl::Duration timeout = absl::Seconds(30)) {
    const absl::Time deadline = absl::Now() + timeout;
    MutexLock lock(mu_);
    while (events_.size() < n) {
      if (!cv_.WaitUntil(mu_, deadline) && absl::Now() >= deadline) break;
    }
    EXPECT_GE(events_.size(), n) << "timed out waiting for events";
    return events_;
  }
  std::vector<std::string> Snapshot() {
    MutexLock lock(mu_);
    return events_;
  }

 private:
  Mutex mu_;
  CondVar cv_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

class ManualScheduler : public Scheduler {
 public:
  void Schedule(Schedulable* r) override {
    MutexLock lock(mu_);
    ready_.push_back(r);
  }
  void Shutdown() override { RunUntilIdle(); }
  bool IsCurrentThread() const override { return false; }

  // Runs turns on the calling thread until nothing is runnable.
  int RunUntilIdle() {
    int turns = 0;
    while (true) {
      Schedulable* next;
      {
        MutexLock lock(mu_);
        if (ready_.empty()) return turns;
        next = ready_.front();
        ready_.pop_front();
      }
      next->RunTurn();
      ++turns;
    }
  }

 private:
  Mutex mu_;
  std::deque<Schedulable*> ready_ ABSL_GUARDED_BY(mu_);
};

class FakeClock : public Clock {
 public:
  absl::Time Now() const override {
    MutexLock lock(mu_);
    return now_;
  }
  TimerId ScheduleAt(absl::Time when, Callback callback) override {
    MutexLock lock(mu_);
    timers_.emplace(std::make_pair(when, ++last_), std::move(callback));
    return last_;
  }
  bool Cancel(TimerId id) override {
    MutexLock lock(mu_);
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->first.second == id) {
        timers_.erase(it);
        return true;
      }
    }
    return false;
  }
  void Shutdown() override {
    MutexLock lock(mu_);
    timers_.clear();
  }
  void Advance(absl::Duration d) {
    mu_.Lock();
    now_ += d;
    while (!timers_.empty() && timers_.begin()->first.first <= now_) {
      Callback callback = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      mu_.Unlock();
      std::move(callback)();
      mu_.Lock();
    }
    mu_.Unlock();
  }

 private:
  mutable Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::UnixEpoch();
  TimerId last_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::pair<absl::Time, TimerId>, Callback> timers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe

#endif  // TROUPE_ACTOR_TEST_UTIL_H_
