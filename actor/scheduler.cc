#include "actor/scheduler.h"

#include <memory>

#include "threads/thread_pool.h"

namespace troupe {
namespace {

class ThreadPoolScheduler final : public Scheduler {
 public:
  explicit ThreadPoolScheduler(int workers) : pool_(ThreadPoolOptions{workers, "troupe-actor"}) {}

  // The task is one pointer: it fits the Task's inline storage, so a
  // schedule allocates nothing beyond the pool's own deque slot.
  void Schedule(Schedulable* runnable) override {
    pool_.Execute([runnable] { runnable->RunTurn(); });
  }
  void Yield(Schedulable* runnable) override {
    pool_.Defer([runnable] { runnable->RunTurn(); });
  }
  void Shutdown() override { pool_.Shutdown(); }
  bool IsCurrentThread() const override { return ThreadPool::Current() == &pool_; }

 private:
  ThreadPool pool_;
};

}  // namespace

std::unique_ptr<Scheduler> MakeThreadPoolScheduler(int workers) {
  return std::make_unique<ThreadPoolScheduler>(workers);
}

}  // namespace troupe
