#include "actor/registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace troupe {

absl::Status Registry::Register(std::string_view name, const ActorRef& ref) {
  if (name.empty()) return absl::InvalidArgumentError("Register: empty name");
  if (!ref)
    return absl::InvalidArgumentError(
        absl::StrCat("Register '", std::string(name), "': empty ref"));
  MutexLock lock(mu_);
  // Mark, then check (both seq_cst; see ActorCell::stopped_): either we see
  // the actor stopped here, or its UnregisterAll() runs after our insert
  // (it needs mu_) and removes it.
  ref.target()->MarkRegistered();
  if (!ref.IsAlive()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Register '", std::string(name), "': ", ref.ToString(), " has stopped"));
  }
  auto [it, inserted] = by_name_.try_emplace(std::string(name), ref);
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("Register '", std::string(name), "': already names ", it->second.ToString()));
  }
  return absl::OkStatus();
}

ActorRef Registry::Lookup(std::string_view name) const {
  MutexLock lock(mu_);
  auto it = by_name_.find(absl::string_view(name.data(), name.size()));
  // A stopping actor is marked stopped a moment before it removes its names.
  if (it == by_name_.end() || !it->second.IsAlive()) return ActorRef();
  return it->second;
}

bool Registry::Unregister(std::string_view name) {
  MutexLock lock(mu_);
  auto it = by_name_.find(absl::string_view(name.data(), name.size()));
  if (it == by_name_.end()) return false;
  by_name_.erase(it);
  return true;
}

std::vector<std::string> Registry::Names() const {
  std::vector<std::string> names;
  {
    MutexLock lock(mu_);
    names.reserve(by_name_.size());
    for (const auto& [name, ref] : by_name_) {
      if (ref.IsAlive()) names.push_back(name);  // as Lookup(): a stopping actor's are gone
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

void Registry::UnregisterAll(const actor_internal::Addressable* actor) {
  std::vector<ActorRef> removed;  // released after the lock: a ref may be the last
  MutexLock lock(mu_);
  for (auto it = by_name_.begin(); it != by_name_.end();) {
    if (it->second.target().get() == actor) {
      removed.push_back(std::move(it->second));
      by_name_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace troupe
