"""Parity with scikit-learn for the numeric transformers of
sklearn.preprocessing (Binarizer, PolynomialFeatures, KBinsDiscretizer,
SplineTransformer, QuantileTransformer, PowerTransformer, TargetEncoder),
sklearn.feature_selection, TruncatedSVD / FastICA / KernelPCA,
sklearn.kernel_approximation, FeatureUnion and IsotonicRegression: each
alone with several parameter sets and before a classifier with string
labels (labels identical), float64 and float32 rows, values on edges,
knots and thresholds, out-of-range values, NaN where scikit-learn takes
it; and the refusals.

float64 results agree within 1e-9 relative (1e-12 absolute); float32 rows
given to a float64 model are widened exactly, so they agree as tightly with
scikit-learn on the widened rows; a float32 model agrees with scikit-learn
on float32 rows to float32 precision, or bit for bit where scikit-learn
computes in float32 the same way (products, comparisons, selections)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.decomposition import FastICA, KernelPCA, TruncatedSVD
from sklearn.isotonic import IsotonicRegression
from sklearn.feature_selection import (RFE, RFECV, GenericUnivariateSelect, SelectFdr, SelectFpr, SelectFromModel,
                                       SelectFwe, SelectKBest, SelectPercentile, SequentialFeatureSelector,
                                       VarianceThreshold)
from sklearn.kernel_approximation import Nystroem, RBFSampler, SkewedChi2Sampler
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (Binarizer, KBinsDiscretizer, PolynomialFeatures, PowerTransformer,
                                   QuantileTransformer, SplineTransformer, StandardScaler, TargetEncoder)
from sklearn.tree import DecisionTreeClassifier

import mle_runtime
from mle_runtime._graph import Graph

RTOL64, ATOL64 = 1e-9, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-6
METHODS = ("predict", "predict_proba", "decision_function", "transform")
LABELS = np.array(["ant", "bee", "cat"])


def data(n=120, n_features=5, n_classes=3, seed=0):
    X, y = make_classification(n_samples=n, n_features=n_features, n_informative=min(4, n_features),
                               n_redundant=0, n_classes=n_classes, n_clusters_per_class=1, random_state=seed)
    return X, LABELS[y]


def fit(est, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


def dense(a):
    return np.asarray(a.toarray() if hasattr(a, "toarray") else a)


def max_rel(got, want, atol=ATOL64, rtol=RTOL64):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    both_nan = np.isnan(got) & np.isnan(want)
    err = np.abs(got - want) / np.maximum(np.abs(want), atol / rtol)
    return float(np.max(np.where(both_nan, 0.0, err), initial=0.0))


def compare(est, m, X, want_X=None, rtol=RTOL64, atol=ATOL64):
    """Every method est offers, on X (scikit-learn on want_X): labels
    equal, values within tolerance. Returns the methods compared."""
    want_X = X if want_X is None else want_X
    compared = []
    for name in METHODS:
        if not hasattr(est, name):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = dense(getattr(est, name)(want_X))
        got = getattr(m, name)(X)
        compared.append(name)
        assert got.shape == want.shape, f"{name}: shape {got.shape}, want {want.shape}"
        if name == "predict" and want.dtype.kind not in "f":
            assert got.dtype == want.dtype, f"labels dtype {got.dtype}, want {want.dtype}"
            np.testing.assert_array_equal(got, want, err_msg="labels differ")
        else:
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)
    assert compared
    return compared


def check(est, X, tmp_path, X_run=None, exact32=False, mode32=True):
    """The float64 model on X_run and on its float32 rounding (widened
    exactly, so compared with scikit-learn on the widened rows); a float32
    model on float32 rows against scikit-learn on them: bit for bit when
    exact32 (comparisons, selections and products that scikit-learn
    computes in float32 too), else to float32 precision."""
    X_run = X if X_run is None else X_run
    mle_runtime.dump(est, tmp_path / "m64.mle")
    m = mle_runtime.load(tmp_path / "m64.mle")
    compared = compare(est, m, X_run)
    X32 = X_run.astype(np.float32)
    compare(est, m, X32, X32.astype(np.float64))
    if mode32:
        mle_runtime.dump(est, tmp_path / "m32.mle", dtype=np.float32)
        m32 = mle_runtime.load(tmp_path / "m32.mle")
        tol = {"rtol": 0, "atol": 0} if exact32 else {"rtol": RTOL32, "atol": ATOL32}
        compare(est, m32, X32, **tol)
    return compared


def edge_rows(X, values_per_column):
    """Rows that put each given value in its column (the others at the
    column median)."""
    rows = []
    med = np.median(X, axis=0)
    for j, vals in enumerate(values_per_column):
        for v in vals:
            r = med.copy()
            r[j] = v
            rows.append(r)
    return np.vstack(rows)


def in_pipeline(est, X, y, tmp_path, X_run=None, clf=None):
    """est before a classifier with string labels: labels identical."""
    pipe = fit(make_pipeline(est, clf or LogisticRegression(max_iter=2000)), X, y)
    return check(pipe, X, tmp_path, X_run=X_run, mode32=False)


# ------------------------------------------------------------- Binarizer

@pytest.mark.parametrize("threshold", [0.0, 0.5, -1.25])
def test_binarizer(threshold, tmp_path):
    X, y = data()
    est = fit(Binarizer(threshold=threshold), X)
    X_run = np.vstack([X, np.full((1, X.shape[1]), threshold), np.full((1, X.shape[1]), threshold + 1e-12)])
    check(est, X, tmp_path, X_run=X_run, exact32=True)
    assert np.array_equal(mle_runtime.load(tmp_path / "m64.mle").transform(X_run)[-2], np.zeros(X.shape[1]))
    in_pipeline(Binarizer(threshold=threshold), X, y, tmp_path, X_run=X_run)


# ---------------------------------------------------- PolynomialFeatures

POLY = [{"degree": 2}, {"degree": 3}, {"degree": 3, "interaction_only": True}, {"degree": 2, "include_bias": False},
        {"degree": (2, 3)}, {"degree": (2, 4), "include_bias": False}, {"degree": (0, 2)}, {"degree": 0},
        {"degree": 4, "interaction_only": True, "include_bias": False}, {"degree": (3, 3), "interaction_only": True}]


@pytest.mark.parametrize("params", POLY, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_polynomial_features(params, tmp_path):
    X, y = data(n_features=4)
    est = fit(PolynomialFeatures(**params), X)
    check(est, X, tmp_path, exact32=True)
    # Bit for bit: the same products in the same order.
    got = mle_runtime.load(tmp_path / "m64.mle").transform(X)
    assert np.array_equal(got, est.transform(X))
    if params.get("degree") != 0:
        in_pipeline(make_pipeline(StandardScaler(), PolynomialFeatures(**params)), X, y, tmp_path)


# ------------------------------------------------------ KBinsDiscretizer

@pytest.mark.parametrize("encode", ["ordinal", "onehot", "onehot-dense"])
@pytest.mark.parametrize("strategy", ["uniform", "quantile", "kmeans"])
def test_kbins(strategy, encode, tmp_path):
    X, y = data()
    X[:, 2] = np.round(X[:, 2])  # repeated values: quantile bins collapse and are removed
    est = fit(KBinsDiscretizer(n_bins=[3, 5, 4, 6, 2], encode=encode, strategy=strategy, random_state=0), X)
    edges = [e for e in est.bin_edges_]
    out_of_range = [[e[0] - 1.0, e[-1] + 1.0, -1e30, 1e30] for e in edges]
    X_run = np.vstack([X, edge_rows(X, edges), edge_rows(X, out_of_range),
                       edge_rows(X, [np.nextafter(e, -np.inf) for e in edges])])
    check(est, X, tmp_path, X_run=X_run, exact32=True)
    in_pipeline(clone(est), X, y, tmp_path, X_run=X_run)


def test_kbins_float32_dtype(tmp_path):
    """dtype=np.float32 rounds X to float32 before binning."""
    X, _ = data()
    est = fit(KBinsDiscretizer(n_bins=4, encode="ordinal", strategy="uniform", dtype=np.float32), X)
    edges = est.bin_edges_
    near = [[e[1] + np.spacing(e[1]), e[2] - np.spacing(e[2])] for e in edges]  # round to float32 across an edge
    check(est, X, tmp_path, X_run=np.vstack([X, edge_rows(X, near)]), exact32=True)


# --------------------------------------------------------------- selectors

SELECTORS = [
    lambda: VarianceThreshold(threshold=0.9), lambda: SelectKBest(k=3), lambda: SelectPercentile(percentile=40),
    lambda: SelectFpr(alpha=0.05), lambda: SelectFdr(alpha=0.05), lambda: SelectFwe(alpha=0.05),
    lambda: GenericUnivariateSelect(mode="k_best", param=2),
    lambda: SelectFromModel(LogisticRegression(max_iter=2000)),
    lambda: SelectFromModel(DecisionTreeClassifier(random_state=0), max_features=2, threshold=-np.inf),
    lambda: SequentialFeatureSelector(LogisticRegression(max_iter=500), n_features_to_select=2, cv=2),
]


def _name(make):
    est = make()
    return type(est).__name__ + ("" if not hasattr(est, "estimator") else f"({type(est.estimator).__name__})")


@pytest.mark.parametrize("make", SELECTORS, ids=_name)
def test_selectors(make, tmp_path):
    X, y = data(n_features=6)
    X[:, 4] *= 0.1  # a low-variance column for VarianceThreshold
    est = fit(make(), X, y)
    assert 0 < est.get_support().sum() < X.shape[1]
    check(est, X, tmp_path, exact32=True)
    in_pipeline(make(), X, y, tmp_path)


def test_variance_threshold_passes_nan(tmp_path):
    X, _ = data(n_features=6)
    X[:, 4] *= 0.1
    est = fit(VarianceThreshold(threshold=0.9), X)
    X_run = X.copy()
    X_run[::7, 0] = np.nan
    mle_runtime.dump(est, tmp_path / "m.mle")
    got = mle_runtime.load(tmp_path / "m.mle").transform(X_run)
    np.testing.assert_array_equal(got, est.transform(X_run))


@pytest.mark.parametrize("cls", [RFE, RFECV])
def test_rfe(cls, tmp_path):
    X, y = data(n_features=6)
    kw = {"n_features_to_select": 3} if cls is RFE else {"cv": 3}
    est = fit(cls(LogisticRegression(max_iter=2000), **kw), X, y)
    assert check(est, X, tmp_path, exact32=False) == ["predict", "predict_proba", "decision_function", "transform"]
    # Behind a scaler, and over a Pipeline as the inner estimator.
    in_pipeline(StandardScaler(), X, y, tmp_path, clf=cls(LogisticRegression(max_iter=2000), **kw))
    # In the middle of a Pipeline it passes on its transform.
    mid = Pipeline([("rfe", cls(LogisticRegression(max_iter=2000), **kw)),
                    ("clf", DecisionTreeClassifier(random_state=0))])
    check(fit(mid, X, y), X, tmp_path, mode32=False)
    inner = cls(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)), importance_getter=
                "named_steps.logisticregression.coef_", **kw)
    check(fit(inner, X, y), X, tmp_path)


# ------------------------------------------------------------ decomposition

def test_truncated_svd(tmp_path):
    X, y = data(n_features=6)
    for algorithm in ("randomized", "arpack"):
        est = fit(TruncatedSVD(n_components=3, algorithm=algorithm, random_state=0), X)
        check(est, X, tmp_path)
    in_pipeline(TruncatedSVD(n_components=3, random_state=0), X, y, tmp_path)


@pytest.mark.parametrize("params", [{"whiten": "unit-variance"}, {"whiten": "arbitrary-variance"},
                                    {"whiten": False}, {"whiten": "unit-variance", "fun": "cube"}],
                         ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_fast_ica(params, tmp_path):
    X, y = data(n_features=5)
    n = None if params["whiten"] is False else 3
    est = fit(FastICA(n_components=n, random_state=0, max_iter=500, **params), X)
    check(est, X, tmp_path)
    in_pipeline(FastICA(n_components=n, random_state=0, max_iter=500, **params), X, y, tmp_path)


KPCA = [{"kernel": "linear"}, {"kernel": "poly", "degree": 2, "coef0": 0.5}, {"kernel": "poly", "gamma": 0.1},
        {"kernel": "rbf"}, {"kernel": "rbf", "gamma": 0.5}, {"kernel": "sigmoid", "gamma": 0.05},
        {"kernel": "cosine"}, {"kernel": "rbf", "remove_zero_eig": True, "n_components": None},
        {"kernel": "poly", "degree": 2.5, "gamma": 0.05, "coef0": 3.0}]


@pytest.mark.parametrize("params", KPCA, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_kernel_pca(params, tmp_path):
    X, y = data(n=80, n_features=5)
    kw = {"n_components": 4, **params}
    est = fit(KernelPCA(**kw), X)
    X_run = np.vstack([X, np.random.default_rng(1).normal(size=(20, 5)) * 2])
    check(est, X, tmp_path, X_run=X_run)
    in_pipeline(make_pipeline(StandardScaler(), KernelPCA(**kw)), X, y, tmp_path, X_run=X_run)


# ---------------------------------------------------- kernel approximation

NYSTROEM = [{"kernel": "rbf"}, {"kernel": "rbf", "gamma": 0.3}, {"kernel": "linear", "n_components": 4},
            {"kernel": "poly", "degree": 2}, {"kernel": "polynomial", "kernel_params": {"degree": 2, "coef0": 2.0}},
            {"kernel": "sigmoid", "gamma": 0.02, "coef0": 0.1}, {"kernel": "cosine", "n_components": 4},
            {"kernel": "laplacian", "gamma": 0.2}, {"kernel": "chi2", "gamma": 0.1}, {"kernel": "additive_chi2"}]


@pytest.mark.parametrize("params", NYSTROEM, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_nystroem(params, tmp_path):
    X, y = data(n_features=5)
    if params["kernel"] in ("chi2", "additive_chi2"):
        X = np.abs(X)  # these kernels take non-negative X
        X[:3, :2] = 0.0  # x + y == 0 terms are skipped
    kw = {"n_components": 12, "random_state": 0, **params}
    est = fit(Nystroem(**kw), X)
    check(est, X, tmp_path)
    in_pipeline(Nystroem(**kw), X, y, tmp_path)


@pytest.mark.parametrize("gamma", [1.0, 0.05, 40.0])
def test_rbf_sampler(gamma, tmp_path):
    """cos over a wide range of arguments (gamma=40 puts |X @ W| near 100)."""
    X, y = data(n_features=5)
    est = fit(RBFSampler(gamma=gamma, n_components=40, random_state=0), X)
    check(est, X, tmp_path)
    in_pipeline(RBFSampler(gamma=gamma, n_components=40, random_state=0), X, y, tmp_path)


def test_cos_arguments(tmp_path):
    """The cos built from arithmetic, on quadrant boundaries, multiples of
    pi/2, large and tiny arguments, against numpy's."""
    est = fit(RBFSampler(n_components=1, random_state=0), np.zeros((3, 1)))
    est.random_weights_ = np.ones((1, 1))
    est.random_offset_ = np.zeros(1)
    k = np.arange(-2000, 2001)
    p = np.concatenate([k * np.pi / 4, np.nextafter(k * np.pi / 4, np.inf), k * 0.37, [0.0, -0.0, 1e-300, 5e-324],
                        np.linspace(-1.5e6, 1.5e6, 1001), [np.nan]])
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    got = next(iter(m.run(p[:, None].copy()).values()))[:, 0] / np.sqrt(2.0)  # run: NaN is not refused
    want = np.cos(p)
    assert np.isnan(got[-1])
    err = np.abs(got[:-1] - want[:-1])
    assert err.max() <= 4 * np.finfo(np.float64).eps, err.max()


