#!/usr/bin/env bash
# Starts http_hello in each mode on an ephemeral port and talks HTTP to it
# through bash's /dev/tcp, checking every answer.
set -euo pipefail
server=$1
# A server may answer and close before it has read all we send (431): our
# write then fails, and must not kill the script.
trap '' PIPE

# Sends $2 (printf format) on one connection to port $1; prints the reply.
exchange() {
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf "$2" >&3 2>/dev/null || true
  timeout 10 cat <&3 || true
  exec 3<&-
}

check() { grep -qF -- "$2" <<<"$1" || { echo "http_hello_test ($mode): missing: $2"; echo "$1"; exit 1; }; }
count() { grep -cF -- "$2" <<<"$1" || true; }

for mode in actors threads; do
  out=$(mktemp)
  "$server" --mode=$mode >"$out" &
  pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
  port=$(sed -nE 's/^listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$out")
  [[ -n $port ]] || { echo "no port ($mode)"; exit 1; }

  # Keep-alive and pipelining: two requests on one connection, then close.
  reply=$(exchange "$port" 'GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  [[ $(count "$reply" "HTTP/1.1 200 OK") == 2 ]] || { echo "want two 200s ($mode)"; echo "$reply"; exit 1; }
  check "$reply" "Hello, World!"
  check "$reply" "Content-Length: 13"

  reply=$(exchange "$port" 'NONSENSE\r\n\r\n')
  check "$reply" "HTTP/1.1 400 Bad Request"

  reply=$(exchange "$port" "GET / HTTP/1.1\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\r\n\r\n")
  check "$reply" "HTTP/1.1 431 Request Header Fields Too Large"

  reply=$(exchange "$port" 'POST / HTTP/1.1\r\nConnection: close\r\n\r\n')
  check "$reply" "HTTP/1.1 405 Method Not Allowed"

  reply=$(exchange "$port" 'GET / HTTP/1.0\r\n\r\n')  # 1.0: closes after one
  check "$reply" "Connection: close"

  kill -TERM $pid
  wait $pid
  rm -f "$out"
  echo "http_hello_test ($mode): ok"
done
