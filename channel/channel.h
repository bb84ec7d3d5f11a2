// -----------------------------------------------------------------------------
// File: channel.h
// -----------------------------------------------------------------------------
//
// Go-style channels: `Channel<T>` makes a connected `Sender<T>` /
// `Receiver<T>` pair, in one of three flavours behind one API.
//
//   auto [tx, rx] = troupe::Channel<Job>::Bounded(1024);   // ring of 1024
//   auto [tx, rx] = troupe::Channel<Job>::Unbounded();     // never full
//   auto [tx, rx] = troupe::Channel<Job>::Rendezvous();    // capacity 0: hand to hand
//
//   troupe::Thread producer("producer", [tx = std::move(tx)]() mutable {
//     for (Job& job : jobs) {
//       if (!tx.Send(std::move(job)).ok()) break;   // closed: the job came back
//     }
//   });                                             // last Sender gone: closed
//   for (Job& job : rx) Run(job);                   // ends when closed and drained
//
// Handles. Senders and Receivers are copyable (each copy is another producer
// or consumer: the channel is MPMC) and movable. The channel closes when the
// last Sender is destroyed, when the last Receiver is destroyed (nobody could
// ever receive), or on Close() from either side. After it closes, receivers
// still drain what is buffered, then see kClosed; sends fail with kClosed
// and hand the value back.
//
// Operations. Send blocks while the channel is full (a rendezvous send until
// a receiver takes the value); TrySend never blocks; SendFor/SendUntil give
// up at a deadline. Recv / TryRecv / RecvFor / RecvUntil likewise. A failed
// send returns the value in its SendResult; nothing is lost. Blocking waits
// spin briefly, then sleep on a futex; no busy waiting while asleep.
//
// Move-only element types (std::unique_ptr, protobuf messages) work.
//
// Thread-safety: every operation may be called concurrently on any handles of
// one channel. A single handle object is not itself synchronised: give each
// thread its own copy.

#ifndef TROUPE_CHANNEL_CHANNEL_H_
#define TROUPE_CHANNEL_CHANNEL_H_

#include <atomic>
#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/check.h"
#include "channel/internal/array_flavor.h"
#include "channel/internal/flavor.h"
#include "channel/internal/list_flavor.h"
#include "channel/internal/zero_flavor.h"
#include "channel/results.h"

namespace troupe {

template <typename T>
class Sender;
template <typename T>
class Receiver;

namespace channel_internal {

// What the handles share: the flavour and the handle counts.
template <typename T>
struct Shared {
  explicit Shared(std::unique_ptr<Flavor<T>> f) : flavor(std::move(f)) {}
  std::unique_ptr<Flavor<T>> flavor;
  std::atomic<int64_t> senders{1};
  std::atomic<int64_t> receivers{1};
};

// Lets Select reach a handle's flavour without widening the handles' API.
struct FlavorAccess {
  template <typename T>
  static Flavor<T>& Of(Sender<T>& tx) {
    return tx.Flavor();
  }
  template <typename T>
  static Flavor<T>& Of(Receiver<T>& rx) {
    return rx.Flavor();
  }
};

}  // namespace channel_internal

template <typename T>
class Channel {
 public:
  using Pair = std::pair<Sender<T>, Receiver<T>>;

  // Channel::Bounded()
  //
  // A ring of `capacity` slots (capacity >= 1; 0 gives a rendezvous channel).
  static Pair Bounded(size_t capacity) {
    if (capacity == 0) return Rendezvous();
    return Make(std::make_unique<channel_internal::ArrayFlavor<T>>(capacity));
  }

  // Channel::Unbounded()
  //
  // Never full: sends never block (memory grows with the backlog).
  static Pair Unbounded() { return Make(std::make_unique<channel_internal::ListFlavor<T>>()); }

  // Channel::Rendezvous()
  //
  // Capacity 0: each send waits for a receiver to take the value.
  static Pair Rendezvous() { return Make(std::make_unique<channel_internal::ZeroFlavor<T>>()); }

 private:
  static Pair Make(std::unique_ptr<channel_internal::Flavor<T>> flavor) {
    auto shared = std::make_shared<channel_internal::Shared<T>>(std::move(flavor));
    return Pair(Sender<T>(shared), Receiver<T>(shared));
  }
};

template <typename T>
class Sender {
 public:
  Sender(const Sender& other) : shared_(other.shared_) { Acquire(); }
  Sender(Sender&& other) noexcept = default;
  Sender& operator=(const Sender& other) {
    if (this != &other) {
      Release();
      shared_ = other.shared_;
      Acquire();
    }
    return *this;
  }
  Sender& operator=(Sender&& other) noexcept {
    if (this != &other) {
      Release();
      shared_ = std::move(other.shared_);
    }
    return *this;
  }
  ~Sender() { Release(); }

  // Sender::Send()
  //
  // Blocks while the channel is full. Fails only with kClosed (value returned).
  SendResult<T> Send(T value) {
    return Flavor().SendUntil(std::move(value), absl::InfiniteFuture());
  }

  // Sender::TrySend()
  //
  // Never blocks: kFull if there is no room (for a rendezvous channel: no
  // receiver waiting right now), kClosed if closed.
  SendResult<T> TrySend(T value) { return Flavor().TrySend(std::move(value)); }

  // Sender::SendFor() / SendUntil()
  //
  // Like Send(), but kTimedOut (value returned) when the time runs out.
  SendResult<T> SendFor(T value, absl::Duration timeout) {
    return Flavor().SendUntil(std::move(value), absl::Now() + timeout);
  }
  SendResult<T> SendUntil(T value, absl::Time deadline) {
    return Flavor().SendUntil(std::move(value), deadline);
  }

