"""Tree ensembles side by side in one process: MLE, onnxruntime, the
library's own predict, and treelite/tl2cgen and lleaves where they build;
plus load time and file size against joblib. Every engine gets 2 threads;
on one row the other engines are also timed with 1 thread and shown at their
better one.

    bench/trees.sh [--quick] [--repeats N] [--out FILE]

Prints a markdown table (median per call, [min-max] over repeats, and the
ratio other/MLE: above 1 means MLE is faster).

Every engine is called on the same float64 rows; one that needs float32
(onnxruntime) converts inside the timed call, as a user would. Before timing,
each engine's output on the 1-row and the 10,000-row input is checked against
the library's own predict_proba; an engine that fails or disagrees (beyond
float32 rounding) is left out of the table, with the reason on stderr."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import warnings

import numpy as np

from _timing import finish, time_model

warnings.filterwarnings("ignore")


# Other engines run with 2 threads and with 1: on one row, starting a second
# thread can cost more than it saves, and each engine is shown at its best.
THREADS = (2, 1)


def own_predict(est):
    def with_jobs(t):
        def run(X):
            est.set_params(n_jobs=t)
            return est.predict_proba(X)
        return run

    if "n_jobs" in est.get_params():
        return {t: with_jobs(t) for t in THREADS}
    return {2: est.predict_proba}


# Load times are taken in a fresh interpreter that imports what a serving
# process would (numpy, scikit-learn, joblib, mle_runtime): this process
# holds every engine and model of the benchmark, and Python's full garbage
# collections, which walk all of that, would be charged to whichever load
# triggers them.
_LOAD_SCRIPT = """
import json, sys
import joblib, sklearn.ensemble, mle_runtime
sys.path.insert(0, sys.argv[4])
from _timing import timeit_all
jpath, path, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
joblib.load(jpath)  # warm: page cache, lazy imports
t = timeit_all({"joblib": lambda: joblib.load(jpath), "mle": lambda: mle_runtime.load(path).close()}, repeats)
print(json.dumps(t))
"""


def load_times(jpath: str, path: str, repeats: int) -> tuple[list[float], list[float]]:
    """joblib.load and mle_runtime.load(...).close() of the same model,
    alternating, in a fresh interpreter (see _LOAD_SCRIPT)."""
    out = subprocess.run([sys.executable, "-c", _LOAD_SCRIPT, jpath, path, str(repeats),
                          os.path.dirname(os.path.abspath(__file__))],
                         check=True, capture_output=True, text=True).stdout
    t = json.loads(out.strip().splitlines()[-1])
    return t["joblib"], t["mle"]


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

    if name.startswith(("XGBoost", "LightGBM")):
        import onnxmltools
        # onnxmltools checks inputs against its own tensor types (skl2onnx's are
        # rejected: "got an input X with a wrong type"), and its converters stop
        # at opset 15 (DEFAULT_OPSET_NUMBER in 1.16: 17 is refused). It emits
        # TreeEnsembleClassifier (ai.onnx.ml 1), the same ORT kernel as ml opset 3.
        from onnxmltools.convert.common.data_types import FloatTensorType

        types = [("X", FloatTensorType([None, nfeat]))]
        if name.startswith("XGBoost"):  # no ZipMap in the XGBoost graph
            onx = onnxmltools.convert_xgboost(est, initial_types=types, target_opset=15)
        else:
            onx = onnxmltools.convert_lightgbm(est, initial_types=types, target_opset=15, zipmap=False)
    else:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import FloatTensorType

        onx = to_onnx(est, initial_types=[("X", FloatTensorType([None, nfeat]))], options={"zipmap": False},
                      target_opset={"": 17, "ai.onnx.ml": 3})
    def session(threads: int):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(onx.SerializeToString(), so, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0].name
        outs = {o.name: o.type for o in sess.get_outputs()}
        if outs.get("probabilities") != "tensor(float)":  # a ZipMap would give seq(map(...))
            raise RuntimeError(f"no probabilities tensor among the outputs: {outs}")
        # fetch the probabilities only (the LightGBM graph declares its label output
        # as shape [1], and ORT warns on every run that fetches it)
        return lambda X: sess.run(["probabilities"], {inp: X.astype(np.float32)})[0]

    return {t: session(t) for t in THREADS}


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
    preds = {t: tl2cgen.Predictor(lib, nthread=t) for t in THREADS}
    return {t: lambda X, p=p: p.predict(tl2cgen.DMatrix(X, dtype="float64")) for t, p in preds.items()}


def _lleaves_on_new_llvmlite() -> None:
    """lleaves 1.3.0 (its latest release) is written for llvmlite < 0.45:
    compile() calls llvm.PassManagerBuilder (the legacy pass manager, removed in
    llvmlite 0.45) and llvm.initialize() (which now always raises). Its upstream
    fix is unreleased, so, when the legacy API is gone, redo those two steps with
    llvmlite's new pass manager: O3, inliner threshold 1 as lleaves sets it
    (every tree function has one call site, so LLVM inlines them all anyway)."""
    import llvmlite.binding as llvm

    if hasattr(llvm, "PassManagerBuilder"):
        return
    import llvmlite.ir

    import lleaves.compiler
    from lleaves import llvm_binding
    from lleaves.compiler.ast import parse_to_ast
    from lleaves.compiler.codegen import gen_forest

    def init_llvm():
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()

    def compile_to_module(file_path, fblocksize=34, finline=True, raw_score=False, froot_func_name="forest_root",
                          use_fp64=True):
        forest = parse_to_ast(file_path)
        forest.raw_score = raw_score
        ir = llvmlite.ir.Module(name="forest")
        gen_forest(forest, ir, fblocksize, froot_func_name, use_fp64)
        ir.triple = llvm.get_process_triple()
        module = llvm.parse_assembly(str(ir))
        module.name = str(file_path)
        module.verify()
        init_llvm()
        pto = llvm.create_pipeline_tuning_options(speed_level=3)
        if finline:
            pto.inlining_threshold = 1
        pb = llvm.create_pass_builder(llvm_binding._get_target_machine(), pto)
        pb.getModulePassManager().run(module, pb)
        return module

    llvm_binding._initialize_llvm = init_llvm
    lleaves.compiler.compile_to_module = compile_to_module


def lleaves_fn(est, tmp: str):
    _lleaves_on_new_llvmlite()
    import lleaves

    path = os.path.join(tmp, "lgbm.txt")
    est.booster_.save_model(path)
    m = lleaves.Model(model_file=path)
    m.compile(cache=os.path.join(tmp, "lleaves.o"))
    return {t: lambda X, t=t: m.predict(X, n_jobs=t) for t in THREADS}


def disagreement(out, ref: np.ndarray) -> float:
    """Largest |difference| from predict_proba; engines that give the positive
    class only (treelite (n,1,1), lleaves (n,)) are compared on that column."""
    a = np.asarray(out, dtype=np.float64).reshape(len(ref), -1)
    if a.shape[1] == 1 and ref.shape[1] == 2:
        ref = ref[:, 1:]
    if a.shape != ref.shape:
        raise ValueError(f"output shape {np.shape(out)}, predict_proba gives {ref.shape}")
    return float(np.abs(a - ref).max())


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
        # label -> {threads: predict_proba}
        engines = {"MLE": {2: lambda X: m.predict_proba(X)}, "own predict_proba": own_predict(est)}
        for label, make in (("onnxruntime", lambda: onnx_session(name, est, X.shape[1])),
                            ("treelite/tl2cgen", lambda: treelite_fn(est, tmp)),
                            ("lleaves", lambda: lleaves_fn(est, tmp) if name.startswith("LightGBM") else None)):
            try:
                fn = make()
                if fn is not None:
                    engines[label] = fn
            except Exception as e:  # an engine that does not build is reported, not fatal
                print(f"{name}: {label} not measured: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
        refs = {rows: est.predict_proba(Xr) for rows, Xr in rows_sets.items()}
        diffs = {}
        for label, fns in list(engines.items()):
            try:  # the 1-row and 10,000-row cases must both run and agree
                diffs[label] = max(disagreement(fn(Xr), refs[rows]) for rows, Xr in rows_sets.items()
                                   for fn in fns.values())
            except Exception as e:
                diffs[label] = None
                print(f"{name}: {label} fails on the benchmark input: {type(e).__name__}: {str(e)[:200]}",
                      file=sys.stderr)
            if label != "MLE" and (diffs[label] is None or diffs[label] > 1e-5):
                if diffs[label] is not None:
                    print(f"{name}: {label} not measured: disagrees with predict_proba by {diffs[label]:.2g}",
                          file=sys.stderr)
                del engines[label]
        print(f"{name}: max |p - predict_proba| over the 1 and 10,000 rows: "
              + ", ".join(f"{k} {v:.1g}" if v is not None else f"{k} failed" for k, v in diffs.items()),
              file=sys.stderr)
        if diffs["MLE"] is None or diffs["MLE"] > 1e-5:
            print(f"{name}: WARNING: MLE does not agree with predict_proba", file=sys.stderr)
            if diffs["MLE"] is None:
                m.close()
                continue
        lines += time_model(name, engines, rows_sets, a.repeats)
        m.close()
        if name.startswith("RandomForest"):
            jpath = os.path.join(tmp, "m.joblib")
            joblib.dump(est, jpath)
            joblib.load(jpath)  # warm the page cache
            jl, ml = load_times(jpath, path, max(a.repeats, 15))
            lines.append(f"| {name} | load (warm) | joblib.load / mle_runtime.load | "
                         f"{statistics.median(jl) * 1e3:,.1f} ms / {statistics.median(ml) * 1e6:,.1f} µs | | "
                         f"{statistics.median(jl) / statistics.median(ml):,.0f}× |")
            lines.append(f"| {name} | file size | joblib / .mle | {os.path.getsize(jpath) / 2**20:.1f} MiB / "
                         f"{os.path.getsize(path) / 2**20:.1f} MiB | | |")
            print("\n".join(lines[-2:]), flush=True)
    finish(lines, a.out, a.quick)


if __name__ == "__main__":
    main()
