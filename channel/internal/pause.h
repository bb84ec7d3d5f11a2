// -----------------------------------------------------------------------------
// File: internal/pause.h
// -----------------------------------------------------------------------------
//
// `PauseBeforeLookingAgain()`: how a channel operation that found nothing to
// do (a full ring, an empty queue) waits before it looks again while it
// spins, before it blocks. The bounded and unbounded channels and the SPSC
// ring use it (a rendezvous has nothing to spin on: it registers and waits):
//
//   Backoff backoff;
//   while (!TryRecv(&value)) {
//     if (backoff.ShouldPark()) { Block(); backoff.Reset(); continue; }
//     PauseBeforeLookingAgain(backoff);
//   }
//
// Why a pause of its own, and not Backoff's first short spins: each look
// reads the index and slot lines that the other side is busy writing, and
// looking again at once pulls those lines away from it in mid-stream, so the
// side that should make progress slows down. On the 2-core development
// machine (a `pause` is ~19 ns there) it took bench C5 from 165-260 to
// 84-101 ns/msg, C6 (unbounded) from a median of 24 to 19, C1-spsc from 14
// to 12 (docs/architecture.md, "A select on the hot path"). The price: a
// spinning side sees a change up to one pause later (~1.2 us there).

#ifndef TROUPE_CHANNEL_INTERNAL_PAUSE_H_
#define TROUPE_CHANNEL_INTERNAL_PAUSE_H_

#include "threads/atomics.h"

namespace troupe::channel_internal {

// ~1.2 us on the development machine: long enough for the other side to
// move on by a line or more, short beside a futex sleep and wake.
inline constexpr int kPausesBetweenLooks = 64;

// Waits before the next look at a channel that had nothing to do.
inline void PauseBeforeLookingAgain(Backoff& backoff) {
  for (int i = 0; i < kPausesBetweenLooks; ++i) CpuRelax();
  backoff.Snooze();
}

}  // namespace troupe::channel_internal

#endif  // TROUPE_CHANNEL_INTERNAL_PAUSE_H_
