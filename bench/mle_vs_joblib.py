#!/usr/bin/env python3
"""MLE next to joblib, pickle, skops and onnxruntime, side by side in one run.

For each model and each format it measures dump time, file size, warm load
(in process, file in the page cache), cold load (a fresh `python -c` that
imports what the format needs and loads the file), peak RSS after a cold
load, and the 1-row and 10,000-row predict latency of each runtime. It also
checks that MLE predicts what the source framework predicts, and fails (exit
status 1) when it does not.

    MLE_LIBRARY=build/libmle.so PYTHONPATH=bindings/python \\
        .venv/bin/python bench/mle_vs_joblib.py [--quick] [--repeats N]
            [--models lr,mlp,torch,big] [--threads N] [--write-docs]

Models: lr (StandardScaler + LogisticRegression), mlp (MLPClassifier 100),
torch (50-256-256-4 MLP), big (= big_torch and big_sklearn, >= 50 MB of
weights). --write-docs replaces the generated part of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import gc
import inspect
import json
import os
import pickle
import platform
import shlex
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
BEGIN_MARK = "<!-- mle_vs_joblib:begin -->"
END_MARK = "<!-- mle_vs_joblib:end -->"
SECTION_TITLE = "## 6. Python: MLE vs joblib, pickle, skops, onnxruntime"

PREDICT_ROWS = 10_000
TOLERANCE = {"sklearn": 1e-9, "torch": 1e-5}  # max |MLE - source| for probabilities / outputs
CHILD_MARK = "MLE_BENCH_RESULT "
MODEL_ORDER = ["lr", "mlp", "torch", "big_torch", "big_sklearn"]


@dataclass(frozen=True)
class Settings:
    repeats: int         # runs per measurement (the median is reported)
    min_sample_s: float  # warm loads: keep sampling this long; 1-row predicts: length of one timed loop
    threads: int
    tmp: Path


# =============================================================== the models


@dataclass
class Case:
    """One model to benchmark, with the rows it predicts."""

    key: str
    title: str
    framework: str    # "sklearn" or "torch"
    model: Any
    X: np.ndarray     # PREDICT_ROWS rows, float64 for scikit-learn, float32 for torch
    param_bytes: int  # bytes of the fitted float parameters (weights, biases, scaler statistics)
    note: str         # data and training

    @property
    def row(self) -> np.ndarray:
        return self.X[:1]


@functools.lru_cache(maxsize=None)
def classification_data(n_samples: int, n_features: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    return make_classification(n_samples=n_samples, n_features=n_features, n_informative=min(20, n_features // 2),
                               n_classes=n_classes, random_state=0)


def fit_quietly(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Fits without convergence warnings; returns the seconds it took."""
    from sklearn.exceptions import ConvergenceWarning

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - t0


def sklearn_param_bytes(est: Any) -> int:
    if hasattr(est, "steps"):
        return sum(sklearn_param_bytes(step) for _, step in est.steps if hasattr(step, "fit"))
    total = 0
    for name, value in vars(est).items():
        if name.endswith("_") and not name.startswith("_"):
            for a in value if isinstance(value, list) else [value]:
                if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                    total += a.nbytes
    return total


def torch_param_bytes(module: Any) -> int:
    return sum(p.numel() * p.element_size() for p in module.parameters())


def build_lr() -> Case:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = classification_data(20_000, 50, 4)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200))
    fit_s = fit_quietly(model, X, y)
    return Case("lr", "Pipeline(StandardScaler, LogisticRegression)", "sklearn", model, X[:PREDICT_ROWS],
                sklearn_param_bytes(model), f"make_classification 20,000 × 50 float64, 4 classes; fit {fit_s:.1f} s")


def build_mlp() -> Case:
    from sklearn.neural_network import MLPClassifier

    X, y = classification_data(20_000, 50, 4)
    model = MLPClassifier(hidden_layer_sizes=(100,), max_iter=20, random_state=0)
    fit_s = fit_quietly(model, X, y)
    return Case("mlp", "MLPClassifier(hidden_layer_sizes=(100,))", "sklearn", model, X[:PREDICT_ROWS],
                sklearn_param_bytes(model), f"same data as lr, max_iter=20; fit {fit_s:.1f} s")


def build_torch() -> Case:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(50, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                torch.nn.ReLU(), torch.nn.Linear(256, 4)).eval()
    X, _ = classification_data(20_000, 50, 4)
    return Case("torch", "torch MLP 50→256→256→4 (ReLU)", "torch", model,
                np.ascontiguousarray(X[:PREDICT_ROWS], dtype=np.float32), torch_param_bytes(model),
                "random weights (seed 0), eval mode, float32; rows: the lr data as float32")


