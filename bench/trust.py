"""File size and load + first predict of models stored raw, compressed
(zstd, lz4, brotli), quantized (fp16, int8) and signed, next to joblib (plain
and compress=3) and torch.save, in one run:

    .venv/bin/python bench/trust.py [--repeats N]

Models: a scikit-learn MLPClassifier (two hidden layers of 512), a torch MLP
(784-1024-1024-10) and a 300-tree RandomForestClassifier. "load + predict"
is opening the file and predicting one row, with the file in the page cache
(warm), as a server does when it (re)loads a model; each repeat is a fresh
load. The quantized rows also give the largest output change on 1,000 rows.
Results: docs/BENCHMARKS.md §14."""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time

import numpy as np


def timed(fn, repeats: int) -> list[float]:
    fn()  # warm: page cache, imports
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def row(model: str, store: str, size: int, times: list[float], base: float, err: str = "") -> str:
    med = statistics.median(times)
    line = (f"| {model} | {store} | {size / 1e6:,.2f} MB | {med * 1e3:,.2f} ms | "
            f"{min(times) * 1e3:,.2f}–{max(times) * 1e3:,.2f} | {med / base:.2f}× | {err} |")
    print(line, flush=True)
    return line


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    import joblib
    import torch
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neural_network import MLPClassifier

    import mle_runtime

    torch.set_num_threads(2)
    d = tempfile.mkdtemp()
    key_path, _ = mle_runtime.keygen(os.path.join(d, "signer"))
    pub_path = key_path[:-4] + ".pub"
    X, y = make_classification(4000, 64, n_informative=20, n_classes=4, random_state=0)
    X1 = X[:1].copy()
    Xc = X[:1000].copy()

    mlp = MLPClassifier((512, 512), max_iter=15, random_state=0).fit(X, y)
    forest = RandomForestClassifier(300, random_state=0, n_jobs=2).fit(X, y)
    net = torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                              torch.nn.ReLU(), torch.nn.Linear(1024, 10)).eval()
    T1 = torch.randn(1, 784)
    Tc = torch.randn(1000, 784)

    lines = ["| model | stored as | file | load + predict 1 row | spread | / joblib | max output change |",
             "|---|---|---:|---:|---:|---:|---|"]
    for name, est, x1, xc in (("MLPClassifier 64-512-512-4", mlp, X1, Xc),
                              ("RandomForest, 300 trees", forest, X1, Xc),
                              ("torch MLP 784-1024-1024-10", net, T1, Tc)):
        is_torch = name.startswith("torch")
        # The anchors.
        anchors = {}
        for label, kw in (("joblib", {}), ("joblib compress=3", {"compress": 3})):
            p = os.path.join(d, f"m{len(anchors)}.joblib")
            joblib.dump(est, p, **kw)
            if is_torch:
                anchors[label] = (p, lambda p=p: joblib.load(p)(T1))
            else:
                anchors[label] = (p, lambda p=p: joblib.load(p).predict(X1))
        if is_torch:
            p = os.path.join(d, "m.pt")
            torch.save(net.state_dict(), p)

            def torch_load(p=p):
                m = torch.nn.Sequential(torch.nn.Linear(784, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                                        torch.nn.ReLU(), torch.nn.Linear(1024, 10))
                m.load_state_dict(torch.load(p, weights_only=True))
                with torch.no_grad():
                    return m.eval()(T1)
            anchors["torch.save (state_dict)"] = (p, torch_load)
        base_times = timed(anchors["joblib"][1], a.repeats)
        base = statistics.median(base_times)
        for label, (p, fn) in anchors.items():
            t = base_times if label == "joblib" else timed(fn, a.repeats)
            lines.append(row(name, label, os.path.getsize(p), t, base))
        ref = None
        for label, kw in (("MLE raw", {}), ("MLE zstd", {"compress": "zstd"}), ("MLE lz4", {"compress": "lz4"}),
                          ("MLE brotli", {"compress": "brotli"}), ("MLE fp16", {"quantize": "fp16"}),
                          ("MLE int8", {"quantize": "int8"}), ("MLE int8 + zstd", {"quantize": "int8", "compress": "zstd"}),
                          ("MLE signed (trusted key, required)", {"sign_key": key_path})):
            if name.startswith("RandomForest") and "quantize" in kw:
                continue  # trees have no weights to quantize: nothing changes
            p = os.path.join(d, f"{label.split()[1]}.mle")
            xin = xc.numpy() if is_torch else xc
            info = mle_runtime.dump(est, p, durable=False, calibration=xin if "quantize" in kw else None, **kw)
            x1n = x1.numpy() if is_torch else x1
            open_kw = {"trusted_keys": [pub_path], "require_signature": True} if "sign_key" in kw else {}
            def call(m, x):
                return next(iter(m.run(x).values())) if is_torch else m.predict_proba(x)

            def load_predict(p=p, open_kw=open_kw, x1n=x1n):
                with mle_runtime.load(p, **open_kw) as m:
                    return call(m, x1n)
            err = ""
            with mle_runtime.load(p, **open_kw) as m:
                out = np.asarray(call(m, xin))
            if ref is None:
                ref = out
                if not is_torch:
                    assert np.array_equal(est.predict(xc), mle_runtime.load(p).predict(xc))
            elif "quantize" in kw:
                err = f"{np.max(np.abs(out - ref)):.2g} (dump measured {info.quantization_error['max_abs_output_error']:.2g})"
            else:
                assert np.array_equal(out, ref), label  # lossless
            lines.append(row(name, label, os.path.getsize(p), timed(load_predict, a.repeats), base, err))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
