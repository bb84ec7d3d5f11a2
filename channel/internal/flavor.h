// -----------------------------------------------------------------------------
// File: internal/flavor.h
// -----------------------------------------------------------------------------
//
// `Flavor<T>`: the interface every channel implementation offers the
// `Sender`/`Receiver` facade: bounded ring (array_flavor.h), unbounded list
// (list_flavor.h), rendezvous (zero_flavor.h).

#ifndef TROUPE_CHANNEL_INTERNAL_FLAVOR_H_
#define TROUPE_CHANNEL_INTERNAL_FLAVOR_H_

#include <cstddef>

#include "absl/time/time.h"
#include "channel/results.h"

namespace troupe::channel_internal {

template <typename T>
class Flavor {
 public:
  virtual ~Flavor() = default;

  // Non-blocking: kFull / kEmpty instead of waiting.
  virtual SendResult<T> TrySend(T value) = 0;
  virtual RecvResult<T> TryRecv() = 0;

  // Blocking until the deadline (absl::InfiniteFuture(): no limit).
  virtual SendResult<T> SendUntil(T value, absl::Time deadline) = 0;
  virtual RecvResult<T> RecvUntil(absl::Time deadline) = 0;

  // Closes the channel; true if this call closed it. Wakes every waiter.
  virtual bool Close() = 0;
  virtual bool IsClosed() const = 0;

  // Items buffered now (a snapshot) and the capacity (0: rendezvous;
  // SIZE_MAX: unbounded).
  virtual size_t Size() const = 0;
  virtual size_t Capacity() const = 0;
};

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_FLAVOR_H_
