#include "threads/clock.h"

#include <map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "threads/condvar.h"
#include "threads/mutex.h"
#include "threads/thread.h"

namespace troupe {
namespace {

// Timers ordered by (deadline, id) in a std::map (a balanced tree: O(log n)
// insert, cancel and pop), with an id -> deadline index for Cancel().
class RealClock final : public Clock {
 public:
  explicit RealClock(const char* thread_name) : thread_(thread_name, [this] { Loop(); }) {}

  ~RealClock() override { Shutdown(); }

  absl::Time Now() const override { return absl::Now(); }

  TimerId ScheduleAt(absl::Time when, Callback callback) override ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(mu_);
    if (stopped_) return 0;
    const TimerId id = ++last_id_;
    const bool earliest = timers_.empty() || when < timers_.begin()->first.first;
    timers_.emplace(Key{when, id}, std::move(callback));
    deadlines_.emplace(id, when);
    if (earliest) changed_.Signal();  // the thread sleeps until the old first deadline
    return id;
  }

  bool Cancel(TimerId id) override ABSL_LOCKS_EXCLUDED(mu_) {
    Callback doomed;  // destroyed after the lock is released: it may hold refs
    {
      MutexLock lock(mu_);
      auto it = deadlines_.find(id);
      if (it == deadlines_.end()) return false;
      auto timer = timers_.find(Key{it->second, id});
      doomed = std::move(timer->second);
      timers_.erase(timer);
      deadlines_.erase(it);
    }
    return true;
  }

  void Shutdown() override ABSL_LOCKS_EXCLUDED(mu_) {
    std::map<Key, Callback> doomed;
    {
      MutexLock lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      doomed.swap(timers_);
      deadlines_.clear();
      changed_.Signal();
    }
    doomed.clear();
    (void)thread_.Join();
  }

 private:
  using Key = std::pair<absl::Time, TimerId>;

  void Loop() ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<Callback> due;
    mu_.Lock();
    while (!stopped_) {
      if (timers_.empty()) {
        changed_.Wait(mu_);
        continue;
      }
      const absl::Time first = timers_.begin()->first.first;
      if (absl::Now() < first) {
        changed_.WaitUntil(mu_, first);
        continue;
      }
      const absl::Time now = absl::Now();
      while (!timers_.empty() && timers_.begin()->first.first <= now) {
        auto it = timers_.begin();
        deadlines_.erase(it->first.second);
        due.push_back(std::move(it->second));
        timers_.erase(it);
      }
      mu_.Unlock();
      for (Callback& callback : due) std::move(callback)();
      due.clear();
      mu_.Lock();
    }
    mu_.Unlock();
  }

  Mutex mu_;
  CondVar changed_;  // a new earliest timer, or shutdown
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  TimerId last_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<Key, Callback> timers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TimerId, absl::Time> deadlines_ ABSL_GUARDED_BY(mu_);
  Thread<void> thread_;  // last: it starts after the fields above exist
};

}  // namespace

std::unique_ptr<Clock> MakeRealClock(const char* thread_name) {
  return std::make_unique<RealClock>(thread_name);
}

Clock& DefaultClock() {
  // Leaked on purpose: tasks may sleep until the process exits, and a clock
  // destroyed at exit would fail them from a static destructor.
  static Clock* const clock = MakeRealClock("troupe-sleep").release();
  return *clock;
}

}  // namespace troupe
