#!/usr/bin/env bash
# Runs the observe sample and checks what it prints and the two files it
# writes: the DumpState tree, a trace whose flow events pair up, and a DOT
# file that Graphviz accepts (when it is installed: tools/test.sh installs it).
set -euo pipefail
dir="${TEST_TMPDIR:-$(mktemp -d)}"
out=$("$1" "$dir" 2>&1)
echo "$out"
fail() { echo "observe_test: $*"; exit 1; }
check() { grep -qF -- "$1" <<<"$out" || fail "missing: $1"; }
check "booked 197 orders, 92250 cents; 3 failed pricing"
check "actor system 'order-desk' at "
check "workers:"
check "  desk#2  idle  mailbox 0  handled "
check "    pricer#3  idle  mailbox 0  handled 203  in handlers "
check "restarts 3  dead letters caused 3"
check "trace: "
check "graph: 5 live actors -> $dir/observe.dot"

trace="$dir/observe.trace.json"
[[ -s "$trace" ]] || fail "no trace written"
grep -qF '"traceEvents":[' "$trace" || fail "not a trace-event file"
starts=$(grep -c '"ph":"s"' "$trace" || true)
finishes=$(grep -c '"ph":"f"' "$trace" || true)
(( starts > 0 )) || fail "no flow arrows"
[[ "$starts" == "$finishes" ]] || fail "$starts flow starts but $finishes finishes"
if command -v python3 >/dev/null; then
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$trace" || fail "invalid JSON"
fi

dot_file="$dir/observe.dot"
grep -qF 'a2 -> a3 [color=gray50]' "$dot_file" || fail "the desk does not supervise the pricer"
grep -qF 'label="link"' "$dot_file" || fail "no link"
grep -qF 'label="watches"' "$dot_file" || fail "no monitor"
grep -qF 'observe.Order x200' "$dot_file" || fail "no order flow"
if command -v dot >/dev/null; then
  dot -Tsvg "$dot_file" -o "$dir/observe.svg" 2>/dev/null || fail "dot rejects the graph"
  [[ -s "$dir/observe.svg" ]] || fail "dot wrote nothing"
else
  echo "observe_test: Graphviz is not installed; the DOT was not rendered"
fi
echo "observe_test: ok"
