"""A loaded model is a scikit-learn estimator to scikit-learn's own tools:
tags, scorers, Pipelines, permutation_importance, FrozenEstimator with
cross_val_predict, clone, copy, pickling, joblib.Parallel; and it reads the
inputs scikit-learn reads (pandas nullable columns, scipy sparse)."""

from __future__ import annotations

import copy
import errno
import gc
import os
import pickle
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.cluster import KMeans
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import RandomForestRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import get_scorer
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted

import mle_runtime


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("est")
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0)
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    Xr, yr = make_regression(n_samples=300, n_features=6, n_targets=2, noise=5.0, random_state=0)
    reg = RandomForestRegressor(n_estimators=10, max_depth=6, random_state=0).fit(Xr, yr)
    scaler = StandardScaler().fit(X)
    km = KMeans(n_clusters=3, n_init=2, random_state=0).fit(X)
    paths = {}
    for name, est in [("clf", clf), ("reg", reg), ("scaler", scaler), ("km", km)]:
        paths[name] = str(d / f"{name}.mle")
        mle_runtime.dump(est, paths[name])
    return {"X": X, "y": y, "Xr": Xr, "yr": yr, "clf": clf, "reg": reg, "scaler": scaler, "km": km, "paths": paths}


def test_tags_and_attributes(models):
    clf = mle_runtime.load(models["paths"]["clf"])
    reg = mle_runtime.load(models["paths"]["reg"])
    scaler = mle_runtime.load(models["paths"]["scaler"])
    km = mle_runtime.load(models["paths"]["km"])
    assert is_classifier(clf) and not is_regressor(clf)
    assert is_regressor(reg) and not is_classifier(reg)
    assert not is_classifier(scaler) and not is_regressor(scaler)
    assert get_tags(km).estimator_type == "clusterer"
    assert get_tags(scaler).transformer_tags is not None and get_tags(clf).transformer_tags is None
    assert get_tags(clf).classifier_tags.multi_class
    for m in (clf, reg, scaler, km):
        check_is_fitted(m)
        assert m.n_features_in_ == 6
    # Methods exist where the source estimator has them, as hasattr sees it.
    assert hasattr(clf, "predict_proba") and hasattr(clf, "score") and not hasattr(clf, "transform")
    assert not hasattr(reg, "predict_proba") and hasattr(reg, "score")
    assert hasattr(scaler, "transform") and not hasattr(scaler, "score")
    with pytest.raises(AttributeError, match="no predict"):  # predict is always an attribute (the hot path)
        scaler.predict(models["X"])
    with pytest.raises(AttributeError, match="no predict_proba"):
        reg.predict_proba(models["Xr"])
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="FrozenEstimator"):
        clf.fit(models["X"], models["y"])


def test_default_score_matches_source(models):
    X, y, Xr, yr = models["X"], models["y"], models["Xr"], models["yr"]
    clf = mle_runtime.load(models["paths"]["clf"])
    reg = mle_runtime.load(models["paths"]["reg"])
    w = np.random.default_rng(0).random(len(X))
    assert clf.score(X, y) == models["clf"].score(X, y)
    assert clf.score(X, y, sample_weight=w) == models["clf"].score(X, y, sample_weight=w)
    # R² over two outputs; the predictions agree to 1e-9, the scores to far better than a test could see.
    assert abs(reg.score(Xr, yr) - models["reg"].score(Xr, yr)) < 1e-12
    assert abs(reg.score(Xr, yr, sample_weight=w) - models["reg"].score(Xr, yr, sample_weight=w)) < 1e-12
    from sklearn.metrics import r2_score

    assert reg.score(Xr, yr) == r2_score(yr, reg.predict(Xr))
    assert reg.score(Xr[:1].repeat(3, 0), np.repeat(reg.predict(Xr[:1]), 3, 0)) == 1.0  # constant y, exact: 1.0


def test_scorers_pipeline_permutation_importance(models):
    X, y = models["X"], models["y"]
    clf = mle_runtime.load(models["paths"]["clf"])
    src = models["clf"]
    for name in ("accuracy", "balanced_accuracy", "neg_log_loss", "roc_auc_ovr", "f1_macro"):
        assert get_scorer(name)(clf, X, y) == pytest.approx(get_scorer(name)(src, X, y), rel=0, abs=1e-12), name
    # A Pipeline of two loaded models is fitted already: it predicts as the source pipeline would.
    raw_pipe = make_pipeline(models["scaler"], LogisticRegression(max_iter=1000).fit(models["scaler"].transform(X), y))
    d = os.path.dirname(models["paths"]["clf"])
    mle_runtime.dump(raw_pipe[-1], os.path.join(d, "after_scaler.mle"))
    pipe = make_pipeline(mle_runtime.load(models["paths"]["scaler"]), mle_runtime.load(os.path.join(d, "after_scaler.mle")))
    np.testing.assert_array_equal(pipe.predict(X), raw_pipe.predict(X))
    assert pipe.score(X, y) == raw_pipe.score(X, y)
    a = permutation_importance(clf, X, y, n_repeats=3, random_state=0)
    b = permutation_importance(src, X, y, n_repeats=3, random_state=0)
    np.testing.assert_allclose(a.importances, b.importances, rtol=0, atol=1e-12)


