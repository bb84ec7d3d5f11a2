#!/usr/bin/env bash
# Runs the counter sample and checks each thing it reports.
set -euo pipefail
out=$("$1" 2>&1)
echo "$out"
check() { grep -qF -- "$1" <<<"$out" || { echo "counter_test: missing: $1"; exit 1; }; }
check "count after 40000 tells from 4 threads: 40000"
check "asking to add -5: INVALID_ARGUMENT: increment by -5: must be > 0"
check "found counter#1 by name; +2 makes 40002"
check "an ask with a 50ms deadline while it is busy: DEADLINE_EXCEEDED: ask counter.Get to counter#1 timed out after 50ms"
check "dead letters: 1 (the late reply)"
echo "counter_test: ok"
