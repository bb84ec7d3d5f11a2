#!/usr/bin/env bash
# Runs the supervision sample and checks what it reports.
set -euo pipefail
out=$("$1" 2>&1)
echo "$out"
check() { grep -qF -- "$1" <<<"$out" || { echo "supervision_test: missing: $1"; exit 1; }; }
count() { grep -cF -- "$1" <<<"$out" || true; }
check "worker-3: incarnation 2 started"
check "jobs done: 19 of 20; dead letters: 1 (the poison job)"
check "worker-3 has the same ref after its restart: yes"
check "collector: the pool is down: FAILURE: child worker-1 ended: FAILURE (poisoned by job 102); more than 3 restarts within 10s"
check "workers alive after the pool failed: 0"
check "done"
# worker-1 was restarted twice; the third failure passed the pool's limit.
[[ $(count "worker-1: incarnation 3 started") == 1 ]] || { echo "supervision_test: worker-1 restarts"; exit 1; }
[[ $(count "worker-1: incarnation 4") == 0 ]] || { echo "supervision_test: too many restarts"; exit 1; }
# Every incarnation that started also stopped.
[[ $(count " started") == $(count " stopped") ]] || { echo "supervision_test: unbalanced"; exit 1; }
echo "supervision_test: ok"
