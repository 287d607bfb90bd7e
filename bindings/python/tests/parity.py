"""The parity check the exporter tests share: dump an estimator, load it,
and compare every method scikit-learn offers with the model's."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

import mle_runtime

METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform")


class Parity(NamedTuple):
    model: Any  # the loaded mle_runtime.Model
    checked: list[str]  # the methods compared
    worst: float  # the largest relative difference of the float results (finite entries)


def compare(est: Any, X: Any, path: Any, *, dtype: Any = np.float64, X_run: Any = None, rtol: float = 1e-9,
            atol: float = 1e-12, skip: tuple = (), exact: Any = None, methods: tuple = METHODS) -> Parity:
    """Dumps est, loads it, and compares each of methods est has (and
    does not raise AttributeError/NotImplementedError for) on X_run (X by
    default). Results for which exact(name, want) is true — by default
    anything not float — must be identical, dtype included; the others
    within rtol/atol."""
    mle_runtime.dump(est, path, dtype=dtype)
    m = mle_runtime.load(path)
    X_run = X if X_run is None else X_run
    exact = exact or (lambda name, want: want.dtype.kind not in "fc")
    checked, worst = [], 0.0
    for name in methods:
        if not hasattr(est, name) or name in skip:
            continue
        try:
            with np.errstate(divide="ignore"):
                want = getattr(est, name)(X_run)
        except (AttributeError, NotImplementedError):
            continue
        with np.errstate(divide="ignore"):
            got = getattr(m, name)(X_run)
        want = want.toarray() if hasattr(want, "toarray") else np.asarray(want)
        checked.append(name)
        assert got.shape == want.shape, f"{name}: shape {got.shape}, want {want.shape}"
        if exact(name, want):
            assert got.dtype == want.dtype, f"{name}: dtype {got.dtype}, want {want.dtype}"
            np.testing.assert_array_equal(got, want, err_msg=f"{name}: values differ")
            continue
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)
        fin = np.isfinite(want)
        if fin.any():
            worst = max(worst, float(np.max(np.abs(got[fin] - want[fin]) / np.maximum(np.abs(want[fin]), 1e-300))))
    assert checked, "no method was compared"
    return Parity(m, checked, worst)
