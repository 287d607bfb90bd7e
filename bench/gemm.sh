#!/usr/bin/env bash
# Compares MLE's Sgemm/Dgemm with numpy's matmul on this machine, in the
# same run: the kernels' Go benchmarks (built once) and numpy alternate,
# round after round, on 1 and 2 threads.
#
#   bench/gemm.sh                  # 256..2048, 1 and 2 threads, 5 rounds
#   THREADS=1 bench/gemm.sh        # one thread count only (1 or 2, or "1,2")
#   ROUNDS=9 bench/gemm.sh         # more rounds: medians steadier on a noisy VM
#   SIZES=512,1024 bench/gemm.sh   # other square sizes
#   BENCHTIME=1s bench/gemm.sh     # longer Go runs (go test -benchtime; numpy times as long)
#   PYTHON=python3 bench/gemm.sh   # numpy from another interpreter
#   MLE_GEMM_KERNEL=avx2 bench/gemm.sh  # another kernel family (go, avx2, avx512)
#
# Prints, per size, dtype and thread count, the median (min-max) GFLOP/s of
# each side and of the per-round ratio MLE/numpy. The Go side uses a Pool
# of THREADS goroutines (MLE_BENCH_THREADS), numpy as many BLAS threads
# (threadpoolctl).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
BENCHTIME="${BENCHTIME:-0.5s}"
SIZES="${SIZES:-256,512,1024,2048}"
THREADS="${THREADS:-1,2}"
ROUNDS="${ROUNDS:-5}"
# Settings that make OpenBLAS pick another kernel or blocking than it
# would by itself.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS OMP_NUM_THREADS MKL_NUM_THREADS

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== building the kernels' test binary" >&2
go test -c -o "$tmp/kernels.test" ./kernels

min_time="${BENCHTIME%s}"
if [[ "$min_time" == "$BENCHTIME" ]]; then min_time=0.5; fi # -benchtime Nx: numpy gets 0.5 s
"$PYTHON" bench/gemm_numpy.py --compare "$tmp/kernels.test" --sizes "$SIZES" --threads "$THREADS" \
	--rounds "$ROUNDS" --benchtime "$BENCHTIME" --min-time "$min_time"
