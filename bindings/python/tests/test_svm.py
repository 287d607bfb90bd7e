"""Parity with scikit-learn's libsvm estimators (SVC, NuSVC, SVR, NuSVR,
OneClassSVM): every kernel, binary and multiclass (string labels too) and
regression, float64 and float32 rows, the ovo and ovr shapes, break_ties,
probability=True; precomputed kernels and sparse fits are refused.

Labels must agree on every row; scores within 1e-9 relative (in practice
they are bitwise equal except where glibc's exp or tanh rounds differently
from MLE's, about 0.1% of kernel values: a few 1e-15 relative)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR, NuSVC, NuSVR, OneClassSVM

import mle_runtime

RTOL, ATOL = 1e-9, 1e-12
KERNELS = ("linear", "poly", "rbf", "sigmoid")
SCORES = ("decision_function", "predict_proba", "predict_log_proba", "score_samples")


def classification(n_classes, labels="int", n_features=8, noisy=False, seed=0):
    X, y = make_classification(n_samples=240, n_features=n_features, n_informative=5, n_redundant=1,
                               n_classes=n_classes, n_clusters_per_class=2 if noisy else 1,
                               flip_y=0.1 if noisy else 0.0, random_state=seed)
    if labels == "str":
        y = np.array(["ant", "bee", "cat", "dog"])[y]
    elif labels == "int32":
        y = (y * 7 - 3).astype(np.int32)
    return X, y


def regression(n_features=8):
    X, y = make_regression(n_samples=240, n_features=n_features, n_informative=6, noise=0.5, random_state=0)
    return X, y / np.std(y)


def fit(est, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # probability= is deprecated in scikit-learn 1.9
        return est.fit(X, y) if y is not None else est.fit(X)


def max_rel(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.abs(got - want) / np.maximum(np.abs(want), ATOL / RTOL), initial=0.0))


def blas_dot_emulated():
    """docs/svm.md: MLE computes libsvm's dot products in the order of
    OpenBLAS's AVX-512 ddot, bit for bit. Where scipy's OpenBLAS runs another
    kernel (Haswell's, on CPUs without AVX-512: plain multiply-add below 16
    terms, other lanes above), every dot product may differ in its last bit."""
    from threadpoolctl import threadpool_info

    archs = {i.get("architecture") for i in threadpool_info() if i.get("internal_api") == "openblas"}
    return bool(archs) and archs <= {"SkylakeX", "CooperLake", "SapphireRapids"}


EMULATED = blas_dot_emulated()


def rounding_bound(est, X):
    """Per row, what last-bit differences in the dot products can move a
    decision value: 64·ε·(Σ_i |α_i·K(x, sv_i)| + |b|), with each support
    vector's largest coefficient over the classifiers (a bound for every
    pair). NuSVC on noisy data has coefficients near 1e6 that cancel, so its
    sums lose about nine digits on any BLAS; elsewhere the bound is tiny."""
    from sklearn.metrics.pairwise import pairwise_kernels

    params = {"gamma": est._gamma, "degree": est.degree, "coef0": est.coef0}
    kw = {k: v for k, v in params.items() if k in {"linear": (), "poly": ("gamma", "degree", "coef0"),
                                                    "rbf": ("gamma",), "sigmoid": ("gamma", "coef0")}[est.kernel]}
    K = pairwise_kernels(np.asarray(X, np.float64), est.support_vectors_, metric=est.kernel, **kw)
    s = np.abs(K) @ np.abs(est.dual_coef_).max(axis=0) + np.abs(est.intercept_).max()
    return 64 * np.finfo(np.float64).eps * s


def assert_scores_close(name, got, want, est, X):
    """Within RTOL, or, where the BLAS is not the one MLE reproduces, within
    the rounding the decision sums can carry (carried through Platt's
    sigmoid, slope |A|/4, for probabilities)."""
    if EMULATED or not hasattr(est, "dual_coef_"):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=name)
        return
    bound = rounding_bound(est, X)
    if name in ("predict_proba", "predict_log_proba"):
        bound = bound * np.abs(est.probA_).max(initial=1.0)
    tol = RTOL * np.abs(want) + ATOL + (bound[:, None] if np.ndim(want) == 2 else bound)
    if name == "predict_log_proba":  # d(log p) = dp / p
        tol = RTOL * np.abs(want) + ATOL + (bound[:, None] / np.maximum(np.exp(want), 1e-300))
    bad = ~(np.abs(got - want) <= tol) & ~(np.isinf(got) & (got == want))
    assert not bad.any(), f"{name}: {bad.sum()} values beyond the rounding bound, e.g. {got[bad][:3]} vs {want[bad][:3]}"


def compare(est, m, X):
    """Every method est offers, on X: labels equal, scores within RTOL."""
    compared = []
    for name in ("predict",) + SCORES:
        if not hasattr(est, name):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # log(0) in predict_log_proba, on both sides
            want, got = getattr(est, name)(X), getattr(m, name)(X)
        compared.append(name)
        assert got.shape == want.shape, f"{name}: shape {got.shape}, want {want.shape}"
        if name == "predict" and want.dtype.kind != "f":
            assert got.dtype == want.dtype, f"labels dtype {got.dtype}, want {want.dtype}"
            np.testing.assert_array_equal(got, want, err_msg="labels differ")
        else:
            assert_scores_close(name, got, want, est, X)
    assert "predict" in compared
    return compared


def check(est, X, tmp_path):
    """The float64 model on float64 and float32 rows, and a float32 model on
    float32 rows (scikit-learn widens them exactly, and so do the SVM ops)."""
    mle_runtime.dump(est, tmp_path / "m64.mle")
    m = mle_runtime.load(tmp_path / "m64.mle")
    compared = compare(est, m, X)
    X32 = X.astype(np.float32)
    compare(est, m, X32)
    mle_runtime.dump(est, tmp_path / "m32.mle", dtype=np.float32)
    compare(est, mle_runtime.load(tmp_path / "m32.mle"), X32)
    return compared


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("cls", [SVC, NuSVC], ids=lambda c: c.__name__)
@pytest.mark.parametrize("n_classes,labels", [(2, "int"), (2, "str"), (3, "int32"), (4, "str")])
def test_classifiers(cls, kernel, n_classes, labels, tmp_path):
    X, y = classification(n_classes, labels)
    est = fit(cls(kernel=kernel, nu=0.3) if cls is NuSVC else cls(kernel=kernel), X, y)
    assert check(est, X, tmp_path) == ["predict", "decision_function"]
    want = (len(X),) if n_classes == 2 else (len(X), n_classes)  # ovr by default
    assert mle_runtime.load(tmp_path / "m64.mle").decision_function(X).shape == want


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("cls", [SVC, NuSVC], ids=lambda c: c.__name__)
def test_ovo_shape(cls, kernel, tmp_path):
    X, y = classification(4, "str", noisy=True)
    kw = {"nu": 0.3} if cls is NuSVC else {}
    est = fit(cls(kernel=kernel, decision_function_shape="ovo", **kw), X, y)
    check(est, X, tmp_path)
    assert mle_runtime.load(tmp_path / "m64.mle").decision_function(X).shape == (len(X), 6)


@pytest.mark.parametrize("kernel", KERNELS)
def test_break_ties(kernel, tmp_path):
    """Noisy data with tied votes: break_ties=True predicts the argmax of the
    ovr decision function, which differs from libsvm's vote on some rows."""
    X, y = classification(4, "str", noisy=True)
    est = fit(SVC(kernel=kernel, break_ties=True), X, y)
    plain = fit(SVC(kernel=kernel), X, y)
    X = np.vstack([X, np.random.default_rng(0).normal(size=(400, X.shape[1])) * 2])  # ambiguous rows too
    assert (est.predict(X) != plain.predict(X)).any(), "the data has no tied votes"
    check(est, X, tmp_path)
    mle_runtime.dump(plain, tmp_path / "plain.mle")
    np.testing.assert_array_equal(mle_runtime.load(tmp_path / "plain.mle").predict(X), plain.predict(X))


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("cls", [SVC, NuSVC], ids=lambda c: c.__name__)
@pytest.mark.parametrize("n_classes,labels,shape", [(2, "int", "ovr"), (3, "int32", "ovo"), (4, "str", "ovr")])
def test_probability(cls, kernel, n_classes, labels, shape, tmp_path):
    """Platt scaling then libsvm's pairwise coupling (for two classes too);
    where argmax(predict_proba) disagrees with predict, so does the model."""
    X, y = classification(n_classes, labels, noisy=True)
    kw = {"nu": 0.3} if cls is NuSVC else {}
    est = fit(cls(kernel=kernel, probability=True, decision_function_shape=shape, random_state=0, **kw), X, y)
    assert set(check(est, X, tmp_path)) == {"predict", "decision_function", "predict_proba", "predict_log_proba"}
    m = mle_runtime.load(tmp_path / "m64.mle")
    disagree = est.predict_proba(X).argmax(axis=1) != np.searchsorted(est.classes_, est.predict(X))
    got = m.predict_proba(X).argmax(axis=1) != np.searchsorted(est.classes_, m.predict(X))
    np.testing.assert_array_equal(got, disagree)


