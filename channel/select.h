// -----------------------------------------------------------------------------
// File: select.h
// -----------------------------------------------------------------------------
//
// `Select`: wait on several channel operations at once and run exactly one,
// like Go's `select` statement. Arms may receive or send on channels of any
// element types and flavours; a timeout arm and a default arm are optional.
//
//   troupe::Select()
//       .OnRecv(jobs, [&](troupe::RecvResult<Job> job) {
//         if (job.ok()) Run(*job); else done = true;        // kClosed fires too
//       })
//       .OnSend(results, result, [&](troupe::SendResult<Result> sent) {
//         if (!sent.ok()) Keep(sent.TakeValue());           // closed: value back
//       })
//       .WaitFor(absl::Milliseconds(100))                    // runs one handler...
//       .timed_out();                                        // ...or none in time
//
// Semantics (as Go's): if several arms are ready, one is chosen at random,
// so no arm starves. An arm whose channel is closed is ready: it fires with
// the kClosed result instead of blocking forever. With OnDefault, a wait
// never blocks: the default runs when no arm is ready. Otherwise Wait()
// blocks until an arm fires, and WaitFor()/WaitUntil() until an arm fires or
// the time runs out. The SelectResult says which happened.
//
// A send arm's value stays in the caller's variable until the arm fires (as
// crossbeam keeps it with the caller until the operation is chosen). If the
// arm fires, its SendResult says what happened: sent (the variable is then
// moved from), or kClosed with the value inside it. If another arm, the
// timeout or the default wins instead, the variable still holds the value,
// untouched: nothing is lost to a select that went another way.
//
// Algorithm (crossbeam's run_select): try every arm in a random rotation
// (first at a glance, then settled: see Flavor::GlanceSend()); if none can
// complete, register the calling thread's Context with every
// channel, check readiness once more, sleep until a channel selects the
// Context (or the deadline), unregister, and try again, the selected arm
// first. Rendezvous arms are completed by the partner through a packet.
//
// A Select is built and waited on by one thread; the channels are shared.

#ifndef TROUPE_CHANNEL_SELECT_H_
#define TROUPE_CHANNEL_SELECT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "base/stringify.h"
#include "channel/channel.h"
#include "channel/internal/context.h"
#include "channel/internal/flavor.h"

namespace troupe {

// How a select ended: an arm fired, the default ran, time ran out, or (for
// a task awaiting it, async/channel.h) the task was cancelled.
enum class SelectOutcome : unsigned char { kFired, kDefault, kTimedOut, kCancelled };

// "fired", "default", "timed out", "cancelled".
std::string_view SelectOutcomeName(SelectOutcome outcome);

template <typename Sink>
void AbslStringify(Sink& sink, SelectOutcome outcome) {
  sink.Append(SelectOutcomeName(outcome));
}

// SelectResult
//
// What Select::Wait() and its timed forms return.
class SelectResult {
 public:
  static SelectResult Fired(size_t arm) { return SelectResult(SelectOutcome::kFired, arm); }
  static SelectResult Defaulted() { return SelectResult(SelectOutcome::kDefault, 0); }
  static SelectResult TimedOut() { return SelectResult(SelectOutcome::kTimedOut, 0); }
  static SelectResult Cancelled() { return SelectResult(SelectOutcome::kCancelled, 0); }

  SelectOutcome outcome() const { return outcome_; }
  bool fired() const { return outcome_ == SelectOutcome::kFired; }
  bool defaulted() const { return outcome_ == SelectOutcome::kDefault; }
  bool timed_out() const { return outcome_ == SelectOutcome::kTimedOut; }
  bool cancelled() const { return outcome_ == SelectOutcome::kCancelled; }

  // The arm that fired, counted in the order the arms were added.
  size_t arm() const {
    TROUPE_CHECK(fired(), "SelectResult::arm() when no arm fired ({})", outcome_);
    return arm_;
  }

