#include "channel/select.h"

#include <cstdint>

namespace troupe {
namespace {

// Per-thread, so concurrent selects do not contend on one generator.
size_t RandomIndex(size_t n) {
  thread_local std::minstd_rand rng(
      static_cast<uint32_t>(std::hash<std::thread::id>()(std::this_thread::get_id())));
  return rng() % n;
}

}  // namespace

std::string_view SelectOutcomeName(SelectOutcome outcome) {
  switch (outcome) {
    case SelectOutcome::kFired:
      return "fired";
    case SelectOutcome::kDefault:
      return "default";
    case SelectOutcome::kTimedOut:
      return "timed out";
  }
  return "unknown";
}

Select::~Select() {
  for (ArmSlot& slot : arms_) {
    if (slot.on_heap) {
      delete slot.arm;
    } else {
      slot.arm->~SelectArm();
    }
  }
}

std::optional<size_t> Select::TryArms(std::optional<size_t> first) {
  const size_t n = arms_.size();
  if (n == 0) return std::nullopt;
  if (first.has_value() && arms_[*first]->TryFire()) return *first;
  const size_t start = RandomIndex(n);  // fairness: no fixed order among ready arms
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (start + k) % n;
    if (first.has_value() && i == *first) continue;
    if (arms_[i]->TryFire()) return i;
  }
  return std::nullopt;
}

SelectResult Select::WaitUntil(absl::Time deadline) {
  std::optional<size_t> first;
  while (true) {
    if (std::optional<size_t> fired = TryArms(first)) return SelectResult::Fired(*fired);
    first.reset();
    if (on_default_) {
      on_default_();
      return SelectResult::Defaulted();
    }
    if (absl::Now() >= deadline) return SelectResult::TimedOut();
    if (arms_.empty()) {  // nothing to wait for but the deadline
      absl::SleepFor(deadline - absl::Now());
      continue;
    }

    // Block: watch every channel, look once more, sleep until chosen.
    std::shared_ptr<channel_internal::Context> context = channel_internal::Context::Current();
    std::vector<channel_internal::OperationToken> tokens(arms_.size());
    for (size_t i = 0; i < arms_.size(); ++i) {
      tokens[i] = reinterpret_cast<channel_internal::OperationToken>(arms_[i].arm);
      arms_[i]->Watch(context, tokens[i]);
    }
    for (ArmSlot& arm : arms_) {
      if (arm->Ready()) {
        context->TrySelect(channel_internal::kAborted);
        break;
      }
    }
    const channel_internal::OperationToken selected = context->WaitUntil(deadline);
    for (size_t i = 0; i < arms_.size(); ++i) arms_[i]->Unwatch(tokens[i], tokens[i] == selected);
    for (size_t i = 0; i < arms_.size(); ++i) {
      if (tokens[i] != selected) continue;
      if (arms_[i]->CompletesThroughPacket()) {  // a rendezvous partner completed it
        arms_[i]->FireFromPacket();
        return SelectResult::Fired(i);
      }
      first = i;  // a channel made this arm possible: try it first
    }
  }
}

}  // namespace troupe