def test_probability_disagreement_is_reproduced(tmp_path):
    X, y = classification(4, "str", noisy=True)
    est = fit(SVC(kernel="linear", probability=True, random_state=0), X, y)
    disagree = est.predict_proba(X).argmax(axis=1) != np.searchsorted(est.classes_, est.predict(X))
    assert disagree.sum() > 0, "the data shows no disagreement"
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    np.testing.assert_array_equal(m.predict(X), est.predict(X))
    np.testing.assert_array_equal(m.predict_proba(X).argmax(axis=1), est.predict_proba(X).argmax(axis=1))


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("cls", [SVR, NuSVR], ids=lambda c: c.__name__)
def test_regressors(cls, kernel, tmp_path):
    X, y = regression()
    est = fit(cls(kernel=kernel), X, y)
    assert check(est, X, tmp_path) == ["predict"]


@pytest.mark.parametrize("kernel", KERNELS)
def test_one_class(kernel, tmp_path):
    X, _ = classification(2)
    est = fit(OneClassSVM(kernel=kernel, nu=0.2), X)
    assert check(est, X, tmp_path) == ["predict", "decision_function", "score_samples"]
    m = mle_runtime.load(tmp_path / "m64.mle")
    assert m.predict(X).dtype == est.predict(X).dtype
    assert set(np.unique(m.predict(X))) == {-1, 1}


