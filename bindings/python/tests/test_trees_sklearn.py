"""scikit-learn trees and ensembles: exported models give scikit-learn's
answers — labels on every row, raw sums bit for bit, probabilities within an
ulp of the library's exp — on data with NaN and on inputs placed on, just
below and just above every split threshold (float64 and float32 neighbours)."""

import numpy as np
import pytest
from sklearn import ensemble, tree
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mle_runtime

RNG = np.random.default_rng(0)


def _data(n_classes=3, nan=True):
    X, y = make_classification(n_samples=600, n_features=8, n_informative=5, n_classes=n_classes, random_state=1)
    if nan:
        X[RNG.random(X.shape) < 0.05] = np.nan
    return X, y


def _threshold_rows(est, X, limit=400):
    """Rows where one feature sits exactly on a split threshold or on its
    float64/float32 neighbours."""
    trees = []
    for attr in ("estimators_",):
        for e in np.ravel(getattr(est, attr, [])):
            trees.append(e.tree_)
    if hasattr(est, "tree_"):
        trees.append(est.tree_)
    pairs = {(int(f), float(t)) for tr in trees for f, t in zip(tr.feature, tr.threshold)
             if f >= 0 and abs(t) < 1e30}
    rows = []
    base = np.nan_to_num(X[0])
    for f, t in sorted(pairs)[:limit]:
        t32 = float(np.float32(t))
        for v in (t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf), t32,
                  float(np.nextafter(np.float32(t), np.float32(-np.inf))),
                  float(np.nextafter(np.float32(t), np.float32(np.inf)))):
            r = base.copy()
            r[f] = v
            rows.append(r)
    return np.array(rows)


def _roundtrip(est, tmp_path):
    path = tmp_path / "m.mle"
    mle_runtime.dump(est, path)
    return mle_runtime.load(path)


def _same(est, m, X, methods, exact=("predict",), ulps=4):
    for meth in methods:
        want, got = getattr(est, meth)(X), getattr(m, meth)(X)
        assert got.shape == want.shape, meth
        if meth in exact or want.dtype.kind != "f":
            np.testing.assert_array_equal(got, want, err_msg=meth)
        else:
            # exp/pow: Go's math against the C library's, within a few ulps.
            np.testing.assert_allclose(got, want, rtol=ulps * 2.3e-16, atol=1e-15, err_msg=meth)


CLASSIFIERS = [
    tree.DecisionTreeClassifier(random_state=0),
    tree.ExtraTreeClassifier(random_state=0),
    ensemble.RandomForestClassifier(n_estimators=20, random_state=0),
    ensemble.ExtraTreesClassifier(n_estimators=20, random_state=0),
]


