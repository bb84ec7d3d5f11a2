#!/usr/bin/env bash
# Hostile peers against both modes of http_hello, on loopback, bounded in
# time (issue 18): a client that pipelines and never reads (the server's
# memory must stay under a stated bound), half-closing clients (each gets
# its answer), slowloris (let go), resets, and more connections than the
# server has descriptors. A well-behaved client is served throughout.
set -euo pipefail
server=$1
attack=$2
trap '' PIPE

# The stated bound: 100 MiB, for the plain build. A sanitizer's shadow
# memory and quarantine multiply a process's RSS; under one (the sanitizer
# configs set its *_OPTIONS) the bound is five times that.
RSS_BOUND_KB=$((100 * 1024))
if [[ -n ${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}${UBSAN_OPTIONS:-} ]]; then
  RSS_BOUND_KB=$((5 * RSS_BOUND_KB))
fi
readonly RSS_BOUND_KB

start() {  # start MODE [limit flags...]: sets pid and port
  local mode=$1
  shift
  out=$(mktemp)
  "$server" --mode="$mode" --request-timeout=5s --min-rate=64 "$@" >"$out" 2>"$out.err" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
  port=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$out")
  [[ -n $port ]] || { echo "no port ($mode)"; cat "$out.err"; exit 1; }
}

stop() {
  kill -TERM "$pid"
  wait "$pid" || { echo "http_hello ($mode) exited badly"; cat "$out.err"; exit 1; }
  rm -f "$out" "$out.err"
}

rss_kb() { sed -nE 's/^VmRSS:\s+([0-9]+) kB/\1/p' "/proc/$1/status"; }

for mode in actors threads; do
  start "$mode"

  # A non-reading client: the server's memory stays bounded meanwhile.
  log=$(mktemp)
  "$attack" --port="$port" --attack=nonreader >"$log" &
  apid=$!
  for _ in $(seq 100); do grep -q READY "$log" && break; sleep 0.05; done
  rss=$(rss_kb "$pid")
  wait "$apid" || { cat "$log"; echo "nonreader ($mode): failed"; exit 1; }
  cat "$log"
  rm -f "$log"
  echo "server RSS with a non-reading client: ${rss} kB (bound ${RSS_BOUND_KB} kB)"
  ((rss < RSS_BOUND_KB)) || { echo "nonreader ($mode): RSS over the bound"; exit 1; }
  sleep 0.5
  echo "server RSS after it left: $(rss_kb "$pid") kB"

  "$attack" --port="$port" --attack=halfclose --connections=200
  "$attack" --port="$port" --attack=slowloris --connections=200
  "$attack" --port="$port" --attack=resets --connections=500
  stop

  # More connections than descriptors: the server survives and serves again.
  (ulimit -n 128 && exec "$server" --mode="$mode" >"$out.limited" 2>&1) &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$out.limited" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$out.limited")
  # A slow server (a sanitizer on a loaded machine) may not have accepted up
  # to its limit within one hold: hold again, at most three times in all.
  for _ in 1 2 3; do
    "$attack" --port="$port" --attack=hold --connections=300
    grep -q "accept\|dropping the connection" "$out.limited" && break
  done
  kill -TERM "$pid"
  wait "$pid" || { echo "http_hello ($mode) died at the descriptor limit"; cat "$out.limited"; exit 1; }
  grep -q "accept\|dropping the connection" "$out.limited" ||
    { echo "($mode): no log line for running out of descriptors"; cat "$out.limited"; exit 1; }
  rm -f "$out.limited"
  echo "http_attack_test ($mode): ok"
done