@pytest.mark.parametrize("n_features", [16, 40, 75])
@pytest.mark.parametrize("kernel", KERNELS)
def test_wide_rows(kernel, n_features, tmp_path):
    """16 features and more: the dot products follow OpenBLAS's blocked
    order, not a sequential sum."""
    X, y = classification(3, "int", n_features=n_features)
    check(fit(SVC(kernel=kernel, decision_function_shape="ovo"), X, y), X, tmp_path)
    Xr, yr = regression(n_features)
    check(fit(SVR(kernel=kernel, C=3.0), Xr, yr), Xr, tmp_path)


@pytest.mark.parametrize("params", [
    {"kernel": "poly", "degree": 2, "coef0": 1.0}, {"kernel": "poly", "degree": 5, "gamma": "auto", "coef0": 0.5},
    {"kernel": "poly", "degree": 1, "gamma": 0.3}, {"kernel": "poly", "degree": 0},
    {"kernel": "rbf", "gamma": 2.5}, {"kernel": "rbf", "gamma": "auto", "C": 10.0},
    {"kernel": "sigmoid", "gamma": 0.01, "coef0": -1.0}, {"kernel": "linear", "C": 0.01},
    {"kernel": "rbf", "class_weight": "balanced"},
], ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_kernel_parameters(params, tmp_path):
    X, y = classification(3, "str")
    check(fit(SVC(**params), X, y), X, tmp_path)


def test_pipeline_and_new_rows(tmp_path):
    X, y = classification(3, "str")
    est = fit(make_pipeline(StandardScaler(), SVC(probability=True, random_state=0)), X, y)
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    X_new = np.random.default_rng(1).normal(size=(50, X.shape[1])) * 3
    compare(est, m, X_new)


def test_refusals(tmp_path):
    X, y = classification(3, "int")
    K = X @ X.T
    cases = [
        (fit(SVC(kernel="precomputed"), K, y), "precomputed"),
        (fit(OneClassSVM(kernel="precomputed"), K), "precomputed"),
        (fit(SVR(kernel="precomputed"), K, y.astype(float)), "precomputed"),
        (fit(SVC(), sp.csr_matrix(X), y), "sparse"),
        (fit(NuSVR(), sp.csr_matrix(X), y.astype(float)), "sparse"),
        (fit(OneClassSVM(), sp.csr_matrix(X)), "sparse"),
        (fit(SVC(break_ties=True, decision_function_shape="ovo"), X, y), "break_ties"),
    ]
    for est, match in cases:
        with pytest.raises(mle_runtime.MLEUnsupportedError, match=match):
            mle_runtime.dump(est, tmp_path / "m.mle")
        assert not (tmp_path / "m.mle").exists()


def test_callable_kernel_refused():
    """A callable kernel leaves no n_features_in_, so the converter is asked
    directly (dump's pipeline code needs the feature count first)."""
    from mle_runtime._graph import Graph
    from mle_runtime.export import sklearn_svm

    X, y = classification(3, "int")
    est = fit(SVC(kernel=lambda a, b: a @ b.T), X, y)
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="callable kernel"):
        sklearn_svm.svc(Graph(np.dtype(np.float64)), est, "X")
