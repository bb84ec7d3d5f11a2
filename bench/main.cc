// The benchmark suite: `bazel run --config=opt //bench -- [--filter=REGEX] [--json]`.
#include "bench/harness.h"
#include "bench/process.h"

// Every run of every workload in a forked child of this process, which
// itself runs nothing: no workload inherits the memory (the envelope pool
// keeps what it carved) or the threads an earlier one left behind, so RSS
// rows are each workload's own (O1-rss read 88-107 MiB after M1 had run in
// the same process; 7 MiB alone).
int main(int argc, char** argv) {
  return troupe::bench::RunMain(
      argc, argv, [](const std::function<absl::StatusOr<troupe::bench::Rows>()>& run) {
        return troupe::bench::InChildProcess(run);
      });
}
