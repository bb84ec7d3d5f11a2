// -----------------------------------------------------------------------------
// File: internal/zero_flavor.h
// -----------------------------------------------------------------------------
//
// `ZeroFlavor<T>`: the rendezvous channel (capacity 0). A send completes only
// when a receiver takes the value, hand to hand. State is guarded by one
// lock (as crossbeam's zero flavor): a sender either finds a waiting
// receiver, selects it and writes the value into the receiver's packet, or
// registers its own packet (holding the value) and waits to be selected by a
// receiver, which takes the value out of it. Receivers mirror that. The
// lock is a spin lock (threads/internal/spin_lock.h): its sections are short and
// never sleep, and its Unlock() is a store, not a read-modify-write.
//
// A packet lives on the waiting thread's stack; the partner signals `ready`
// as its very last touch of it, and the waiting thread does not return before
// it sees `ready` (acquire, pairing with the partner's release store).

#ifndef TROUPE_CHANNEL_INTERNAL_ZERO_FLAVOR_H_
#define TROUPE_CHANNEL_INTERNAL_ZERO_FLAVOR_H_

#include <atomic>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "channel/internal/context.h"
#include "channel/internal/flavor.h"
#include "channel/internal/waker.h"
#include "threads/atomics.h"
#include "threads/internal/spin_lock.h"

namespace troupe::channel_internal {

using threads_internal::SpinLock;
using threads_internal::SpinLockHolder;

template <typename T>
class ZeroFlavor final : public Flavor<T> {
 public:
  SendResult<T> TrySend(T value) override {
    mu_.Lock();
    if (closed_) {
      mu_.Unlock();
      return SendResult<T>::Failed(SendError::kClosed, std::move(value));
    }
    std::optional<PacketWaiterList::Selected> receiver = receivers_.TrySelectOther();
    mu_.Unlock();
    if (!receiver.has_value()) {
      return SendResult<T>::Failed(SendError::kFull, std::move(value));
    }
    Hand(*receiver, [&](Packet<T>* p) { p->value.emplace(std::move(value)); });
    return SendResult<T>::Sent();
  }

  RecvResult<T> TryRecv() override {
    mu_.Lock();
    std::optional<PacketWaiterList::Selected> sender = senders_.TrySelectOther();
    const bool closed = closed_;
    mu_.Unlock();
    if (!sender.has_value()) return RecvResult<T>(closed ? RecvError::kClosed : RecvError::kEmpty);
    return TakeFrom(*sender);
  }

  SendResult<T> SendUntil(T value, absl::Time deadline) override {
    mu_.Lock();
    if (closed_) {
      mu_.Unlock();
      return SendResult<T>::Failed(SendError::kClosed, std::move(value));
    }
    if (std::optional<PacketWaiterList::Selected> receiver = receivers_.TrySelectOther()) {
      mu_.Unlock();
      Hand(*receiver, [&](Packet<T>* p) { p->value.emplace(std::move(value)); });
      return SendResult<T>::Sent();
    }
    // Wait for a receiver to take the value out of our packet.
    Packet<T> packet;
    packet.value.emplace(std::move(value));
    std::shared_ptr<ThreadContext> context = ThreadContext::Current();
    const auto token = reinterpret_cast<OperationToken>(&packet);
    senders_.Register(PacketWaiter{context, token, &packet});
    mu_.Unlock();
    const OperationToken selected = context->WaitUntil(deadline);
    if (selected == kAborted || selected == kDisconnected) {
      {
        SpinLockHolder hold(mu_);
        senders_.Unregister(token);
      }
      return SendResult<T>::Failed(selected == kAborted ? SendError::kTimedOut : SendError::kClosed,
                                   std::move(*packet.value));
    }
    packet.WaitReady();  // the receiver has moved the value out
    return SendResult<T>::Sent();
  }

  RecvResult<T> RecvUntil(absl::Time deadline) override {
    mu_.Lock();
    if (std::optional<PacketWaiterList::Selected> sender = senders_.TrySelectOther()) {
      mu_.Unlock();
      return TakeFrom(*sender);
    }
    if (closed_) {
      mu_.Unlock();
      return RecvResult<T>(RecvError::kClosed);
    }
    Packet<T> packet;  // a sender will put the value here
    std::shared_ptr<ThreadContext> context = ThreadContext::Current();
    const auto token = reinterpret_cast<OperationToken>(&packet);
    receivers_.Register(PacketWaiter{context, token, &packet});
    mu_.Unlock();
    const OperationToken selected = context->WaitUntil(deadline);
    if (selected == kAborted || selected == kDisconnected) {
      SpinLockHolder hold(mu_);
      receivers_.Unregister(token);
      return RecvResult<T>(selected == kAborted ? RecvError::kTimedOut : RecvError::kClosed);
    }
    packet.WaitReady();  // the sender has written the value
    return RecvResult<T>(std::move(*packet.value));
  }

  bool Close() override {
    std::vector<std::shared_ptr<Context>> to_wake;
    {
      SpinLockHolder hold(mu_);
      if (closed_) return false;
      closed_ = true;
      closed_flag_.store(true, std::memory_order_release);
      to_wake = senders_.Disconnect();
      std::vector<std::shared_ptr<Context>> receivers = receivers_.Disconnect();
      to_wake.insert(to_wake.end(), receivers.begin(), receivers.end());
    }
    // Outside the lock: see BasicWaiterList::Disconnect().
    for (const std::shared_ptr<Context>& context : to_wake) context->Unpark();
    return true;
  }

