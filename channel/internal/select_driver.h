// -----------------------------------------------------------------------------
// File: internal/select_driver.h
// -----------------------------------------------------------------------------
//
// `SelectDriver`: the steps of waiting on a Select, apart from how the
// waiter sleeps — a thread (Select::WaitUntil) sleeps in Context::WaitUntil,
// a task (async/channel.h) suspends until its context is selected.
//
//   SelectDriver driver(select);
//   while (true) {
//     if (auto done = driver.TryOnce()) return *done;     // fired, or default
//     driver.Watch(context);                             // every channel
//     ...sleep until `context` is selected...
//     if (auto done = driver.Unwatch(context->selected())) return *done;
//   }
//
// Not a public header.

#ifndef TROUPE_CHANNEL_INTERNAL_SELECT_DRIVER_H_
#define TROUPE_CHANNEL_INTERNAL_SELECT_DRIVER_H_

#include <cstddef>
#include <memory>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "channel/internal/context.h"
#include "channel/select.h"

namespace troupe::channel_internal {

class SelectDriver {
 public:
  explicit SelectDriver(Select& select) : select_(select) {}
  SelectDriver(const SelectDriver&) = delete;
  SelectDriver& operator=(const SelectDriver&) = delete;
  // A driver destroyed while watching (a task's frame destroyed while it
  // waited: its executor shut down) unregisters, as if no arm was chosen.
  ~SelectDriver() {
    if (watching_) Unwatch(kAborted);
  }

  // SelectDriver::TryOnce()
  //
  // Tries every arm without blocking, a settled look (the one a channel
  // woke us for first); runs the default if none fired and there is one.
  // Returns what happened, or nothing: then the caller must wait.
  std::optional<SelectResult> TryOnce();

  // True if the select has arms (with none, only a deadline or a
  // cancellation ends the wait).
  bool has_arms() const { return !select_.arms_.empty(); }

  // SelectDriver::Watch()
  //
  // Registers `context` with every arm's channel, then looks once more: if
  // an arm became ready meanwhile, selects kAborted itself so that the
  // wait ends at once (and the next TryOnce() takes it).
  void Watch(const std::shared_ptr<Context>& context);

  // SelectDriver::Unwatch()
  //
  // After `selected` ended the wait: unregisters every arm (a send arm not
  // chosen gets its value back). Returns the result if a rendezvous partner
  // completed the chosen arm; otherwise remembers it to try first.
  std::optional<SelectResult> Unwatch(OperationToken selected);

 private:
  Select& select_;
  // A plain index (kNoArm: none), not an optional: copying a two-field
  // optional made the fast path wait for the store buffer to drain.
  size_t first_ = Select::kNoArm;
  bool watching_ = false;
  absl::InlinedVector<OperationToken, 8> tokens_;
};

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_SELECT_DRIVER_H_