def build_big_torch() -> Case:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(1024, 4096), torch.nn.ReLU(), torch.nn.Linear(4096, 4096),
                                torch.nn.ReLU(), torch.nn.Linear(4096, 10)).eval()
    X = np.random.default_rng(0).standard_normal((PREDICT_ROWS, 1024), dtype=np.float32)
    return Case("big_torch", "big torch MLP 1024→4096→4096→10 (ReLU)", "torch", model, X,
                torch_param_bytes(model), "random weights (seed 0), eval mode, float32; rows: standard normal")


def build_big_sklearn() -> Case:
    from sklearn.neural_network import MLPClassifier

    n_fit = 2_000
    X, y = classification_data(n_fit + PREDICT_ROWS, 1024, 10)
    model = MLPClassifier(hidden_layer_sizes=(2560, 2048), max_iter=1, random_state=0)
    fit_s = fit_quietly(model, X[:n_fit], y[:n_fit])
    return Case("big_sklearn", "big MLPClassifier(hidden_layer_sizes=(2560, 2048))", "sklearn", model, X[n_fit:],
                sklearn_param_bytes(model),
                f"make_classification 1024 features float64, 10 classes; fit max_iter=1 on {n_fit:,} rows "
                f"({fit_s:.1f} s); predicts {PREDICT_ROWS:,} other rows")


BUILDERS: dict[str, Callable[[], Case]] = {
    "lr": build_lr, "mlp": build_mlp, "torch": build_torch, "big_torch": build_big_torch,
    "big_sklearn": build_big_sklearn,
}

# ============================================================ the runtimes
#
# prepare(obj, X) turns numpy rows into what the runtime takes (untimed in the
# predict loops); predict(obj, input) is the timed call. They are also run, as
# source, in the cold-load child: keep them self-contained (imports inside).


def prepare_numpy(obj, X):
    return X


def prepare_torch(obj, X):
    import torch

    return torch.from_numpy(X)


def prepare_onnxruntime(obj, X):
    return {obj.get_inputs()[0].name: X}


def predict_estimator(obj, x):
    return obj.predict(x)


def predict_torch(obj, x):
    import torch

    with torch.no_grad():
        return obj(x)


def predict_mle_call(obj, x):
    return obj(x)


def predict_onnxruntime(obj, feed):
    return obj.run(None, feed)


@dataclass(frozen=True)
class Runtime:
    label: str
    prepare: Callable[[Any, np.ndarray], Any]
    predict: Callable[[Any, Any], Any]


RUNTIMES: dict[tuple[str, str], Runtime] = {
    ("native", "sklearn"): Runtime("scikit-learn: estimator.predict", prepare_numpy, predict_estimator),
    ("native", "torch"): Runtime("torch: forward under no_grad", prepare_torch, predict_torch),
    ("mle", "sklearn"): Runtime("MLE: model.predict", prepare_numpy, predict_estimator),
    ("mle", "torch"): Runtime("MLE: model(x)", prepare_numpy, predict_mle_call),
    ("onnxruntime", "sklearn"): Runtime("onnxruntime: session.run", prepare_onnxruntime, predict_onnxruntime),
    ("onnxruntime", "torch"): Runtime("onnxruntime: session.run", prepare_onnxruntime, predict_onnxruntime),
}

# ============================================================= the formats
#
# load(path, threads) functions are also run, as source, in the cold-load
# child: keep them self-contained (imports inside).


def dump_mle(case: Case, path: str) -> None:
    import mle_runtime

    mle_runtime.dump(case.model, path)


def load_mle(path, threads):
    import mle_runtime

    return mle_runtime.load(path, threads=threads)


def dump_joblib(case: Case, path: str) -> None:
    import joblib

    joblib.dump(case.model, path)


def dump_joblib_compress3(case: Case, path: str) -> None:
    import joblib

    joblib.dump(case.model, path, compress=3)


def load_joblib(path, threads):
    import joblib

    return joblib.load(path)


def dump_pickle(case: Case, path: str) -> None:
    with open(path, "wb") as f:
        pickle.dump(case.model, f, protocol=5)


def load_pickle(path, threads):
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f)


def dump_skops(case: Case, path: str) -> None:
    import skops.io

    skops.io.dump(case.model, path)


def load_skops(path, threads):
    import skops.io

    return skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))


def dump_onnx(case: Case, path: str) -> None:
    if case.framework == "sklearn":
        from skl2onnx import to_onnx

        # A float64 example makes skl2onnx keep float64 throughout; zipmap off
        # gives probabilities as a tensor, not a list of dicts.
        onx = to_onnx(case.model, case.row, options={"zipmap": False})
        Path(path).write_bytes(onx.SerializeToString())
        return
    import torch

    # dynamo=False: the torch.export-based exporter needs onnxscript, which is
    # not installed here; the TorchScript exporter works offline.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(case.model, (torch.from_numpy(case.row),), path, dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def load_onnx(path, threads):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def skops_support(case: Case) -> str | None:
    if case.framework == "torch":
        return "skops saves scikit-learn objects; skops.io.dump of a torch.nn.Module fails"
    return None


