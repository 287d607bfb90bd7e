#!/usr/bin/env python3
"""MLE, onnxruntime, torch and scikit-learn side by side, in one process.

    bench/sidebyside.sh [--quick] [--repeats N] [--out FILE]    # the wrapper pins threads
    .venv/bin/python bench/sidebyside.py [...]                   # the same, without the wrapper's env

Every engine runs with 2 threads. For each model and row count, the engines'
timed samples are interleaved round-robin (so the machine's noise hits all of
them alike); the report gives each engine's median and p10-p90 and MLE's
speedup (other time / MLE time: above 1, MLE is faster). Parity with the
source framework is checked in the same run, for MLE and for onnxruntime; a
failure is printed, marked in the tables, and makes the exit status 1.
Then SGEMM/DGEMM: MLE's kernels (the Go benchmarks in ./kernels, built once
into a test binary and run as a subprocess) alternating with numpy.matmul, on
1 and 2 threads.

A full run writes its section (between the sidebyside markers) into
docs/BENCHMARKS.md; --quick writes nothing unless --out is given.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "BENCHMARKS.md"
BEGIN_MARK = "<!-- BEGIN sidebyside -->"
END_MARK = "<!-- END sidebyside -->"
SECTION_TITLE = "## 8. Side by side: MLE, onnxruntime, torch, scikit-learn (issue 8)"

THREADS = 2
BATCH_ROWS = 10_000
GEMM_SIZES = (256, 512, 1024, 2048)
PIPELINE_TARGET_NS = 6_000  # MLE's Python 1-row path, issue 8
F64_TOL = 1e-9              # max |Δ probability|, scikit-learn float64
F32_REL_TOL = 1e-4          # max |Δ output| / max |output|, torch float32


@dataclass(frozen=True)
class Settings:
    repeats: int     # timed samples per engine and scenario
    sample_s: float  # length of one timed sample (a loop of calls; one call when a call is longer)
    warm_s: float    # untimed calls per engine before a scenario's first round
    settle_s: float  # untimed calls before each sample, while the previous engine's idle threads stop spinning
    gemm_rounds: int
    gemm_benchtime: str  # go test -benchtime; numpy mirrors it
    tmp: Path


# ================================================================== timing


@contextlib.contextmanager
def gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def call_for(fn: Callable[[], Any], seconds: float) -> None:
    """Calls fn at least once, and until `seconds` have passed."""
    end = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < end:
        fn()


@dataclass
class Timing:
    samples: list[float]  # ns per call, one per round
    loop: int             # calls per sample

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p10(self) -> float:
        return float(np.percentile(self.samples, 10))

    @property
    def p90(self) -> float:
        return float(np.percentile(self.samples, 90))


def time_interleaved(calls: dict[str, Callable[[], Any]], s: Settings) -> dict[str, Timing]:
    """Round-robin: each round takes one sample of every engine, starting with
    a different engine each round (so none always follows the same one)."""
    loops = {}
    for name, fn in calls.items():
        call_for(fn, s.warm_s)
        one = min(_elapsed(fn) for _ in range(3))
        loops[name] = max(1, round(s.sample_s * 1e9 / max(one, 1)))
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    with gc_paused():
        for r in range(s.repeats):
            for i in range(len(names)):
                name = names[(r + i) % len(names)]
                fn, n = calls[name], loops[name]
                call_for(fn, s.settle_s)
                t0 = time.perf_counter_ns()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter_ns() - t0) / n)
    return {name: Timing(samples[name], loops[name]) for name in names}


def _elapsed(fn: Callable[[], Any]) -> int:
    t0 = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - t0


# ================================================================== parity


@dataclass
class Check:
    engine: str
    rows: int
    ok: bool
    detail: str


def compare(engine: str, ref: tuple[np.ndarray, np.ndarray], got: tuple[np.ndarray, np.ndarray],
            tol: float, relative: bool) -> Check:
    """Labels must be equal and scores within tol (relative to the largest
    |score| when `relative`). A label may differ only where the source's two
    best scores are themselves within the tolerance (a tie at this precision):
    those are counted and shown, not failed."""
    ref_labels, ref_scores = ref
    labels, scores = np.asarray(got[0]), np.asarray(got[1])
    n = len(ref_labels)
    if scores.shape != ref_scores.shape or labels.shape != ref_labels.shape:
        return Check(engine, n, False, f"shape {scores.shape} / {labels.shape}, want {ref_scores.shape} / "
                                       f"{ref_labels.shape}")
    diff = float(np.max(np.abs(scores.astype(np.float64) - ref_scores.astype(np.float64))))
    scale = float(np.max(np.abs(ref_scores))) if relative else 1.0
    err = diff / scale if scale > 0 else diff
    wrong = labels != ref_labels
    ties = np.zeros_like(wrong)
    if wrong.any() and ref_scores.ndim == 2 and ref_scores.shape[1] > 1:
        top2 = np.sort(ref_scores.astype(np.float64), axis=1)[:, -2:]
        ties = wrong & (top2[:, 1] - top2[:, 0] <= tol * scale)
    bad_labels = int(np.sum(wrong & ~ties))
    ok = err <= tol and bad_labels == 0
    what = f"max |Δ| {diff:.2g}" + (f" (relative {err:.2g}; tolerance {tol:g})" if relative else
                                    f" (tolerance {tol:g})")
    detail = f"labels {n - int(wrong.sum()):,}/{n:,} equal, {what}"
    if ties.any():
        detail += f"; {int(ties.sum())} differing label(s) at ties within the tolerance"
    return Check(engine, n, ok, detail)


# =================================================================== cases


@dataclass
class Engine:
    name: str                                            # "MLE", "onnxruntime", "torch" or "scikit-learn"
    bind: Callable[[np.ndarray], Callable[[], Any]]      # rows -> the timed zero-argument call
    outputs: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # rows -> (labels, scores), for parity


@dataclass
class Case:
    key: str
    title: str
    note: str
    rows: list[int]          # timed row counts
    X: np.ndarray            # the rows; a scenario of r rows uses X[:r]
    source: Engine           # the reference for parity
    others: list[Engine]     # MLE first
    tol: float
    relative: bool
    check_rows: list[int] = field(default_factory=list)  # parity only, beyond `rows`

    @property
    def engines(self) -> list[Engine]:
        return [*self.others, self.source]


def mle_torch(model: Any, path: Path) -> Engine:
    import mle_runtime

    mle_runtime.dump(model, path)
    m = mle_runtime.load(path, threads=THREADS)

    def outputs(X):
        y = m(X)
        return y.argmax(axis=1), y

    return Engine("MLE", lambda X: lambda: m(X), outputs)


def ort_session(path: Path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = THREADS
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def ort_torch(model: Any, example: np.ndarray, path: Path) -> Engine:
    import torch

    # dynamo=False: the torch.export-based exporter needs onnxscript, not
    # installed. Opset 17 is the first with LayerNormalization as one op.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.from_numpy(example),), str(path), dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    sess = ort_session(path)

    def outputs(X):
        y = sess.run(["y"], {"x": X})[0]
        return y.argmax(axis=1), y

    return Engine("onnxruntime", lambda X: (lambda feed: lambda: sess.run(["y"], feed))({"x": X}), outputs)


def torch_engine(model: Any) -> Engine:
    import torch

    # The timed calls run inside torch.inference_mode() (entered once per
    # case in main), on a tensor made beforehand: what is timed is the forward.
    def outputs(X):
        with torch.inference_mode():
            y = model(torch.from_numpy(X)).numpy()
        return y.argmax(axis=1), y

    return Engine("torch", lambda X: (lambda t: lambda: model(t))(torch.from_numpy(X)), outputs)


def torch_case(key: str, title: str, note: str, model: Any, X: np.ndarray, rows: list[int], tmp: Path,
               check_rows: list[int] | None = None) -> Case:
    model.eval()
    return Case(key, title, note, rows, X, torch_engine(model),
                [mle_torch(model, tmp / f"{key}.mle"), ort_torch(model, X[:1], tmp / f"{key}.onnx")],
                F32_REL_TOL, True, check_rows or [])


def build_torch_mlp(tmp: Path) -> Case:
    import torch

    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(50, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 4))
    X = np.random.default_rng(0).standard_normal((BATCH_ROWS, 50), dtype=np.float32)
    return torch_case("mlp", "torch MLP 50→256→256→4 (ReLU), float32",
                      "random weights (seed 0), standard-normal rows", model, X, [1, 256, BATCH_ROWS], tmp)


def build_torch_gelu(tmp: Path) -> Case:
    import torch

    torch.manual_seed(1)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(128, 512), nn.GELU(), nn.LayerNorm(512), nn.Linear(512, 10))
    X = np.random.default_rng(1).standard_normal((BATCH_ROWS, 128), dtype=np.float32)
    return torch_case("gelu", "torch 128→512 GELU (erf) + LayerNorm → 10, float32",
                      "random weights (seed 1), standard-normal rows; ONNX opset 17 (Erf-based GELU, "
                      "LayerNormalization)", model, X, [1, BATCH_ROWS], tmp)


def build_torch_deep(tmp: Path) -> Case:
    import torch

    torch.manual_seed(2)
    nn = torch.nn
    layers: list[Any] = []
    for i in range(4):
        layers += [nn.Linear(1024, 1024)] + ([nn.ReLU()] if i < 3 else [])
    X = np.random.default_rng(2).standard_normal((1_000, 1024), dtype=np.float32)
    return torch_case("deep", "torch 4×1024 MLP (1024→1024 ×4, ReLU between), float32",
                      "random weights (seed 2), standard-normal rows; parity also on 1,000 rows",
                      nn.Sequential(*layers), X, [64], tmp, check_rows=[1_000])


def sklearn_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2,000 rows to fit on and 10,000 others to predict: 20 features, 3 classes."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=2_000 + BATCH_ROWS, n_features=20, n_informative=10, n_classes=3,
                               random_state=0)
    return X[:2_000], y[:2_000], np.ascontiguousarray(X[2_000:])


def sklearn_engines(model: Any, method: str, key: str, tmp: Path) -> tuple[Engine, list[Engine], str]:
    """(source, [MLE, onnxruntime], a note on the ONNX conversion) for a
    classifier whose `method` ("predict" or "predict_proba") is timed."""
    import mle_runtime
    from skl2onnx import to_onnx

    def source_outputs(X):
        return model.predict(X), model.predict_proba(X)

    source = Engine("scikit-learn", lambda X: lambda: getattr(model, method)(X), source_outputs)

    mle_runtime.dump(model, tmp / f"{key}.mle")
    m = mle_runtime.load(tmp / f"{key}.mle", threads=THREADS)
    mle = Engine("MLE", lambda X: lambda: getattr(m, method)(X), lambda X: (m.predict(X), m.predict_proba(X)))

    # A float64 example makes skl2onnx build a double graph; zipmap off gives
    # the probabilities as a tensor instead of a list of dicts.
    X1 = np.zeros((1, model.n_features_in_), dtype=np.float64)
    onx = to_onnx(model, X1, options={"zipmap": False})
    (tmp / f"{key}.onnx").write_bytes(onx.SerializeToString())
    sess = ort_session(tmp / f"{key}.onnx")
    inp = sess.get_inputs()[0]
    out_names = [o.name for o in sess.get_outputs()]  # label, probabilities
    want = out_names[0] if method == "predict" else out_names[1]
    ort = Engine("onnxruntime", lambda X: (lambda feed: lambda: sess.run([want], feed))({inp.name: X}),
                 lambda X: tuple(sess.run(out_names, {inp.name: X})))
    note = f"skl2onnx input {inp.type}, outputs {', '.join(f'{o.name} {o.type}' for o in sess.get_outputs())}"
    return source, [mle, ort], note


def fit_quietly(model: Any, X: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def build_sklearn_mlp(tmp: Path) -> Case:
    from sklearn.neural_network import MLPClassifier

    Xf, yf, X = sklearn_data()
    model = fit_quietly(MLPClassifier(hidden_layer_sizes=(100,), max_iter=300, random_state=0), Xf, yf)
    source, others, onnx_note = sklearn_engines(model, "predict_proba", "skmlp", tmp)
    return Case("skmlp", "scikit-learn MLPClassifier(hidden_layer_sizes=(100,)), float64, predict_proba",
                f"make_classification 20 features, 3 classes, fit on 2,000 rows (max_iter=300), "
                f"predicts 10,000 others; {onnx_note}", [1, BATCH_ROWS], X, source, others, F64_TOL, False)


def build_pipeline(tmp: Path) -> tuple[Case, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Xf, yf, X = sklearn_data()
    model = fit_quietly(make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)), Xf, yf)
    source, others, onnx_note = sklearn_engines(model, "predict", "pipeline", tmp)
    case = Case("pipeline", "scikit-learn Pipeline(StandardScaler, LogisticRegression), float64, predict",
                f"same data as the MLPClassifier; parity also on the 10,000 rows; {onnx_note}", [1], X, source,
                others, F64_TOL, False, check_rows=[BATCH_ROWS])
    return case, model


BUILDERS = {"mlp": build_torch_mlp, "gelu": build_torch_gelu, "skmlp": build_sklearn_mlp,
            "deep": build_torch_deep, "pipeline": build_pipeline}
CASE_ORDER = ["mlp", "gelu", "skmlp", "deep", "pipeline", "gemm"]


# ================================================================ running


@dataclass
class Scenario:
    case: Case
    rows: int
    timings: dict[str, Timing]
    checks: dict[str, Check]  # engine -> parity at these rows


@dataclass
class CaseResult:
    case: Case
    scenarios: list[Scenario]
    extra_checks: list[Check]

    @property
    def checks(self) -> list[Check]:
        return [c for sc in self.scenarios for c in sc.checks.values()] + self.extra_checks


def check_case(case: Case, rows: int) -> dict[str, Check]:
    X = case.X[:rows]
    ref = case.source.outputs(X)
    out = {}
    for e in case.others:
        try:
            out[e.name] = compare(e.name, ref, e.outputs(X), case.tol, case.relative)
        except Exception as err:  # a crash is a parity failure, shown as such
            out[e.name] = Check(e.name, rows, False, f"raised {type(err).__name__}: {err}"[:300])
    return out


def run_case(case: Case, s: Settings) -> CaseResult:
    scenarios = []
    for rows in case.rows:
        checks = check_case(case, rows)
        X = case.X[:rows]
        calls = {e.name: e.bind(X) for e in case.engines}
        timings = time_interleaved(calls, s)
        sc = Scenario(case, rows, timings, checks)
        scenarios.append(sc)
        log(f"  {rows:>6,} rows  " + "  ".join(f"{n} {fmt_range(t)}" for n, t in timings.items()))
        for c in checks.values():
            log(f"           parity {c.engine}: {'ok' if c.ok else '!!! FAILED'} — {c.detail}")
    extra = []
    for rows in case.check_rows:
        for c in check_case(case, rows).values():
            extra.append(c)
            log(f"  parity on {rows:,} rows, {c.engine}: {'ok' if c.ok else '!!! FAILED'} — {c.detail}")
    return CaseResult(case, scenarios, extra)


@dataclass
class DumpResult:
    timings: dict[str, Timing]
    sizes: dict[str, int]


DUMP_UNSYNCED = "mle_runtime.dump(durable=False)"


def run_dump(model: Any, s: Settings) -> DumpResult:
    import joblib
    import mle_runtime

    paths = {"mle_runtime.dump": s.tmp / "dump.mle", DUMP_UNSYNCED: s.tmp / "dump-unsynced.mle",
             "joblib.dump": s.tmp / "dump.joblib"}
    calls = {"mle_runtime.dump": lambda: mle_runtime.dump(model, paths["mle_runtime.dump"]),
             DUMP_UNSYNCED: lambda: mle_runtime.dump(model, paths[DUMP_UNSYNCED], durable=False),
             "joblib.dump": lambda: joblib.dump(model, paths["joblib.dump"])}
    timings = time_interleaved(calls, s)
    sizes = {k: p.stat().st_size for k, p in paths.items()}
    log("  " + "  ".join(f"{n} {fmt_range(t)} ({sizes[n]:,} B)" for n, t in timings.items()))
    return DumpResult(timings, sizes)


# ==================================================================== GEMM


@dataclass
class GemmResult:
    mle: dict[tuple, list[float]] = field(default_factory=dict)    # (dtype, size, threads, variant) -> GFLOP/s
    numpy: dict[tuple, list[float]] = field(default_factory=dict)  # (dtype, size, threads) -> GFLOP/s
    problems: list[str] = field(default_factory=list)


GO_LINE = re.compile(r"^Benchmark([SD])gemm/(\S+)\s+\d+\s.*?([\d.]+) GFLOP/s")


def build_gemm_binary(tmp: Path) -> Path:
    """The kernels' test binary, built once: every round runs the same code
    even while the sources change underneath."""
    out = tmp / "kernels.test"
    proc = subprocess.run(["go", "test", "-c", "-o", str(out), "./kernels"], cwd=REPO, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"go test -c ./kernels failed: {(proc.stderr or proc.stdout).strip()[-800:]}")
    return out


def run_go_gemm(binary: Path, threads: int, benchtime: str) -> dict[tuple, float]:
    sizes = "|".join(map(str, GEMM_SIZES))
    env = dict(os.environ, MLE_BENCH_THREADS=str(threads))
    proc = subprocess.run([str(binary), "-test.run", "^$", "-test.bench", f"^Benchmark[SD]gemm$/^({sizes})$",
                           "-test.benchtime", benchtime, "-test.count", "1"], cwd=REPO / "kernels", env=env,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"kernels benchmark failed (exit {proc.returncode}): {proc.stdout.strip()[-800:]}")
    out = {}
    for line in proc.stdout.splitlines():
        m = GO_LINE.match(line)
        if m:
            name = re.sub(r"-\d+$", "", m.group(2))  # the -GOMAXPROCS suffix
            size, _, variant = name.partition("/")
            out[("f32" if m.group(1) == "S" else "f64", int(size), variant)] = float(m.group(3))
    return out


def numpy_gemm(n: int, dtype: type, benchtime: str) -> float:
    """GFLOP/s of numpy.matmul like the Go benchmark measures: one warm call,
    then `Nx` calls, or calls for at least `Ns` seconds."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)).astype(dtype), rng.standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype=dtype)
    np.matmul(a, b, out=c)
    count, seconds = (int(benchtime[:-1]), 0.0) if benchtime.endswith("x") else (1, float(benchtime[:-1]))
    calls, t0 = 0, time.perf_counter()
    while calls < count or time.perf_counter() - t0 < seconds:
        np.matmul(a, b, out=c)
        calls += 1
    return 2.0 * n ** 3 * calls / (time.perf_counter() - t0) / 1e9