def test_skewed_chi2_sampler(tmp_path):
    X, y = data(n_features=5)
    est = fit(SkewedChi2Sampler(skewedness=8.0, n_components=30, random_state=0), X)
    check(est, X, tmp_path)
    in_pipeline(SkewedChi2Sampler(skewedness=8.0, n_components=30, random_state=0), X, y, tmp_path)


# ------------------------------------------------------------ FeatureUnion

def test_feature_union(tmp_path):
    X, y = data(n_features=5)
    union = FeatureUnion([("svd", TruncatedSVD(2, random_state=0)), ("kbest", SelectKBest(k=2)), ("gone", "drop"),
                          ("same", "passthrough"), ("poly", make_pipeline(StandardScaler(), PolynomialFeatures(2)))],
                         transformer_weights={"svd": 2.5, "same": -1.0})
    est = fit(union, X, y)
    check(est, X, tmp_path)
    in_pipeline(clone(union), X, y, tmp_path)


def test_feature_union_on_a_dataframe(tmp_path):
    """Named columns: an encoder inside reads the text column."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    X, y = data(n_features=3)
    df = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": np.array(["x", "y", "z"])[np.arange(len(X)) % 3]})
    num = ColumnTransformer([("n", "passthrough", ["a", "b"])])
    cat = ColumnTransformer([("c", OneHotEncoder(), ["c"])])
    union = FeatureUnion([("num", make_pipeline(num, PolynomialFeatures(2))), ("cat", cat)])
    est = fit(make_pipeline(union, LogisticRegression(max_iter=2000)), df, y)
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    np.testing.assert_array_equal(m.predict(df), est.predict(df))
    np.testing.assert_allclose(m.predict_proba(df), est.predict_proba(df), rtol=RTOL64, atol=ATOL64)


# ----------------------------------------------------------------- refusals

def _refused(est, match, tmp_path):
    with pytest.raises(mle_runtime.MLEUnsupportedError, match=match):
        mle_runtime.dump(est, tmp_path / "r.mle")


def test_refusals_group_a(tmp_path):
    X, y = data()
    _refused(fit(KernelPCA(kernel="precomputed"), X @ X.T), r"KernelPCA\(kernel='precomputed'\)", tmp_path)
    _refused(fit(KernelPCA(kernel=lambda a, b: float(a @ b)), X[:30]), r"KernelPCA\(kernel=<function", tmp_path)
    _refused(fit(Nystroem(kernel=lambda a, b: float(a @ b), n_components=5), X), r"Nystroem\(kernel=<function",
             tmp_path)
    _refused(fit(SelectKBest(k=0), X, y), "SelectKBest that selects no features", tmp_path)
    import scipy.sparse as sp

    _refused(fit(Nystroem(n_components=5), sp.csr_matrix(X)), "Nystroem fitted on a sparse matrix", tmp_path)


# ------------------------------------------------------- the Interp op

def _interp_model(tmp_path, xp, fp, left=None, right=None, dtype=np.float64, width=None):
    g = Graph(np.dtype(dtype))
    ins = ["X", g.const(xp, "xp", np.float64), g.const(fp, "fp", np.float64)]
    if left is not None or right is not None:
        ins.append(g.const(left, "left", np.float64) if left is not None else "")
        ins.append(g.const(right, "right", np.float64) if right is not None else "")
    y = g.op("Interp", *ins)
    shape = [-1] if width is None else [-1, width]
    g.write([("X", np.dtype(dtype), shape)], {"y": y}, {"name": "interp"}, tmp_path / "interp.mle")
    return mle_runtime.load(tmp_path / "interp.mle")


def test_interp_op_is_numpys(tmp_path):
    """np.interp bit for bit: repeated points, points themselves, outside
    values, NaN, infinite table values, left/right, one-point tables, and
    per-column tables over [N, F]."""
    rng = np.random.default_rng(0)
    xp = np.sort(np.round(rng.normal(size=60) * 8) / 4)  # many repeats
    fp = rng.normal(size=60)
    fp[[5, 6]] = [np.inf, -np.inf]
    x = np.concatenate([rng.normal(size=5000) * 3, xp, np.nextafter(xp, np.inf), [np.nan, -np.inf, np.inf, 0.0]])
    for left, right in [(None, None), (np.nan, np.nan), (-7.5, None), (None, 3.25)]:
        m = _interp_model(tmp_path, xp, fp, left, right)
        got = next(iter(m.run(x).values()))
        want = np.interp(x, xp, fp, left=left, right=right)
        np.testing.assert_array_equal(got, want)
    one = _interp_model(tmp_path, [1.0], [5.0], -1.0, 9.0)
    np.testing.assert_array_equal(next(iter(one.run(np.array([0.0, 1.0, 2.0, np.nan])).values())),
                                  np.interp([0.0, 1.0, 2.0, np.nan], [1.0], [5.0], left=-1.0, right=9.0))
    q = np.sort(rng.normal(size=(3, 40)), axis=1)
    r = rng.normal(size=(3, 40))
    X = rng.normal(size=(500, 3)) * 2
    m = _interp_model(tmp_path, q, r, np.array([np.nan, 0.0, 1.0]), None, width=3)
    got = next(iter(m.run(X).values()))
    want = np.column_stack([np.interp(X[:, j], q[j], r[j], left=[np.nan, 0.0, 1.0][j]) for j in range(3)])
    np.testing.assert_array_equal(got, want)
    m32 = _interp_model(tmp_path, q, r, dtype=np.float32, width=3)
    got32 = next(iter(m32.run(X.astype(np.float32)).values()))
    want32 = np.column_stack([np.interp(X.astype(np.float32)[:, j], q[j], r[j]) for j in range(3)]).astype(np.float32)
    assert got32.dtype == np.float32
    np.testing.assert_array_equal(got32, want32)


def test_interp_refuses_unsorted_tables(tmp_path):
    m = _interp_model(tmp_path, [0.0, 2.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(mle_runtime.MLEError, match="non-decreasing"):
        m.run(np.zeros(2))


# ------------------------------------------------------- IsotonicRegression

def _iso_data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(-3, 3, n), 2)  # ties in X
    return x, x + np.sin(2 * x) + rng.normal(size=n) * 0.3


@pytest.mark.parametrize("out_of_bounds", ["nan", "clip", "raise"])
@pytest.mark.parametrize("increasing", [True, False, "auto"])
def test_isotonic(out_of_bounds, increasing, tmp_path):
    x, y = _iso_data()
    if increasing is False:
        y = -y
    est = fit(IsotonicRegression(out_of_bounds=out_of_bounds, increasing=increasing), x, y)
    X_run = np.concatenate([x, est.X_thresholds_, np.nextafter(est.X_thresholds_, np.inf)[:-1],
                            np.linspace(x.min(), x.max(), 97)])
    if out_of_bounds != "raise":
        X_run = np.concatenate([X_run, [x.min() - 1, x.max() + 1, -1e30, 1e30]])
    X_run = X_run[:, None]
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    for method in ("predict", "transform"):
        np.testing.assert_array_equal(getattr(m, method)(X_run), getattr(est, method)(X_run))  # bit for bit
    X32 = X_run.astype(np.float32)
    if out_of_bounds == "raise":  # rounding may carry the end points outside
        X32 = X32[(X32[:, 0] >= est.X_min_) & (X32[:, 0] <= est.X_max_)]
    np.testing.assert_array_equal(m.predict(X32), est.predict(X32))
    mle_runtime.dump(est, tmp_path / "m32.mle", dtype=np.float32)
    got32 = mle_runtime.load(tmp_path / "m32.mle").predict(X32)
    np.testing.assert_array_equal(got32, est.predict(X32).astype(np.float32))
    if out_of_bounds == "raise":
        with pytest.raises(mle_runtime.MLEValueError, match="IsotonicRegression.*beyond the fitted range"):
            m.predict(np.array([[x.max() + 0.5]]))
        with pytest.raises(ValueError):
            est.predict(np.array([[x.max() + 0.5]]))


def test_isotonic_parameters(tmp_path):
    x, y = _iso_data(seed=1)
    w = np.random.default_rng(2).uniform(0, 2, len(x))
    for est in [IsotonicRegression(y_min=-1.0, y_max=1.5), IsotonicRegression().fit(x, y, sample_weight=w),
                IsotonicRegression(out_of_bounds="clip").fit(np.full(5, 2.0), np.arange(5.0))]:
        if not hasattr(est, "X_thresholds_"):
            fit(est, x, y)
        X_run = np.linspace(x.min() - 1, x.max() + 1, 301)[:, None]
        mle_runtime.dump(est, tmp_path / "m.mle")
        np.testing.assert_array_equal(mle_runtime.load(tmp_path / "m.mle").predict(X_run), est.predict(X_run))
    # Behind a scaler in a Pipeline.
    pipe = fit(make_pipeline(StandardScaler(), IsotonicRegression(out_of_bounds="clip")), x[:, None], y)
    check(pipe, x[:, None], tmp_path, X_run=np.linspace(-4, 4, 101)[:, None], mode32=False)


# ------------------------------------------------------ QuantileTransformer

def _skewed(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = np.c_[rng.normal(size=n), rng.exponential(size=n), np.round(rng.normal(size=n) * 2), rng.uniform(-1, 1, n)]
    y = LABELS[(X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 3] > 0.5)]
    return X, y


@pytest.mark.parametrize("output_distribution", ["uniform", "normal"])
@pytest.mark.parametrize("n_quantiles", [10, 100, 200])
def test_quantile_transformer(output_distribution, n_quantiles, tmp_path):
    X, y = _skewed()
    est = fit(QuantileTransformer(n_quantiles=n_quantiles, output_distribution=output_distribution), X)
    q = est.quantiles_
    X_run = np.vstack([X, q, np.nextafter(q, np.inf), np.nextafter(q, -np.inf), q[:1] - 1e-7, q[-1:] + 1e-7,
                       X * 3 - 1, np.full((1, 4), np.nan)])
    X_run[5, 2] = np.nan
    check(est, X, tmp_path, X_run=X_run)
    if output_distribution == "uniform":  # bit for bit: the same interpolations
        np.testing.assert_array_equal(mle_runtime.load(tmp_path / "m64.mle").transform(X_run), est.transform(X_run))
    in_pipeline(QuantileTransformer(n_quantiles=n_quantiles, output_distribution=output_distribution), X, y, tmp_path)


def test_ndtri_matches_scipy(tmp_path):
    """The normal quantile built from arithmetic ops, across its branches."""
    from scipy import special

    est = fit(QuantileTransformer(n_quantiles=3, output_distribution="normal"), np.array([[0.0], [0.5], [1.0]]))
    rng = np.random.default_rng(0)
    u = np.concatenate([rng.uniform(size=3000), 10 ** rng.uniform(-7, -1, 1000), 1 - 10 ** rng.uniform(-7, -1, 1000),
                        [0.5, 0.13533528323661269, 1 - 0.13533528323661269, 1e-7, 1 - 1e-7]])
    mle_runtime.dump(est, tmp_path / "m.mle")
    got = mle_runtime.load(tmp_path / "m.mle").transform(u[:, None])[:, 0]  # uniform on [0, 1] -> ndtri, clipped
    want = est.transform(u[:, None])[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    q, r = est.quantiles_[:, 0], est.references_
    v = 0.5 * (np.interp(u, q, r) - np.interp(-u, -q[::-1], -r[::-1]))  # what reaches ndtri
    inner = (v >= 1e-7) & (v <= 1 - 1e-7)
    np.testing.assert_allclose(got[inner], special.ndtri(v[inner]), rtol=1e-15, atol=0)


# ------------------------------------------------------- PowerTransformer

@pytest.mark.parametrize("method", ["yeo-johnson", "box-cox"])
@pytest.mark.parametrize("standardize", [True, False])
def test_power_transformer(method, standardize, tmp_path):
    X, y = _skewed()
    if method == "box-cox":
        X = np.abs(X) + 0.05
    est = fit(PowerTransformer(method=method, standardize=standardize), X)
    X_run = np.vstack([X, X * 2.5, X[:20] * 1e-9, np.full((1, 4), np.nan)])
    if method == "yeo-johnson":
        X_run = np.vstack([X_run, -X, [[0.0, -0.0, 1e-300, -1e-300]]])
    check(est, X, tmp_path, X_run=X_run)
    in_pipeline(PowerTransformer(method=method, standardize=standardize), X, y, tmp_path)


def test_power_transformer_special_lambdas(tmp_path):
    """lambda 0 (log1p branch) and 2 (the negative side's log1p branch)."""
    X, _ = _skewed()
    est = fit(PowerTransformer(standardize=False), X)
    est.lambdas_ = np.array([0.0, 2.0, 1e-17, 2.0 + 1e-17])
    X_run = np.vstack([X, -X])
    mle_runtime.dump(est, tmp_path / "m.mle")
    np.testing.assert_allclose(mle_runtime.load(tmp_path / "m.mle").transform(X_run), est.transform(X_run),
                               rtol=RTOL64, atol=ATOL64)
    bc = fit(PowerTransformer(method="box-cox", standardize=False), np.abs(X) + 0.05)
    bc.lambdas_ = np.array([0.0, 1e-20, 200.0, -3.0])  # log, log, past exp's range (the other branch), negative
    X_run = np.abs(X) * 40 + 0.05
    mle_runtime.dump(bc, tmp_path / "b.mle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = bc.transform(X_run)
    np.testing.assert_allclose(mle_runtime.load(tmp_path / "b.mle").transform(X_run), want, rtol=RTOL64, atol=ATOL64)


def test_box_cox_refuses_non_positive(tmp_path):
    X, _ = _skewed()
    est = fit(PowerTransformer(method="box-cox"), np.abs(X) + 0.05)
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    bad = np.abs(X[:3]) + 0.05
    bad[1, 2] = 0.0
    with pytest.raises(mle_runtime.MLEValueError, match="box-cox.*not strictly positive"):
        m.transform(bad)
    with pytest.raises(ValueError, match="strictly positive"):
        est.transform(bad)


# ------------------------------------------------------------ TargetEncoder

def _frame(n=240, seed=0):
    import pandas as pd
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"city": rng.choice(["oslo", "rome", "lima", "kyiv", "pune"], n),
                       "size": rng.choice([1.0, 2.0, 5.0, np.nan], n), "grade": rng.integers(0, 4, n)})
    return df, rng