@dataclass(frozen=True)
class Format:
    key: str
    label: str
    engine: str                             # what runs the loaded model: "native", "mle" or "onnxruntime"
    suffix: str
    dump: Callable[[Case, str], None]
    load: Callable[[str, int], Any]
    imports: Callable[[Case], str]          # what a fresh process imports before it loads a file
    support: Callable[[Case], str | None] = lambda case: None  # a reason when the format cannot hold the model

    def runtime(self, case: Case) -> Runtime:
        return RUNTIMES[(self.engine, case.framework)]


FORMATS: list[Format] = [
    Format("mle", "MLE", "mle", ".mle", dump_mle, load_mle, lambda c: "import mle_runtime"),
    Format("joblib", "joblib", "native", ".joblib", dump_joblib, load_joblib,
           lambda c: f"import joblib\nimport {c.framework}"),
    Format("joblib_z3", "joblib compress=3", "native", ".joblib.z", dump_joblib_compress3, load_joblib,
           lambda c: f"import joblib\nimport {c.framework}"),
    Format("pickle", "pickle protocol 5", "native", ".pkl", dump_pickle, load_pickle,
           lambda c: f"import pickle\nimport {c.framework}"),
    Format("skops", "skops", "native", ".skops", dump_skops, load_skops,
           lambda c: "import skops.io\nimport sklearn", skops_support),
    Format("onnx", "onnxruntime", "onnxruntime", ".onnx", dump_onnx, load_onnx, lambda c: "import onnxruntime"),
]

# ============================================================ measurements


@dataclass
class Cold:
    """Medians over fresh processes; times measured inside the child."""

    import_ns: float
    load_ns: float
    wall_ns: float        # subprocess.run, interpreter start-up and exit included
    predict_ns: float     # the first 1-row predict after the load
    rss_kb: float         # ru_maxrss after the load
    baseline_rss_kb: float  # ru_maxrss of a child with the same imports and no load

    @property
    def total_ns(self) -> float:
        return self.import_ns + self.load_ns


@dataclass
class FormatResult:
    fmt: Format
    na: str | None = None
    dump_ns: float | None = None
    size: int | None = None
    warm_load_ns: float | None = None
    warm_load_runs: int = 0
    warm_first_ns: float | None = None
    cold: Cold | None = None


@dataclass
class PredictResult:
    engine: str
    runtime: Runtime
    one_ns: float
    one_loop: int   # calls per timed loop for 1 row
    batch_ns: float


@dataclass
class Check:
    what: str
    ok: bool
    detail: str
    required: bool


@dataclass
class CaseResult:
    case: Case
    formats: list[FormatResult] = field(default_factory=list)
    predicts: list[PredictResult] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def fmt(self, key: str) -> FormatResult | None:
        return next((r for r in self.formats if r.fmt.key == key and r.na is None), None)

    def predict(self, engine: str) -> PredictResult | None:
        return next((p for p in self.predicts if p.engine == engine), None)


