#!/usr/bin/env bash
# Runs word_count on a small known text and on its generated one.
set -euo pipefail
text=$(mktemp)
trap 'rm -f "$text"' EXIT
printf 'the cat and the hat\nThe CAT, the bat!\n\nand so on and on\n' >"$text"
out=$("$1" "$text")
echo "$out"
check() { grep -qE -- "$1" <<<"$out" || { echo "word_count_test: missing: $1"; exit 1; }; }
check "^4 lines, 1 chunks, 8 mappers: 14 words, 7 distinct$"
check "^  the +4$"
check "^  and +3$"
check "matches the single-threaded count: yes"
# A file that is not there: the stream's error, not a crash.
if missing=$("$1" "$text.missing" 2>&1); then echo "word_count_test: a missing file passed"; exit 1; fi
grep -q "NOT_FOUND" <<<"$missing" || { echo "word_count_test: no NOT_FOUND in: $missing"; exit 1; }
out=$("$1")
echo "$out"
check "^200000 lines, 100 chunks, 8 mappers: 2000000 words"
check "matches the single-threaded count: yes"
echo "word_count_test: ok"