@pytest.mark.parametrize("target", ["binary", "multiclass", "continuous"])
def test_target_encoder(target, tmp_path):
    df, rng = _frame()
    signal = df["city"].isin(["oslo", "rome"]).to_numpy() ^ (rng.uniform(size=len(df)) < 0.2)
    y = {"binary": np.where(signal, "yes", "no"), "multiclass": LABELS[rng.integers(0, 3, len(df)) * signal],
         "continuous": signal + rng.normal(size=len(df))}[target]
    for kw in [{}, {"smooth": 2.0}, {"target_type": target, "shuffle": False, "cv": 3}]:
        est = fit(TargetEncoder(random_state=0, **kw), df, y)
        run = df.copy()
        run.loc[0, "city"] = "quito"  # unknown: target_mean_
        run.loc[1, "size"] = 7.0
        run.loc[2, "grade"] = 99
        mle_runtime.dump(est, tmp_path / "m.mle")
        m = mle_runtime.load(tmp_path / "m.mle")
        np.testing.assert_array_equal(m.transform(run), est.transform(run))  # gathered: bit for bit
    if target != "continuous":
        pipe = fit(make_pipeline(TargetEncoder(random_state=0), LogisticRegression(max_iter=2000)), df, y)
        mle_runtime.dump(pipe, tmp_path / "p.mle")
        m = mle_runtime.load(tmp_path / "p.mle")
        np.testing.assert_array_equal(m.predict(run), pipe.predict(run))
        np.testing.assert_allclose(m.predict_proba(run), pipe.predict_proba(run), rtol=RTOL64, atol=ATOL64)


