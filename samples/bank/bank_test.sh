#!/usr/bin/env bash
# Runs the bank and checks that money was neither made nor lost, while
# accounts crashed and were restarted.
set -euo pipefail
out=$("$1")
echo "$out"
check() { grep -qE -- "$1" <<<"$out" || { echo "bank_test: missing: $1"; exit 1; }; }
check "^200000 transfers between 100 accounts"
check ", 0 stuck$"
check "total before 100000, after 100000: invariant holds"
crashes=$(sed -nE 's/^([0-9]+) crashes sent; ([0-9]+) restarts$/\1/p' <<<"$out")
restarts=$(sed -nE 's/^([0-9]+) crashes sent; ([0-9]+) restarts$/\2/p' <<<"$out")
[[ -n $crashes && $crashes -gt 0 && $restarts == "$crashes" ]] ||
  { echo "bank_test: every crash should be one restart ($crashes vs $restarts)"; exit 1; }
echo "bank_test: ok"
