"""python -m mle_runtime inspect | validate | export."""

from __future__ import annotations

import json
import subprocess
import sys

import joblib
import numpy as np
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mle_runtime", *args], capture_output=True, text=True, timeout=120)


def test_export_inspect_validate(tmp_path):
    X, y = make_regression(n_samples=50, n_features=4, random_state=0)
    est = Ridge().fit(X, y)
    joblib.dump(est, tmp_path / "ridge.joblib")
    r = cli("export", str(tmp_path / "ridge.joblib"), str(tmp_path / "ridge.mle"), "--name", "ridge")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout
    r = cli("inspect", str(tmp_path / "ridge.mle"))
    assert r.returncode == 0 and "ridge" in r.stdout and "predict -> prediction" in r.stdout, r.stdout
    info = json.loads(cli("inspect", "--json", str(tmp_path / "ridge.mle")).stdout)
    assert info["inputs"] == [{"name": "X", "dtype": "float64", "shape": [-1, 4]}]
    assert cli("validate", str(tmp_path / "ridge.mle")).returncode == 0
    import mle_runtime

    np.testing.assert_allclose(mle_runtime.load(tmp_path / "ridge.mle").predict(X), est.predict(X), rtol=1e-9)


def test_failures_exit_1_with_reason(tmp_path):
    bad = tmp_path / "bad.mle"
    bad.write_bytes(b"\x89MLE\r\n\x1a\n" + b"\x00" * 10)
    r = cli("validate", str(bad))
    assert r.returncode == 1 and "MLE_ERR_FORMAT_TRUNCATED" in r.stderr
    assert cli("frobnicate").returncode == 2
