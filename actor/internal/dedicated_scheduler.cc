#include "actor/internal/dedicated_scheduler.h"

#include <utility>

#include "actor/internal/actor_cell.h"
#include "actor/internal/turn_context.h"

namespace troupe::actor_internal {

bool DedicatedScheduler::IsCurrentThread() const { return CurrentDedicatedCell() == cell_; }

void DedicatedScheduler::Run() {
  CurrentDedicatedCell() = cell_;
  while (cell_->IsAlive()) {
    turns_.Acquire();
    cell_->RunTurn();
  }
}

std::shared_ptr<Scheduler> DedicatedThreads::Start(std::string name, ActorCell* cell) {
  auto dedicated = std::make_shared<DedicatedScheduler>(cell);
  MutexLock lock(mu_);
  std::erase_if(threads_, [](Thread<void>& t) {
    if (t.IsAlive()) return false;
    (void)t.Join();
    return true;
  });
  threads_.emplace_back(std::move(name),
                        [dedicated, keep = AddressablePtr(cell)] { dedicated->Run(); });
  return dedicated;
}

void DedicatedThreads::JoinAll() {
  std::vector<Thread<void>> threads;
  {
    MutexLock lock(mu_);
    threads.swap(threads_);
  }
  for (Thread<void>& t : threads) (void)t.Join();
}

}  // namespace troupe::actor_internal