@pytest.mark.parametrize("est", CLASSIFIERS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_tree_classifiers_exact(est, n_classes, tmp_path):
    X, y = _data(n_classes)
    est.fit(X, y)
    m = _roundtrip(est, tmp_path)
    Xt = np.vstack([X, _threshold_rows(est, X)])
    _same(est, m, Xt, ["predict", "predict_proba"], exact=("predict", "predict_proba"))


def test_string_labels(tmp_path):
    X, y = _data(3)
    labels = np.array(["cat", "dog", "emu"])[y]
    est = ensemble.RandomForestClassifier(n_estimators=10, random_state=0).fit(X, labels)
    m = _roundtrip(est, tmp_path)
    np.testing.assert_array_equal(m.predict(X), est.predict(X))


@pytest.mark.parametrize("est", [tree.DecisionTreeRegressor(random_state=0), tree.ExtraTreeRegressor(random_state=0),
                                 ensemble.RandomForestRegressor(n_estimators=20, random_state=0),
                                 ensemble.ExtraTreesRegressor(n_estimators=20, random_state=0)],
                         ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_tree_regressors_exact(est, n_outputs, tmp_path):
    X, y = make_regression(n_samples=500, n_features=6, n_targets=n_outputs, random_state=0)
    X[RNG.random(X.shape) < 0.05] = np.nan
    est.fit(X, y)
    m = _roundtrip(est, tmp_path)
    _same(est, m, np.vstack([X, _threshold_rows(est, X)]), ["predict"])


@pytest.mark.parametrize("loss", ["log_loss", "exponential"])
def test_gradient_boosting_binary(loss, tmp_path):
    X, y = _data(2, nan=False)
    est = ensemble.GradientBoostingClassifier(n_estimators=30, loss=loss, random_state=0).fit(X, y)
    m = _roundtrip(est, tmp_path)
    Xt = np.vstack([X, _threshold_rows(est, X)])
    _same(est, m, Xt, ["predict", "decision_function", "predict_proba"], exact=("predict", "decision_function"))


def test_gradient_boosting_multiclass_and_nan(tmp_path):
    X, y = _data(3, nan=False)
    est = ensemble.GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, y)
    m = _roundtrip(est, tmp_path)
    _same(est, m, X, ["predict", "decision_function", "predict_proba"], exact=("predict", "decision_function"))
    # scikit-learn's GradientBoosting refuses NaN; so does the exported model.
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError):
        est.predict(Xn)
    with pytest.raises(ValueError):
        m.predict(Xn)


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "quantile"])
def test_gradient_boosting_regressor(loss, tmp_path):
    X, y = make_regression(n_samples=400, n_features=6, random_state=0)
    est = ensemble.GradientBoostingRegressor(n_estimators=30, loss=loss, random_state=0).fit(X, y)
    m = _roundtrip(est, tmp_path)
    _same(est, m, np.vstack([X, _threshold_rows(est, X)]), ["predict"])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_hist_gradient_boosting_classifier(n_classes, tmp_path):
    X, y = _data(n_classes)
    X[:, 2] = RNG.integers(0, 6, len(X))  # categorical, with an unseen category at predict time
    est = ensemble.HistGradientBoostingClassifier(max_iter=30, categorical_features=[2], random_state=0).fit(X, y)
    m = _roundtrip(est, tmp_path)
    Xt = X.copy()
    Xt[:20, 2] = 7  # unseen
    Xt[20:30, 2] = -1  # negative
    Xt[30:40, 2] = np.nan
    _same(est, m, Xt, ["predict", "decision_function", "predict_proba"], exact=("predict", "decision_function"))


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "poisson", "gamma", "quantile"])
def test_hist_gradient_boosting_regressor(loss, tmp_path):
    X, y = make_regression(n_samples=500, n_features=6, random_state=0)
    if loss in ("poisson", "gamma"):
        y = np.exp(y / 100) + 0.1
    X[RNG.random(X.shape) < 0.05] = np.nan
    kw = {"quantile": 0.8} if loss == "quantile" else {}
    est = ensemble.HistGradientBoostingRegressor(max_iter=30, loss=loss, random_state=0, **kw).fit(X, y)
    m = _roundtrip(est, tmp_path)
    _same(est, m, X, ["predict"], exact=() if loss in ("poisson", "gamma") else ("predict",))


def test_isolation_forest(tmp_path):
    X, _ = _data(2)
    est = ensemble.IsolationForest(n_estimators=50, max_features=0.7, random_state=0).fit(X)
    m = _roundtrip(est, tmp_path)
    Xt = np.vstack([X, _threshold_rows(est, X)])
    _same(est, m, Xt, ["predict", "decision_function", "score_samples"])


def test_pipeline_and_single_row(tmp_path):
    X, y = _data(3)
    est = make_pipeline(StandardScaler(), ensemble.RandomForestClassifier(n_estimators=10, random_state=0)).fit(X, y)
    m = _roundtrip(est, tmp_path)
    _same(est, m, X, ["predict", "predict_proba"], exact=("predict", "predict_proba"))
    np.testing.assert_array_equal(m.predict_proba(X[:1]), est.predict_proba(X[:1]))


def test_refusals(tmp_path):
    X, y = _data(2, nan=False)
    with pytest.raises(mle_runtime.MLEShapeError):
        m = _roundtrip(ensemble.RandomForestClassifier(n_estimators=3).fit(X, y), tmp_path)
        m.predict(X[:, :3])
    multi = ensemble.RandomForestClassifier(n_estimators=3).fit(X, np.c_[y, y])
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="multi-output"):
        mle_runtime.dump(multi, tmp_path / "x.mle")
    custom = ensemble.GradientBoostingRegressor(n_estimators=3, init=tree.DecisionTreeRegressor()).fit(X, y)
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="init"):
        mle_runtime.dump(custom, tmp_path / "y.mle")
