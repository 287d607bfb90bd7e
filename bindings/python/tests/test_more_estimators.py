"""Parity with scikit-learn for the linear leftovers (CV and multi-task
models, TheilSen, LogisticRegressionCV, RANSAC, SGDOneClassSVM), the
wrappers (search CVs, FrozenEstimator, threshold classifiers, dummies) and
the others (KernelRidge, IncrementalPCA, random projections,
MissingIndicator, chains, Gaussian mixtures, LocalOutlierFactor): every
method scikit-learn offers, on binary and multiclass data with string
labels and on regression data, float64 and float32; the refusals.

Tolerances: labels identical (values and dtype); float64 scores within
1e-9 relative, 1e-12 absolute; a float32 graph agrees to float32 precision."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (LarsCV, LassoLarsCV, LinearRegression, LogisticRegressionCV, MultiTaskElasticNet,
                                  MultiTaskElasticNetCV, MultiTaskLasso, MultiTaskLassoCV,
                                  OrthogonalMatchingPursuitCV, RANSACRegressor, SGDOneClassSVM, TheilSenRegressor)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

import mle_runtime
import parity

RTOL64, ATOL64 = 1e-9, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-5
METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "score_samples", "transform")


def classification(n_classes: int, labels: str = "str", n: int = 120, seed: int = 0):
    X, y = make_classification(n_samples=n, n_features=5, n_informative=3, n_redundant=1, n_classes=n_classes,
                               n_clusters_per_class=1, random_state=seed)
    if labels == "str":
        y = np.array(["ant", "bee", "cat", "dog"])[y]
    return X, y


def regression(n_targets: int = 1, n: int = 120):
    return make_regression(n_samples=n, n_features=5, n_informative=4, n_targets=n_targets, noise=0.5,
                           random_state=0)


def fit(est, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def check_parity(est, X, path, dtype=np.float64, X_run=None, skip=(), rtol=None, atol=None):
    """Dumps est, loads it, and compares every method scikit-learn offers on
    X_run (float32 rows too); labels must be identical (values and dtype).
    Returns the largest relative difference seen in the scores."""
    X_run = X if X_run is None else X_run
    f32 = np.dtype(dtype) == np.float32 or getattr(X_run, "dtype", None) == np.float32
    rtol = rtol if rtol is not None else (RTOL32 if f32 else RTOL64)
    atol = atol if atol is not None else (ATOL32 if f32 else ATOL64)
    p = parity.compare(est, X, path, dtype=dtype, X_run=X_run, rtol=rtol, atol=atol, skip=skip, methods=METHODS)
    assert "predict" in p.checked or "transform" in p.checked, p.checked
    return p.worst


def refused(est, match, tmp_path):
    with pytest.raises(mle_runtime.MLEUnsupportedError, match=match):
        mle_runtime.dump(est, tmp_path / "m.mle")
    assert not (tmp_path / "m.mle").exists()


def both_dtypes(est, X, tmp_path, **kw):
    """float64 graph on float64 rows, float32 rows to a float64 graph, and a float32 graph."""
    worst = check_parity(est, X, tmp_path / "a.mle", **kw)
    check_parity(est, X, tmp_path / "b.mle", X_run=X.astype(np.float32), **kw)
    # A float32 graph's log-probabilities are logs of float32 probabilities
    # (checked to absolute float32 precision): far out in a tail they differ
    # relatively by more, as any float32 computation would.
    kw32 = dict(kw, skip=tuple(kw.get("skip", ())) + ("predict_log_proba",))
    check_parity(est, X, tmp_path / "c.mle", dtype=np.float32, X_run=X.astype(np.float32), **kw32)
    return worst


# ------------------------------------------------------------------ linear

LINEAR_REGRESSORS = {
    "LarsCV": lambda: LarsCV(cv=3),
    "LassoLarsCV": lambda: LassoLarsCV(cv=3),
    "OrthogonalMatchingPursuitCV": lambda: OrthogonalMatchingPursuitCV(cv=3),
    "TheilSenRegressor": lambda: TheilSenRegressor(random_state=0, max_subpopulation=200),
    "RANSAC_linear": lambda: RANSACRegressor(LinearRegression(), random_state=0),
    "RANSAC_pipeline": lambda: RANSACRegressor(make_pipeline(StandardScaler(), DecisionTreeRegressor(max_depth=3)),
                                               random_state=0, min_samples=20),
}


@pytest.mark.parametrize("name", LINEAR_REGRESSORS)
@pytest.mark.parametrize("piped", [False, True])
def test_linear_regressors(name, piped, tmp_path):
    X, y = regression()
    est = LINEAR_REGRESSORS[name]()
    est = fit(make_pipeline(StandardScaler(), est) if piped else est, X, y)
    both_dtypes(est, X, tmp_path)


MULTI_TASK = {
    "MultiTaskLasso": lambda: MultiTaskLasso(alpha=0.5),
    "MultiTaskLassoCV": lambda: MultiTaskLassoCV(cv=3),
    "MultiTaskElasticNet": lambda: MultiTaskElasticNet(alpha=0.5, l1_ratio=0.3),
    "MultiTaskElasticNetCV": lambda: MultiTaskElasticNetCV(cv=3, l1_ratio=[0.2, 0.8]),
}


@pytest.mark.parametrize("name", MULTI_TASK)
def test_multi_task(name, tmp_path):
    X, y = regression(n_targets=3)
    est = fit(make_pipeline(StandardScaler(), MULTI_TASK[name]()), X, y)
    both_dtypes(est, X, tmp_path)


def lrcv():
    return LogisticRegressionCV(Cs=3, cv=3, l1_ratios=(0,), scoring="neg_log_loss", use_legacy_attributes=False)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("labels", ["str", "int"])
def test_logistic_regression_cv(n_classes, labels, tmp_path):
    X, y = classification(n_classes, labels)
    est = fit(lrcv(), X, y)
    both_dtypes(est, X, tmp_path)
    both_dtypes(fit(make_pipeline(StandardScaler(), lrcv()),
                    X, y), X, tmp_path)


def test_ransac_multi_target(tmp_path):
    X, y = regression(n_targets=2)
    both_dtypes(fit(RANSACRegressor(LinearRegression(), random_state=0), X, y), X, tmp_path)


@pytest.mark.parametrize("piped", [False, True])
def test_sgd_one_class_svm(piped, tmp_path):
    X, _ = regression()
    est = SGDOneClassSVM(nu=0.2, random_state=0)
    est = fit(make_pipeline(StandardScaler(), est) if piped else est, X)
    assert set(est.predict(X)) == {-1, 1}
    both_dtypes(est, X, tmp_path)


# ---------------------------------------------------------------- wrappers

def _searches():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import (GridSearchCV, HalvingGridSearchCV, HalvingRandomSearchCV,
                                         RandomizedSearchCV)

    return {"grid": lambda e, p: GridSearchCV(e, p, cv=3),
            "random": lambda e, p: RandomizedSearchCV(e, p, n_iter=2, cv=3, random_state=0),
            "halving_grid": lambda e, p: HalvingGridSearchCV(e, p, cv=3, random_state=0),
            "halving_random": lambda e, p: HalvingRandomSearchCV(e, p, n_candidates=2, cv=3, random_state=0)}


SEARCHES = _searches()


@pytest.mark.parametrize("search", SEARCHES)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_search_classifier(search, n_classes, tmp_path):
    from sklearn.linear_model import LogisticRegression

    X, y = classification(n_classes)
    est = fit(SEARCHES[search](make_pipeline(StandardScaler(), LogisticRegression()),
                               {"logisticregression__C": [0.1, 1.0, 10.0]}), X, y)
    both_dtypes(est, X, tmp_path)


@pytest.mark.parametrize("search", ["grid", "random", "halving_grid"])
def test_search_regressor_and_transformer(search, tmp_path):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import Ridge

    X, y = regression()
    both_dtypes(fit(SEARCHES[search](Ridge(), {"alpha": [0.1, 1.0, 10.0]}), X, y), X, tmp_path)
    # A search over a transformer (scored by PCA.score) transforms, alone and mid-Pipeline.
    pca = fit(SEARCHES[search](PCA(), {"n_components": [2, 3]}), X)
    both_dtypes(pca, X, tmp_path, skip=("score_samples",))  # PCA's exporter has transform only
    both_dtypes(fit(make_pipeline(SEARCHES[search](PCA(), {"n_components": [2, 3]}), Ridge()), X, y), X, tmp_path)


def _frame(n: int = 90):
    import pandas as pd

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.normal(40, 10, n), "city": rng.choice(["paris", "oslo", "rome"], n),
                       "income": rng.normal(3, 1, n)})
    y = np.where(df["age"] / 10 + (df["city"] == "oslo") * 2 + rng.normal(0, 1, n) > 5, "yes", "no")
    return df, y


def test_search_over_columns_keeps_named_inputs(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.preprocessing import OneHotEncoder

    df, y = _frame()
    pipe = make_pipeline(ColumnTransformer([("num", StandardScaler(), ["age", "income"]),
                                            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])]),
                         LogisticRegression())
    est = fit(GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0]}, cv=3), df, y)
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    assert sorted(s.name for s in m.inputs) == ["age", "city", "income"]
    np.testing.assert_array_equal(m.predict(df), est.predict(df))
    np.testing.assert_allclose(m.predict_proba(df), est.predict_proba(df), rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(m.decision_function(df), est.decision_function(df), rtol=RTOL64, atol=ATOL64)
    # The same search inside a FrozenEstimator, and frozen in a threshold classifier.
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import FixedThresholdClassifier

    for wrapped in (FrozenEstimator(est), fit(FixedThresholdClassifier(FrozenEstimator(est), threshold=0.3), df, y)):
        mle_runtime.dump(wrapped, tmp_path / "f.mle")
        f = mle_runtime.load(tmp_path / "f.mle")
        np.testing.assert_array_equal(f.predict(df), wrapped.predict(df))
        np.testing.assert_allclose(f.predict_proba(df), wrapped.predict_proba(df), rtol=RTOL64, atol=ATOL64)


def test_search_refit_false_is_refused(tmp_path):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV

    X, y = regression()
    refused(fit(GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=3, refit=False), X, y),
            r"GridSearchCV\(refit=False\) without best_estimator_", tmp_path)


@pytest.mark.parametrize("inner", ["lr", "frozen_pipe", "svc"])
def test_frozen_estimator(inner, tmp_path):
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    X, y = classification(3)
    base = {"lr": lambda: LogisticRegression(), "frozen_pipe": lambda: make_pipeline(StandardScaler(), SVC()),
            "svc": lambda: SVC(kernel="linear")}[inner]()
    est = FrozenEstimator(fit(base, X, y))
    both_dtypes(est, X, tmp_path)
    both_dtypes(FrozenEstimator(fit(StandardScaler(), X)), X, tmp_path)  # a frozen transformer


def _threshold_cases():
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    return {"proba": (LogisticRegression, "auto"), "decision": (LinearSVC, "auto"),
            "decision_of_lr": (LogisticRegression, "decision_function")}


THRESHOLD_CASES = _threshold_cases()


@pytest.mark.parametrize("case", THRESHOLD_CASES)
@pytest.mark.parametrize("pos_label", [None, "ant", "bee"])
@pytest.mark.parametrize("threshold", ["auto", "at_a_score", 0.3])
def test_fixed_threshold_classifier(case, pos_label, threshold, tmp_path):
    from sklearn.model_selection import FixedThresholdClassifier

    X, y = classification(2)
    cls, response = THRESHOLD_CASES[case]
    if pos_label is None:  # pos_label None scores classes_[1] and needs labels {0, 1} or {-1, 1} to fit
        y = (y == "bee").astype(int)
    est = fit(FixedThresholdClassifier(cls(), threshold=0.0 if threshold == "at_a_score" else threshold,
                                       pos_label=pos_label, response_method=response), X, y)
    if threshold == "at_a_score":
        # A threshold equal to a row's response, on a row where the graph's
        # response is scikit-learn's bit for bit: >= puts it on the positive side.
        from sklearn.utils._response import _get_response_values_binary

        want, _, used = _get_response_values_binary(est.estimator_, X, est._get_response_method(),
                                                     pos_label=pos_label, return_response_method_used=True)
        mle_runtime.dump(est, tmp_path / "probe.mle")
        got = getattr(mle_runtime.load(tmp_path / "probe.mle"), used)(X)
        if used == "predict_proba":
            got = got[:, list(est.classes_).index(pos_label if pos_label is not None else est.classes_[1])]
        elif pos_label is not None and pos_label == est.classes_[0]:
            got = -got
        i = int(np.flatnonzero(got == want)[0])
        est.threshold = float(want[i])
        assert est.predict(X)[i] == (pos_label if pos_label is not None else est.classes_[1])
    check_parity(est, X, tmp_path / "a.mle")
    check_parity(make_pipeline(StandardScaler(), est).fit(X, y), X, tmp_path / "b.mle")
    check_parity(est, X, tmp_path / "c.mle", X_run=X.astype(np.float32))


@pytest.mark.parametrize("scoring,pos_label", [("balanced_accuracy", None), ("f1", "ant"), ("f1", "bee")])
def test_tuned_threshold_classifier(scoring, pos_label, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, make_scorer
    from sklearn.model_selection import TunedThresholdClassifierCV

    X, y = classification(2)
    if pos_label is not None:
        scoring = make_scorer(f1_score, pos_label=pos_label)
    est = fit(TunedThresholdClassifierCV(make_pipeline(StandardScaler(), LogisticRegression()), scoring=scoring,
                                         cv=3, thresholds=20, random_state=0), X, y)
    both_dtypes(est, X, tmp_path)
    both_dtypes(fit(TunedThresholdClassifierCV(LogisticRegression(), response_method="decision_function",
                                               scoring=scoring, cv=3, thresholds=20), X, y), X, tmp_path)


def test_threshold_classifier_refusals(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import FixedThresholdClassifier

    X, y = classification(2)
    est = fit(FixedThresholdClassifier(LogisticRegression(), pos_label="ant"), X, y)
    est.estimator_.classes_ = np.array(["ant", "bee", "cat"])  # three classes: scikit-learn refuses too
    refused(est, "FixedThresholdClassifier over LogisticRegression fitted on 3 classes", tmp_path)


@pytest.mark.parametrize("strategy", ["prior", "most_frequent", "constant"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("labels", ["str", "int"])
def test_dummy_classifier(strategy, n_classes, labels, tmp_path):
    from sklearn.dummy import DummyClassifier

    X, y = classification(n_classes, labels, n=90)
    y = y[np.argsort(np.arange(len(y)) % 7, kind="stable")]  # uneven priors
    constant = y[3] if strategy == "constant" else None
    est = fit(DummyClassifier(strategy=strategy, constant=constant), X, y)
    both_dtypes(est, X, tmp_path)
    both_dtypes(fit(make_pipeline(StandardScaler(), DummyClassifier(strategy=strategy, constant=constant)), X, y),
                X, tmp_path)


@pytest.mark.parametrize("strategy", ["stratified", "uniform"])
def test_dummy_classifier_random_is_refused(strategy, tmp_path):
    from sklearn.dummy import DummyClassifier

    X, y = classification(2)
    refused(fit(DummyClassifier(strategy=strategy, random_state=0), X, y),
            rf"DummyClassifier\(strategy='{strategy}'\) \(its predictions are random\)", tmp_path)


@pytest.mark.parametrize("strategy,kw", [("mean", {}), ("median", {}), ("quantile", {"quantile": 0.3}),
                                         ("constant", {"constant": 2.5})])
@pytest.mark.parametrize("n_targets", [1, 3])
def test_dummy_regressor(strategy, kw, n_targets, tmp_path):
    from sklearn.dummy import DummyRegressor

    X, y = regression(n_targets)
    if strategy == "constant" and n_targets > 1:
        kw = {"constant": [2.5, -1.0, 7.25]}
    est = fit(DummyRegressor(strategy=strategy, **kw), X, y)
    assert check_parity(est, X, tmp_path / "a.mle") == 0.0  # the constant itself, exactly
    both_dtypes(est, X, tmp_path)
    both_dtypes(fit(make_pipeline(StandardScaler(), DummyRegressor(strategy=strategy, **kw)), X, y), X, tmp_path)


# ------------------------------------------------------------------ others

KERNELS = [("linear", {}), ("poly", {"degree": 2, "gamma": 0.3, "coef0": 0.5}), ("poly", {}), ("rbf", {}),
           ("rbf", {"gamma": 0.2}), ("laplacian", {"gamma": 0.3}), ("sigmoid", {"gamma": 0.05, "coef0": 0.1}),
           ("cosine", {})]


@pytest.mark.parametrize("kernel,kw", KERNELS, ids=lambda v: str(v))
@pytest.mark.parametrize("n_targets", [1, 2])
def test_kernel_ridge(kernel, kw, n_targets, tmp_path):
    from sklearn.kernel_ridge import KernelRidge

    X, y = regression(n_targets, n=80)
    est = fit(make_pipeline(StandardScaler(), KernelRidge(alpha=0.5, kernel=kernel, **kw)), X, y)
    both_dtypes(est, X, tmp_path)


def test_kernel_ridge_chi2_and_refusals(tmp_path):
    from sklearn.kernel_ridge import KernelRidge

    X, y = regression(n=60)
    X = np.abs(X)
    both_dtypes(fit(KernelRidge(kernel="chi2", gamma=0.5), X, y), X, tmp_path)
    refused(fit(KernelRidge(kernel=lambda a, b: float(a @ b)), X, y), r"KernelRidge\(kernel=<function", tmp_path)
    refused(fit(KernelRidge(kernel="precomputed"), X @ X.T, y), r"KernelRidge\(kernel='precomputed'\)", tmp_path)


@pytest.mark.parametrize("whiten", [False, True])
def test_incremental_pca(whiten, tmp_path):
    from sklearn.decomposition import IncrementalPCA
    from sklearn.linear_model import LogisticRegression

    X, y = classification(3)
    est = fit(IncrementalPCA(n_components=3, batch_size=40, whiten=whiten), X)
    both_dtypes(est, X, tmp_path)
    both_dtypes(fit(make_pipeline(IncrementalPCA(n_components=3, whiten=whiten), LogisticRegression()), X, y), X,
                tmp_path)


@pytest.mark.parametrize("density", ["auto", 0.3, 1.0])
@pytest.mark.parametrize("dense_output", [False, True])
def test_sparse_random_projection(density, dense_output, tmp_path):
    from sklearn.linear_model import Ridge
    from sklearn.random_projection import SparseRandomProjection

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 40))
    X[:, 3] = -0.0
    est = fit(SparseRandomProjection(n_components=12, density=density, dense_output=dense_output,
                                     random_state=0), X)
    worst = check_parity(est, X, tmp_path / "a.mle")
    if density != 1.0:
        assert worst == 0.0  # scipy's order: bit for bit, signs of zero included
        m = mle_runtime.load(tmp_path / "a.mle")
        assert np.array_equal(np.signbit(m.transform(X)), np.signbit(est.transform(X)))
        assert m.transform(X).tobytes() == est.transform(X).tobytes()
    both_dtypes(est, X, tmp_path)
    y = X[:, 0] - X[:, 1]
    both_dtypes(fit(make_pipeline(SparseRandomProjection(n_components=10, random_state=0), Ridge()), X, y), X,
                tmp_path)


def test_gaussian_random_projection(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.random_projection import GaussianRandomProjection

    X, y = classification(2)
    both_dtypes(fit(GaussianRandomProjection(n_components=4, random_state=0), X), X, tmp_path)
    both_dtypes(fit(make_pipeline(GaussianRandomProjection(n_components=4, random_state=0), LogisticRegression()),
                    X, y), X, tmp_path)
    refused(fit(GaussianRandomProjection(n_components=4, random_state=0), X.astype(np.float32)),
            "GaussianRandomProjection fitted on float32 data", tmp_path)


@pytest.mark.parametrize("features", ["missing-only", "all"])
@pytest.mark.parametrize("missing", ["nan", -1])
def test_missing_indicator(features, missing, tmp_path):
    from sklearn.impute import MissingIndicator

    rng = np.random.default_rng(0)
    X = rng.integers(-1, 4, size=(40, 5)).astype(np.float64)
    mv = np.nan if missing == "nan" else -1
    X[X == -1] = mv
    X[:, 1] = 2.0  # never missing: dropped by missing-only
    est = fit(MissingIndicator(features=features, missing_values=mv), X)
    got = both_dtypes(est, X, tmp_path)
    assert got == 0.0
    m = mle_runtime.load(tmp_path / "a.mle")
    assert m.transform(X).dtype == np.bool_
    if features == "missing-only":
        bad = X.copy()
        bad[0, 1] = mv  # missing where fit saw none: scikit-learn raises
        with pytest.raises(ValueError):
            est.transform(bad)
        with pytest.raises(mle_runtime.MLEError, match="MissingIndicator"):
            m.transform(bad)
        lax = fit(MissingIndicator(features=features, missing_values=mv, error_on_new=False), X)
        mle_runtime.dump(lax, tmp_path / "lax.mle")
        np.testing.assert_array_equal(mle_runtime.load(tmp_path / "lax.mle").transform(bad), lax.transform(bad))
    refused(fit(MissingIndicator(sparse=True, missing_values=mv), X), r"MissingIndicator\(sparse=True\)", tmp_path)


def _multilabel(n: int = 100):
    X, _ = classification(2, "int", n=n)
    Y = np.column_stack([X[:, 0] + X[:, 1] > 0, X[:, 2] - X[:, 0] > 0.3, X[:, 1] * X[:, 3] > 0]).astype(int)
    return X, Y


@pytest.mark.parametrize("chain_method", ["predict", "predict_proba", "predict_log_proba", "decision_function"])
@pytest.mark.parametrize("order", [None, [2, 0, 1]])
def test_classifier_chain(chain_method, order, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multioutput import ClassifierChain

    X, Y = _multilabel()
    est = fit(ClassifierChain(LogisticRegression(), order=order, chain_method=chain_method), X, Y)
    assert est.predict(X).dtype == np.float64
    both_dtypes(est, X, tmp_path)
    both_dtypes(fit(make_pipeline(StandardScaler(), ClassifierChain(make_pipeline(StandardScaler(),
                                                                                  LogisticRegression()),
                                                                    order="random", random_state=3,
                                                                    chain_method=chain_method)), X, Y), X, tmp_path)


def test_classifier_chain_over_a_tree_and_refusal(tmp_path):
    from sklearn.multioutput import ClassifierChain
    from sklearn.tree import DecisionTreeClassifier

    X, Y = _multilabel()
    both_dtypes(fit(ClassifierChain(DecisionTreeClassifier(max_depth=3, random_state=0), order=[1, 2, 0]), X, Y),
                X, tmp_path)
    Y3 = Y.copy()
    Y3[::3, 0] = 2  # a target of three classes: scikit-learn's chain cannot predict with it either
    refused(fit(ClassifierChain(DecisionTreeClassifier(max_depth=3)), X, Y3),
            r"ClassifierChain over DecisionTreeClassifier with classes \[0, 1, 2\]", tmp_path)


@pytest.mark.parametrize("order", [None, [1, 2, 0]])
def test_regressor_chain(order, tmp_path):
    from sklearn.linear_model import Ridge
    from sklearn.multioutput import RegressorChain

    X, Y = regression(n_targets=3)
    both_dtypes(fit(RegressorChain(Ridge(), order=order), X, Y), X, tmp_path)
    both_dtypes(fit(make_pipeline(StandardScaler(), RegressorChain(DecisionTreeRegressor(max_depth=3),
                                                                   order=order)), X, Y), X, tmp_path)


def test_missing_indicator_feeds_numeric_steps(tmp_path):
    """A bool MissingIndicator output inside a FeatureUnion before a
    classifier is promoted to the graph's floats, as numpy's hstack does;
    NaN may be passed since every member handles it."""
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import make_union

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    X[::5, 1] = np.nan
    y = np.array(["no", "yes"])[(np.nan_to_num(X[:, 0]) + np.isnan(X[:, 1]) > 0.3).astype(int)]
    est = make_pipeline(make_union(SimpleImputer(), MissingIndicator()), LogisticRegression(max_iter=500)).fit(X, y)
    mle_runtime.dump(est, tmp_path / "p.mle")
    m = mle_runtime.load(tmp_path / "p.mle")
    assert m.predict(X).tolist() == est.predict(X).tolist()
    np.testing.assert_allclose(m.predict_proba(X), est.predict_proba(X), rtol=1e-9, atol=1e-12)
