#!/usr/bin/env python3
"""The Python 1-row path and dump(): mle_runtime next to onnxruntime,
scikit-learn and joblib, in one process.

    .venv/bin/python bench/python_1row.py                  # ~1 min
    .venv/bin/python bench/python_1row.py --repeats 61     # steadier medians
    .venv/bin/python bench/python_1row.py --only predict   # or --only dump
    .venv/bin/python bench/python_1row.py --only dump --dir /dev/shm   # dump without disk flushes

Model: scikit-learn Pipeline(StandardScaler, LogisticRegression), float64,
fit on make_classification 2,000 x 20, 3 classes (the "pipeline" case of
bench/sidebyside.py). Timed:

- predict: ``model.predict(x)`` of ONE row (a C-contiguous float64 (1, 20)
  array) through mle_runtime, onnxruntime (skl2onnx graph, float64, zipmap
  off, asking for the label output only) and scikit-learn. Each sample is a
  loop of calls lasting --sample-ms, timed with perf_counter_ns; samples of
  the three are interleaved round-robin (the machine's noise hits all alike)
  with the GC paused; the report gives the median per call and p10-p90.
- dump: ``mle_runtime.dump(model, path)`` next to ``joblib.dump(model, path)``
  into the same directory (--dir, default a temporary one), interleaved,
  median of --dump-repeats calls each. mle_runtime.dump writes atomically
  (temporary file, fsync, rename, fsync of the directory); joblib.dump does
  not fsync, so on a disk the flushes can dominate: a tmpfs --dir (where
  fsync returns at once) shows the rest.

Every engine gets --threads intra-op threads (default 2, as sidebyside.py).
Parity is checked first: the labels of 1,000 rows, one row at a time and as
one batch, must equal scikit-learn's; otherwise the script exits 1.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np


def fit_model() -> tuple[Any, np.ndarray]:
    from sklearn.datasets import make_classification
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=3_000, n_features=20, n_informative=10, n_classes=3, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:2_000], y[:2_000])
    return model, np.ascontiguousarray(X[2_000:])


def ort_predict(model: Any, path: Path, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort
    from skl2onnx import to_onnx

    onx = to_onnx(model, np.zeros((1, model.n_features_in_)), options={"zipmap": False})
    path.write_bytes(onx.SerializeToString())
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    name, label = sess.get_inputs()[0].name, [sess.get_outputs()[0].name]
    return lambda X: sess.run(label, {name: X})[0]


def time_interleaved(calls: dict[str, Callable[[], Any]], repeats: int, sample_s: float) -> dict[str, list[float]]:
    """ns per call, one sample per engine and round; each round starts with
    the next engine, so none always follows the same one."""
    loops = {}
    for name, fn in calls.items():
        end = time.perf_counter() + 0.2
        while time.perf_counter() < end:  # warm: caches, plans, thread pools
            fn()
        t0 = time.perf_counter_ns()
        for _ in range(100):
            fn()
        loops[name] = max(1, round(sample_s * 1e9 / max((time.perf_counter_ns() - t0) / 100, 1)))
    names = list(calls)
    samples: dict[str, list[float]] = {n: [] for n in names}
    gc.disable()
    try:
        for r in range(repeats):
            for i in range(len(names)):
                name = names[(r + i) % len(names)]
                fn, n = calls[name], loops[name]
                t0 = time.perf_counter_ns()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter_ns() - t0) / n)
    finally:
        gc.enable()
    return samples


def report(title: str, unit: str, scale: float, samples: dict[str, list[float]], ref: str) -> None:
    print(f"\n{title}")
    base = statistics.median(samples[ref])
    for name, s in samples.items():
        med = statistics.median(s)
        p10, p90 = np.percentile(s, [10, 90])
        print(f"  {name:<14} median {med / scale:9.2f} {unit}   p10-p90 {p10 / scale:.2f}-{p90 / scale:.2f}"
              f"   {med / base:5.2f}x {ref}")


def bench_predict(model: Any, X: np.ndarray, args: argparse.Namespace, tmp: Path) -> bool:
    import mle_runtime

    mle_runtime.dump(model, tmp / "pipeline.mle")
    m = mle_runtime.load(tmp / "pipeline.mle", threads=args.threads)
    ort = ort_predict(model, tmp / "pipeline.onnx", args.threads)

    want = model.predict(X[:1000])
    ok = True
    for name, fn in (("mle_runtime", m.predict), ("onnxruntime", ort)):
        rows = np.concatenate([fn(X[i:i + 1]) for i in range(1000)])
        if not (np.array_equal(rows, want) and np.array_equal(fn(X[:1000]), want)):
            print(f"PARITY FAILURE: {name} labels differ from scikit-learn's", file=sys.stderr)
            ok = False

    x = np.ascontiguousarray(X[:1])
    calls = {"mle_runtime": lambda: m.predict(x), "onnxruntime": lambda: ort(x),
             "scikit-learn": lambda: model.predict(x)}
    samples = time_interleaved(calls, args.repeats, args.sample_ms / 1e3)
    report(f"1-row predict, µs per call ({args.repeats} samples of ~{args.sample_ms:g} ms each)", "µs", 1e3,
           samples, "mle_runtime")
    return ok


def bench_dump(model: Any, args: argparse.Namespace) -> None:
    import joblib

    import mle_runtime

    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        mle_path, joblib_path = Path(d) / "m.mle", Path(d) / "m.joblib"
        calls = {"mle_runtime": lambda: mle_runtime.dump(model, mle_path),
                 "joblib": lambda: joblib.dump(model, joblib_path)}
        for fn in calls.values():
            fn()
        samples = time_interleaved_each(calls, args.dump_repeats)
        print(f"\n  files: {mle_path.stat().st_size:,} bytes (.mle), {joblib_path.stat().st_size:,} bytes (joblib)")
    report(f"dump of the Pipeline, µs per call ({args.dump_repeats} calls each, in {args.dir or tempfile.gettempdir()})",
           "µs", 1e3, samples, "mle_runtime")


def time_interleaved_each(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """One call per sample (a dump is long enough to time alone)."""
    names = list(calls)
    samples: dict[str, list[float]] = {n: [] for n in names}
    gc.disable()
    try:
        for r in range(repeats):
            for i in range(len(names)):
                name = names[(r + i) % len(names)]
                t0 = time.perf_counter_ns()
                calls[name]()
                samples[name].append(time.perf_counter_ns() - t0)
    finally:
        gc.enable()
    return samples


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=31, help="predict samples per engine (default 31)")
    p.add_argument("--sample-ms", type=float, default=20, help="length of one predict sample (default 20 ms)")
    p.add_argument("--dump-repeats", type=int, default=51, help="dump calls per writer (default 51)")
    p.add_argument("--threads", type=int, default=2, help="intra-op threads of every engine (default 2)")
    p.add_argument("--dir", default=None, help="where dump writes (default: a temporary directory)")
    p.add_argument("--only", choices=["predict", "dump"], default=None)
    args = p.parse_args()

    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    import mle_runtime
    import onnxruntime
    import sklearn

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
          f"onnxruntime {onnxruntime.__version__}, libmle {mle_runtime.library_version()}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    model, X = fit_model()
    ok = True
    if args.only in (None, "predict"):
        with tempfile.TemporaryDirectory() as d:
            ok = bench_predict(model, X, args, Path(d))
    if args.only in (None, "dump"):
        bench_dump(model, args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