def test_target_encoder_numeric_matrix(tmp_path):
    rng = np.random.default_rng(0)
    X = np.c_[rng.integers(0, 5, 200), rng.integers(0, 3, 200)].astype(float)
    X[::9, 1] = np.nan  # NaN is a category
    y = LABELS[(X[:, 0] > 2).astype(int)]
    est = fit(TargetEncoder(random_state=0), X, y)
    X_run = np.vstack([X, [[9.0, 1.0], [0.0, 7.0], [-0.0, np.nan]]])
    mle_runtime.dump(est, tmp_path / "m.mle")
    np.testing.assert_array_equal(mle_runtime.load(tmp_path / "m.mle").transform(X_run), est.transform(X_run))
    in_pipeline(TargetEncoder(random_state=0), X, y, tmp_path, X_run=X_run[~np.isnan(X_run).any(axis=1)])


# ------------------------------------------------------- SplineTransformer

SPLINES = [{}, {"degree": 1}, {"degree": 2, "n_knots": 4}, {"degree": 0, "n_knots": 4, "extrapolation": "continue"},
           {"degree": 5, "n_knots": 3},
           {"knots": "quantile"}, {"include_bias": False}, {"extrapolation": "continue"},
           {"extrapolation": "linear"}, {"extrapolation": "linear", "degree": 1},
           {"extrapolation": "linear", "degree": 0, "n_knots": 5}, {"extrapolation": "periodic"},
           {"extrapolation": "periodic", "degree": 2, "n_knots": 3}, {"extrapolation": "periodic", "degree": 4,
                                                                      "n_knots": 5, "include_bias": False},
           {"extrapolation": "error"}, {"extrapolation": "constant", "degree": 1},
           {"handle_missing": "zeros", "extrapolation": "linear"}, {"sparse_output": True}]


