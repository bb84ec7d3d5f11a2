#!/usr/bin/env bash
# Starts chat_server on an ephemeral port, runs chat_load against it (bad
# clients first), stops the server and checks what both reported.
set -euo pipefail
server=$1
load=$2
out=$(mktemp)
"$server" >"$out" 2>"$out.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out" "$out.err"' EXIT
for _ in $(seq 300); do
  grep -q "listening on" "$out" && break
  sleep 0.1
done
port=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+)$/\1/p' "$out")
[[ -n $port ]] || { echo "chat_test: the server did not start"; cat "$out" "$out.err"; exit 1; }
load_out=$("$load" --port="$port" --clients=40 --lines=25 --misbehave --halfclose=200)
echo "$load_out"
kill -TERM $pid
wait $pid
cat "$out"
echo "--- server log"
cat "$out.err"
check() { grep -qF -- "$1" <<<"$2" || { echo "chat_test: missing: $1"; exit 1; }; }
check "bad clients dropped by the server: yes" "$load_out"
check "all 40 clients received all 1000 lines" "$load_out"
check "lines/s" "$load_out"
check "shutting down after 243 connections" "$(cat "$out")"
check "half-closed clients that heard their line: 200 of 200" "$load_out"
check "line longer than 1024 bytes" "$(cat "$out.err")"
check "binary garbage" "$(cat "$out.err")"
# One line per dropped client, however many pieces its input came in.
dropped=$(grep -c "dropping guest" "$out.err" || true)
[[ $dropped == 2 ]] || { echo "chat_test: $dropped 'dropping' lines for 2 bad clients"; exit 1; }
echo "chat_test: ok"