  bool IsClosed() const override { return closed_flag_.load(std::memory_order_acquire); }
  size_t size() const override { return 0; }
  size_t capacity() const override { return 0; }

  bool ReadyToRecv() override {
    SpinLockHolder hold(mu_);
    return closed_ || senders_.HasOtherWaiter();
  }
  bool ReadyToSend() override {
    SpinLockHolder hold(mu_);
    return closed_ || receivers_.HasOtherWaiter();
  }
  void WatchRecv(std::shared_ptr<Context> context, OperationToken token,
                 Packet<T>* packet) override {
    SpinLockHolder hold(mu_);
    receivers_.Register(PacketWaiter{std::move(context), token, packet});
  }
  void UnwatchRecv(OperationToken token) override {
    SpinLockHolder hold(mu_);
    receivers_.Unregister(token);
  }
  void WatchSend(std::shared_ptr<Context> context, OperationToken token,
                 Packet<T>* packet) override {
    SpinLockHolder hold(mu_);
    senders_.Register(PacketWaiter{std::move(context), token, packet});
  }
  void UnwatchSend(OperationToken token) override {
    SpinLockHolder hold(mu_);
    senders_.Unregister(token);
  }
  bool CompletesThroughPacket() const override { return true; }

  // A watch is a park that always succeeds: the context stays kWaiting
  // and its owner parks (or not) after the lock is let go.
  std::optional<RecvResult<T>> TryRecvOrWatch(const std::shared_ptr<Context>& context,
                                              OperationToken token, Packet<T>* packet) override {
    return TryRecvOrPark(context, token, packet, [] { return true; });
  }

  std::optional<SendResult<T>> TrySendOrWatch(T& value, const std::shared_ptr<Context>& context,
                                              OperationToken token, Packet<T>* packet) override {
    return TrySendOrPark(value, context, token, packet, [] { return true; });
  }

  std::optional<RecvResult<T>> TryRecvOrPark(const std::shared_ptr<Context>& context,
                                             OperationToken token, Packet<T>* packet,
                                             absl::FunctionRef<bool()> park) override {
    mu_.Lock();
    if (std::optional<PacketWaiterList::Selected> sender = senders_.TrySelectOther()) {
      mu_.Unlock();
      return TakeFromApart(*sender);
    }
    if (closed_) {
      mu_.Unlock();
      return RecvResult<T>(RecvError::kClosed);
    }
    receivers_.Register(PacketWaiter{context, token, packet});
    if (!park()) {
      receivers_.Unregister(token);
      mu_.Unlock();
      return RecvResult<T>(RecvError::kCancelled);
    }
    mu_.Unlock();  // parked: the waiting frame is no longer ours to touch
    return std::nullopt;
  }

  std::optional<SendResult<T>> TrySendOrPark(T& value, const std::shared_ptr<Context>& context,
                                             OperationToken token, Packet<T>* packet,
                                             absl::FunctionRef<bool()> park) override {
    mu_.Lock();
    if (closed_) {
      mu_.Unlock();
      return SendResult<T>::Failed(SendError::kClosed, std::move(value));
    }
    if (std::optional<PacketWaiterList::Selected> receiver = receivers_.TrySelectOther()) {
      mu_.Unlock();
      Hand(*receiver, [&](Packet<T>* p) { p->value.emplace(std::move(value)); });
      return SendResult<T>::Sent();
    }
    packet->value.emplace(std::move(value));
    senders_.Register(PacketWaiter{context, token, packet});
    if (!park()) {
      senders_.Unregister(token);
      mu_.Unlock();
      SendResult<T> cancelled =
          SendResult<T>::Failed(SendError::kCancelled, std::move(*packet->value));
      packet->value.reset();
      return cancelled;
    }
    mu_.Unlock();  // parked: the waiting frame is no longer ours to touch
    return std::nullopt;
  }

 private:
  // Exchanges a value through a selected partner's packet, wakes the
  // partner, and only then marks the packet ready: after that store the
  // partner may return, and its packet (on its stack) is gone.
  template <typename Exchange>
  static void Hand(PacketWaiterList::Selected& partner, Exchange exchange) {
    auto* packet = static_cast<Packet<T>*>(partner.packet);
    exchange(packet);
    partner.Wake();
    packet->ready.store(true, std::memory_order_release);
  }

  // Takes the value out of a selected sender's packet.
  static RecvResult<T> TakeFrom(PacketWaiterList::Selected& sender) {
    std::optional<T> value;
    Hand(sender, [&](Packet<T>* p) { value.emplace(std::move(*p->value)); });
    return RecvResult<T>(std::move(*value));
  }
  // TakeFrom() as a call of its own, where it is not the usual case: a
  // task's recv, which usually parks, then keeps a small frame (bench K4).
  ABSL_ATTRIBUTE_NOINLINE static RecvResult<T> TakeFromApart(PacketWaiterList::Selected& sender) {
    return TakeFrom(sender);
  }

  SpinLock mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> closed_flag_{false};  // closed_, readable without the lock
  // Guarded by mu_ like the rest of the state (no second lock per hand-off).
  PacketWaiterList senders_ ABSL_GUARDED_BY(mu_);
  PacketWaiterList receivers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_ZERO_FLAVOR_H_