def test_frozen_cross_val_predict_and_clone(models):
    X, y = models["X"], models["y"]
    clf = mle_runtime.load(models["paths"]["clf"])
    got = cross_val_predict(FrozenEstimator(clf), X, y, cv=3)
    np.testing.assert_array_equal(got, models["clf"].predict(X))
    twin = clone(clf)  # reopens the file with the same options
    assert twin is not clf and twin.path == clf.path and twin.get_params() == clf.get_params()
    np.testing.assert_array_equal(twin.predict(X), clf.predict(X))
    assert clf.set_params(threads=clf.get_params()["threads"]) is clf
    with pytest.raises(mle_runtime.MLEValueError, match="threads"):
        clf.set_params(threads=7)


def test_copies_own_their_handles(models):
    X = models["X"]
    m = mle_runtime.load(models["paths"]["clf"])
    want = m.predict(X)
    for make in (copy.copy, copy.deepcopy, lambda x: pickle.loads(pickle.dumps(x))):
        c = make(m)
        assert c is not m and c._h.value != m._h.value
        np.testing.assert_array_equal(c.predict(X), want)
        del c
        gc.collect()
        np.testing.assert_array_equal(m.predict(X), want)  # the original still works
    c = copy.copy(m)
    m.close()
    np.testing.assert_array_equal(c.predict(X), want)
    with mle_runtime.load(models["paths"]["clf"]) as m2:
        with open(models["paths"]["clf"], "rb") as f:
            from_bytes = mle_runtime.Model(data=f.read())
        with pytest.raises(TypeError, match="from bytes"):
            copy.copy(from_bytes)
        assert m2.predict(X[:2]).shape == (2,)


def test_joblib_parallel(models):
    X = models["X"]
    m = mle_runtime.load(models["paths"]["clf"])
    parts = joblib.Parallel(n_jobs=2)(joblib.delayed(m.predict)(X[i::2]) for i in range(2))
    np.testing.assert_array_equal(parts[0], models["clf"].predict(X[0::2]))
    np.testing.assert_array_equal(parts[1], models["clf"].predict(X[1::2]))


def test_pandas_nullable_and_sparse(models):
    X = models["X"]
    m = mle_runtime.load(models["paths"]["clf"])
    src = models["clf"]
    df = pd.DataFrame(X).astype("Float64")
    np.testing.assert_array_equal(m.predict(df), src.predict(X))
    np.testing.assert_array_equal(m.predict(pd.DataFrame(np.round(X * 10)).astype("Int64")),
                                  src.predict(np.round(X * 10)))
    for sparse in (sp.csr_matrix(X), sp.csc_array(X)):
        np.testing.assert_array_equal(m.predict(sparse), src.predict(sparse))
    # pd.NA where the model has no imputer: refused, as scikit-learn refuses NaN.
    holes = df.copy()
    holes.iloc[0, 0] = pd.NA
    with pytest.raises(mle_runtime.MLEValueError, match="NaN"):
        m.predict(holes)


def test_nullable_columns_with_missing(tmp_path):
    # A model of named columns with an imputer: pd.NA reads as NaN (numbers) or a missing category (text).
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=60), "c": rng.choice(["x", "y", "z"], 60)})
    y = (df["a"] > 0).astype(int)
    est = make_pipeline(make_column_transformer((SimpleImputer(), ["a"]), (OneHotEncoder(handle_unknown="ignore"), ["c"])),
                        LogisticRegression()).fit(df, y)
    mle_runtime.dump(est, tmp_path / "cols.mle")
    m = mle_runtime.load(tmp_path / "cols.mle")
    nd = df.astype({"a": "Float64", "c": "string"})
    nd.loc[0, "a"] = pd.NA
    nd.loc[1, "c"] = pd.NA
    want = est.predict(nd.astype({"a": "float64", "c": "object"}).replace({pd.NA: None}))
    np.testing.assert_array_equal(m.predict(nd), want)


def test_missing_file_is_file_not_found(tmp_path):
    missing = str(tmp_path / "nope.mle")
    with pytest.raises(FileNotFoundError) as e:
        mle_runtime.load(missing)
    assert isinstance(e.value, mle_runtime.MLEIOError)
    assert e.value.errno == errno.ENOENT and e.value.filename == missing and e.value.status_name == "MLE_ERR_IO_OPEN"
    if os.geteuid() != 0:  # root reads everything
        locked = tmp_path / "locked.mle"
        locked.write_bytes(b"x" * 128)
        locked.chmod(0)
        with pytest.raises(PermissionError) as e:
            mle_runtime.load(locked)
        assert e.value.errno in (errno.EACCES, errno.EPERM)


def test_mypy_strict_on_a_user_script(tmp_path, models):
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent(f"""
        import numpy as np
        import mle_runtime

        def labels(X: np.ndarray) -> np.ndarray:
            with mle_runtime.load({models["paths"]["clf"]!r}) as m:
                reveal_type(m)
                y: np.ndarray = m.predict(X)
                n: int = m.n_features_in_
                s: float = m.score(X, y)
                return y
    """))
    # As a user's mypy sees an installed package: its own modules are read
    # for their types, their errors are not the user's (follow_imports=silent).
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
                          "--cache-dir", str(tmp_path / "cache"), str(script)],
                         capture_output=True, text=True, cwd=tmp_path,
                         # the editable install's import hook is not something mypy follows: point it at the package
                         env={**os.environ, "MYPYPATH": os.path.dirname(os.path.dirname(mle_runtime.__file__))})
    assert out.returncode == 0, out.stdout + out.stderr
    assert 'Revealed type is "mle_runtime._model.Model"' in out.stdout
