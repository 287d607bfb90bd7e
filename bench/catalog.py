"""The scikit-learn catalog side by side in one process: MLE, scikit-learn's
own predict and onnxruntime (through skl2onnx, where it converts), on 1 row
and 10,000 rows, 2 threads each (on one row the others also with 1 thread,
shown at their better).

    bench/catalog.sh [--quick] [--repeats N] [--out FILE]

Models: a ColumnTransformer pipeline over a DataFrame (text columns one-hot
encoded, numbers imputed and scaled, then LogisticRegression), an RBF SVC,
a KNeighborsClassifier, and TfidfVectorizer → LogisticRegression over
documents. Prints a markdown table (median per call,
[min-max] over repeats, ratio other/MLE: above 1 means MLE is faster).

Every engine gets the same input as its users would pass it (the DataFrame,
or float64 rows; onnxruntime's float32 conversion happens inside its timed
call). Before timing, each engine's output on both inputs is checked against
scikit-learn's (labels identical; probabilities within 1e-9 for MLE); an
engine that fails or gives other labels is left out, with the reason on
stderr; onnxruntime with the same labels but probabilities further than 1e-4
(float32) away is timed and marked with its largest difference."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import finish, time_model  # noqa: E402 (the same round-robin timing)

warnings.filterwarnings("ignore")

THREADS = (2, 1)


def table_data(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    cities = np.array(["Paris", "東京", "Lyon", "Zürich", "São Paulo", "Berlin", "Madrid", "Oslo"], dtype=object)
    df = pd.DataFrame({
        "city": cities[rng.integers(0, len(cities), n)],
        "kind": np.array(["flat", "house", "loft", "studio"], dtype=object)[rng.integers(0, 4, n)],
        "age": rng.normal(40, 12, n),
        "size": rng.gamma(3, 20, n),
        "rooms": rng.integers(1, 7, n).astype(np.float64),
    })
    df.loc[::11, "age"] = np.nan
    score = df["size"] / 30 + df["age"].fillna(40) / 20 + (df["city"] == "Paris")
    y = np.array(["low", "mid", "high"])[np.digitize(score, np.quantile(score, [0.33, 0.66]))]
    return df, y


def column_pipeline(quick: bool):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    df, y = table_data(2000 if quick else 20000)
    ct = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["city", "kind"]),
                            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "size", "rooms"])])
    est = make_pipeline(ct, LogisticRegression(max_iter=1000)).fit(df, y)

    def onnx():
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType

        text = {c: not pd.api.types.is_numeric_dtype(df[c]) for c in df.columns}
        types = [(c, StringTensorType([None, 1]) if text[c] else FloatTensorType([None, 1])) for c in df.columns]
        return to_onnx(est, initial_types=types, options={id(est.steps[-1][1]): {"zipmap": False}},
                       target_opset=17), \
            lambda X: {c: (X[c].to_numpy(dtype=object) if text[c] else
                           X[c].to_numpy(dtype=np.float32)).reshape(-1, 1) for c in X.columns}

    return "ColumnTransformer(OneHot+impute/scale) → LogisticRegression", est, df, onnx


def svc(quick: bool):
    from sklearn.datasets import make_classification
    from sklearn.svm import SVC

    X, y = make_classification(n_samples=600 if quick else 3000, n_features=20, n_informative=10, n_classes=3,
                               random_state=0)
    est = SVC(kernel="rbf", probability=True, random_state=0).fit(X, np.array(["a", "b", "c"])[y])

    def onnx():
        from skl2onnx import to_onnx

        return to_onnx(est, X[:1].astype(np.float32), options={id(est): {"zipmap": False}}, target_opset=17), \
            lambda Xr: {"X": Xr.astype(np.float32)}

    return f"SVC(rbf, probability, {est.support_vectors_.shape[0]} SVs)", est, X, onnx


def knn(quick: bool):
    from sklearn.datasets import make_classification
    from sklearn.neighbors import KNeighborsClassifier

    X, y = make_classification(n_samples=1000 if quick else 5000, n_features=20, n_informative=10, n_classes=3,
                               random_state=1)
    est = KNeighborsClassifier(n_neighbors=5).fit(X, y)

    def onnx():
        from skl2onnx import to_onnx

        return to_onnx(est, X[:1].astype(np.float32), options={id(est): {"zipmap": False}}, target_opset=17), \
            lambda Xr: {"X": Xr.astype(np.float32)}

    return "KNeighborsClassifier(k=5, 5,000 × 20 train)", est, X, onnx


def tfidf(quick: bool):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(2)
    words = np.array([f"w{i}" for i in range(3000)] + ["café", "naïve", "東京", "Straße", "ΣΟΦΙΑ"], dtype=object)
    topics = rng.integers(0, 3, 2000 if quick else 10000)
    docs = np.array([" ".join(words[rng.integers(t * 700, t * 700 + 1500, 40)].tolist() + words[rng.integers(0, len(words), 10)].tolist())
                     for t in topics], dtype=object)
    est = make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(max_iter=1000)).fit(
        docs, np.array(["sport", "tech", "arts"])[topics])

    def onnx():
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import StringTensorType

        proto = to_onnx(est, initial_types=[("text", StringTensorType([None, 1]))],
                        options={id(est.steps[-1][1]): {"zipmap": False}}, target_opset=17)
        import onnx

        for node in proto.graph.node:  # no en_US locale here, onnxruntime's default for StringNormalizer
            if node.op_type == "StringNormalizer":
                node.attribute.append(onnx.helper.make_attribute("locale", "C.utf8"))
        return proto, lambda X: {"text": np.asarray(X, dtype=object).reshape(-1, 1)}

    return f"TfidfVectorizer ({len(est[0].vocabulary_):,} terms) → LogisticRegression", est, docs, onnx


def rows_of(X, n: int):
    if isinstance(X, pd.DataFrame):
        return X.iloc[:n].reset_index(drop=True) if n <= len(X) else \
            X.iloc[np.resize(np.arange(len(X)), n)].reset_index(drop=True)
    if X.ndim == 1:  # documents
        return X[:n] if n <= len(X) else np.resize(X, n)
    return np.ascontiguousarray(X[:n] if n <= len(X) else np.resize(X, (n, X.shape[1])))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(2)
    import onnxruntime as ort

    import mle_runtime

    lines = ["| model | rows | engine | median | spread | other / MLE |", "|---|---:|---|---:|---:|---:|"]
    tmp = tempfile.mkdtemp()
    for build in (column_pipeline, svc, knn, tfidf):
        try:
            name, est, X, onnx = build(a.quick)
        except Exception as e:
            print(f"{build.__name__}: not built: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        path = os.path.join(tmp, "m.mle")
        try:
            mle_runtime.dump(est, path, durable=False)
        except mle_runtime.MLEUnsupportedError as e:
            print(f"{name}: MLE does not export it: {e}", file=sys.stderr)
            continue
        m = mle_runtime.load(path, threads=2)
        # Timed: predict_proba (onnxruntime computes labels with it); labels are checked before.
        labels: dict = {}
        engines = {"MLE": {2: m.predict_proba}, "scikit-learn": {2: est.predict_proba}}
        labels.update({"MLE": m.predict, "scikit-learn": est.predict})
        try:
            proto, feed = onnx()
            sessions = {}
            for t in THREADS:
                so = ort.SessionOptions()
                so.intra_op_num_threads, so.inter_op_num_threads = t, 1
                sessions[t] = ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"])
            engines["onnxruntime"] = {t: (lambda Xr, s=s: s.run(None, feed(Xr))[1]) for t, s in sessions.items()}
            labels["onnxruntime"] = lambda Xr, s=sessions[2]: s.run(None, feed(Xr))[0]
        except Exception as e:
            print(f"{name}: onnxruntime not measured: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
        rows_sets = {1: rows_of(X, 1), 10000: rows_of(X, 10000)}
        for label, fns in list(engines.items()):
            tol = 1e-9 if label != "onnxruntime" else 1e-4
            worst = 0.0
            try:
                for rows, Xr in rows_sets.items():
                    want_l, want_p = est.predict(Xr), est.predict_proba(Xr)
                    for fn in fns.values():
                        got_l, got_p = labels[label](Xr), fn(Xr)
                        same = np.mean(np.asarray(got_l).ravel().astype(str) == want_l.astype(str))
                        diff = float(np.max(np.abs(np.asarray(got_p, dtype=np.float64) - want_p)))
                        if same < 1 or (diff > tol and label != "onnxruntime"):
                            raise ValueError(f"{rows} rows: labels {same:.2%} identical, max |Δp| {diff:.2g}")
                        worst = max(worst, diff)
                print(f"{name}: {label} agrees with scikit-learn (max |Δp| {worst:.2g})", file=sys.stderr)
                if worst > tol:  # same labels, other probabilities: timed, and the table says by how much
                    engines[f"{label} (max |Δp| {worst:.1g})"] = engines.pop(label)
            except Exception as e:
                print(f"{name}: {label} not measured: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
                if label == "MLE":
                    engines = {}
                    break
                del engines[label]
        if not engines:
            continue
        lines += time_model(name, engines, rows_sets, a.repeats)
        m.close()
    finish(lines, a.out, a.quick)


if __name__ == "__main__":
    main()
