#!/usr/bin/env bash
# Checks the channels' close protocols over every interleaving with spin
# (the models are the .pml files beside this script; each says what it
# checks). Each model must verify with no error, and each must also catch
# its planted bug (-DOLD_PROTOCOL / -DMUTANT): a check that cannot fail
# proves nothing.
set -euo pipefail

models=${TEST_SRCDIR:-$(dirname "$0")/../..}/${TEST_WORKSPACE:-}/channel/models
[[ -d $models ]] || models=$(dirname "$0")
work=${TEST_TMPDIR:-$(mktemp -d)}

if ! command -v spin >/dev/null; then
  echo "spin is not installed (tools/test.sh installs Debian's 'spin' package)"
  exit 1
fi

failures=0

# check MODEL EXPECT [spin -D flags...]; EXPECT is "pass" or "fail".
check() {
  local model=$1 expect=$2
  shift 2
  local dir
  dir=$(mktemp -d "$work/spin.XXXXXX")
  cp "$models/$model" "$dir/"
  local out
  out=$(cd "$dir" && spin "$@" -a "$model" >/dev/null &&
    gcc -O1 -w -DSAFETY -DMEMLIM=2048 -o pan pan.c && ./pan -m100000 2>&1) || {
    echo "FAIL $model $*: spin or the verifier did not run"
    echo "$out"
    failures=$((failures + 1))
    return
  }
  local errors states
  errors=$(sed -nE 's/.*errors: ([0-9]+).*/\1/p' <<<"$out")
  states=$(sed -nE 's/^ *([0-9]+) states, stored.*/\1/p' <<<"$out")
  if grep -q "depth too small\|max search depth too small" <<<"$out"; then
    echo "FAIL $model $*: the search was cut short"
    failures=$((failures + 1))
  elif [[ $expect == pass && $errors == 0 ]]; then
    echo "ok   $model $*: no error in $states states"
  elif [[ $expect == fail && ${errors:-0} -gt 0 ]]; then
    echo "ok   $model $*: the planted bug is caught"
  else
    echo "FAIL $model $*: expected to $expect, spin says errors: ${errors:-?}"
    echo "$out"
    failures=$((failures + 1))
  fi
}

check spsc_close.pml pass
check spsc_close.pml fail -DOLD_PROTOCOL
check array_close.pml pass
check array_close.pml pass -DRECEIVERS=2 -DPER_SENDER=1
check array_close.pml fail -DMUTANT
check list_close.pml pass
check list_close.pml fail -DMUTANT
check zero_close.pml pass
check zero_close.pml fail -DMUTANT

if ((failures)); then
  echo "$failures model check(s) failed"
  exit 1
fi
