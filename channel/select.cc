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
// Scaled into [0, n) by a multiplication (Lemire), not a division: a
// select is often built per message.
size_t RandomIndex(size_t n) {
  thread_local std::minstd_rand rng(
      static_cast<uint32_t>(std::hash<std::thread::id>()(std::this_thread::get_id())));
  constexpr uint64_t kRange = std::minstd_rand::max() - std::minstd_rand::min() + 1;
  return static_cast<size_t>((rng() - std::minstd_rand::min()) * uint64_t{n} / kRange);
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
  for (channel_internal::SelectArm* arm : arms_) {
    if (InArena(arm)) {
      arm->~SelectArm();
    } else {
      delete arm;
    }
  }
}

size_t Select::TryArms(size_t first, channel_internal::Look look) {
  const size_t n = arms_.size();
  if (n == 0) return kNoArm;
  if (first != kNoArm && arms_[first]->TryFire(look)) return first;
  size_t i = RandomIndex(n);  // fairness: no fixed order among ready arms
  for (size_t k = 0; k < n; ++k, i = i + 1 == n ? 0 : i + 1) {
    if (i != first && arms_[i]->TryFire(look)) return i;
  }
  return kNoArm;
}

SelectResult Select::WaitUntil(absl::Time deadline) {
  // The common case, an arm ready at once, before the driver: its result
  // comes back in registers, not through an optional in memory (whose
  // one-byte fields, read back as words, wait for the store buffer). A
  // glance: a bounded channel does not read the index its other side
  // writes (C5: 80-92 -> 32 ns/msg, with the senders' spin glancing too).
  if (const size_t fired = TryArms(kNoArm, channel_internal::Look::kGlance); fired != kNoArm) {
    return SelectResult::Fired(fired);
  }
  // The driver's first TryOnce() tries the arms again, settled, before the
  // select runs its default or blocks: a producer often fills a channel in
  // between, and a blocked select costs a futex sleep and wake (C5 ran
  // 123-198 ns/msg without that second look, 62-135 with it, alternating
  // binaries).
  channel_internal::SelectDriver driver(*this);
  while (true) {
    if (std::optional<SelectResult> done = driver.TryOnce()) return *done;
    if (absl::Now() >= deadline) return SelectResult::TimedOut();
    if (!driver.has_arms()) {  // nothing to wait for but the deadline
      absl::SleepFor(deadline - absl::Now());
      continue;
    }
    // Block: watch every channel, look once more, sleep until chosen.
    std::shared_ptr<channel_internal::ThreadContext> context =
        channel_internal::ThreadContext::Current();
    driver.Watch(context);
    if (std::optional<SelectResult> done = driver.Unwatch(context->WaitUntil(deadline))) {
      return *done;
    }
  }
}

namespace channel_internal {

std::optional<SelectResult> SelectDriver::TryOnce() {
  if (const size_t fired = select_.TryArms(std::exchange(first_, Select::kNoArm), Look::kSettled);
      fired != Select::kNoArm) {
    return SelectResult::Fired(fired);
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
    tokens_[i] = reinterpret_cast<OperationToken>(select_.arms_[i]);
    select_.arms_[i]->Watch(context, tokens_[i]);
  }
  for (SelectArm* arm : select_.arms_) {
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
