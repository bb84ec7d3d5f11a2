#include "channel/internal/waker.h"

#include <algorithm>
#include <thread>

namespace troupe::channel_internal {

// -- WaiterList --------------------------------------------------------------

void WaiterList::Unregister(OperationToken token) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [token](const Entry& e) { return e.token == token; });
  if (it != entries_.end()) entries_.erase(it);
}

std::optional<WaiterList::Entry> WaiterList::TrySelectOther() {
  const std::thread::id self = std::this_thread::get_id();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->context->thread_id() == self) continue;  // a select on both ends
    if (const Context::Selection selection = it->context->TrySelect(it->token)) {
      Entry entry = std::move(*it);
      entry.selection = selection;
      entries_.erase(it);
      return entry;
    }
  }
  return std::nullopt;
}

bool WaiterList::HasOtherWaiter() const {
  const std::thread::id self = std::this_thread::get_id();
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.context->thread_id() != self && e.context->selected() == kWaiting;
  });
}

void WaiterList::Disconnect() {
  for (const Entry& entry : entries_) {
    if (entry.context->TrySelect(kDisconnected) == Context::kMustUnpark) entry.context->Unpark();
  }
}

// -- Waker ---------------------------------------------------------------------

void Waker::Register(std::shared_ptr<Context> context, OperationToken token) {
  MutexLock lock(mu_);
  waiters_.Register(std::move(context), token, /*packet=*/nullptr);
  UpdateEmpty();
}

void Waker::Unregister(OperationToken token) {
  MutexLock lock(mu_);
  waiters_.Unregister(token);
  UpdateEmpty();
}

void Waker::NotifySlow() {
  std::optional<WaiterList::Entry> chosen;
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
