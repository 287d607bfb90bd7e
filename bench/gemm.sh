#!/usr/bin/env bash
# Compares MLE's Sgemm/Dgemm with numpy's matmul on this machine.
#
#   bench/gemm.sh                 # Go benchmarks + numpy, side-by-side table
#   PYTHON=python3 bench/gemm.sh  # numpy from another interpreter
#   BENCHTIME=5x bench/gemm.sh    # longer Go runs (default 3x)
#   THREADS=1 bench/gemm.sh       # one thread on both sides
#
# By default both sides use every core: the Go benchmarks a Pool of
# runtime.NumCPU() goroutines, numpy its BLAS default. THREADS=n sets both
# (MLE_BENCH_THREADS and OPENBLAS/OMP/MKL_NUM_THREADS). MLE_GEMM_KERNEL=go
# measures the pure-Go micro-kernel.
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
BENCHTIME="${BENCHTIME:-3x}"
SIZES="256,1024,2048"
if [[ -n "${THREADS:-}" ]]; then
	export MLE_BENCH_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== go test -bench (benchtime $BENCHTIME)" >&2
go test -run '^$' -bench 'gemm/(256|1024|2048)$' -benchtime "$BENCHTIME" -count 1 ./kernels | tee "$tmp/go.txt" >&2

echo "== numpy ($PYTHON)" >&2
"$PYTHON" bench/gemm_numpy.py --sizes "$SIZES" --json >"$tmp/np.json"

# Go lines look like: BenchmarkSgemm/1024-2  3  123 ns/op  17.5 GFLOP/s  0 B/op  0 allocs/op
awk '/^Benchmark[SD]gemm\// {
	split($1, parts, "/"); size = parts[2]; sub(/-[0-9]+$/, "", size)
	dtype = ($1 ~ /^BenchmarkSgemm/) ? "f32" : "f64"
	for (i = 2; i < NF; i++) if ($(i+1) == "GFLOP/s") print size, dtype, $i
}' "$tmp/go.txt" >"$tmp/go.tsv"

"$PYTHON" - "$tmp/go.tsv" "$tmp/np.json" <<'PY'
import json, sys
mle = {}
for line in open(sys.argv[1]):
    size, dtype, g = line.split()
    mle[(int(size), dtype)] = float(g)
np = json.load(open(sys.argv[2]))
print(f"{'size':>6} {'dtype':>5} {'MLE GFLOP/s':>12} {'numpy GFLOP/s':>14} {'ratio':>7}")
for r in np["results"]:
    key = (r["size"], r["dtype"])
    m = mle.get(key)
    ms = f"{m:12.1f}" if m is not None else f"{'-':>12}"
    ratio = f"{m / r['gflops']:7.2f}" if m is not None else f"{'-':>7}"
    print(f"{r['size']:>6} {r['dtype']:>5} {ms} {r['gflops']:14.1f} {ratio}")
PY
