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
  std::vector<std::shared_ptr<Context>> to_wake;
  {
    MutexLock lock(mu_);
    to_wake = waiters_.Disconnect();
  }
  for (const std::shared_ptr<Context>& context : to_wake) context->Unpark();
}

}  // namespace troupe::channel_internal
