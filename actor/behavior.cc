#include "actor/behavior.h"

#include <utility>

namespace troupe {

void Behavior::Add(const MessageType* type, Handler handler) {
  if (Handler* existing = Find(*type)) {
    *existing = std::move(handler);
    return;
  }
  entries_.push_back(Entry{type, std::move(handler)});
  if (index_ != nullptr) {
    index_->emplace(type, entries_.size() - 1);
  } else if (entries_.size() > kLinearHandlers) {
    index_ = std::make_unique<absl::flat_hash_map<const MessageType*, size_t>>();
    for (size_t i = 0; i < entries_.size(); ++i) index_->emplace(entries_[i].type, i);
  }
}

}  // namespace troupe
