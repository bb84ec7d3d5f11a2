#!/usr/bin/env bash
# Runs the tour and checks that each chapter reported what it should.
set -euo pipefail
out=$("$1")
echo "$out"
check() { grep -qF -- "$1" <<<"$out" || { echo "tour_test: missing: $1"; exit 1; }; }
check "thread 'summer' returned 500000500000"
check "INTERNAL: exception in thrower: on purpose"
check "same results"
check "sum of 10 squares computed as futures: 385"
check "8 entries (OK)"
check "values through a bounded channel"
check "sum correct"
check "nothing within 5ms, it timed out"
check "the alarm arm fired: \"wake up\""
check "a counter told 1..1000 answers an ask with 500500"
check "asking it for the wrong reply type: INVALID_ARGUMENT: ask to Counter#1: expected a reply of type std::string, got long"
check "two actors bounced a ball 1000000 times"
check "mail to a stopped actor is a dead letter, counted: 1"
check "[supervision] the worker failed on -1 and was restarted behind the same ref: 21 doubled is 42 (from incarnation 2)"
check "[supervision] the failed message was dead-lettered, counted: 1"
check "tour complete"
