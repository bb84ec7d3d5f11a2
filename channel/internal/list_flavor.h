// -----------------------------------------------------------------------------
// File: internal/list_flavor.h
// -----------------------------------------------------------------------------
//
// `ListFlavor<T>`: the unbounded channel. Values live inline in linked blocks
// (threads/internal/injection_queue.h): a send is one CAS on the tail index
// and never blocks; receivers take turns through the queue's consumer lock,
// which a receiver holds only for one pop.
//
// Memory ordering: the queue's (documented there) seq_cst tail CAS orders a
// send before the receivers' Waker check, and a blocked receiver's re-check
// reads the tail seq_cst after registering (see waker.h): no lost wake-up.
//
// Waiting. A receiver that finds the channel empty spins before it blocks,
// pausing between two looks (internal/pause.h): each look reads the tail
// the senders are busy moving.

#ifndef TROUPE_CHANNEL_INTERNAL_LIST_FLAVOR_H_
#define TROUPE_CHANNEL_INTERNAL_LIST_FLAVOR_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "channel/internal/context.h"
#include "channel/internal/flavor.h"
#include "channel/internal/pause.h"
#include "channel/internal/waker.h"
#include "threads/atomics.h"
#include "threads/internal/injection_queue.h"

namespace troupe::channel_internal {

template <typename T>
class ListFlavor final : public Flavor<T> {
 public:
  SendResult<T> TrySend(T value) override {
    if (!queue_.Push(std::move(value))) {
      return SendResult<T>::Failed(SendError::kClosed, std::move(value));
    }
    receivers_.Notify();
    return SendResult<T>::Sent();
  }

  // Unbounded: a send never waits.
  SendResult<T> SendUntil(T value, absl::Time) override { return TrySend(std::move(value)); }

  RecvResult<T> TryRecv() override {
    std::optional<T> value = Pop();
    if (value.has_value()) return RecvResult<T>(std::move(*value));
    return RecvResult<T>(IsClosed() && !queue_.MaybeNonEmpty() ? RecvError::kClosed
                                                               : RecvError::kEmpty);
  }

  RecvResult<T> RecvUntil(absl::Time deadline) override {
    Backoff backoff;
    while (true) {
      std::optional<T> value = Pop();
      if (value.has_value()) return RecvResult<T>(std::move(*value));
      // Closed and nothing left (a send still writing its slot counts as
      // something left: MaybeNonEmpty() sees its claimed position).
      if (IsClosed() && !queue_.MaybeNonEmpty()) return RecvResult<T>(RecvError::kClosed);
      if (!backoff.ShouldPark()) {
        PauseBeforeLookingAgain(backoff);
        continue;
      }
      if (absl::Now() >= deadline) return RecvResult<T>(RecvError::kTimedOut);
      BlockOn(
          receivers_, reinterpret_cast<OperationToken>(&value),
          [&] { return queue_.MaybeNonEmpty() || IsClosed(); }, deadline);
      backoff.Reset();
    }
  }

  bool Close() override {
    if (queue_.IsClosed()) return false;
    queue_.Close();
    receivers_.Disconnect();
    return true;
  }

  bool IsClosed() const override { return queue_.IsClosed(); }
  size_t size() const override { return static_cast<size_t>(queue_.SizeGuess()); }
  size_t capacity() const override { return std::numeric_limits<size_t>::max(); }

  bool ReadyToRecv() override { return queue_.MaybeNonEmpty() || IsClosed(); }
  bool ReadyToSend() override { return true; }  // never full
  void WatchRecv(std::shared_ptr<Context> context, OperationToken token, Packet<T>*) override {
    receivers_.Register(std::move(context), token);
  }
  void UnwatchRecv(OperationToken token) override { receivers_.Unregister(token); }
  void WatchSend(std::shared_ptr<Context>, OperationToken, Packet<T>*) override {}
  void UnwatchSend(OperationToken) override {}

 private:
  // One pop under the consumer lock; receivers wait their turn for it, and
  // the holder keeps it only for the pop.
  std::optional<T> Pop() {
    Backoff backoff;
    while (!queue_.TryLockConsumer()) backoff.Spin();
    std::optional<T> value = queue_.Pop();
    queue_.UnlockConsumer();
    return value;
  }

  threads_internal::InjectionQueue<T> queue_;
  Waker receivers_;
};

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_LIST_FLAVOR_H_
