"""Tree ensembles side by side in one process: MLE, onnxruntime, the
library's own predict, and treelite/tl2cgen and lleaves where they build;
plus load time and file size against joblib. Every engine gets 2 threads.

    bench/trees.sh [--quick] [--repeats N] [--out FILE]

Prints a markdown table (median per call, [min-max] over repeats, and the
ratio other/MLE: above 1 means MLE is faster)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def timeit(fn, rows: int, repeats: int) -> list[float]:
    fn()  # warm
    calls = max(1, int(0.05 / max(_once(fn), 1e-7)))
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        out.append((time.perf_counter() - t) / calls)
        time.sleep(0.05)
    return out


def _once(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def models(quick: bool):
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

    n = 4000 if quick else 20000
    X, y = make_classification(n_samples=n, n_features=20, n_informative=12, random_state=0)
    X = X.astype(np.float32).astype(np.float64)
    out = []
    out.append(("RandomForest 300 trees depth 14", RandomForestClassifier(30 if quick else 300, max_depth=14,
                                                                        random_state=0, n_jobs=2).fit(X, y)))
    out.append(("GradientBoosting 200 stages depth 4", GradientBoostingClassifier(
        n_estimators=20 if quick else 200, max_depth=4, random_state=0).fit(X, y)))
    import lightgbm
    import xgboost

    out.append(("XGBoost 500 trees depth 6", xgboost.XGBClassifier(n_estimators=50 if quick else 500, max_depth=6,
                                                                    n_jobs=2, random_state=0).fit(X, y)))
    out.append(("LightGBM 500 trees 31 leaves", lightgbm.LGBMClassifier(n_estimators=50 if quick else 500,
                                                                         n_jobs=2, verbose=-1,
                                                                         random_state=0).fit(X, y)))
    return X, y, out


def onnx_session(name: str, est, nfeat: int):
    import onnxruntime as ort
    from skl2onnx.common.data_types import FloatTensorType

    if name.startswith(("XGBoost", "LightGBM")):
        import onnxmltools

        conv = onnxmltools.convert_xgboost if name.startswith("XGBoost") else onnxmltools.convert_lightgbm
        onx = conv(est, initial_types=[("X", FloatTensorType([None, nfeat]))], target_opset=17)
    else:
        from skl2onnx import to_onnx

        onx = to_onnx(est, initial_types=[("X", FloatTensorType([None, nfeat]))], options={"zipmap": False},
                      target_opset={"": 17, "ai.onnx.ml": 3})
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onx.SerializeToString(), so, providers=["CPUExecutionProvider"])
    out = [o.name for o in sess.get_outputs()][-1]  # probabilities
    return lambda X: sess.run([out], {"X": X.astype(np.float32)})


def treelite_fn(est, tmp: str):
    import tl2cgen
    import treelite

    if type(est).__module__.startswith("xgboost"):
        model = treelite.frontend.from_xgboost(est.get_booster())
    elif type(est).__module__.startswith("lightgbm"):
        model = treelite.frontend.from_lightgbm(est.booster_)
    else:
        model = treelite.sklearn.import_model(est)
    lib = os.path.join(tmp, f"tl_{id(est)}.so")
    tl2cgen.export_lib(model, toolchain="gcc", libpath=lib, params={"parallel_comp": 8}, nthread=2)
    pred = tl2cgen.Predictor(lib, nthread=2)
    return lambda X: pred.predict(tl2cgen.DMatrix(X, dtype="float64"))


def lleaves_fn(est, tmp: str):
    import lleaves

    path = os.path.join(tmp, "lgbm.txt")
    est.booster_.save_model(path)
    m = lleaves.Model(model_file=path)
    m.compile(cache=os.path.join(tmp, "lleaves.o"))
    return lambda X: m.predict(X, n_jobs=2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default=None, help="markdown file to write the table to")
    a = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(2)
    import joblib

    import mle_runtime

    X, _, ms = models(a.quick)
    rows_sets = {1: X[:1].copy(), 10000: np.ascontiguousarray(np.resize(X, (10000, X.shape[1])))}
    lines = ["| model | rows | engine | median | spread | other / MLE |", "|---|---:|---|---:|---:|---:|"]
    tmp = tempfile.mkdtemp()
    for name, est in ms:
        path = os.path.join(tmp, "m.mle")
        mle_runtime.dump(est, path, durable=False)
        m = mle_runtime.load(path, threads=2)
        if hasattr(est, "n_jobs"):
            est.set_params(n_jobs=2)
        engines = {"MLE": lambda X: m.predict_proba(X), "own predict_proba": lambda X: est.predict_proba(X)}
        for label, make in (("onnxruntime", lambda: onnx_session(name, est, X.shape[1])),
                            ("treelite/tl2cgen", lambda: treelite_fn(est, tmp)),
                            ("lleaves", lambda: lleaves_fn(est, tmp) if name.startswith("LightGBM") else None)):
            try:
                fn = make()
                if fn is not None:
                    engines[label] = fn
            except Exception as e:  # an engine that does not build is reported, not fatal
                print(f"{name}: {label} not measured: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
        for rows, Xr in rows_sets.items():
            res = {k: timeit(lambda f=f: f(Xr), rows, a.repeats) for k, f in engines.items()}
            base = statistics.median(res["MLE"])
            for k, v in res.items():
                med = statistics.median(v)
                lines.append(f"| {name} | {rows} | {k} | {med * 1e6:,.1f} µs | {min(v) * 1e6:,.1f}–{max(v) * 1e6:,.1f}"
                             f" | {med / base:.2f}× |")
            print("\n".join(lines[-len(res):]), flush=True)
        m.close()
        if name.startswith("RandomForest"):
            jpath = os.path.join(tmp, "m.joblib")
            joblib.dump(est, jpath)
            joblib.load(jpath)  # warm the page cache
            jl = timeit(lambda: joblib.load(jpath), 1, 3)
            ml = timeit(lambda: mle_runtime.load(path).close(), 1, a.repeats)
            lines.append(f"| {name} | load (warm) | joblib.load / mle_runtime.load | "
                         f"{statistics.median(jl) * 1e3:,.1f} ms / {statistics.median(ml) * 1e6:,.1f} µs | | "
                         f"{statistics.median(jl) / statistics.median(ml):,.0f}× |")
            lines.append(f"| {name} | file size | joblib / .mle | {os.path.getsize(jpath) / 2**20:.1f} MiB / "
                         f"{os.path.getsize(path) / 2**20:.1f} MiB | | |")
            print("\n".join(lines[-2:]), flush=True)
    table = "\n".join(lines)
    if a.out and not a.quick:
        with open(a.out, "w") as f:
            f.write(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
