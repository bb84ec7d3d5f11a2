// -----------------------------------------------------------------------------
// File: process.h
// -----------------------------------------------------------------------------
//
// What the memory workloads need of the process: resident and peak memory,
// and a forked child to measure in, so that a workload's figure is its own.
//
//   RegisterWorkload({{{"X-rss", "...", "MiB", ""}},
//                     [] { return InChildProcess(MeasureX); }});

#ifndef TROUPE_BENCH_PROCESS_H_
#define TROUPE_BENCH_PROCESS_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "bench/harness.h"

namespace troupe::bench {

// Resident set size now, in bytes (/proc/self/statm).
int64_t RssBytes();

// Resets the peak RSS (VmHWM) so that the next PeakRssBytes() is this
// workload's own; returns false if the kernel does not allow it.
bool ResetPeakRss();

// The peak resident set size since the process started or ResetPeakRss().
int64_t PeakRssBytes();

// Runs `body` in a forked child process and returns its rows: workloads that
// report memory (A3, A5, A6) must not inherit the memory earlier workloads
// left in the process (the envelope pool keeps what it has carved, and
// freed heap is reused without showing in RSS). Call it only while the
// bench is single-threaded (between workloads every actor system is gone),
// so that forking is safe.
absl::StatusOr<Rows> InChildProcess(const std::function<absl::StatusOr<Rows>()>& body);

}  // namespace troupe::bench

#endif  // TROUPE_BENCH_PROCESS_H_