def run_gemm(s: Settings) -> GemmResult:
    from threadpoolctl import threadpool_limits

    res = GemmResult()
    try:
        binary = build_gemm_binary(s.tmp)
    except (OSError, RuntimeError) as e:
        binary = None
        res.problems.append(f"MLE not measured: {e}")
        log(f"  !!! {res.problems[-1]}")
    for r in range(s.gemm_rounds):
        for threads in (1, THREADS):
            if binary is not None:
                try:
                    for (dtype, size, variant), g in run_go_gemm(binary, threads, s.gemm_benchtime).items():
                        res.mle.setdefault((dtype, size, threads, variant), []).append(g)
                except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
                    res.problems.append(f"round {r + 1}, {threads} thread(s): {e}")
                    log(f"  !!! {res.problems[-1]}")
            with threadpool_limits(limits=threads, user_api="blas"):
                for size in GEMM_SIZES:
                    for dtype, t in (("f32", np.float32), ("f64", np.float64)):
                        res.numpy.setdefault((dtype, size, threads), []).append(numpy_gemm(size, t, s.gemm_benchtime))
            log(f"  round {r + 1}/{s.gemm_rounds}, {threads} thread(s) done")
    return res


# ============================================================== formatting


def fmt_num(v: float) -> str:
    return f"{v:.0f}" if v >= 99.95 else f"{v:.1f}" if v >= 9.995 else f"{v:.2f}"


