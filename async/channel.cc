#include "async/channel.h"

#include <coroutine>
#include <memory>
#include <optional>

#include "async/internal/context.h"
#include "async/internal/op.h"
#include "channel/internal/context.h"
#include "channel/internal/select_driver.h"
#include "channel/select.h"

namespace troupe::async_internal {

bool ChannelPark::Park(TaskContext* strand, std::coroutine_handle<> awaiting) {
  strand_ = strand;
  awaiting_ = awaiting;
  registered_ = strand->Register(this);
  if (!registered_) {
    // Cancelled already. If a partner selected first, it completes the
    // wait as usual (and, finding the task not parked, wakes nobody).
    context_.TrySelect(channel_internal::kAborted);
    return false;
  }
  // The last touch of this frame before it suspends: once parked, a
  // notifier may resume it on another thread at once.
  return context_.ParkTask();
}

void ChannelPark::Wake() noexcept { strand_->Resume(awaiting_); }

std::coroutine_handle<> ChannelPark::CancelWait() noexcept {
  // Ends the wait as a timeout does; the resumption this triggers runs
  // after TaskContext::Cancel() returns (or on the executor). The frame is
  // alive throughout: Unregister() waits for this call to return.
  if (context_.TrySelect(channel_internal::kAborted) == channel_internal::Context::kMustUnpark) {
    context_.Unpark();
  }
  return nullptr;
}

Op<SelectResult> RunSelect(Select& select) {
  channel_internal::SelectDriver driver(select);
  while (true) {
    if (std::optional<SelectResult> done = driver.TryOnce()) co_return *done;
    ChannelPark park;
    // With no arms nothing selects the context but a cancellation.
    if (driver.has_arms()) driver.Watch(park.context());
    const channel_internal::OperationToken selected = co_await park;
    if (driver.has_arms()) {
      if (std::optional<SelectResult> done = driver.Unwatch(selected)) co_return *done;
    }
    // kAborted: an arm became ready while we watched (try again), or the
    // strand was cancelled.
    if (selected == channel_internal::kAborted && park.strand_cancelled()) {
      co_return SelectResult::Cancelled();
    }
  }
}

}  // namespace troupe::async_internal
