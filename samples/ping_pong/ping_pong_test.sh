#!/usr/bin/env bash
# Runs ping_pong with a small count and checks what it reports.
set -euo pipefail
out=$("$1" 20000)
echo "$out"
grep -qE '^20000 round trips \(40000 messages\) in .*ns per message' <<<"$out" ||
  { echo "ping_pong_test: no rate line"; exit 1; }
grep -qF 'dead letters: 0' <<<"$out" || { echo "ping_pong_test: dead letters"; exit 1; }
if "$1" 0 2>/dev/null; then echo "ping_pong_test: accepted 0 round trips"; exit 1; fi
echo "ping_pong_test: ok"
