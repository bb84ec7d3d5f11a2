// -----------------------------------------------------------------------------
// File: clock.h
// -----------------------------------------------------------------------------
//
// `Clock`: a time source and timer service. An ActorSystem's timers
// (send-after, periodic sends, ask timeouts) and a task's Sleep() go through
// one, so the test kit can substitute a virtual clock that a test advances
// by hand.
//
//   troupe::Clock& clock = system.clock();
//   troupe::TimerId id = clock.ScheduleAt(clock.Now() + absl::Seconds(1), [] { Tick(); });
//   clock.Cancel(id);
//
// The real clock (MakeRealClock) keeps its timers in one ordered map served
// by one thread: not a thread per timer. Callbacks run on that thread and
// must be short (they Tell an actor or complete a future).
//
// Thread-safety: every method may be called from any thread.

#ifndef TROUPE_THREADS_CLOCK_H_
#define TROUPE_THREADS_CLOCK_H_

#include <cstdint>
#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace troupe {

// Names a scheduled callback; 0 is never a valid id.
using TimerId = uint64_t;

class Clock {
 public:
  using Callback = absl::AnyInvocable<void() &&>;

  virtual ~Clock() = default;

  // Clock::Now()
  virtual absl::Time Now() const = 0;

  // Clock::ScheduleAt()
  //
  // Runs `callback` once at (or soon after) `when`. Returns its id, or 0 if
  // the clock is shut down (the callback is then destroyed unrun).
  virtual TimerId ScheduleAt(absl::Time when, Callback callback) = 0;

  // Clock::Cancel()
  //
  // Returns true if the callback had not started and now never will (it is
  // destroyed); false if it ran, is running or was cancelled before.
  virtual bool Cancel(TimerId id) = 0;

  // Clock::Shutdown()
  //
  // Destroys every pending callback unrun and stops the clock's thread, if
  // any. Later ScheduleAt() calls return 0. Idempotent.
  virtual void Shutdown() = 0;
};

// MakeRealClock()
//
// absl::Now() and one timer thread named `thread_name`.
std::unique_ptr<Clock> MakeRealClock(const char* thread_name = "troupe-timer");

// DefaultClock()
//
// A process-wide real clock, started on first use and never shut down: the
// clock of tasks started without one (async/: Go, BlockOn).
Clock& DefaultClock();

}  // namespace troupe

#endif  // TROUPE_THREADS_CLOCK_H_
