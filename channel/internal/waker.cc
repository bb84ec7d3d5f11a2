#include "channel/internal/waker.h"

namespace troupe::channel_internal {

// -- Waker ---------------------------------------------------------------------

void Waker::Register(std::shared_ptr<Context> context, OperationToken token) {
  MutexLock lock(mu_);
  waiters_.Register(Waiter{std::move(context), token});
  UpdateEmpty();
}

void Waker::Unregister(OperationToken token) {
  MutexLock lock(mu_);
  waiters_.Unregister(token);
  UpdateEmpty();
}

void Waker::NotifySlow() {
  std::optional<WaiterList::Selected> chosen;
  {
    MutexLock lock(mu_);
    chosen = waiters_.TrySelectOther();
    UpdateEmpty();
  }
  // A thread's context is kept alive by the entry's reference; a parked
  // task's by the task, which waits for this wake-up.
  if (chosen.has_value()) chosen->Wake();
}

void Waker::Disconnect() {
  MutexLock lock(mu_);
  waiters_.Disconnect();
}

}  // namespace troupe::channel_internal
