// -----------------------------------------------------------------------------
// File: internal/flavor.h
// -----------------------------------------------------------------------------
//
// `Flavor<T>`: the interface every channel implementation offers the
// `Sender`/`Receiver` facade: bounded ring (array_flavor.h), unbounded list
// (list_flavor.h), rendezvous (zero_flavor.h).

#ifndef TROUPE_CHANNEL_INTERNAL_FLAVOR_H_
#define TROUPE_CHANNEL_INTERNAL_FLAVOR_H_

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/time/time.h"
#include "channel/internal/context.h"
#include "channel/results.h"
#include "threads/atomics.h"

namespace troupe::channel_internal {

// Where a rendezvous hands a value over to a blocked thread (a Send, a Recv
// or a Select arm): on the blocked thread's side, which waits for `ready`
// before it returns. The partner's store to `ready` is its last touch.
template <typename T>
struct Packet {
  std::optional<T> value;
  std::atomic<bool> ready{false};

  void WaitReady() const {
    Backoff backoff;
    while (!ready.load(std::memory_order_acquire)) backoff.Snooze();
  }
};

// How far a non-blocking try looks before it says "full" or "empty": see
// Flavor::GlanceSend().
enum class Look : unsigned char { kSettled, kGlance };

template <typename T>
class Flavor {
 public:
  virtual ~Flavor() = default;

  // Non-blocking: kFull / kEmpty instead of waiting. The answer holds
  // against every operation that has returned: a send that returned is
  // seen, a receive that returned has made room.
  virtual SendResult<T> TrySend(T value) = 0;
  virtual RecvResult<T> TryRecv() = 0;

  // TrySend()/TryRecv() at a glance, for a caller that tries again with
  // those before it acts on kFull/kEmpty (a select's first pass, a blocking
  // operation's spin): it may also say kFull/kEmpty while the slot it would
  // take is still being read or written by another party, even if a later
  // one is ready. The bounded ring then decides from that slot alone and
  // does not read the other side's index, whose cache line the other side
  // is busy writing (docs/architecture.md, "A select on the hot path").
  virtual SendResult<T> GlanceSend(T value) { return TrySend(std::move(value)); }
  virtual RecvResult<T> GlanceRecv() { return TryRecv(); }

  // Blocking until the deadline (absl::InfiniteFuture(): no limit).
  virtual SendResult<T> SendUntil(T value, absl::Time deadline) = 0;
  virtual RecvResult<T> RecvUntil(absl::Time deadline) = 0;

  // Batches, without blocking: send values[from...] / receive up to `max`
  // into `out`, as many as can go at once; return how many. The defaults go
  // one by one; the bounded ring claims a run of slots with one CAS.
  virtual size_t TrySendBatch(std::vector<T>& values, size_t from) {
    size_t sent = 0;
    while (from + sent < values.size()) {
      SendResult<T> r = TrySend(std::move(values[from + sent]));
      if (!r.ok()) {
        values[from + sent] = r.TakeValue();
        break;
      }
      ++sent;
    }
    return sent;
  }
  virtual size_t TryRecvBatch(std::vector<T>& out, size_t max) {
    size_t taken = 0;
    while (taken < max) {
      RecvResult<T> r = TryRecv();
      if (!r.ok()) break;
      out.push_back(std::move(r).value());
      ++taken;
    }
    return taken;
  }

  // Closes the channel; true if this call closed it. Wakes every waiter.
  virtual bool Close() = 0;
  virtual bool IsClosed() const = 0;

  // Items buffered now (a snapshot) and the capacity (0: rendezvous;
  // SIZE_MAX: unbounded).
  virtual size_t size() const = 0;
  virtual size_t capacity() const = 0;