@contextlib.contextmanager
def gc_paused():
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def release(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if callable(close):
        close()


def elapsed_ns(fn: Callable[[], Any]) -> int:
    t0 = time.perf_counter_ns()
    fn()
    return time.perf_counter_ns() - t0


def sample(fn: Callable[[], int], s: Settings, limit: int = 1000) -> tuple[float, int]:
    """Median of fn()'s ns: at least s.repeats samples, more while under
    s.min_sample_s in all (at most `limit`). Returns (median, samples)."""
    samples: list[int] = []
    start = time.perf_counter_ns()
    while len(samples) < s.repeats or (len(samples) < limit and time.perf_counter_ns() - start < s.min_sample_s * 1e9):
        samples.append(fn())
    return statistics.median(samples), len(samples)


def measure_dump(fmt: Format, case: Case, path: str, s: Settings) -> tuple[float, int]:
    samples = [elapsed_ns(lambda: fmt.dump(case, path)) for _ in range(s.repeats)]
    return statistics.median(samples), os.path.getsize(path)


def measure_warm_load(fmt: Format, path: str, s: Settings) -> tuple[float, int]:
    release(fmt.load(path, s.threads))  # warm-up: page cache, lazy imports, libmle

    def once() -> int:
        t0 = time.perf_counter_ns()
        obj = fmt.load(path, s.threads)
        t = time.perf_counter_ns() - t0
        release(obj)
        return t

    return sample(once, s)


def measure_warm_first_predict(fmt: Format, case: Case, path: str, s: Settings) -> float:
    """Load plus the first 1-row predict: what lazy loaders defer is paid here."""
    rt = fmt.runtime(case)

    def once() -> int:
        t0 = time.perf_counter_ns()
        obj = fmt.load(path, s.threads)
        rt.predict(obj, rt.prepare(obj, case.row))
        t = time.perf_counter_ns() - t0
        release(obj)
        return t

    return sample(once, s)[0]


CHILD_TEMPLATE = """\
import resource, time
path, threads, row_path = {path!r}, {threads!r}, {row_path!r}
t0 = time.perf_counter_ns()
{imports}
t1 = time.perf_counter_ns()
{load}
t2 = time.perf_counter_ns()
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t3 = t4 = 0
{predict}
import json
print({mark!r} + json.dumps(dict(import_ns=t1 - t0, load_ns=t2 - t1, predict_ns=t4 - t3, rss_kb=rss_kb)))
"""


def child_code(fmt: Format, case: Case, path: str, row_path: str, s: Settings, load: bool) -> str:
    """Source for a fresh process: the format's imports, then (if load) its
    load function and the runtime's first 1-row predict."""
    load_src = predict_src = "obj = None"
    if load:
        rt = fmt.runtime(case)
        load_src = f"{inspect.getsource(fmt.load)}\nobj = {fmt.load.__name__}(path, threads)"
        predict_src = "\n".join([
            "import numpy", "x = numpy.load(row_path)",
            inspect.getsource(rt.prepare), inspect.getsource(rt.predict),
            "t3 = time.perf_counter_ns()",
            f"{rt.predict.__name__}(obj, {rt.prepare.__name__}(obj, x))",
            "t4 = time.perf_counter_ns()",
        ])
    return CHILD_TEMPLATE.format(path=path, threads=s.threads, row_path=row_path, imports=fmt.imports(case),
                                 load=load_src, predict=predict_src, mark=CHILD_MARK)


def run_child(code: str) -> tuple[dict, int]:
    env = dict(os.environ)
    import mle_runtime  # the child must find the same package (and libmle, via MLE_LIBRARY or its defaults)

    pkg_parent = str(Path(mle_runtime.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in [pkg_parent, env.get("PYTHONPATH", "")] if p)
    env.setdefault("PYTHONWARNINGS", "ignore")
    # Through sh, which forks python instead of exec'ing it: Linux keeps a
    # process's peak RSS across exec, so a child exec'd straight from this big
    # process would report this process's peak as its own ru_maxrss.
    argv = ["/bin/sh", "-c", '"$0" "$@"; exit $?', sys.executable, "-c", code]
    t0 = time.perf_counter_ns()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=900)
    wall = time.perf_counter_ns() - t0
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(CHILD_MARK)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"cold-load child failed (exit {proc.returncode}): {proc.stderr.strip()[-1500:]}")
    return json.loads(lines[-1][len(CHILD_MARK):]), wall


_baseline_rss: dict[str, float] = {}


def baseline_rss_kb(imports: str, s: Settings) -> float:
    """ru_maxrss of a fresh process that only runs `imports` (cached)."""
    if imports not in _baseline_rss:
        code = CHILD_TEMPLATE.format(path="", threads=s.threads, row_path="", imports=imports, load="obj = None",
                                     predict="", mark=CHILD_MARK)
        _baseline_rss[imports] = statistics.median(run_child(code)[0]["rss_kb"] for _ in range(min(s.repeats, 3)))
    return _baseline_rss[imports]


def measure_cold(fmt: Format, case: Case, path: str, row_path: str, s: Settings) -> Cold:
    code = child_code(fmt, case, path, row_path, s, load=True)
    runs = [run_child(code) for _ in range(s.repeats)]
    med = lambda key: statistics.median(r[key] for r, _ in runs)  # noqa: E731
    return Cold(med("import_ns"), med("load_ns"), statistics.median(w for _, w in runs), med("predict_ns"),
                med("rss_kb"), baseline_rss_kb(fmt.imports(case), s))


def measure_predict(engine: str, rt: Runtime, obj: Any, case: Case, s: Settings) -> PredictResult:
    """1 row: s.repeats loops of >= s.min_sample_s each, the median of their
    per-call means. 10,000 rows: the median of s.repeats calls. Warm-up first."""
    one, batch = rt.prepare(obj, case.row), rt.prepare(obj, case.X)
    for _ in range(3):
        rt.predict(obj, one)
    single = min(elapsed_ns(lambda: rt.predict(obj, one)) for _ in range(5))
    loop = max(1, int(s.min_sample_s * 1e9 / max(single, 1)))
    one_samples = []
    with gc_paused():
        for _ in range(s.repeats):
            t0 = time.perf_counter_ns()
            for _ in range(loop):
                rt.predict(obj, one)
            one_samples.append((time.perf_counter_ns() - t0) / loop)
        rt.predict(obj, batch)
        batch_samples = [elapsed_ns(lambda: rt.predict(obj, batch)) for _ in range(s.repeats)]
    return PredictResult(engine, rt, statistics.median(one_samples), loop, statistics.median(batch_samples))


# ============================================================== correctness


