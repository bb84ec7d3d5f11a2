#!/usr/bin/env bash
# Runs remote_ping_pong (two processes) with a small count and checks what
# it reports.
set -euo pipefail
out=$(timeout 120 "$1" 20000)
echo "$out"
grep -qE '^20000 pings and 20000 pongs in .*: [0-9.]+ M messages/s$' <<<"$out" ||
  { echo "remote_ping_pong_test: no rate line"; exit 1; }
grep -qF 'dead letters: 0' <<<"$out" || { echo "remote_ping_pong_test: dead letters"; exit 1; }
if "$1" 0 2>/dev/null; then echo "remote_ping_pong_test: accepted 0 pings"; exit 1; fi
echo "remote_ping_pong_test: ok"
