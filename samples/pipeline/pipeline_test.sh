#!/usr/bin/env bash
# Runs the three pipelines and checks their throughput lines and agreement.
set -euo pipefail
out=$("$1")
echo "$out"
check() { grep -qE -- "$1" <<<"$out" || { echo "pipeline_test: missing: $1"; exit 1; }; }
check "^channels: 1000000 records through 3 bounded channels: [0-9]+ records/s$"
check "^actors:   1000000 records through 3 actors: [0-9]+ records/s \(666000 kept\)$"
# At most the capacity, plus the one resumption of a stage's one suspended
# handler task (handler tasks are not reentrant).
check "^actors:   deepest mailbox ([0-9]|[1-9][0-9]|[1-9][0-9][0-9]|10[01][0-9]|102[0-5]) \\(capacity 1024, plus exempt task resumptions\\)$"
check "^streams:  1000000 records through 3 buffered stream stages: [0-9]+ records/s$"
check "all three totals match the expected sums over 16 keys: yes"
echo "pipeline_test: ok"