def unit_of(ns: float) -> tuple[float, str]:
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if ns >= scale * 0.9995:
            return scale, unit
    return 1.0, "ns"


def fmt_ns(ns: float) -> str:
    scale, unit = unit_of(ns)
    return f"{fmt_num(ns / scale)} {unit}"


def fmt_range(t: Timing) -> str:
    """median (p10–p90), the spread in the median's unit."""
    scale, unit = unit_of(t.median)
    return f"{fmt_num(t.median / scale)} {unit} ({fmt_num(t.p10 / scale)}–{fmt_num(t.p90 / scale)})"


def fmt_speedup(other: Timing | None, mle: Timing | None) -> str:
    return "—" if other is None or mle is None else f"{other.median / mle.median:.2f}×"


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    right: set[int] = field(default_factory=set)

    def text(self) -> str:
        widths = [max(len(r[i]) for r in [self.headers, *self.rows]) for i in range(len(self.headers))]
        cell = lambda i, v: v.rjust(widths[i]) if i in self.right else v.ljust(widths[i])  # noqa: E731
        lines = ["  ".join(cell(i, v) for i, v in enumerate(row)).rstrip() for row in [self.headers, *self.rows]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def markdown(self) -> str:
        def line(row: list[str]) -> str:
            return "| " + " | ".join(v.replace("|", "\\|") for v in row) + " |"
        align = ["---:" if i in self.right else "---" for i in range(len(self.headers))]
        return "\n".join([line(self.headers), "|" + "|".join(align) + "|", *map(line, self.rows)])


def parity_cell(sc: Scenario) -> str:
    parts = []
    for name, c in sc.checks.items():
        short = "MLE" if name == "MLE" else "ORT"
        parts.append(f"{short} ok" if c.ok else f"**{short} FAILED**")
    return ", ".join(parts)


def models_table(results: list[CaseResult]) -> Table:
    headers = ["model", "rows", "MLE", "onnxruntime", "torch / scikit-learn", "MLE speedup vs onnxruntime",
               "MLE speedup vs source", "parity"]
    rows = []
    for r in results:
        for sc in r.scenarios:
            t = sc.timings
            mle, ort, src = t.get("MLE"), t.get("onnxruntime"), t.get(r.case.source.name)
            rows.append([r.case.key, f"{sc.rows:,}", fmt_range(mle), fmt_range(ort),
                         f"{r.case.source.name}: {fmt_range(src)}", fmt_speedup(ort, mle), fmt_speedup(src, mle),
                         parity_cell(sc)])
    return Table(headers, rows, right={1, 2, 3, 4, 5, 6})


def check_lines(results: list[CaseResult]) -> list[str]:
    out = []
    for r in results:
        for c in r.checks:
            status = "ok" if c.ok else "**FAILED**"
            out.append(f"{r.case.key}, {c.engine}, {c.rows:,} row{'s' if c.rows > 1 else ''}: {status} — {c.detail}")
    return out


def dump_table(d: DumpResult) -> Table:
    """Each MLE save against joblib.dump: speedup = joblib time / MLE time."""
    jl = d.timings["joblib.dump"]
    rows = [[name, fmt_range(d.timings[name]), f"{d.sizes[name]:,} B", fmt_speedup(jl, d.timings[name])]
            for name in ("mle_runtime.dump", DUMP_UNSYNCED)]
    rows.append(["joblib.dump", fmt_range(jl), f"{d.sizes['joblib.dump']:,} B", "—"])
    return Table(["call", "time", "file", "speedup vs joblib.dump"], rows, right={1, 2, 3})


def gemm_table(g: GemmResult) -> Table:
    """GFLOP/s medians over the rounds, with min–max; speedup = MLE / numpy."""
    def cell(v: list[float] | None) -> str:
        if not v:
            return "—"
        return f"{fmt_num(statistics.median(v))} ({fmt_num(min(v))}–{fmt_num(max(v))})"

    variants = sorted({k[3] for k in g.mle}) or [""]
    rows = []
    for dtype in ("f32", "f64"):
        for size in GEMM_SIZES:
            for threads in (1, THREADS):
                np_v = g.numpy.get((dtype, size, threads))
                for variant in variants:
                    mle_v = g.mle.get((dtype, size, threads, variant))
                    ratio = (f"{statistics.median(mle_v) / statistics.median(np_v):.2f}×" if mle_v and np_v
                             else "not in the Go benchmark" if np_v and not g.problems else "—")
                    label = f"{size}" + (f" ({variant})" if variant else "")
                    rows.append([label, "SGEMM" if dtype == "f32" else "DGEMM", str(threads), cell(mle_v),
                                 cell(np_v), ratio])
    return Table(["size", "op", "threads", "MLE GFLOP/s", "numpy GFLOP/s", "MLE speedup"], rows,
                 right={2, 3, 4, 5})


@dataclass
class Target:
    text: str
    met: bool | None


def targets(results: list[CaseResult], dump: DumpResult | None = None) -> list[Target]:
    out = []
    if dump:
        jl = dump.timings["joblib.dump"]
        for name in ("mle_runtime.dump", DUMP_UNSYNCED):
            t = dump.timings[name]
            ok = t.median <= jl.median
            verdict = "met" if ok else f"MISSED ({t.median / jl.median:.2f}× joblib's time)"
            out.append(Target(f"`{name}` of the Pipeline no slower than `joblib.dump`: {fmt_range(t)} vs "
                              f"{fmt_range(jl)} — {verdict}", ok))
    for r in results:
        if r.case.key != "pipeline":
            continue
        mle = r.scenarios[0].timings["MLE"]
        ok = mle.median <= PIPELINE_TARGET_NS
        verdict = "met" if ok else f"MISSED ({mle.median / PIPELINE_TARGET_NS:.2f}× the target)"
        out.append(Target(f"MLE's Python 1-row Pipeline predict ≤ {fmt_ns(PIPELINE_TARGET_NS)}: median "
                          f"{fmt_ns(mle.median)} (p10–p90 {fmt_ns(mle.p10)}–{fmt_ns(mle.p90)}) — {verdict}", ok))
    return out


# ============================================================ machine info


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions() -> str:
    import importlib.metadata as md

    import mle_runtime
    from mle_runtime import _lib

    out = [f"Python {platform.python_version()}"]
    for dist in ("numpy", "scikit-learn", "torch", "onnxruntime", "skl2onnx", "joblib"):
        try:
            out.append(f"{dist} {md.version(dist)}")
        except md.PackageNotFoundError:
            out.append(f"{dist} not installed")
    lib = _lib.library_path()
    with contextlib.suppress(ValueError):
        lib = lib.resolve().relative_to(REPO)
    out.append(f"libmle {mle_runtime.library_version()} ({lib})")
    return ", ".join(out)


def blas_info() -> str:
    """The BLAS and OpenMP libraries threadpoolctl limits, and whose package ships each."""
    from threadpoolctl import threadpool_info

    seen = []
    for i in threadpool_info():
        where = Path(i["filepath"]).parent.name
        where = Path(i["filepath"]).parent.parent.name if where == "lib" else where
        text = " ".join(filter(None, [i["internal_api"], i.get("version"), f"({where}"])) + (
            f", {i['architecture']})" if i.get("architecture") else ")")
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


def fs_type(path: Path) -> str:
    """The file system under path (fsync is free on tmpfs, not on a disk)."""
    best, kind = "", "unknown file system"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            _, mount, fstype, *_ = line.split()
            if str(path.resolve()).startswith(mount.rstrip("/") + "/") and len(mount) > len(best):
                best, kind = mount, fstype
    return kind


_LOAD_AT_START = os.getloadavg()


def load_text() -> str:
    """1-minute load average when the run started and now: others' work on these 2 cores shows here."""
    return f"{_LOAD_AT_START[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"


def busy_warning() -> str | None:
    """A caution when other work shared the CPUs: threads that wait for each
    other by spinning (torch's OpenMP, OpenBLAS, onnxruntime) lose most when
    a core is taken away, so such a run flatters MLE, whose pool sleeps."""
    load = max(_LOAD_AT_START[0], os.getloadavg()[0])
    cpus = os.cpu_count() or 1
    if load <= 0.75 * cpus:
        return None
    return (f"**Caution: the machine was busy with other work during this run (load average up to {load:.1f} on "
            f"{cpus} CPUs).** Engines whose 2 threads wait for each other by spinning (torch's OpenMP, OpenBLAS in "
            "numpy and scikit-learn, onnxruntime) lose the most when another process takes a core, so the speedups "
            "here overstate MLE, most for torch and for 2-thread numpy; rerun on an idle machine before quoting them.")


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_line() -> str:
    """The wrapper's command when run through bench/sidebyside.sh."""
    return os.environ.get("MLE_SIDEBYSIDE_COMMAND") or " ".join(
        [os.path.relpath(sys.executable, REPO) if sys.executable.startswith(str(REPO)) else sys.executable,
         "bench/sidebyside.py", *sys.argv[1:]])


def benchtime_text(benchtime: str) -> str:
    return f"{benchtime[:-1]} call(s)" if benchtime.endswith("x") else f"calls for ≥ {benchtime[:-1]} s"


def method_notes(s: Settings, gemm: bool) -> list[str]:
    notes = [
        f"Threads: {THREADS} for every engine — `mle_runtime.load(threads=2)`; onnxruntime `intra_op_num_threads=2`, "
        "`inter_op_num_threads=1`, `ORT_SEQUENTIAL` (its default spinning left on); `torch.set_num_threads(2)`; "
        "threadpoolctl limits BLAS (scikit-learn, numpy) to 2. `bench/sidebyside.sh` also sets OMP/OPENBLAS/MKL "
        "threads to 2 and unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE.",
        f"Timing: per model and row count, each engine is warmed ({s.warm_s:g} s of calls) and calibrated, then "
        f"{s.repeats} rounds take one sample of every engine in turn, each round starting with the next engine "
        f"(round-robin, so the machine's noise hits all engines alike). A sample is a loop of ≥ {s.sample_s * 1e3:g} ms "
        f"(one call when a call is longer), divided by its calls, after {s.settle_s * 1e3:g} ms of the engine's own "
        "untimed calls: onnxruntime's idle workers keep spinning ~50 ms after a run, OpenBLAS's (numpy, "
        "scikit-learn) ~0.12 s, torch's OpenMP ones a few ms, MLE's 1 ms, which on 2 cores would otherwise slow "
        "the next engine's sample; each engine keeps its own default spinning within its sample. GC paused. Cells: median (p10–p90) over the rounds.",
        "Calls timed: MLE `model(x)` (torch models) or `model.predict_proba(X)` / `model.predict(X)` (scikit-learn); "
        "onnxruntime `session.run([output], feed)` with the feed made beforehand; torch `model(t)` on a tensor made "
        "beforehand, inside `torch.inference_mode()`; scikit-learn `predict_proba` / `predict`.",
        "Speedup: the other engine's median / MLE's median; above 1×, MLE is faster.",
        f"Parity, same run, on the rows of each row count (and the extra rows noted): labels (argmax for torch, "
        f"`predict` for scikit-learn) must be equal and scores within {F64_TOL:g} absolute (scikit-learn float64 "
        f"probabilities) or {F32_REL_TOL:g} relative to the largest |output| (torch float32). A label may differ only "
        "where the source's two best scores are within that tolerance (counted in the detail). Both MLE and "
        "onnxruntime are checked against the source; a failure is printed, marked FAILED, and the exit status is 1.",
        "ONNX: torch models via `torch.onnx.export(dynamo=False, opset_version=17)` (the torch.export-based "
        "exporter needs onnxscript, not installed); scikit-learn via skl2onnx `to_onnx` with a float64 example, "
        "which keeps the whole graph in double, `zipmap=False`.",
    ]
    if gemm:
        notes.append(
            f"GEMM: MLE's `BenchmarkSgemm` / `BenchmarkDgemm` (./kernels, built once with `go test -c`, run with "
            f"`MLE_BENCH_THREADS=1` and `2`, `-benchtime {s.gemm_benchtime}`) alternating with `numpy.matmul` "
            f"in this process (threadpoolctl 1 or 2 BLAS threads; one warm call, then "
            f"{benchtime_text(s.gemm_benchtime)}), {s.gemm_rounds} round(s); median (min–max) GFLOP/s. "
            "Speedup = MLE GFLOP/s / numpy GFLOP/s.")
    return notes


# ================================================================== output


def log(msg: str) -> None:
    print(msg, flush=True)


def report(results: list[CaseResult], errors: list[str], dump: DumpResult | None, gemm: GemmResult | None,
           s: Settings, markdown: bool) -> str:
    render = (lambda t: t.markdown()) if markdown else (lambda t: t.text())
    out: list[str] = []
    if markdown:
        out += ["<!-- generated by bench/sidebyside.py; edit the script, not this block -->", "", "```sh",
                command_line(), "```", "",
                f"Run: {datetime.date.today().isoformat()}, commit {git_commit()}.",
                f"Machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.release()}, "
                f"{THREADS} threads per engine; load average {load_text()}; shared and noisy: compare ratios "
                "within a run, not absolute numbers across runs.",
                f"Software: {versions()}; BLAS / OpenMP: {blas_info()}.", ""]
    warning = busy_warning()
    if warning:
        out += [warning, ""]
    failures = [c for r in results for c in r.checks if not c.ok]
    if failures or errors:
        out += ["**FAILURES in this run:**", ""] + [f"- {line}" for line in check_lines(results)
                                                    if "FAILED" in line] + [f"- **{e}**" for e in errors] + [""]
    tg = targets(results, dump)
    if tg:
        out += ["### Targets" if markdown else "targets", ""] + [f"- {t.text}" for t in tg] + [""]
    if results:
        out += ["### Models" if markdown else "models", "", render(models_table(results)), ""]
        out += [f"- **{r.case.key}**: {r.case.title}; {r.case.note}." for r in results] + [""]
        out += ["Parity:", ""] + [f"- {line}" for line in check_lines(results)] + [""]
    if dump:
        out += ["### Saving the Pipeline: `mle_runtime.dump` vs `joblib.dump`" if markdown else "dump", "",
                render(dump_table(dump)), "",
                f"The fitted `pipeline` model above, written to a temp dir ({fs_type(s.tmp)}). "
                "`mle_runtime.dump` exports the graph, validates it once, writes a temp file, fsyncs it, renames "
                "it into place and fsyncs the directory (the file survives a power loss once dump returns); "
                "`durable=False` skips the two fsyncs (still atomic: readers see the whole file or none); "
                "`joblib.dump` pickles straight into the file, no fsync, not atomic.", ""]
    if gemm:
        out += ["### GEMM: MLE vs numpy" if markdown else "gemm", "", render(gemm_table(gemm)), ""]
        out += [f"- GEMM problem: {p}" for p in gemm.problems]
        if gemm.problems:
            out.append("")
    if markdown:
        out += ["### Method", ""] + [f"- {n}" for n in method_notes(s, gemm is not None)]
    return "\n".join(out).rstrip() + "\n"


def write_section(path: Path, body: str) -> None:
    """Replaces what lies between the markers, or appends the section."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{BEGIN_MARK}\n{body}{END_MARK}"
    if BEGIN_MARK in text and END_MARK in text:
        head, rest = text.split(BEGIN_MARK, 1)
        text = head + block + rest.split(END_MARK, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION_TITLE}\n\n{block}\n"
    path.write_text(text)


# ==================================================================== main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few repeats and short samples: tests the script")
    p.add_argument("--repeats", type=int, help="timed samples per engine and scenario (default 25, 5 with --quick)")
    p.add_argument("--gemm-rounds", type=int, help="GEMM rounds (default 3, 1 with --quick)")
    p.add_argument("--cases", default=",".join(CASE_ORDER), help=f"subset of {','.join(CASE_ORDER)}")
    p.add_argument("--out", help="Markdown file whose sidebyside section is written or replaced "
                                 f"(default: {DOCS.relative_to(REPO)} for a full run, none with --quick; "
                                 "'-' prints it)")
    args = p.parse_args(argv)
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = set(args.cases) - set(CASE_ORDER)
    if unknown:
        p.error(f"unknown case(s) {sorted(unknown)}; choose from {','.join(CASE_ORDER)}")
    args.repeats = args.repeats or (5 if args.quick else 25)
    args.gemm_rounds = args.gemm_rounds or (1 if args.quick else 3)
    if args.out is None and not args.quick:
        args.out = str(DOCS)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(THREADS)
    with contextlib.suppress(RuntimeError):  # only possible before torch's first parallel work
        torch.set_num_interop_threads(1)
    log(f"machine: {os.cpu_count()} CPUs ({cpu_model()}); {versions()}")
    log(f"commit {git_commit()}; repeats {args.repeats}; cases {','.join(args.cases)}; load {_LOAD_AT_START[0]:.1f}")
    results: list[CaseResult] = []
    errors: list[str] = []
    dump = gemm = None
    with tempfile.TemporaryDirectory(prefix="mle_sidebyside_") as tmp, threadpool_limits(limits=THREADS):
        # settle 0.3 s: onnxruntime's idle workers spin ~50 ms after a run
        # (measured here: ~45 ms of CPU in the 200 ms after one) and
        # OpenBLAS's (numpy, scikit-learn) 2^28 cycles (~0.12 s here), on the
        # cores the next engine's sample needs; 0.1 s left OpenBLAS's running.
        s = Settings(args.repeats, 0.002 if args.quick else 0.02, 0.02 if args.quick else 0.3,
                     0.005 if args.quick else 0.3, args.gemm_rounds, "1x" if args.quick else "0.5s", Path(tmp))
        for key in args.cases:
            if key == "gemm":
                continue
            log(f"\n[{key}] building ...")
            try:
                built = BUILDERS[key](s.tmp)
                case, model = built if isinstance(built, tuple) else (built, None)
                log(f"[{key}] {case.title}")
                with torch.inference_mode():  # models are built and exported outside it, timed and checked inside
                    results.append(run_case(case, s))
                if key == "pipeline":
                    log("[pipeline] mle_runtime.dump vs joblib.dump")
                    dump = run_dump(model, s)
            except Exception as e:  # an engine that cannot export or run a case: reported, the others go on
                errors.append(f"case {key} FAILED: {type(e).__name__}: {str(e).strip()[:400]}")
                log(f"!!! {errors[-1]}")
        if "gemm" in args.cases:
            log("\n[gemm] MLE (go test binary) and numpy, 1 and 2 threads")
            gemm = run_gemm(s)
    log("\n" + "=" * 100)
    log(report(results, errors, dump, gemm, s, markdown=False))
    failures = [(r.case.key, c) for r in results for c in r.checks if not c.ok]
    for key, c in failures:
        log(f"!!! PARITY FAILED [{key}] {c.engine}, {c.rows:,} row(s): {c.detail}")
    for e in errors:
        log(f"!!! {e}")
    if not failures:
        log("parity: MLE and onnxruntime match the source on every case that ran")
    if args.out == "-":
        print(report(results, errors, dump, gemm, s, markdown=True))
    elif args.out:
        write_section(Path(args.out), report(results, errors, dump, gemm, s, markdown=True))
        log(f"wrote the sidebyside section into {args.out}")
    return 1 if failures or errors else 0


if __name__ == "__main__":
    sys.exit(main())