 private:
  SelectResult(SelectOutcome outcome, size_t arm) : outcome_(outcome), arm_(arm) {}
  SelectOutcome outcome_;
  size_t arm_;
};

namespace channel_internal {

class SelectDriver;

// One arm of a select, type-erased.
class SelectArm {
 public:
  virtual ~SelectArm() = default;
  // Tries the operation without blocking; on completion (including a
  // kClosed failure) runs the handler and returns true. `look`: see
  // Flavor::GlanceSend().
  virtual bool TryFire(Look look) = 0;
  virtual bool Ready() = 0;
  virtual void Watch(std::shared_ptr<Context> context, OperationToken token) = 0;
  // `chosen`: this arm's token is the one that selected the context.
  virtual void Unwatch(OperationToken token, bool chosen) = 0;
  // Rendezvous only: a partner completed this arm through its packet.
  virtual bool CompletesThroughPacket() const = 0;
  virtual void FireFromPacket() = 0;
};

template <typename T, typename Fn>
class RecvArm final : public SelectArm {
 public:
  RecvArm(Flavor<T>* flavor, Fn fn) : flavor_(flavor), fn_(std::move(fn)) {}

  bool TryFire(Look look) override {
    RecvResult<T> got = look == Look::kGlance ? flavor_->GlanceRecv() : flavor_->TryRecv();
    if (!got.ok() && got.error() == RecvError::kEmpty) return false;
    fn_(std::move(got));
    return true;
  }
  bool Ready() override { return flavor_->ReadyToRecv(); }
  void Watch(std::shared_ptr<Context> context, OperationToken token) override {
    packet_ = std::make_unique<Packet<T>>();
    flavor_->WatchRecv(std::move(context), token, packet_.get());
  }
  void Unwatch(OperationToken token, bool) override { flavor_->UnwatchRecv(token); }
  bool CompletesThroughPacket() const override { return flavor_->CompletesThroughPacket(); }
  void FireFromPacket() override {
    packet_->WaitReady();
    fn_(RecvResult<T>(std::move(*packet_->value)));
  }

 private:
  Flavor<T>* flavor_;
  Fn fn_;
  std::unique_ptr<Packet<T>> packet_;
};

template <typename T, typename Fn>
class SendArm final : public SelectArm {
 public:
  // `value` is the caller's: it is moved from only when the send happens.
  SendArm(Flavor<T>* flavor, T* value, Fn fn)
      : flavor_(flavor), value_(value), fn_(std::move(fn)) {}

  bool TryFire(Look look) override {
    SendResult<T> sent = look == Look::kGlance ? flavor_->GlanceSend(std::move(*value_))
                                               : flavor_->TrySend(std::move(*value_));
    if (!sent.ok() && sent.error() == SendError::kFull) {
      *value_ = sent.TakeValue();  // not sent: back where the caller keeps it
      return false;
    }
    fn_(std::move(sent));
    return true;
  }
  bool Ready() override { return flavor_->ReadyToSend(); }
  void Watch(std::shared_ptr<Context> context, OperationToken token) override {
    // A rendezvous partner takes the value straight out of the packet.
    packet_ = std::make_unique<Packet<T>>();
    if (flavor_->CompletesThroughPacket()) packet_->value.emplace(std::move(*value_));
    flavor_->WatchSend(std::move(context), token, packet_.get());
  }
  void Unwatch(OperationToken token, bool chosen) override {
    flavor_->UnwatchSend(token);
    // Not chosen, so no partner touches the packet: the value goes back to
    // the caller's variable. (A chosen arm's packet belongs to the partner
    // until ready.)
    if (flavor_->CompletesThroughPacket() && !chosen) {
      *value_ = std::move(*packet_->value);
      packet_->value.reset();
    }
  }
  bool CompletesThroughPacket() const override { return flavor_->CompletesThroughPacket(); }
  void FireFromPacket() override {
    packet_->WaitReady();  // the receiver has moved the value out
    fn_(SendResult<T>::Sent());
  }

 private:
  Flavor<T>* flavor_;
  T* value_;
  Fn fn_;
  std::unique_ptr<Packet<T>> packet_;
};

}  // namespace channel_internal

class Select {
 public:
  Select() = default;
  Select(const Select&) = delete;
  Select& operator=(const Select&) = delete;
  ~Select();

