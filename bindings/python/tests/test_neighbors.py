"""Parity with scikit-learn's neighbour estimators: every weights × metric ×
algorithm on binary, multiclass (string labels) and regression data, float64
and float32, with exact ties, queries on training points and, for the radius
estimators, rows without neighbours."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.neighbors import (KNeighborsClassifier, KNeighborsRegressor, RadiusNeighborsClassifier,
                               RadiusNeighborsRegressor)

import mle_runtime
from test_sklearn import check_parity, classification, regression

# brute-force euclidean distances come from ‖x‖²−2x·y+‖y‖² on both sides
# with possibly different BLAS rounding: agreement is to 1e-9 relative.
RTOL, ATOL = 1e-9, 1e-12
METRICS = [("euclidean", 2), ("manhattan", 2), ("chebyshev", 2), ("minkowski", 3), ("minkowski", 1.5),
           ("minkowski", 2), ("cosine", 2)]
ALGORITHMS = ["brute", "kd_tree", "ball_tree", "auto"]


def _cases():
    for metric, p in METRICS:
        for algo in ALGORITHMS:
            if metric == "cosine" and algo in ("kd_tree", "ball_tree"):
                continue
            if metric == "minkowski" and p < 1 and algo != "brute":
                continue
            for weights in ("uniform", "distance"):
                yield pytest.param(metric, p, algo, weights, id=f"{metric}{p}-{algo}-{weights}")


def _split(X, y):
    return X[:240], y[:240], X[200:]  # the queries overlap the training rows


def _check_queries(est, Xt, Xq, path, metric, p, algo, weights, X_dump=None, scale=1.0):
    """Parity on the queries. One case is ill-conditioned on scikit-learn's
    side: with weights="distance", brute-force euclidean distances of a query
    that is a training row are the rounding residue of ‖x‖²−2x·y+‖y‖² (its
    BLAS's: different on AVX2 and AVX-512 kernels), about 1e-8 after the
    square root, so that row's weight is 1e8 rather than infinite. Those
    queries' results agree to 1e-6 of their scale (labels exactly: a
    regressor's targets reach a few hundred); every other query's, to 1e-9.
    Xt: the training rows; X_dump: the rows dump() is given (Xt)."""
    X_dump = Xt if X_dump is None else X_dump
    fragile = weights == "distance" and algo == "brute" and metric in ("euclidean", "minkowski") and p == 2
    if not fragile:
        check_parity(est, X_dump, path, rtol=RTOL, atol=ATOL, X_run=Xq)
        return
    on_train = (Xq[:, None, :] == Xt[None, :, :]).all(axis=2).any(axis=1)
    assert on_train.any() and not on_train.all()
    check_parity(est, X_dump, path, rtol=RTOL, atol=ATOL, X_run=Xq[~on_train])
    check_parity(est, X_dump, path, rtol=1e-6, atol=1e-6 * scale, X_run=Xq[on_train])


@pytest.mark.parametrize("metric,p,algo,weights", list(_cases()))
@pytest.mark.parametrize("data", ["binary", "multi_str"])
def test_kneighbors_classifier(metric, p, algo, weights, data, tmp_path):
    X, y = classification(2) if data == "binary" else classification(4, labels="str")
    Xt, yt, Xq = _split(X, y)
    est = KNeighborsClassifier(n_neighbors=7, weights=weights, algorithm=algo, metric=metric, p=p).fit(Xt, yt)
    _check_queries(est, Xt, Xq, tmp_path / "m.mle", metric, p, algo, weights)


@pytest.mark.parametrize("metric,p,algo,weights", list(_cases()))
def test_kneighbors_regressor(metric, p, algo, weights, tmp_path):
    X, y = regression()
    Xt, yt, Xq = _split(X, y)
    est = KNeighborsRegressor(n_neighbors=9, weights=weights, algorithm=algo, metric=metric, p=p).fit(Xt, yt)
    _check_queries(est, Xt, Xq, tmp_path / "m.mle", metric, p, algo, weights, scale=np.abs(yt).max())


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_kneighbors_multi_target_regressor(weights, tmp_path):
    X, y = regression(n_targets=3)
    Xt, yt, Xq = _split(X, y)
    est = KNeighborsRegressor(n_neighbors=5, weights=weights).fit(Xt, yt)
    check_parity(est, Xt, tmp_path / "m.mle", rtol=RTOL, atol=ATOL, X_run=Xq)


def _tie_data(seed=0):
    """Small-integer rows with exact duplicates (every row three times), so
    distances are exact on both sides and many are equal."""
    rng = np.random.default_rng(seed)
    base = rng.integers(-3, 4, size=(40, 3)).astype(np.float64)
    X = np.concatenate([base, base, base])
    y = np.array(["x", "y", "z"])[rng.integers(0, 3, size=len(X))]
    q = np.concatenate([base[:20], base[:20] + 0.5, rng.integers(-3, 4, size=(20, 3)).astype(np.float64),
                        np.zeros((1, 3))])
    return X, y, q


# minkowski p=3 on small integers: exact distances; kd_tree bounds exact too.
TIE_CASES = [(a, m) for a in ("brute", "kd_tree", "ball_tree") for m in ("euclidean", "manhattan", "chebyshev")] + \
    [("brute", "minkowski"), ("kd_tree", "minkowski")]


@pytest.mark.parametrize("algo,metric", TIE_CASES)
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("k", [1, 4, 7])
def test_ties_and_coinciding_queries(algo, metric, weights, k, tmp_path):
    """Duplicated training rows, queries on training rows (zero distances:
    weight 1 for them, 0 for the rest) and queries equidistant to several
    rows: every algorithm keeps and orders the tied rows as scikit-learn
    does (the trees: their depth-first query replayed, with leaves of 1,
    2 and 30 rows so that the visiting order varies)."""
    X, y, q = _tie_data()
    yr = np.arange(len(X), dtype=np.float64) ** 1.5  # distinct targets: a differently tied row shows
    for leaf in ([30] if algo == "brute" else [1, 2, 30]):
        kw = dict(n_neighbors=k, weights=weights, algorithm=algo, metric=metric, p=3, leaf_size=leaf)
        check_parity(KNeighborsClassifier(**kw).fit(X, y), X, tmp_path / "c.mle", rtol=RTOL, atol=ATOL, X_run=q)
        check_parity(KNeighborsRegressor(**kw).fit(X, yr), X, tmp_path / "r.mle", rtol=RTOL, atol=ATOL, X_run=q)


def test_tree_query_order_decides_ties(tmp_path):
    """The tie rule differs between algorithms (this data set gives
    different labels for kd_tree and brute force in scikit-learn), and each
    model follows its own."""
    X, y, q = _tie_data()
    kw = dict(n_neighbors=4, metric="manhattan", leaf_size=2)
    brute = KNeighborsClassifier(algorithm="brute", **kw).fit(X, y)
    tree = KNeighborsClassifier(algorithm="kd_tree", **kw).fit(X, y)
    assert (brute.predict(q) != tree.predict(q)).any()
    for est in (brute, tree):
        check_parity(est, X, tmp_path / "m.mle", rtol=RTOL, atol=ATOL, X_run=q)


@pytest.mark.parametrize("make", [lambda: KNeighborsClassifier(n_neighbors=5),
                                  lambda: KNeighborsClassifier(n_neighbors=5, weights="distance", metric="manhattan"),
                                  lambda: KNeighborsClassifier(n_neighbors=5, algorithm="kd_tree"),
                                  lambda: KNeighborsRegressor(n_neighbors=5, weights="distance"),
                                  lambda: KNeighborsRegressor(n_neighbors=5, algorithm="ball_tree", metric="chebyshev")])
def test_float32(make, tmp_path):
    """float32 inputs, to a float64 graph and in float32 mode: the op widens
    them exactly; scikit-learn computes these in float64 as well (the
    dtypes differ, so it takes its pairwise_distances path)."""
    X, y = classification(3)
    if "Regressor" in type(make()).__name__:
        X, y = regression()
    est = make().fit(X[:240], y[:240])
    X32 = X[200:].astype(np.float32)
    check_parity(est, X, tmp_path / "a.mle", rtol=RTOL, atol=ATOL, X_run=X32)
    m = check_parity(est, X, tmp_path / "b.mle", dtype=np.float32, rtol=RTOL, atol=ATOL, X_run=X32)
    assert m.inputs[0].dtype == np.float32


def test_refusals(tmp_path):
    X, y = classification(2)
    _, yr = regression()
    for est, what in [(KNeighborsRegressor(), "float32"), (RadiusNeighborsRegressor(weights="distance"), "float32")]:
        est.fit(X, yr.astype(np.float32))
        with pytest.raises(mle_runtime.MLEUnsupportedError, match=what):
            mle_runtime.dump(est, tmp_path / "m.mle")
    est = RadiusNeighborsClassifier(outlier_label="most_frequent").fit(X, np.stack([y, y], axis=1))
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="multi-output"):
        mle_runtime.dump(est, tmp_path / "m.mle")
    for est, what in [(KNeighborsClassifier(metric="hamming", algorithm="brute"), "hamming"),
                      (KNeighborsClassifier(metric=lambda a, b: float(np.abs(a - b).sum()), algorithm="brute"),
                       "callable"),
                      (KNeighborsClassifier(weights=lambda d: 1 / (1 + d)), "weights"),
                      (KNeighborsClassifier(metric="mahalanobis", metric_params={"VI": np.eye(8)},
                                            algorithm="brute"), "mahalanobis")]:
        est.fit(X, y)
        with pytest.raises(mle_runtime.MLEUnsupportedError, match=what):
            mle_runtime.dump(est, tmp_path / "m.mle")


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize("shrink", [None, 0.5])
@pytest.mark.parametrize("priors", ["uniform", "empirical"])
@pytest.mark.parametrize("data", ["binary", "multi_str"])
def test_nearest_centroid(metric, shrink, priors, data, tmp_path):
    from sklearn.neighbors import NearestCentroid
    X, y = classification(2) if data == "binary" else classification(4, labels="str")
    if priors == "empirical":
        keep = np.r_[0:300:2, 1:60:2]  # unbalanced classes
        X, y = X[keep], y[keep]
    est = NearestCentroid(metric=metric, shrink_threshold=shrink, priors=priors).fit(X, y)
    check_parity(est, X, tmp_path / "m.mle", rtol=RTOL, atol=ATOL)
    check_parity(est, X, tmp_path / "f.mle", dtype=np.float32, rtol=RTOL, atol=ATOL, X_run=X.astype(np.float32))


# Radii giving a few to a few dozen neighbours on these data sets.
RADII = {"euclidean": 3.0, "manhattan": 7.0, "chebyshev": 1.8, "minkowski": 3.0, "cosine": 0.3}


def _radius_queries(X):
    """Rows on and between training rows, and rows without neighbours: far
    ones, and a zero row (cosine distance 1)."""
    return np.concatenate([X[200:], X[200:210] * 10, np.zeros((1, X.shape[1]))])


def _radius_kw(metric, p, algo, weights):
    radius = RADII[metric] + (1.0 if metric == "minkowski" and p < 2 else 0.0)
    return dict(radius=radius, weights=weights, algorithm=algo, metric=metric, p=p)


@pytest.mark.parametrize("metric,p,algo,weights", list(_cases()))
@pytest.mark.parametrize("data", ["binary", "multi_str"])
def test_radius_neighbors_classifier(metric, p, algo, weights, data, tmp_path):
    X, y = classification(2) if data == "binary" else classification(4, labels="str")
    est = RadiusNeighborsClassifier(outlier_label="most_frequent", **_radius_kw(metric, p, algo, weights))
    est.fit(X[:240], y[:240])
    q = _radius_queries(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scikit-learn's outlier warning
        assert any(len(i) == 0 for i in est.radius_neighbors(q, return_distance=False))
        _check_queries(est, X[:240], q, tmp_path / "m.mle", metric, p, algo, weights, X_dump=X,
                       scale=np.abs(y).max() if y.dtype.kind == "f" else 1.0)


@pytest.mark.parametrize("metric,p,algo,weights", list(_cases()))
@pytest.mark.parametrize("n_targets", [1, 3])
def test_radius_neighbors_regressor(metric, p, algo, weights, n_targets, tmp_path):
    X, y = regression(n_targets=n_targets)
    est = RadiusNeighborsRegressor(**_radius_kw(metric, p, algo, weights)).fit(X[:240], y[:240])
    q = _radius_queries(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rows without neighbours: NaN, with a warning
        assert np.isnan(est.predict(q)).any()
        _check_queries(est, X[:240], q, tmp_path / "m.mle", metric, p, algo, weights, X_dump=X,
                       scale=np.abs(y).max() if y.dtype.kind == "f" else 1.0)


@pytest.mark.parametrize("algo", ["brute", "kd_tree", "ball_tree"])
@pytest.mark.parametrize("metric", ["euclidean", "manhattan", "chebyshev"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("radius", [0.0, 1.0, 2.0, 3.0])
def test_radius_ties_and_boundaries(algo, metric, weights, radius, tmp_path):
    """Small integers: distances equal to the radius (kept: <=), duplicated
    rows, zero distances, and for the trees nodes wholly inside the radius
    (their rows taken without a distance test, in the tree's order)."""
    X, y, q = _tie_data()
    yr = np.arange(len(X), dtype=np.float64) ** 1.5
    for leaf in ([30] if algo == "brute" else [1, 5]):
        kw = dict(radius=radius, weights=weights, algorithm=algo, metric=metric, leaf_size=leaf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            check_parity(RadiusNeighborsClassifier(outlier_label="w", **kw).fit(X, y), X, tmp_path / "c.mle",
                         rtol=RTOL, atol=ATOL, X_run=q)
            check_parity(RadiusNeighborsRegressor(**kw).fit(X, yr), X, tmp_path / "r.mle", rtol=RTOL, atol=ATOL,
                         X_run=q)


def _outlier_cases():
    ints, strs = np.array([1, 2, 5]), np.array(["a", "b", "c"])
    for labels, outliers in [(ints, [None, 0, 1, 2, 5, 7, "most_frequent"]),
                             (np.array([0, 1, 2]), [0, 2, 3]),
                             (strs, [None, "a", "z", "most_frequent"]),
                             (np.array([0.0, 1.0, 3.0]), [[1.0], [-1.0], [1], 2])]:
        for outlier in outliers:
            yield pytest.param(labels, outlier, id=f"{labels.dtype}-{outlier}")


@pytest.mark.parametrize("labels,outlier", list(_outlier_cases()))
@pytest.mark.parametrize("algo,metric", [("brute", "manhattan"), ("brute", "euclidean"), ("kd_tree", "manhattan")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_radius_outlier_labels(labels, outlier, algo, metric, dtype, tmp_path):
    """Rows without neighbours, as scikit-learn treats each outlier_label on
    each path: one-hot at the outlier's class, or all-zero probabilities and
    the outlier label itself (a class, or a label outside the classes) from
    predict; RadiusNeighborsClassMode (uniform, brute force, not euclidean,
    float64 queries) one-hots the class at the position equal to
    outlier_label instead. outlier_label=None: scikit-learn raises, and so
    does the run."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = labels[rng.integers(0, 3, 30)]
    q = np.concatenate([X[:5], [[10.0, 10.0], [0.1, 0.2], [-9.0, 3.0]]]).astype(dtype)
    est = RadiusNeighborsClassifier(radius=1.0, algorithm=algo, metric=metric, outlier_label=outlier).fit(X, y)
    mle_runtime.dump(est, tmp_path / "m.mle", dtype=dtype)
    m = mle_runtime.load(tmp_path / "m.mle")
    if outlier is None:
        for method in ("predict", "predict_proba"):
            with pytest.raises(ValueError, match="No neighbors"):
                getattr(est, method)(q)
            with pytest.raises(mle_runtime.MLEValueError, match="no neighbours within the radius"):
                getattr(m, method)(q)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want_p, want = est.predict_proba(q), est.predict(q)
    np.testing.assert_array_equal(m.predict_proba(q), want_p)
    got = m.predict(q)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_radius_regressor_integer_targets(dtype, weights, tmp_path):
    """Integer and boolean targets: averaged in float64; a row without
    neighbours gives what scikit-learn gives there, np.full_like(y, nan)
    cast to the targets' dtype (no NaN), and many neighbours are summed as
    numpy's mean sums integers (pairwise within 8192-element buffers)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(9000, 1))
    y = rng.integers(0, 2 if dtype is bool else 200, size=len(X)).astype(dtype)
    q = np.array([[0.0], [0.3], [50.0]])
    est = RadiusNeighborsRegressor(radius=10.0 if weights == "uniform" else 0.5, weights=weights).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = est.predict(q)
    mle_runtime.dump(est, tmp_path / "m.mle")
    np.testing.assert_array_equal(mle_runtime.load(tmp_path / "m.mle").predict(q), want)


@pytest.mark.parametrize("make", [lambda: RadiusNeighborsClassifier(radius=3.0, outlier_label="most_frequent"),
                                  lambda: RadiusNeighborsClassifier(radius=7.0, weights="distance", metric="manhattan",
                                                                    algorithm="brute", outlier_label=0),
                                  lambda: RadiusNeighborsClassifier(radius=3.0, algorithm="ball_tree",
                                                                    outlier_label="most_frequent"),
                                  lambda: RadiusNeighborsRegressor(radius=3.0, weights="distance"),
                                  lambda: RadiusNeighborsRegressor(radius=1.8, algorithm="brute", metric="chebyshev")])
def test_radius_float32(make, tmp_path):
    """float32 queries, to a float64 graph and in float32 mode."""
    X, y = classification(3)
    if "Regressor" in type(make()).__name__:
        X, y = regression()
    est = make().fit(X[:240], y[:240])
    X32 = _radius_queries(X).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check_parity(est, X, tmp_path / "a.mle", rtol=RTOL, atol=ATOL, X_run=X32)
        check_parity(est, X, tmp_path / "b.mle", dtype=np.float32, rtol=RTOL, atol=ATOL, X_run=X32)


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
@pytest.mark.parametrize("k", [1, 4, 7])
def test_float32_queries_ties(metric, k, tmp_path):
    """Documented limit: float32 queries to brute force over float64 rows
    take scikit-learn's pairwise_distances path, which picks among rows tied
    at the k-th distance with np.argpartition; that choice is not
    reproduced. Labels agree on every row without such a tie."""
    X, y, q = _tie_data()
    q32 = q.astype(np.float32)
    est = KNeighborsClassifier(n_neighbors=k, algorithm="brute", metric=metric).fit(X, y)
    mle_runtime.dump(est, tmp_path / "m.mle")
    got = mle_runtime.load(tmp_path / "m.mle").predict(q32)
    dist, _ = est.kneighbors(q32, n_neighbors=k + 1)
    untied = dist[:, k - 1] < dist[:, k]
    assert not untied.all()  # the data has ties at the k-th distance
    np.testing.assert_array_equal(got[untied], est.predict(q32)[untied])