@pytest.mark.parametrize("params", SPLINES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default")
def test_spline_transformer(params, tmp_path):
    X, y = _skewed()
    X = X[:, [0, 1, 3]]
    est = fit(SplineTransformer(**params), X)
    knots = np.column_stack([s.t for s in est.bsplines_])  # every knot, the extended ones too
    X_run = np.vstack([X, knots, np.nextafter(knots, np.inf), np.nextafter(knots, -np.inf)])
    if est.extrapolation == "error":  # only values within the base knots, in float32 too
        lo, hi = knots[est.degree], knots[-est.degree - 1]
        X32 = X_run.astype(np.float32)
        X_run = X_run[((X_run >= lo) & (X_run <= hi) & (X32 >= lo) & (X32 <= hi)).all(axis=1)]
    else:
        X_run = np.vstack([X_run, X * 3 - 2, X * 40])
    clean = X_run.copy()
    if est.handle_missing == "zeros":
        X_run[::5, 1] = np.nan
    # scikit-learn's sparse path fails on float32 rows beyond the knots (its xmin rounds outside).
    check(est, X, tmp_path, X_run=X_run, exact32=True, mode32=not est.sparse_output)
    got = mle_runtime.load(tmp_path / "m64.mle").transform(X_run)
    want = dense(est.transform(X_run))
    if est.extrapolation != "periodic":  # scipy's operations: bit for bit
        np.testing.assert_array_equal(got, want)
    else:  # numpy's remainder is reproduced exactly while |x - t[k]| < 3 periods
        k, n = est.degree, len(knots) - est.degree - 1
        near = (np.abs(X_run - knots[k]) < 2.9 * (knots[n] - knots[k])).all(axis=1)
        assert near.sum() > len(X)
        np.testing.assert_array_equal(got[near], want[near])
    # (NaN reaches a pipeline's classifier, which refuses it: see test_spline_nan_in_pipeline.)
    in_pipeline(SplineTransformer(**params), X, y, tmp_path, X_run=clean)


def test_spline_refusals_at_run(tmp_path):
    X, _ = _skewed()
    est = fit(SplineTransformer(extrapolation="error"), X)
    mle_runtime.dump(est, tmp_path / "m.mle")
    with pytest.raises(mle_runtime.MLEValueError, match="extrapolation='error'.*beyond the knots"):
        mle_runtime.load(tmp_path / "m.mle").transform(X + 100)
    est = fit(SplineTransformer(degree=0, extrapolation="constant"), X)
    mle_runtime.dump(est, tmp_path / "c.mle")
    m = mle_runtime.load(tmp_path / "c.mle")
    np.testing.assert_array_equal(m.transform(X - 100), est.transform(X - 100))
    with pytest.raises(mle_runtime.MLEValueError, match="above the last knot"):
        m.transform(X + 100)
    with pytest.raises(ValueError):
        est.transform(X + 100)


def test_refusals_group_b(tmp_path):
    x, y = _iso_data()
    _refused(fit(IsotonicRegression(), x.astype(np.float32), y.astype(np.float32)),
             r"IsotonicRegression fitted on float32 data", tmp_path)
    X, _ = _skewed()
    _refused(fit(SplineTransformer(degree=1, n_knots=2, extrapolation="linear"), X),
             r"SplineTransformer\(degree=1, extrapolation='linear'\) with 2 splines over 4 features", tmp_path)
