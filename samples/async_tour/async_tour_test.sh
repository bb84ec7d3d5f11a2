#!/usr/bin/env bash
# Runs the async tour and checks that each chapter reported what it should.
set -euo pipefail
out=$("$1")
echo "$out"
check() { grep -qF -- "$1" <<<"$out" || { echo "async_tour_test: missing: $1"; exit 1; }; }
check "[crawler] crawled 2000 pages, one Go task each"
check "[broker] asked two vendors at once from one handler: best quote globex at 720 cents"
check "FAILED_PRECONDITION: ask cycle ping#"
check "[cycle] with Reentrant(): ping -> pong -> ping answered, depth 2"
check "async tour complete"
