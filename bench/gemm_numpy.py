#!/usr/bin/env python3
"""Measure numpy matmul GFLOP/s for square float32/float64 products.

Prints a table, or JSON with --json, for comparison with MLE's Sgemm/Dgemm
benchmarks (bench/gemm.sh). Each number is the median over repeated timed
runs after warmup. Thread count is whatever numpy's BLAS picks; set
OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS) to pin it.
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np


def measure(n, dtype, min_time, warmup):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype=dtype)
    for _ in range(warmup):
        np.matmul(a, b, out=c)
    # Batch small products so each timing is well above clock resolution.
    t0 = time.perf_counter()
    np.matmul(a, b, out=c)
    one = max(time.perf_counter() - t0, 1e-9)
    inner = max(1, int(0.02 / one))
    samples = []
    start = time.perf_counter()
    while len(samples) < 3 or (time.perf_counter() - start < min_time and len(samples) < 50):
        t0 = time.perf_counter()
        for _ in range(inner):
            np.matmul(a, b, out=c)
        samples.append((time.perf_counter() - t0) / inner)
    sec = statistics.median(samples)
    return 2.0 * n * n * n / sec / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="256,1024,2048", help="comma-separated square sizes")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds of timed runs per size (at least 3 runs)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results = []
    for n in sizes:
        for name, dtype in (("f32", np.float32), ("f64", np.float64)):
            results.append({"size": n, "dtype": name, "gflops": measure(n, dtype, args.min_time, args.warmup)})
    if args.json:
        json.dump({"numpy": np.__version__, "results": results}, sys.stdout, indent=1)
        print()
        return
    print(f"numpy {np.__version__}")
    print(f"{'size':>6} {'dtype':>5} {'GFLOP/s':>9}")
    for r in results:
        print(f"{r['size']:>6} {r['dtype']:>5} {r['gflops']:>9.1f}")


if __name__ == "__main__":
    main()