def source_outputs(model: Any, case: Case) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities or raw outputs) from a scikit-learn / torch object."""
    if case.framework == "sklearn":
        return model.predict(case.X), model.predict_proba(case.X)
    import torch

    with torch.no_grad():
        out = model(torch.from_numpy(case.X)).numpy()
    return out.argmax(axis=1), out


def loaded_outputs(fmt: Format, obj: Any, case: Case) -> tuple[np.ndarray, np.ndarray]:
    if fmt.engine == "native":
        return source_outputs(obj, case)
    if fmt.engine == "mle":
        if case.framework == "sklearn":
            return obj.predict(case.X), obj.predict_proba(case.X)
        out = obj(case.X)
        out = out[0] if isinstance(out, tuple) else out
        return out.argmax(axis=1), out
    outs = obj.run(None, prepare_onnxruntime(obj, case.X))
    if case.framework == "sklearn":
        return outs[0], outs[1]
    return outs[0].argmax(axis=1), outs[0]


def check_format(fmt: Format, obj: Any, case: Case, ref: tuple[np.ndarray, np.ndarray]) -> Check:
    """MLE must match the source (labels identical, values within TOLERANCE);
    pickle-like formats must match exactly; onnxruntime is reported only."""
    labels, values = loaded_outputs(fmt, obj, case)
    same = int(np.sum(np.asarray(labels) == ref[0]))
    diff = float(np.max(np.abs(np.asarray(values, dtype=np.float64) - ref[1])))
    tol = TOLERANCE[case.framework] if fmt.engine != "native" else 0.0
    what = "probabilities" if case.framework == "sklearn" else "outputs"
    ok = same == len(ref[0]) and diff <= tol and np.shape(values) == np.shape(ref[1])
    bound = f"≤ {tol:g}" if tol else "must be exact"
    detail = f"labels {same:,}/{len(ref[0]):,} identical, max |Δ {what}| {diff:.2g} ({bound})"
    return Check(fmt.label, ok, detail, required=fmt.engine != "onnxruntime")


# ================================================================ one case


def log(msg: str) -> None:
    print(msg, flush=True)


def run_case(case: Case, s: Settings) -> CaseResult:
    res = CaseResult(case)
    ref = source_outputs(case.model, case)
    row_path = str(s.tmp / f"{case.key}_row.npy")
    np.save(row_path, case.row)
    runners: dict[str, Any] = {"native": case.model}  # engine -> loaded object to time predicts on
    for fmt in FORMATS:
        fr = FormatResult(fmt)
        res.formats.append(fr)
        fr.na = fmt.support(case)
        if fr.na:
            log(f"  {fmt.label:<18} n/a: {fr.na}")
            continue
        path = str(s.tmp / f"{case.key}{fmt.suffix}")
        step = "dump"
        try:
            fr.dump_ns, fr.size = measure_dump(fmt, case, path, s)
            step = "load"
            fr.warm_load_ns, fr.warm_load_runs = measure_warm_load(fmt, path, s)
            fr.warm_first_ns = measure_warm_first_predict(fmt, case, path, s)
            step = "cold load"
            fr.cold = measure_cold(fmt, case, path, row_path, s)
            step = "predict"
            obj = fmt.load(path, s.threads)
            res.checks.append(check_format(fmt, obj, case, ref))
        except Exception as e:  # recorded as n/a; an MLE failure also fails the run
            fr.na = f"{step} failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
            log(f"  {fmt.label:<18} n/a: {fr.na}")
            if fmt.engine == "mle":
                res.checks.append(Check(fmt.label, False, fr.na, required=True))
            continue
        finally:
            if fr.na and os.path.exists(path):
                os.remove(path)
        if fmt.engine != "native":
            runners[fmt.engine] = obj
        else:
            release(obj)
        os.remove(path)
        log(f"  {fmt.label:<18} dump {fmt_ns(fr.dump_ns)}, {fmt_bytes(fr.size)}, load warm {fmt_ns(fr.warm_load_ns)}, "
            f"cold {fmt_ns(fr.cold.total_ns)} (wall {fmt_ns(fr.cold.wall_ns)}); check: {res.checks[-1].detail}")
    for engine, obj in runners.items():
        p = measure_predict(engine, RUNTIMES[(engine, case.framework)], obj, case, s)
        res.predicts.append(p)
        log(f"  predict {p.runtime.label:<32} 1 row {fmt_ns(p.one_ns)}, {PREDICT_ROWS:,} rows {fmt_ns(p.batch_ns)}")
        if engine != "native":
            release(obj)
    for c in res.checks:
        if c.required and not c.ok:
            log(f"  !!! CORRECTNESS FAILURE [{case.key}] {c.what}: {c.detail}")
    return res


# =================================================================== targets


@dataclass
class Target:
    """MLE's number against another's: met when other / mle >= need (lower is better for both)."""

    name: str
    model: str
    need: float
    mle: float | None
    other: float | None
    other_label: str
    unit: str             # "time" or "size"
    also: str = ""        # a related ratio shown next to the numbers
    missing: str = ""     # why it was not measured

    @property
    def ratio(self) -> float | None:
        return None if not self.mle or self.other is None else self.other / self.mle

    @property
    def met(self) -> bool | None:
        return None if self.ratio is None else self.ratio >= self.need

    def numbers(self) -> str:
        if self.ratio is None:
            return "—"
        show = fmt_ns if self.unit == "time" else fmt_bytes
        return f"MLE {show(self.mle)} vs {self.other_label} {show(self.other)}" + (f"; {self.also}" if self.also else "")

    def verdict(self) -> str:
        if self.ratio is None:
            return f"not measured ({self.missing})"
        if self.met:
            return f"met: {fmt_ratio(self.ratio)} (needs {fmt_ratio(self.need)})"
        if self.unit == "size":
            extra = self.mle - self.other
            return f"MISSED: MLE is {extra:,.0f} bytes ({100 * extra / self.other:.2g} %) larger"
        return f"MISSED: {fmt_ratio(self.ratio)}, needs {fmt_ratio(self.need)} ({self.need / self.ratio:.2f}× short)"


def evaluate_targets(results: list[CaseResult]) -> list[Target]:
    targets = []
    for r in results:
        key, mle, jl = r.case.key, r.fmt("mle"), r.fmt("joblib")
        why = next((f.na for f in r.formats if f.fmt.key == "mle" and f.na), "MLE or joblib not measured")
        if r.case.param_bytes >= 50e6:
            also = (f"load + 1st predict {fmt_ratio(jl.warm_first_ns / mle.warm_first_ns)}" if mle and jl else "")
            targets.append(Target("load warm ≥ 100× faster than joblib.load", key, 100, mle and mle.warm_load_ns,
                                  jl and jl.warm_load_ns, "joblib", "time", also, why))
            also = f"process wall {fmt_ratio(jl.cold.wall_ns / mle.cold.wall_ns)}" if mle and jl else ""
            targets.append(Target("load cold (fresh process, imports + load) ≥ 10× faster than joblib", key, 10,
                                  mle and mle.cold.total_ns, jl and jl.cold.total_ns, "joblib", "time", also, why))
        if key in ("lr", "mlp"):
            sk, mp, ort = r.predict("native"), r.predict("mle"), r.predict("onnxruntime")
            targets.append(Target("1-row predict ≥ 10× faster than scikit-learn", key, 10, mp and mp.one_ns,
                                  sk and sk.one_ns, "scikit-learn", "time", missing=why))
            targets.append(Target("1-row predict not slower than onnxruntime", key, 1, mp and mp.one_ns,
                                  ort and ort.one_ns, "onnxruntime", "time",
                                  missing=why if mp is None else "onnxruntime not measured"))
        targets.append(Target("file size ≤ joblib (uncompressed)", key, 1, mle and mle.size, jl and jl.size, "joblib",
                              "size", missing=why))
    return targets


# ================================================================ rendering


def fmt_num(v: float) -> str:
    return f"{v:.0f}" if v >= 99.95 else f"{v:.1f}" if v >= 9.995 else f"{v:.2f}"


def fmt_ns(ns: float | None) -> str:
    if ns is None:
        return "n/a"
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if ns >= scale * 0.9995:
            return f"{fmt_num(ns / scale)} {unit}"
    return f"{ns:.0f} ns"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "n/a"
    for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
        if n >= scale * 0.9995:
            return f"{fmt_num(n / scale)} {unit}"
    return f"{n:.0f} B"


def fmt_ratio(r: float) -> str:
    return f"{r:.3g}×" if r < 100 else f"{r:.0f}×"


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    right: set[int] = field(default_factory=set)  # right-aligned (numeric) columns

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


def persistence_table(r: CaseResult) -> Table:
    headers = ["format", "dump", "file", "load warm", "warm load + 1st predict", "cold: imports + load",
               "cold: process wall", "cold: 1st predict", "cold: peak RSS (Δ)"]
    rows = []
    for f in r.formats:
        if f.na:
            rows.append([f.fmt.label] + ["n/a"] * (len(headers) - 1))
            continue
        c = f.cold
        rows.append([f.fmt.label, fmt_ns(f.dump_ns), fmt_bytes(f.size), fmt_ns(f.warm_load_ns),
                     fmt_ns(f.warm_first_ns), f"{fmt_ns(c.total_ns)} ({fmt_ns(c.import_ns)} + {fmt_ns(c.load_ns)})",
                     fmt_ns(c.wall_ns), fmt_ns(c.predict_ns),
                     f"{fmt_bytes(c.rss_kb * 1024)} (+{fmt_bytes(max(c.rss_kb - c.baseline_rss_kb, 0) * 1024)})"])
    return Table(headers, rows, right=set(range(1, len(headers))))


def predict_table(r: CaseResult) -> Table:
    mle = r.predict("mle")
    headers = ["runtime", "1 row", f"{PREDICT_ROWS:,} rows", "MLE faster, 1 row", f"MLE faster, {PREDICT_ROWS:,} rows"]
    rows = []
    for p in r.predicts:
        vs = (lambda a, b: "—") if p.engine == "mle" or mle is None else (lambda a, b: fmt_ratio(a / b))
        rows.append([p.runtime.label, fmt_ns(p.one_ns), fmt_ns(p.batch_ns), vs(p.one_ns, mle and mle.one_ns),
                     vs(p.batch_ns, mle and mle.batch_ns)])
    return Table(headers, rows, right={1, 2, 3, 4})


def targets_table(targets: list[Target]) -> Table:
    return Table(["target", "model", "numbers", "result"],
                 [[t.name, t.model, t.numbers(), t.verdict()] for t in targets])


def case_heading(r: CaseResult) -> str:
    c = r.case
    mib = f" ({c.param_bytes / 2**20:.1f} MiB)" if c.param_bytes >= 2**20 else ""
    return f"{c.key}: {c.title} — {fmt_bytes(c.param_bytes)} of parameters{mib}"


def na_notes(r: CaseResult) -> list[str]:
    return [f"n/a {f.fmt.label}: {f.na}" for f in r.formats if f.na]


def check_lines(r: CaseResult) -> list[str]:
    out = []
    for c in r.checks:
        status = "OK" if c.ok else ("FAILED" if c.required else "differs (not required)")
        out.append(f"check {c.what} vs source: {status} — {c.detail}")
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


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for dist in ("numpy", "scikit-learn", "torch", "joblib", "skops", "onnxruntime", "skl2onnx"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "not installed"
    import mle_runtime

    out["libmle"] = mle_runtime.library_version()
    return out


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True,
                               text=True).stdout.strip()
        return head + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def command_line() -> str:
    """The command as run, relative to the repository where possible."""
    def rel(p: str) -> str:
        try:
            return str(Path(p).resolve().relative_to(REPO)) if Path(p).exists() else p
        except ValueError:
            return p
    env = [f"{k}={rel(os.environ[k])}" for k in ("MLE_LIBRARY", "PYTHONPATH") if os.environ.get(k)]
    python = sys.executable if not Path(sys.executable).is_relative_to(REPO) else str(Path(sys.executable).relative_to(REPO))
    return " ".join([*env, python, rel(sys.argv[0]), *map(shlex.quote, sys.argv[1:])])


def machine_line(v: dict[str, str]) -> str:
    libs = ", ".join(f"{k} {val}" for k, val in v.items() if k != "python")
    return (f"{os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.release()}; "
            f"Python {v['python']}; {libs}")


def method_notes(s: Settings) -> list[str]:
    return [
        f"Every number is a median. Dump, cold load and {PREDICT_ROWS:,}-row predict: {s.repeats} runs. Warm load "
        f"(and warm load + first predict): at least {s.repeats} runs, continuing until {s.min_sample_s:g} s have "
        f"passed (at most 1,000). 1-row predict: {s.repeats} timed loops of ≥ {s.min_sample_s:g} s each, the median "
        "of their per-call means, after warm-up calls; GC paused in the predict loops.",
        f"Threads: {s.threads} everywhere — torch.set_num_threads, threadpoolctl for scikit-learn's BLAS, "
        "onnxruntime intra_op_num_threads (inter_op 1), mle_runtime.load(threads=...).",
        "Warm load: in this process, file in the page cache. *Warm load + 1st predict* adds the first 1-row "
        "predict after the load, where lazy work is paid (MLE maps the file at load and plans at the first run).",
        "Cold: a fresh `python -c` per run (file still in the page cache) that imports what the format needs "
        "(MLE: `mle_runtime`; joblib / pickle: the module plus `sklearn` or `torch`; skops: `skops.io` and "
        "`sklearn`; onnxruntime: `onnxruntime`), then loads; *imports + load* is timed inside the child "
        "(split in brackets), *process wall* is subprocess.run in the parent (interpreter start-up included; spawned through "
        "`/bin/sh`, see below), "
        "*1st predict* is the first 1-row predict after the load.",
        "Peak RSS: ru_maxrss in the cold child after the load; Δ = minus a child that runs the same imports and "
        "loads nothing. Children are started by `/bin/sh`, which forks them: Linux carries a process's peak RSS "
        "across exec, so a child exec'd straight from the benchmark would report the benchmark's own peak.",
        "Predict: scikit-learn `estimator.predict`, torch forward under `torch.no_grad()` on a tensor made "
        "beforehand, MLE `model.predict(X)` (scikit-learn) or `model(x)` (torch), onnxruntime `session.run(None, "
        "feed)`. joblib, pickle and skops load the same scikit-learn / torch object, so they share the native row.",
        "Correctness (same run, all rows): MLE labels identical to the source and probabilities within 1e-9 "
        "(scikit-learn, float64) / outputs within 1e-5 (torch, float32); the run fails otherwise. "
        "onnxruntime: skl2onnx `to_onnx` with a float64 example (float64 throughout, zipmap off); torch: "
        "`torch.onnx.export(dynamo=False)` — the torch.export-based exporter needs onnxscript, not installed.",
        "*MLE faster* columns: the runtime's time / MLE's time (below 1×, MLE is slower). MB = 10^6 bytes.",
    ]


# ================================================================== output


def print_report(results: list[CaseResult], targets: list[Target], s: Settings) -> None:
    for r in results:
        print()
        print("=" * 100)
        print(case_heading(r))
        print(r.case.note)
        print()
        print(persistence_table(r).text())
        print()
        print(predict_table(r).text())
        for line in na_notes(r) + check_lines(r):
            print("  " + line)
    print()
    print("=" * 100)
    print("targets")
    print(targets_table(targets).text())


def docs_section(results: list[CaseResult], targets: list[Target], s: Settings, v: dict[str, str]) -> str:
    out = [
        "<!-- generated by bench/mle_vs_joblib.py --write-docs; edit the script, not this block -->",
        "",
        "```sh",
        command_line(),
        "```",
        "",
        f"Machine: {machine_line(v)}.",
        f"Run: {datetime.date.today().isoformat()}, commit {git_commit()}.",
        "",
        "### Targets",
        "",
        targets_table(targets).markdown(),
        "",
        "### Method",
        "",
        *[f"- {n}" for n in method_notes(s)],
    ]
    for r in results:
        out += ["", f"### {case_heading(r)}", "", r.case.note + ".", "", persistence_table(r).markdown(), "",
                predict_table(r).markdown(), ""]
        out += [f"- {line}" for line in na_notes(r) + check_lines(r)]
    return "\n".join(out)


def write_docs(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    block = f"{BEGIN_MARK}\n{section}\n{END_MARK}"
    if BEGIN_MARK in text and END_MARK in text:
        head, rest = text.split(BEGIN_MARK, 1)
        text = head + block + rest.split(END_MARK, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{SECTION_TITLE}\n\n{block}\n"
    path.write_text(text)


# ==================================================================== main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few repeats and short loops, for smoke testing")
    p.add_argument("--repeats", type=int, help="runs per measurement (default 5, 2 with --quick)")
    p.add_argument("--models", default="lr,mlp,torch,big",
                   help="comma-separated subset of lr, mlp, torch, big (= big_torch,big_sklearn), big_torch, big_sklearn")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for every runtime (default: all CPUs)")
    p.add_argument("--write-docs", action="store_true", help=f"write the Markdown section into {DOCS.relative_to(REPO)}")
    p.add_argument("--docs-file", type=Path, default=DOCS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    wanted = set()
    for name in filter(None, (m.strip() for m in args.models.split(","))):
        if name == "big":
            wanted |= {"big_torch", "big_sklearn"}
        elif name in BUILDERS:
            wanted.add(name)
        else:
            p.error(f"unknown model {name!r}; choose from lr, mlp, torch, big, big_torch, big_sklearn")
    args.models = [m for m in MODEL_ORDER if m in wanted]
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    if args.repeats < 1 or args.threads < 1:
        p.error("--repeats and --threads must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from threadpoolctl import threadpool_limits

    if any(BUILDERS[m] in (build_torch, build_big_torch) for m in args.models):
        import torch

        torch.set_num_threads(args.threads)
    v = versions()
    print(f"machine: {machine_line(v)}")
    print(f"commit {git_commit()}; repeats {args.repeats}; threads {args.threads}; models {', '.join(args.models)}")
    results: list[CaseResult] = []
    with tempfile.TemporaryDirectory(prefix="mle_vs_joblib_") as tmp, threadpool_limits(args.threads):
        s = Settings(args.repeats, 0.02 if args.quick else 0.2, args.threads, Path(tmp))
        for key in args.models:
            log(f"\n[{key}] building the model ...")
            case = BUILDERS[key]()
            log(f"[{key}] {case.title}: {fmt_bytes(case.param_bytes)} of parameters; {case.note}")
            results.append(run_case(case, s))
            del case
            gc.collect()
    targets = evaluate_targets(results)
    print_report(results, targets, s)
    failures = [(r.case.key, c) for r in results for c in r.checks if c.required and not c.ok]
    print()
    if failures:
        for key, c in failures:
            print(f"FAILED [{key}] {c.what}: {c.detail}")
        print("\n!!! MLE does not match the source (or could not run) — see above.")
    else:
        print("correctness: MLE matches the source on every model (labels identical, values within tolerance)")
    if args.write_docs:
        if failures:
            print(f"not writing {args.docs_file}: the run has failures")
        else:
            write_docs(args.docs_file, docs_section(results, targets, s, v))
            print(f"wrote the section into {args.docs_file}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
