#!/usr/bin/env python3
"""numpy matmul GFLOP/s for square float32/float64 products, alone or next to MLE.

Standalone (default): prints a table, or JSON with --json, of numpy's GFLOP/s.
Each number is the median over repeated timed runs after warmup; the thread
count is whatever numpy's BLAS picks (set OPENBLAS_NUM_THREADS to pin it).

--compare BINARY: BINARY is the kernels' test binary (go test -c ./kernels).
For each of --rounds rounds and each thread count in --threads, it runs the
Go benchmarks BenchmarkSgemm/BenchmarkDgemm (MLE_BENCH_THREADS=t) and times
numpy.matmul with t BLAS threads (threadpoolctl), alternating which goes
first, so that the machine's noise hits both alike. It prints, per size,
dtype and thread count, the median and min-max GFLOP/s of each and the
median and min-max of the per-round ratio MLE/numpy (bench/gemm.sh).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
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


GO_LINE = re.compile(r"^Benchmark([SD])gemm/(\d+)-\d+\s.*?([\d.]+) GFLOP/s")


def run_go(binary, sizes, threads, benchtime):
    """Runs the Go GEMM benchmarks; returns {(size, dtype): GFLOP/s}."""
    env = dict(os.environ, MLE_BENCH_THREADS=str(threads))
    pattern = "^Benchmark[SD]gemm$/^(" + "|".join(map(str, sizes)) + ")$"
    out = subprocess.run([binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchtime", benchtime],
                         env=env, check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        m = GO_LINE.match(line)
        if m:
            res[(int(m.group(2)), "f32" if m.group(1) == "S" else "f64")] = float(m.group(3))
    return res


def run_numpy(sizes, threads, min_time):
    from threadpoolctl import threadpool_limits
    res = {}
    with threadpool_limits(limits=threads, user_api="blas"):
        for n in sizes:
            for name, dtype in (("f32", np.float32), ("f64", np.float64)):
                res[(n, name)] = measure(n, dtype, min_time, 2)
    return res


def spread(v):
    return f"{statistics.median(v):7.1f} ({min(v):.0f}-{max(v):.0f})"


def compare(args, sizes):
    threads = [int(t) for t in args.threads.split(",") if t]
    mle, npy, ratio = {}, {}, {}
    for r in range(args.rounds):
        for t in threads:
            order = ("go", "np") if r % 2 == 0 else ("np", "go")
            got = {}
            for side in order:
                got[side] = run_go(args.compare, sizes, t, args.benchtime) if side == "go" else \
                    run_numpy(sizes, t, args.min_time)
            for key, g in got["np"].items():
                k = key + (t,)
                npy.setdefault(k, []).append(g)
                if key in got["go"]:
                    mle.setdefault(k, []).append(got["go"][key])
                    ratio.setdefault(k, []).append(got["go"][key] / g)
            print(f"round {r + 1}/{args.rounds}, {t} thread(s) done", file=sys.stderr)
    print(f"numpy {np.__version__}; {args.rounds} rounds; GFLOP/s median (min-max); ratio = MLE/numpy per round")
    print(f"{'size':>5} {'dtype':>5} {'thr':>3} {'MLE':>18} {'numpy':>18} {'ratio':>18}")
    for t in threads:
        for n in sizes:
            for d in ("f32", "f64"):
                k = (n, d, t)
                m = spread(mle[k]) if k in mle else f"{'-':>18}"
                rs = f"{statistics.median(ratio[k]):7.2f} ({min(ratio[k]):.2f}-{max(ratio[k]):.2f})" if k in ratio else "-"
                print(f"{n:>5} {d:>5} {t:>3} {m:>18} {spread(npy[k]):>18} {rs:>18}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="256,512,1024,2048", help="comma-separated square sizes")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds of timed runs per size (at least 3 runs)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--compare", metavar="BINARY", help="alternate with the Go benchmarks of this test binary")
    ap.add_argument("--threads", default="1,2", help="--compare: thread counts")
    ap.add_argument("--rounds", type=int, default=5, help="--compare: rounds")
    ap.add_argument("--benchtime", default="0.5s", help="--compare: go test -benchtime")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.compare:
        compare(args, sizes)
        return
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
