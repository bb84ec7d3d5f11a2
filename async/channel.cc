#include "async/channel.h"

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

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
    TrySelect(channel_internal::kAborted);
    return false;
  }
  // The last touch of this frame before it suspends: once parked, a
  // notifier may resume it on another thread at once.
  return ParkTask();
}

bool ChannelPark::ParkLocked(TaskContext* strand, std::coroutine_handle<> awaiting) {
  strand_ = strand;
  awaiting_ = awaiting;
  registered_ = true;
  Context::ParkLocked();
  // The registration publishes the fields above to a Cancel() (release);
  // from here a cancellation may resume the task, so nothing touches the
  // frame after it succeeds.
  if (strand->Register(this)) return true;
  registered_ = false;
  UnparkLocked();
  return false;
}

void ChannelPark::Wake(Context* context) noexcept {
  ChannelPark* park = static_cast<ChannelPark*>(context);
  park->strand_->Resume(park->awaiting_);
}

std::coroutine_handle<> ChannelPark::CancelWait() noexcept {
  // Ends the wait as a timeout does; the resumption this triggers runs
  // after TaskContext::Cancel() returns (or on the executor). The frame is
  // alive throughout: Unregister() waits for this call to return.
  if (TrySelect(channel_internal::kAborted) == kMustUnpark) {
    Unpark();
  }
  return nullptr;
}

// -- BufferedPark -------------------------------------------------------------

// A Step() posted to the strand's executor; destroyed unrun (the executor
// shut down), it abandons the strand as a dropped resumption does.
class BufferedPark::StepClosure {
 public:
  explicit StepClosure(BufferedPark* park) : park_(park) {}
  StepClosure(StepClosure&& other) noexcept : park_(std::exchange(other.park_, nullptr)) {}
  StepClosure& operator=(StepClosure&&) = delete;
  ~StepClosure() {
    if (park_ != nullptr) park_->strand_->Abandon();
  }
  void operator()() && { std::exchange(park_, nullptr)->Step(); }

 private:
  BufferedPark* park_;
};

bool BufferedPark::Start(TaskContext* strand, std::coroutine_handle<> awaiting) {
  if (!strand->Register(this)) {  // cancelled already
    EndCancelled();
    return false;
  }
  strand_ = strand;
  awaiting_ = awaiting;
  try {
    return TryOrPark(/*rearmed=*/false);
  } catch (...) {  // the attempt threw before registering with the channel
    strand->Unregister(this);
    strand_ = nullptr;
    throw;
  }
}

void BufferedPark::Finish() {
  if (strand_ != nullptr) strand_->Unregister(this);
}

bool BufferedPark::TryOrPark(bool rearmed) {
  while (true) {
    if (TryOrWatch()) return false;
    // Registered with the channel, the context re-armed by Settle(): a
    // Cancel() whose CancelWait() found the context selected before the
    // re-arm ended nothing, so look for one here (CancelWait() comes after
    // this look otherwise, and finds the context armed).
    if (rearmed && strand_->CancelRequestedOnRearm()) {
      TrySelect(channel_internal::kAborted);
    }
    // The last touch of the frame while registered: once parked, a notifier
    // may post Step() at once.
    if (ParkTask()) return true;
    if (Settle()) return false;
    rearmed = true;
  }
}

bool BufferedPark::Settle() {
  const channel_internal::OperationToken chosen = selected();
  // A partner that selects our token removes the entry; nothing else does.
  if (chosen != token()) Unwatch();
  if (chosen == channel_internal::kAborted && strand_->cancel_requested()) {
    EndCancelled();
    return true;
  }
  // A value or room arrived (another task may have taken it first), the
  // channel closed, or it became ready as we registered: try again. Our
  // entry has left the channel's list, so only a Cancel() can still select
  // the context, and TryOrPark() checks for one.
  Rearm();
  return false;
}

void BufferedPark::Step() noexcept {
  bool ended;
  try {
    ended = Settle() || !TryOrPark(/*rearmed=*/true);
  } catch (...) {  // a waiter list that could not grow: the await rethrows
    EndWithError(std::current_exception());
    ended = true;
  }
  // A step of the strand already: the task goes on here. Its frame, and
  // this park with it, may be gone once this returns.
  if (ended) ResumeClosure(strand_, awaiting_)();
}

void BufferedPark::Wake(Context* context) noexcept {
  BufferedPark* park = static_cast<BufferedPark*>(context);
  park->strand_->executor()->ExecuteNext(StepClosure(park));
}

std::coroutine_handle<> BufferedPark::CancelWait() noexcept {
  // As ChannelPark's: the wake-up this triggers runs Step(), which ends the
  // wait as cancelled.
  if (TrySelect(channel_internal::kAborted) == kMustUnpark) {
    Unpark();
  }
  return nullptr;
}

// -- The select loop ------------------------------------------------------------

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
