#include "channel/internal/waker.h"

#include <algorithm>
#include <thread>

namespace troupe::channel_internal {

void Waker::Register(std::shared_ptr<Context> context, OperationToken token, void* packet) {
  MutexLock lock(mu_);
  entries_.push_back(Entry{std::move(context), token, packet});
  UpdateEmpty();
}

void Waker::Unregister(OperationToken token) {
  MutexLock lock(mu_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [token](const Entry& e) { return e.token == token; });
  if (it != entries_.end()) entries_.erase(it);
  UpdateEmpty();
}

void Waker::NotifySlow() {
  MutexLock lock(mu_);
  const std::thread::id self = std::this_thread::get_id();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->context->thread_id() == self) continue;  // a select on both ends
    if (it->context->TrySelect(it->token)) {
      std::shared_ptr<Context> context = std::move(it->context);
      entries_.erase(it);
      UpdateEmpty();
      context->Unpark();
      return;
    }
  }
}

std::optional<Waker::Entry> Waker::TrySelectOther() {
  MutexLock lock(mu_);
  const std::thread::id self = std::this_thread::get_id();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->context->thread_id() == self) continue;
    if (it->context->TrySelect(it->token)) {
      Entry entry = std::move(*it);
      entries_.erase(it);
      UpdateEmpty();
      return entry;
    }
  }
  return std::nullopt;
}

bool Waker::HasOtherWaiter() {
  MutexLock lock(mu_);
  const std::thread::id self = std::this_thread::get_id();
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.context->thread_id() != self && e.context->selected() == kWaiting;
  });
}

void Waker::Disconnect() {
  MutexLock lock(mu_);
  for (const Entry& entry : entries_) {
    if (entry.context->TrySelect(kDisconnected)) entry.context->Unpark();
  }
}

}  // namespace troupe::channel_internal
