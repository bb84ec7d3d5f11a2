// The benchmark suite: `bazel run --config=opt //bench -- [--filter=REGEX] [--json]`.
#include "bench/harness.h"

int main(int argc, char** argv) { return troupe::bench::RunMain(argc, argv); }