  // Select::OnRecv()
  //
  // An arm that receives from `rx`; `fn(RecvResult<T>)` runs with the value,
  // or with kClosed once the channel is closed and drained.
  template <typename T, typename Fn>
  Select& OnRecv(Receiver<T>& rx, Fn fn) {
    return Add<channel_internal::RecvArm<T, Fn>>(&channel_internal::FlavorAccess::Of(rx),
                                                 std::move(fn));
  }

  // Select::OnSend()
  //
  // An arm that sends `value` on `tx`; `fn(SendResult<T>)` runs when it is
  // sent, or with kClosed (and the value) if the channel is closed. `value`
  // must outlive Wait(): it is moved from only if this arm fires, and holds
  // the value still if any other outcome is chosen.
  template <typename T, typename Fn>
  Select& OnSend(Sender<T>& tx, T& value, Fn fn) {
    return Add<channel_internal::SendArm<T, Fn>>(&channel_internal::FlavorAccess::Of(tx), &value,
                                                 std::move(fn));
  }
  // A temporary would be destroyed with the select when another arm fires:
  // keep the value in a variable instead.
  template <typename T, typename Fn>
  Select& OnSend(Sender<T>& tx, T&& value, Fn fn) = delete;

  // Select::OnDefault()
  //
  // Makes the wait non-blocking: runs `fn()` if no arm is ready now.
  template <typename Fn>
  Select& OnDefault(Fn fn) {
    on_default_ = std::move(fn);
    return *this;
  }

  // Select::Wait() / WaitFor() / WaitUntil()
  //
  // Runs exactly one handler (an arm's, or the default's) and says which;
  // or, for the timed forms, runs none if no arm fires in time. A select is
  // waited on once.
  SelectResult Wait() { return WaitUntil(absl::InfiniteFuture()); }
  SelectResult WaitFor(absl::Duration timeout) { return WaitUntil(absl::Now() + timeout); }
  SelectResult WaitUntil(absl::Time deadline);

 private:
  // The wait's steps, which a task awaiting the select (async/channel.h)
  // takes too, suspending where a thread sleeps.
  friend class channel_internal::SelectDriver;

  static constexpr size_t kNoArm = SIZE_MAX;

  // Tries every arm once (`first` first, unless kNoArm; the others from a
  // random one); returns the index fired, or kNoArm.
  size_t TryArms(size_t first, channel_internal::Look look);

  // Arms live in an inline arena when they fit (a select is usually built
  // per message: no allocation on that path), else on the heap.
  template <typename Arm, typename... Args>
  Select& Add(Args&&... args) {
    constexpr size_t kAlign = alignof(Arm) < 16 ? 16 : alignof(Arm);
    const size_t offset = (arena_used_ + kAlign - 1) / kAlign * kAlign;
    if (alignof(Arm) <= 16 && offset + sizeof(Arm) <= sizeof(arena_)) {
      arena_used_ = offset + sizeof(Arm);
      arms_.push_back(new (arena_ + offset) Arm(std::forward<Args>(args)...));
    } else {
      arms_.push_back(new Arm(std::forward<Args>(args)...));
    }
    return *this;
  }

  // Whether `arm` was placed in the arena (else it is on the heap).
  bool InArena(const channel_internal::SelectArm* arm) const {
    const auto address = reinterpret_cast<uintptr_t>(arm);
    const auto arena = reinterpret_cast<uintptr_t>(arena_);
    return address - arena < sizeof(arena_);
  }

  alignas(16) unsigned char arena_[512];
  size_t arena_used_ = 0;
  // One pointer per arm, where it lives told by its address: an entry of
  // two fields, written as two stores and copied as one 16-byte load, made
  // every push_back wait for the store buffer to drain (store forwarding
  // fails), including the channel's last contended store (bench C5).
  absl::InlinedVector<channel_internal::SelectArm*, 8> arms_;
  absl::AnyInvocable<void()> on_default_;
};

}  // namespace troupe

#endif  // TROUPE_CHANNEL_SELECT_H_
