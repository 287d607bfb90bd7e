#!/usr/bin/env bash
# Usage: check_abi.sh LIB GOLDEN HEADER
# Fails unless the library's exported symbols, the golden list and the
# functions declared in the public header are the same set.
set -euo pipefail
lib=$1 golden=$2 header=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '{print $3}' | sort >"$tmp/exported"
grep -v '^#' "$golden" | sed '/^$/d' | sort >"$tmp/golden"
grep -oE '^[a-z_0-9 ]+[ *]+(mle_[a-z_0-9]+)\(' "$header" | grep -oE 'mle_[a-z_0-9]+\($' | tr -d '(' | sort -u >"$tmp/declared"
ok=1
if ! diff -u "$tmp/golden" "$tmp/exported" >"$tmp/d1"; then
  echo "exported symbols differ from $golden:"; cat "$tmp/d1"; ok=0
fi
if ! diff -u "$tmp/golden" "$tmp/declared" >"$tmp/d2"; then
  echo "functions declared in $header differ from $golden:"; cat "$tmp/d2"; ok=0
fi
[ "$ok" = 1 ] && echo "ABI check: $(wc -l <"$tmp/golden") symbols match $golden and $header"
[ "$ok" = 1 ]
