#!/usr/bin/env bash
# Drives messenger through stdin and checks every line came back reversed,
# in order, before the goodbye.
set -euo pipefail
reverse() { local s=$1 r= i; for ((i = ${#s} - 1; i >= 0; i--)); do r+=${s:i:1}; done; echo "$r"; }
out=$( { printf 'hello\nworld\n\n'; seq 1 500 | sed 's/^/line /'; } | "$1" 2>/dev/null)
expected=$( { printf '[1] olleh\n[2] dlrow\n[3] \n'; seq 1 500 | while read -r n; do
  printf '[%d] %s\n' $((n + 3)) "$(reverse "line $n")"; done; echo "bye after 503 lines"; } )
if [[ "$out" != "$expected" ]]; then
  diff <(echo "$expected") <(echo "$out") | head -20
  echo "messenger_test: output differs"
  exit 1
fi
# An empty input ends at once.
[[ $("$1" </dev/null 2>/dev/null) == "bye after 0 lines" ]] || { echo "messenger_test: empty input"; exit 1; }
echo "messenger_test: ok"
