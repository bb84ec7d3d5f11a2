#include "actor/scheduler.h"

#include <memory>
#include <utility>

#include "threads/internal/pool_job.h"
#include "threads/thread_pool.h"

namespace troupe {

ActorRef Schedulable::Owner() const { return ActorRef(); }

namespace {

class ThreadPoolScheduler final : public Scheduler {
 public:
  explicit ThreadPoolScheduler(int workers) : pool_(ThreadPoolOptions{workers, "troupe-actor"}) {}

  // An actor woken from a worker runs next on that worker (the LIFO slot):
  // the message that woke it is still in this core's cache, and a chain of
  // hand-offs does not bounce between cores. The slot takes the bare
  // pointer; from outside the pool the pointer fits a Closure's inline
  // storage. Either way a schedule allocates nothing.
  void Schedule(Schedulable* runnable, Priority priority) override {
    if (priority == Priority::kNormal) [[likely]] {
      threads_internal::PoolJobs::ExecuteNext(pool_, runnable);
    } else {
      threads_internal::PoolJobs::ExecuteNext(pool_, runnable, priority);
    }
  }
  void Yield(Schedulable* runnable, Priority priority) override {
    threads_internal::PoolJobs::Defer(pool_, runnable, priority);
  }
  void RunInBackground(absl::AnyInvocable<void() &&> task) override {
    pool_.Execute(std::move(task), Priority::kLow);
  }
  void Shutdown() override { pool_.Shutdown(); }
  bool IsCurrentThread() const override { return ThreadPool::Current() == &pool_; }
  bool RunsOnItsOwn() const override { return true; }
  std::vector<WorkerStats> worker_stats() const override { return pool_.worker_stats(); }

 private:
  ThreadPool pool_;
};

}  // namespace

std::unique_ptr<Scheduler> MakeThreadPoolScheduler(int workers) {
  return std::make_unique<ThreadPoolScheduler>(workers);
}

}  // namespace troupe