  // Sender::TrySendBatch()
  //
  // Sends values[from...] in order, as many as fit now, without blocking
  // (a run of ring slots at once on a bounded channel). Returns how many;
  // the values sent are moved from, the rest untouched.
  size_t TrySendBatch(std::vector<T>& values, size_t from) {
    return Flavor().TrySendBatch(values, from);
  }

  // Sender::SendBatch()
  //
  // Sends values in order, blocking as Send() does, until all are sent or
  // the channel closes. Returns how many were sent; the values not sent stay
  // in `values` (from that index on), so nothing is lost. On a bounded
  // channel a run of free slots is claimed at once, so a batch costs less
  // per value than single sends.
  size_t SendBatch(std::vector<T>& values) {
    size_t sent = 0;
    while (sent < values.size()) {
      const size_t n = Flavor().TrySendBatch(values, sent);
      if (n > 0) {
        sent += n;
        continue;
      }
      SendResult<T> result = Send(std::move(values[sent]));  // blocks for room
      if (!result.ok()) {
        values[sent] = result.TakeValue();
        break;
      }
      ++sent;
    }
    return sent;
  }

  // Sender::Close()
  //
  // Closes the channel for every handle. Returns false if already closed.
  bool Close() { return Flavor().Close(); }
  bool IsClosed() const { return Flavor().IsClosed(); }

  size_t size() const { return Flavor().size(); }
  size_t capacity() const { return Flavor().capacity(); }

 private:
  friend class Channel<T>;
  friend struct channel_internal::FlavorAccess;
  explicit Sender(std::shared_ptr<channel_internal::Shared<T>> shared)
      : shared_(std::move(shared)) {}

  channel_internal::Flavor<T>& Flavor() const {
    TROUPE_CHECK(shared_ != nullptr, "use of a moved-from Sender");
    return *shared_->flavor;
  }
  void Acquire() {
    if (shared_) shared_->senders.fetch_add(1, std::memory_order_relaxed);
  }
  void Release() {
    // acq_rel: the last sender's close happens after every other sender's
    // last send.
    if (shared_ && shared_->senders.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      shared_->flavor->Close();
    }
    shared_.reset();
  }

  std::shared_ptr<channel_internal::Shared<T>> shared_;
};

template <typename T>
class Receiver {
 public:
  Receiver(const Receiver& other) : shared_(other.shared_) { Acquire(); }
  Receiver(Receiver&& other) noexcept = default;
  Receiver& operator=(const Receiver& other) {
    if (this != &other) {
      Release();
      shared_ = other.shared_;
      Acquire();
    }
    return *this;
  }
  Receiver& operator=(Receiver&& other) noexcept {
    if (this != &other) {
      Release();
      shared_ = std::move(other.shared_);
    }
    return *this;
  }
  ~Receiver() { Release(); }

  // Receiver::Recv()
  //
  // Blocks until a value arrives; kClosed once closed and drained.
  RecvResult<T> Recv() { return Flavor().RecvUntil(absl::InfiniteFuture()); }

  // Receiver::TryRecv()
  //
  // Never blocks: kEmpty if nothing is there, kClosed if closed and drained.
  RecvResult<T> TryRecv() { return Flavor().TryRecv(); }

  // Receiver::RecvFor() / RecvUntil()
  //
  // Like Recv(), but kTimedOut when the time runs out.
  RecvResult<T> RecvFor(absl::Duration timeout) {
    return Flavor().RecvUntil(absl::Now() + timeout);
  }
  RecvResult<T> RecvUntil(absl::Time deadline) { return Flavor().RecvUntil(deadline); }

  // Receiver::TryRecvBatch()
  //
  // Takes whatever values are ready, up to `max`, appending them to `out`,
  // without blocking. Returns how many (0: none ready, or closed and
  // drained).
  size_t TryRecvBatch(std::vector<T>& out, size_t max) { return Flavor().TryRecvBatch(out, max); }

  // Receiver::RecvBatch()
  //
  // Blocks for the first value, then takes whatever else is ready, up to
  // `max` values in all, appending them to `out`. Returns how many; 0 means
  // closed and drained.
  size_t RecvBatch(std::vector<T>& out, size_t max) {
    if (max == 0) return 0;
    const size_t ready = Flavor().TryRecvBatch(out, max);
    if (ready > 0) return ready;
    RecvResult<T> first = Recv();  // blocks for the first
    if (!first.ok()) return 0;
    out.push_back(std::move(first).value());
    return 1 + Flavor().TryRecvBatch(out, max - 1);
  }

  bool Close() { return Flavor().Close(); }
  bool IsClosed() const { return Flavor().IsClosed(); }
  size_t size() const { return Flavor().size(); }
  size_t capacity() const { return Flavor().capacity(); }

  // Range-for: `for (T& v : rx)` receives until closed and drained.
  using Iterator = channel_internal::RecvIterator<Receiver, T>;
  Iterator begin() { return Iterator(this); }
  Iterator end() { return Iterator(); }

 private:
  friend class Channel<T>;
  friend struct channel_internal::FlavorAccess;
  explicit Receiver(std::shared_ptr<channel_internal::Shared<T>> shared)
      : shared_(std::move(shared)) {}

  channel_internal::Flavor<T>& Flavor() const {
    TROUPE_CHECK(shared_ != nullptr, "use of a moved-from Receiver");
    return *shared_->flavor;
  }
  void Acquire() {
    if (shared_) shared_->receivers.fetch_add(1, std::memory_order_relaxed);
  }
  void Release() {
    if (shared_ && shared_->receivers.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      shared_->flavor->Close();  // nobody can receive: sends must fail, not vanish
    }
    shared_.reset();
  }

  std::shared_ptr<channel_internal::Shared<T>> shared_;
};

}  // namespace troupe

#endif  // TROUPE_CHANNEL_CHANNEL_H_
