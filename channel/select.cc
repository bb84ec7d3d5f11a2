#include "channel/select.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

#include "channel/internal/context.h"
#include "channel/internal/select_driver.h"

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
    case SelectOutcome::kCancelled:
      return "cancelled";
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
  channel_internal::SelectDriver driver(*this);
  while (true) {
    if (std::optional<SelectResult> done = driver.TryOnce()) return *done;
    if (absl::Now() >= deadline) return SelectResult::TimedOut();
    if (!driver.has_arms()) {  // nothing to wait for but the deadline
      absl::SleepFor(deadline - absl::Now());
      continue;
    }
    // Block: watch every channel, look once more, sleep until chosen.
    std::shared_ptr<channel_internal::Context> context = channel_internal::Context::Current();
    driver.Watch(context);
    if (std::optional<SelectResult> done = driver.Unwatch(context->WaitUntil(deadline))) {
      return *done;
    }
  }
}

namespace channel_internal {

std::optional<SelectResult> SelectDriver::TryOnce() {
  if (std::optional<size_t> fired = select_.TryArms(std::exchange(first_, std::nullopt))) {
    return SelectResult::Fired(*fired);
  }
  if (select_.on_default_) {
    select_.on_default_();
    return SelectResult::Defaulted();
  }
  return std::nullopt;
}

void SelectDriver::Watch(const std::shared_ptr<Context>& context) {
  watching_ = true;
  tokens_.resize(select_.arms_.size());
  for (size_t i = 0; i < select_.arms_.size(); ++i) {
    tokens_[i] = reinterpret_cast<OperationToken>(select_.arms_[i].arm);
    select_.arms_[i]->Watch(context, tokens_[i]);
  }
  for (Select::ArmSlot& arm : select_.arms_) {
    if (arm->Ready()) {
      context->TrySelect(kAborted);
      break;
    }
  }
}

std::optional<SelectResult> SelectDriver::Unwatch(OperationToken selected) {
  watching_ = false;
  for (size_t i = 0; i < select_.arms_.size(); ++i) {
    select_.arms_[i]->Unwatch(tokens_[i], tokens_[i] == selected);
  }
  for (size_t i = 0; i < select_.arms_.size(); ++i) {
    if (tokens_[i] != selected) continue;
    if (select_.arms_[i]->CompletesThroughPacket()) {  // a rendezvous partner completed it
      select_.arms_[i]->FireFromPacket();
      return SelectResult::Fired(i);
    }
    first_ = i;  // a channel made this arm possible: try it first
  }
  return std::nullopt;
}

}  // namespace channel_internal
}  // namespace troupe
