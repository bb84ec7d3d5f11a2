# spin_check.sh: the `check` function the spin model tests share. Source it
# after setting `models` (the directory of the .pml files) and `work` (a
# scratch directory); then call `check MODEL EXPECT [spin -D flags...]` per
# model and `finish` at the end. EXPECT is "pass" (no error in the full
# search) or "fail" (the planted bug is caught).

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

finish() {
  if ((failures)); then
    echo "$failures model check(s) failed"
    exit 1
  fi
}
