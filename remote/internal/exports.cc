#include "remote/internal/exports.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace troupe::remote_internal {

uint64_t Exports::Export(const actor_internal::AddressablePtr& receiver) {
  // Released after the lock: dropping the last reference to a receiver
  // runs its destructor, which must not run under mu_.
  std::vector<actor_internal::AddressablePtr> swept;
  MutexLock lock(mu_);
  auto [it, inserted] = by_receiver_.try_emplace(receiver.get(), next_id_);
  if (!inserted) return it->second;
  const uint64_t id = next_id_++;
  by_id_.emplace(id, receiver);
  if (by_id_.size() >= sweep_at_) SweepFinished(swept);
  return id;
}

actor_internal::AddressablePtr Exports::Find(uint64_t id) const {
  MutexLock lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return {};
  return it->second;
}

size_t Exports::size() const {
  MutexLock lock(mu_);
  return by_id_.size();
}

void Exports::Clear() {
  absl::flat_hash_map<uint64_t, actor_internal::AddressablePtr> dropped;
  {
    MutexLock lock(mu_);
    dropped.swap(by_id_);
    by_receiver_.clear();
    sweep_at_ = kMinSweepSize;
  }
  // The receivers are released outside the lock: the last reference to an
  // ask's receiver fails its future, which may run code that exports.
}

void Exports::SweepFinished(std::vector<actor_internal::AddressablePtr>& swept) {
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    if (it->second->IsAlive()) {
      ++it;
      continue;
    }
    by_receiver_.erase(it->second.get());
    swept.push_back(std::move(it->second));
    by_id_.erase(it++);
  }
  sweep_at_ = std::max(kMinSweepSize, 2 * by_id_.size());
}

}  // namespace troupe::remote_internal
