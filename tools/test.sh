#!/usr/bin/env bash
# troupe's whole test command (README "Quick start", and .ci/run):
#   1. installs the Debian packages the build needs, if any are missing;
#   2. runs every test plain, then under ThreadSanitizer and AddressSanitizer
#      (.bazelrc gives the sanitizer configs a smaller TROUPE_STRESS_SCALE);
#   3. fuzzes each fuzz target for a few seconds (clang's libFuzzer, from a
#      copy of its seeds; TROUPE_FUZZ_SECONDS, 10 by default);
#   4. builds everything with clang, checking that each target depends on the
#      headers it includes (layering_check) and the thread-safety annotations;
#   5. builds examples/consumer, a workspace that uses troupe as a dependency.
# It ends with a line "N passed, M failed" over all of it.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  bazel-bootstrap bazel-skylib bazel-rules-proto bazel-rules-java
  g++ pkg-config
  libabsl-dev libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc  # remote/ (bazel/grpc.bzl)
  etcd-server etcd-client               # remote/ membership tests start etcd
  iproute2                              # ip: remote/partition_test's veth link
  libgtest-dev libgmock-dev libbenchmark-dev
  libspdlog-dev libfmt-dev
  graphviz  # dot: the observability tests check the DOT they write
  spin      # the channel close-protocol models (channel/models)
  clang libclang-rt-14-dev  # libFuzzer for the fuzz targets (bazel/fuzz.bzl)
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  echo "troupe: installing ${missing[*]}"
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then SUDO=(sudo); fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
passed=0
failed=0
status=0

run_tests() {
  local label=$1
  shift
  echo "=== bazel test //... $label"
  local rc=0
  bazel test "$@" //... 2>&1 | tee "$log" || rc=$?
  # "Executed 3 out of 5 tests: 4 tests pass and 1 fails locally."
  local line total pass
  line=$(grep -E '^Executed [0-9]+ out of [0-9]+ tests?:' "$log" | tail -1 || true)
  total=$(sed -E 's/^Executed [0-9]+ out of ([0-9]+) .*/\1/' <<<"$line")
  pass=$(sed -nE 's/.*: ([0-9]+) tests? pass.*/\1/p' <<<"$line")
  total=${total:-0}
  pass=${pass:-0}
  passed=$((passed + pass))
  failed=$((failed + total - pass))
  if ((rc != 0)); then
    status=1
    if ((total == pass)); then failed=$((failed + 1)); fi  # a build failure
  fi
}

run_tests "(plain)"
run_tests "(tsan)" --config=tsan
run_tests "(asan)" --config=asan

# Each fuzz target (bazel/fuzz.bzl) and the seeds it starts from. New inputs
# go to a scratch directory, not into the repository; a crash leaves its
# input there and is printed.
FUZZ_TARGETS=(
  "//net/fuzz:line_framer_fuzz net/fuzz/corpus/line_framer"
  "//net/fuzz:length_prefix_framer_fuzz net/fuzz/corpus/length_prefix_framer"
  "//samples/http_hello/fuzz:http_parser_fuzz samples/http_hello/fuzz/corpus"
)
fuzz_seconds=${TROUPE_FUZZ_SECONDS:-10}
echo "=== fuzzing: each target for ${fuzz_seconds} s"
fuzz_labels=()
for entry in "${FUZZ_TARGETS[@]}"; do fuzz_labels+=("${entry%% *}"); done
if bazel build --config=fuzz "${fuzz_labels[@]}"; then
  fuzz_bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)
  for entry in "${FUZZ_TARGETS[@]}"; do
    label=${entry%% *}
    seeds=${entry#* }
    path=${label#//}
    binary="$fuzz_bin/${path/://}"
    scratch=$(mktemp -d)
    if "$binary" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$scratch/" "$scratch" "$seeds" >"$scratch/log" 2>&1; then
      echo "fuzz $label: $(grep -E '^Done' "$scratch/log" || echo done)"
      passed=$((passed + 1))
      rm -rf "$scratch"
    else
      echo "fuzz $label: FAILED (inputs and log kept in $scratch)"
      tail -30 "$scratch/log"
      failed=$((failed + 1))
      status=1
    fi
  done
else
  echo "fuzz targets did not build"
  failed=$((failed + 1))
  status=1
fi

# Every target depends on what it includes, and on nothing private to
# another (clang's layering_check, over troupe's own headers), with clang's
# thread-safety analysis as errors on the way.
echo "=== layering: bazel build --config=clang //... (layering_check, -Wthread-safety)"
if bazel build --config=clang //...; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  status=1
fi

echo "=== examples/consumer: troupe as a Bazel dependency"
if (cd examples/consumer && bazel build //... && bazel run //:hello); then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  status=1
fi

echo "${passed} passed, ${failed} failed"
exit "$status"
