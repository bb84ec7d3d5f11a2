// -----------------------------------------------------------------------------
// File: internal/memory_keeper.h
// -----------------------------------------------------------------------------
//
// `MemoryKeeper`: an ActorSystem's side of memory that comes back. Every
// check interval it reads how much free memory the envelope and cell pool
// (mailbox/node_pool.h) holds in its depot; once that has stayed above the
// high-water mark for two checks in a row, it has the scheduler release
// whole free slabs down to the mark, behind the actors (low priority), and
// then asks the C library to return its own free pages (glibc's
// malloc_trim), where the burst's other allocations went.
//
//   MemoryKeeper keeper(clock, scheduler, /*high_water=*/4 << 20, absl::Milliseconds(250));
//   keeper.Start();
//   ...
//   keeper.Stop();  // before the scheduler shuts down
//
// Two checks, not one, so that memory freed between two phases of a busy
// workload is not given back only to be carved again a moment later. A
// sweep that could not bring the depot under the mark (its free blocks sit
// in slabs partly in use) doubles the checks the next one waits for, up to
// kMaxChecksBetweenSweeps, so that a fragmented depot is not swept over and
// over for nothing; a check under the mark resets the wait.
//
// Thread-safety: Start() and Stop() from the system's owner; the checks run
// on the clock's thread, the release on the scheduler's.

#ifndef TROUPE_ACTOR_INTERNAL_MEMORY_KEEPER_H_
#define TROUPE_ACTOR_INTERNAL_MEMORY_KEEPER_H_

#include <cstddef>
#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "actor/scheduler.h"
#include "threads/clock.h"
#include "threads/condvar.h"
#include "threads/mutex.h"

namespace troupe::actor_internal {

class MemoryKeeper {
 public:
  static constexpr int kChecksBeforeSweep = 2;
  static constexpr int kMaxChecksBetweenSweeps = 64;  // 16 s at the default interval

  // An interval of zero or less turns the keeper off.
  MemoryKeeper(Clock& clock, Scheduler& scheduler, size_t high_water, absl::Duration interval)
      : clock_(clock), scheduler_(scheduler), high_water_(high_water), interval_(interval) {}
  MemoryKeeper(const MemoryKeeper&) = delete;
  MemoryKeeper& operator=(const MemoryKeeper&) = delete;

  void Start() ABSL_LOCKS_EXCLUDED(mu_);

  // MemoryKeeper::Stop()
  //
  // Waits for a check in progress; no check and no release starts after it
  // returns (one already handed to the scheduler runs when the scheduler
  // drains it). Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Slab bytes the keeper's releases gave back, for stats and tests.
  int64_t released_bytes() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Check() ABSL_LOCKS_EXCLUDED(mu_);
  void ScheduleCheckLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Release() ABSL_LOCKS_EXCLUDED(mu_);

  Clock& clock_;
  Scheduler& scheduler_;
  const size_t high_water_;
  const absl::Duration interval_;

  mutable Mutex mu_;
  CondVar check_done_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool checking_ ABSL_GUARDED_BY(mu_) = false;  // a check runs, outside the lock
  TimerId timer_ ABSL_GUARDED_BY(mu_) = 0;
  int checks_above_ ABSL_GUARDED_BY(mu_) = 0;  // in a row
  int checks_before_sweep_ ABSL_GUARDED_BY(mu_) = kChecksBeforeSweep;
  bool releasing_ ABSL_GUARDED_BY(mu_) = false;
  int64_t released_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace troupe::actor_internal

#endif  // TROUPE_ACTOR_INTERNAL_MEMORY_KEEPER_H_
