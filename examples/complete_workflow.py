"""The complete workflow: train, export, inspect, run, compare, benchmark —
for a PyTorch MLP classifier and for a scikit-learn Pipeline.

    python examples/complete_workflow.py --out build/demo

Run by `make demo`. Exits non-zero if MLE's outputs disagree with the source
framework's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mle_runtime


def median_us(fn, iterations: int = 100) -> float:
    fn()  # warm up
    times = []
    for _ in range(iterations):
        t = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1e3


def section(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m")


def show(model: mle_runtime.Model, path: Path) -> None:
    meta = model.metadata
    print(f"{path}: {path.stat().st_size} bytes, {meta['name']} from {meta['producer']['name']} "
          f"{meta['producer']['version']}, written by {meta['writer']}")
    for s in model.inputs:
        print(f"  input   {s.name:<18} {s.dtype}{[('N' if d < 0 else d) for d in s.shape]}")
    for s in model.outputs:
        print(f"  output  {s.name:<18} {s.dtype}{[('N' if d < 0 else d) for d in s.shape]}")


def torch_workflow(out: Path, X: np.ndarray, y: np.ndarray) -> None:
    section("PyTorch: train an MLP classifier")
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], 64), torch.nn.ReLU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(64, 32), torch.nn.GELU(), torch.nn.LayerNorm(32),
        torch.nn.Linear(32, int(y.max()) + 1), torch.nn.LogSoftmax(dim=1),
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    xt, yt = torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(net(xt), yt)
        loss.backward()
        opt.step()
    net.eval()
    print(f"trained 60 full-batch epochs, final loss {loss.item():.3f}")

    section("PyTorch: export, inspect")
    path = out / "torch_mlp.mle"
    info = mle_runtime.dump(net, path, metadata={"version": "1.0.0", "description": "complete_workflow MLP"})
    model = mle_runtime.load(path)
    show(model, path)
    assert info.bytes == path.stat().st_size

    section("PyTorch: run and compare")
    x = X[:1000].astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    got = model(x)
    diff = float(np.max(np.abs(got - want)))
    same = float(np.mean(got.argmax(1) == want.argmax(1)))
    print(f"max |MLE - torch| = {diff:.2e} over {x.shape[0]} rows; predicted classes agree on {same:.1%}")
    if diff > 1e-4 or same < 1:
        raise SystemExit("MLE disagrees with PyTorch")

    section("PyTorch: benchmark, median of 100 iterations")
    one = x[:1]
    torch.set_num_threads(os.cpu_count() or 1)
    with torch.no_grad():
        t_torch_1 = median_us(lambda: net(torch.from_numpy(one)))
        t_torch_b = median_us(lambda: net(torch.from_numpy(x)))
    t_mle_1 = median_us(lambda: model(one))
    t_mle_b = median_us(lambda: model(x))
    t_load = median_us(lambda: mle_runtime.load(path).close())
    print(f"{'':22}{'MLE':>12}{'PyTorch':>12}{'speed-up':>10}")
    print(f"{'1 row':22}{t_mle_1:>10.1f}us{t_torch_1:>10.1f}us{t_torch_1 / t_mle_1:>9.1f}x")
    print(f"{'1000 rows':22}{t_mle_b:>10.1f}us{t_torch_b:>10.1f}us{t_torch_b / t_mle_b:>9.1f}x")
    print(f"{'load (mmap+validate)':22}{t_load:>10.1f}us")


def sklearn_workflow(out: Path, X: np.ndarray, y: np.ndarray) -> None:
    import joblib

    section("scikit-learn: train a Pipeline")
    labels = np.array(["setosa", "versicolor", "virginica", "other"])[y]
    X_train, X_test, y_train, _ = train_test_split(X, labels, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X_train, y_train)
    print(f"{pipe}, classes {list(pipe.classes_)}")

    section("scikit-learn: export (instead of joblib.dump), inspect")
    path = out / "sklearn_pipeline.mle"
    mle_runtime.dump(pipe, path)
    joblib.dump(pipe, out / "sklearn_pipeline.joblib")
    model = mle_runtime.load(path)
    show(model, path)
    print(f"  methods: {', '.join(model._methods)}; classes {list(model.classes_)}")

    section("scikit-learn: run and compare")
    same = float(np.mean(model.predict(X_test) == pipe.predict(X_test)))
    rel = float(np.max(np.abs(model.predict_proba(X_test) - pipe.predict_proba(X_test)) /
                       np.maximum(np.abs(pipe.predict_proba(X_test)), 1e-300)))
    print(f"labels identical on {same:.1%} of {len(X_test)} rows; max relative probability error {rel:.1e}")
    if same < 1 or rel > 1e-9:
        raise SystemExit("MLE disagrees with scikit-learn")

    section("scikit-learn: benchmark, median of 100 iterations")
    one = X_test[:1]
    rows = [
        ("predict, 1 row", median_us(lambda: model.predict(one)), median_us(lambda: pipe.predict(one))),
        (f"predict, {len(X_test)} rows", median_us(lambda: model.predict(X_test)), median_us(lambda: pipe.predict(X_test))),
        ("load", median_us(lambda: mle_runtime.load(path).close()),
         median_us(lambda: joblib.load(out / "sklearn_pipeline.joblib"))),
    ]
    print(f"{'':22}{'MLE':>12}{'sklearn/joblib':>16}{'speed-up':>10}")
    for name, mle_t, ref_t in rows:
        print(f"{name:22}{mle_t:>10.1f}us{ref_t:>14.1f}us{ref_t / mle_t:>9.1f}x")

    section("scikit-learn: ship it compressed, signed and encrypted")
    key_path = out / "team.key"
    for stale in (key_path, out / "team.pub"):
        stale.unlink(missing_ok=True)  # keygen never replaces a private key
    key_path, pub_path = mle_runtime.keygen(out / "team")
    secret = os.urandom(32)
    shipped = out / "sklearn_pipeline.shipped.mle"
    mle_runtime.dump(pipe, shipped, compress="zstd", sign_key=key_path, encrypt_key=secret,
                     lineage={"dataset": {"name": "make_classification", "rows": len(X_train)}, "author": "demo"})
    trusted = mle_runtime.load(shipped, key=secret, trusted_keys=[pub_path], require_signature=True)
    if not np.array_equal(trusted.predict(X_test), model.predict(X_test)):
        raise SystemExit("the shipped model disagrees")
    print(f"{shipped}: {shipped.stat().st_size} bytes (plain: {path.stat().st_size}); signed by "
          f"{Path(pub_path).name}, AES-256-GCM; same labels on {len(X_test)} rows")
    try:
        mle_runtime.load(shipped)
        raise SystemExit("an encrypted model opened without its key")
    except mle_runtime.MLESecurityError as e:
        print(f"without the key: {e.status_name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/demo", help="directory for the model files")
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    X, y = make_classification(n_samples=4000, n_features=20, n_informative=10, n_classes=4, random_state=0)
    torch_workflow(out, X, y)
    sklearn_workflow(out, X, y)
    print("\ncomplete workflow: OK")


if __name__ == "__main__":
    main()
