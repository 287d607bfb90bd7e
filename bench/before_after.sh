#!/usr/bin/env bash
# Usage: bench/before_after.sh REV [ROUNDS] [BENCH_REGEX] [BENCHTIME]
# Runs the engine's Go benchmarks on REV (a git revision) and on the working
# tree, alternating old and new ROUNDS times in the same session so both see
# the same machine noise, and prints each benchmark's median ns/op, the
# spread (min..max) and the ratio new/old. The working tree's bench_test.go
# is used on both sides (REV must provide the helpers it calls).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/before_after.sh REV [ROUNDS] [BENCH_REGEX] [BENCHTIME]}
rounds=${2:-5}
regex=${3:-'^BenchmarkRun$|^BenchmarkOpen$'}
benchtime=${4:-1000x}
old=$(mktemp -d)
out=$(mktemp -d)
trap 'git worktree remove --force "$old" >/dev/null 2>&1 || true; rm -rf "$old" "$out"' EXIT
git worktree add --detach --force "$old" "$rev" >/dev/null 2>&1
cp core/engine/bench_test.go "$old/core/engine/bench_test.go"
(cd "$old" && go test -c -o "$out/old.test" ./core/engine)
go test -c -o "$out/new.test" ./core/engine
for i in $(seq "$rounds"); do
  for side in old new; do
    dir=$PWD; [ "$side" = old ] && dir=$old
    (cd "$dir/core/engine" && "$out/$side.test" -test.run '^$' -test.bench "$regex" -test.benchtime "$benchtime" -test.count 1) \
      | awk -v side="$side" '/^Benchmark/ { print side, $1, $3 }' >>"$out/results"
  done
done
echo "rev $rev vs working tree: $rounds alternating rounds, -benchtime $benchtime (ns/op: median [min..max])"
printf "%-58s %28s %28s %7s\n" "benchmark" "before" "after" "after/before"
awk '
  { key = $2; v[$1, key, ++n[$1, key]] = $3; keys[key] = 1 }
  function median(side, key,   m, i, j, t, a) {
    m = n[side, key]; for (i = 1; i <= m; i++) a[i] = v[side, key, i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    lo[side] = a[1]; hi[side] = a[m]
    return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
  }
  END {
    for (k in keys) {
      if (!n["old", k] || !n["new", k]) continue
      mo = median("old", k); lo_o = lo["old"]; hi_o = hi["old"]
      mn = median("new", k)
      printf "%-58s %10.0f [%6.0f..%6.0f] %10.0f [%6.0f..%6.0f] %7.2f\n", k, mo, lo_o, hi_o, mn, lo["new"], hi["new"], mn / mo
    }
  }' "$out/results" | sort
