// -----------------------------------------------------------------------------
// File: harness.h
// -----------------------------------------------------------------------------
//
// The benchmark harness behind `bazel run --config=opt //bench`: every layer
// registers the workloads of bench/WORKLOADS.md it implements, and the
// harness runs them, prints a table (id, workload, figure, unit, target) and,
// with --json, one JSON array of {"id", "name", "value", "unit"} on stdout.
//
//   const bool registered = troupe::bench::RegisterWorkload({
//       {{"P1", "10^7 tiny tasks via Execute", "ns/task", "<= 25"}},
//       []() -> absl::StatusOr<troupe::bench::Rows> {
//         ...run once, check the result...
//         return troupe::bench::Rows{{"P1", elapsed_ns / n}};
//       }});
//
// A row a body never returns (an optional comparison that needs something
// the machine lacks) is printed as not measured.
//
// A workload body runs one repetition and returns its figure(s), or an error
// when its own result check fails (a wrong count is an error, not a figure).
// The harness repeats it (--repetitions, default 5) and reports the median of
// each row. A body may return several rows (a baseline beside the figure,
// a ratio) that share its repetitions.

#ifndef TROUPE_BENCH_HARNESS_H_
#define TROUPE_BENCH_HARNESS_H_

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace troupe::bench {

// One figure of one repetition.
struct Row {
  std::string id;    // "P1", "P3-std" ...
  double value = 0;  // in the row's unit
};
using Rows = std::vector<Row>;

// The description of one output row, registered once.
struct RowSpec {
  std::string id;
  std::string name;
  std::string unit;
  std::string target;  // e.g. "<= 25", or "" when the issue names none
};

struct Workload {
  std::vector<RowSpec> rows;  // the first row's id names the workload
  std::function<absl::StatusOr<Rows>()> run;
};

// Registers a workload; used through TROUPE_BENCHMARK or directly.
bool RegisterWorkload(Workload workload);

// How one run of a workload is carried out: `run()` here, or somewhere
// else that returns its rows (main.cc: a forked child, so that every
// workload starts from a process that ran nothing before it).
using WorkloadRunner =
    std::function<absl::StatusOr<Rows>(const std::function<absl::StatusOr<Rows>()>& run)>;

// Runs the registered workloads, each run through `runner` (null: in this
// process). Returns the process exit code.
int RunMain(int argc, char** argv, const WorkloadRunner& runner = nullptr);

// Nanoseconds since an arbitrary epoch (steady clock).
inline int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace troupe::bench

#endif  // TROUPE_BENCH_HARNESS_H_