  // -- For Select --------------------------------------------------------
  // Would a receive / send complete (or fail with kClosed) right now?
  virtual bool ReadyToRecv() = 0;
  virtual bool ReadyToSend() = 0;
  // Registers a blocked select arm with the wakers; `packet` is used only by
  // rendezvous channels, which hand the value over through it (for a send
  // arm it holds the value to send).
  virtual void WatchRecv(std::shared_ptr<Context> context, OperationToken token,
                         Packet<T>* packet) = 0;
  virtual void UnwatchRecv(OperationToken token) = 0;
  virtual void WatchSend(std::shared_ptr<Context> context, OperationToken token,
                         Packet<T>* packet) = 0;
  virtual void UnwatchSend(OperationToken token) = 0;
  // True for rendezvous: a select arm chosen by a partner has already been
  // completed through its packet (otherwise being chosen means "retry").
  virtual bool CompletesThroughPacket() const { return false; }

  // An entry a partner selects with its own token is removed from the
  // waiter list as it is selected (there is nothing to unwatch); one
  // selected with kAborted or kDisconnected stays until its Unwatch.

  // -- For a task's single operation (async/channel.h) -------------------
  // TryRecv(), and when the channel is empty, WatchRecv() with no receive
  // possible in between: the result, or nullopt for "registered, wait to be
  // selected" — by a partner, a close, or kAborted where the flavour cannot
  // make the two steps one and the channel became ready meanwhile (try
  // again). The rendezvous flavour does both under its one lock.
  virtual std::optional<RecvResult<T>> TryRecvOrWatch(const std::shared_ptr<Context>& context,
                                                      OperationToken token, Packet<T>* packet) {
    RecvResult<T> now = TryRecv();
    if (now.ok() || now.error() != RecvError::kEmpty) return now;
    WatchRecv(context, token, packet);
    if (ReadyToRecv()) context->TrySelect(kAborted);
    return std::nullopt;
  }
  // The same for a send. On nullopt a rendezvous flavour has moved `value`
  // into `packet` (a receiver takes it from there); the others leave it in
  // `value`. On a result, `value` is moved-from (a failure carries it).
  virtual std::optional<SendResult<T>> TrySendOrWatch(T& value,
                                                      const std::shared_ptr<Context>& context,
                                                      OperationToken token, Packet<T>* packet) {
    SendResult<T> now = TrySend(std::move(value));
    if (now.ok() || now.error() != SendError::kFull) return now;
    value = now.TakeValue();
    WatchSend(context, token, packet);
    if (ReadyToSend()) context->TrySelect(kAborted);
    return std::nullopt;
  }

  // -- For a task's rendezvous wait (async/channel.h) --------------------
  // TryRecvOrWatch()/TrySendOrWatch() for a flavour that
  // CompletesThroughPacket(), where a task that must wait also parks
  // before the channel lets go of its lock: once the entry is registered,
  // `park` runs under the lock. It parks the context (Context::
  // ParkLocked(), no CAS: nothing else can select it yet) and registers the
  // wait for cancellation, as its last touch of the waiting frame. nullopt:
  // parked, and the caller must not touch the frame again (a partner may
  // resume it at once, on another thread). If `park` returns false (the
  // task is cancelled, nothing parked), the registration is undone and the
  // result is kCancelled (a send's value handed back). Other flavours do
  // not offer it.
  virtual std::optional<RecvResult<T>> TryRecvOrPark(const std::shared_ptr<Context>& context,
                                                     OperationToken token, Packet<T>* packet,
                                                     absl::FunctionRef<bool()> park);
  virtual std::optional<SendResult<T>> TrySendOrPark(T& value,
                                                     const std::shared_ptr<Context>& context,
                                                     OperationToken token, Packet<T>* packet,
                                                     absl::FunctionRef<bool()> park);
};

// Only a flavour that completes through its packets parks a task under its
// lock; async/channel.h asks no other.
template <typename T>
std::optional<RecvResult<T>> Flavor<T>::TryRecvOrPark(const std::shared_ptr<Context>& /*context*/,
                                                      OperationToken /*token*/,
                                                      Packet<T>* /*packet*/,
                                                      absl::FunctionRef<bool()> /*park*/) {
  std::abort();
}

template <typename T>
std::optional<SendResult<T>> Flavor<T>::TrySendOrPark(T& /*value*/,
                                                      const std::shared_ptr<Context>& /*context*/,
                                                      OperationToken /*token*/,
                                                      Packet<T>* /*packet*/,
                                                      absl::FunctionRef<bool()> /*park*/) {
  std::abort();
}

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_FLAVOR_H_
