"""Parity with scikit-learn for the meta-estimators (Voting, Stacking,
Bagging, AdaBoost, CalibratedClassifierCV, MultiOutput, OneVsOne) over
several inner estimators each: every method scikit-learn offers, on binary
and multiclass data with string labels and on regression data, float64
and float32; the refusals.

Tolerances: labels identical on every row (values and dtype); scores within
1e-9 relative, 1e-12 absolute (log-probabilities near 0 differ by an ulp of
the log-sum they come from: the absolute bound covers them); a float32
graph agrees to float32 precision."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (AdaBoostClassifier, AdaBoostRegressor, BaggingClassifier, BaggingRegressor,
                              RandomForestClassifier, StackingClassifier, StackingRegressor, VotingClassifier,
                              VotingRegressor)
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, Perceptron, Ridge
from sklearn.multiclass import OneVsOneClassifier
from sklearn.multioutput import MultiOutputClassifier, MultiOutputRegressor
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import mle_runtime
import parity

RTOL64, ATOL64 = 1e-9, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-6


def classification(n_classes: int, labels: str = "str", n: int = 150, seed: int = 0):
    X, y = make_classification(n_samples=n, n_features=6, n_informative=4, n_redundant=1, n_classes=n_classes,
                               n_clusters_per_class=1, random_state=seed)
    if labels == "str":
        y = np.array(["ant", "bee", "cat", "dog"])[y]
    return X, y


def regression(n_targets: int = 1):
    return make_regression(n_samples=150, n_features=6, n_informative=5, n_targets=n_targets, noise=0.5,
                           random_state=0)


def fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


def check_parity(est, X, path, dtype=np.float64, rtol=RTOL64, atol=ATOL64, X_run=None, skip=()):
    """Dumps est, loads it, and compares every method scikit-learn offers
    on X_run; labels must be identical (values and dtype)."""
    p = parity.compare(est, X, path, dtype=dtype, X_run=X_run, rtol=rtol, atol=atol, skip=skip,
                       exact=lambda name, want: name == "predict" and want.dtype.kind not in "f")
    assert "predict" in p.checked, p.checked
    return p.model, p.checked


def lr():
    return LogisticRegression(max_iter=1000)


def tree():
    return DecisionTreeClassifier(max_depth=3, random_state=0)


def reg_tree():
    return DecisionTreeRegressor(max_depth=4, random_state=0)


# ------------------------------------------------------------------ voting

VOTERS = {
    "lr_tree_nb": lambda: [("lr", lr()), ("tree", tree()), ("nb", GaussianNB())],
    "forest_knn_pipe": lambda: [("rf", RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0)),
                                ("knn", KNeighborsClassifier(5)),
                                ("pipe", make_pipeline(StandardScaler(), lr()))],
}


@pytest.mark.parametrize("voters", VOTERS)
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("voting,weights,flatten", [("soft", None, True), ("soft", [1, 2, 0.5], False),
                                                    ("hard", None, True), ("hard", [2, 1, 1], True)])
def test_voting_classifier(voters, n_classes, voting, weights, flatten, tmp_path):
    X, y = classification(n_classes)
    est = fit(VotingClassifier(VOTERS[voters](), voting=voting, weights=weights, flatten_transform=flatten), X, y)
    _, checked = check_parity(est, X, tmp_path / "m.mle")
    assert "transform" in checked and ("predict_proba" in checked) == (voting == "soft")


def test_hard_voting_ties_and_negative_weights(tmp_path):
    """np.argmax(np.bincount(labels, weights)): the first class among equal
    totals wins, and bincount stops at the largest label predicted, so with
    negative weights a class past it (no votes) does not win."""
    X, y = classification(3)
    # Three different voters, so that all three disagree on some rows (a three-way tie).
    est = fit(VotingClassifier([("lr", lr()), ("tree", DecisionTreeClassifier(max_depth=1, random_state=0)),
                                ("nb", GaussianNB())], voting="hard"), X, y)
    preds = np.array([e.predict(X) for e in est.estimators_]).T
    assert (np.array([len(set(r)) for r in preds]) == 3).any() or (preds[:, 0] != preds[:, 1]).any()
    check_parity(est, X, tmp_path / "m.mle")
    neg = fit(VotingClassifier([("a", tree()), ("b", GaussianNB())], voting="hard", weights=[-1.0, -2.0]), X, y)
    preds = np.array([e.predict(X) for e in neg.estimators_]).T
    assert ((preds[:, 0] == preds[:, 1]) & (preds[:, 0] < 2)).any()  # totals < 0 with an unreached class after
    check_parity(neg, X, tmp_path / "n.mle")


def test_dropped_estimators(tmp_path):
    """'drop' entries: their weights are left out (_weights_not_none), as
    are their stack_method_ entries."""
    X, y = classification(3)
    for voting in ("soft", "hard"):
        est = fit(VotingClassifier([("lr", lr()), ("d", "drop"), ("nb", GaussianNB())], voting=voting,
                                   weights=[1, 5, 2]), X, y)
        check_parity(est, X, tmp_path / "m.mle")
    est = fit(StackingClassifier([("lr", lr()), ("d", "drop"), ("nb", GaussianNB())], cv=3), X, y)
    check_parity(est, X, tmp_path / "m.mle")


def test_feature_names(tmp_path):
    """Fitted on a DataFrame: the model checks the column names, as scikit-learn does."""
    import pandas as pd
    X, y = classification(3)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = fit(BaggingClassifier(lr(), n_estimators=3, max_features=0.5, random_state=0), df, y)
    m, _ = check_parity(est, df, tmp_path / "m.mle")
    with pytest.raises(mle_runtime.MLEShapeError, match="feature names"):
        m.predict(df.rename(columns={"f0": "g0"}))


@pytest.mark.parametrize("weights", [None, [3, 1, 2]])
def test_voting_regressor(weights, tmp_path):
    X, y = regression()
    est = fit(VotingRegressor([("lin", LinearRegression()), ("tree", reg_tree()), ("ridge", Ridge())],
                              weights=weights), X, y)
    _, checked = check_parity(est, X, tmp_path / "m.mle")
    assert checked == ["predict", "transform"]


# ---------------------------------------------------------------- stacking

@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("stack_method,passthrough,final", [
    ("auto", False, None), ("predict_proba", True, tree()), ("decision_function", False, GaussianNB()),
    ("predict", True, lr())])
def test_stacking_classifier(n_classes, stack_method, passthrough, final, tmp_path):
    X, y = classification(n_classes)
    if stack_method == "auto":
        estimators = [("lr", lr()), ("tree", tree()), ("svc", LinearSVC())]  # proba, proba, decision
    elif stack_method == "decision_function":
        estimators = [("lr", lr()), ("svc", SVC()), ("pipe", make_pipeline(StandardScaler(), LinearSVC()))]
    else:
        estimators = [("lr", lr()), ("tree", tree()), ("nb", GaussianNB())]
    est = fit(StackingClassifier(estimators, final_estimator=final, stack_method=stack_method,
                                 passthrough=passthrough, cv=3), X, y)
    _, checked = check_parity(est, X, tmp_path / "m.mle")
    assert "transform" in checked and "predict_proba" in checked
    if n_classes == 2 and stack_method in ("auto", "predict_proba"):
        width = est.transform(X[:1]).shape[1]  # one column per binary predict_proba
        assert width == len(estimators) + (X.shape[1] if passthrough else 0)


@pytest.mark.parametrize("passthrough", [False, True])
def test_stacking_regressor(passthrough, tmp_path):
    X, y = regression()
    est = fit(StackingRegressor([("lin", LinearRegression()), ("tree", reg_tree())], final_estimator=Ridge(),
                                passthrough=passthrough, cv=3), X, y)
    check_parity(est, X, tmp_path / "m.mle")


# ------------------------------------------------------------- calibration

@pytest.mark.parametrize("base", [lr, tree, GaussianNB, LinearSVC], ids=lambda f: f.__name__)
@pytest.mark.parametrize("n_classes", [2, 3, 4])
@pytest.mark.parametrize("ensemble", [True, False])
@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibrated(base, n_classes, ensemble, method, tmp_path):
    X, y = classification(n_classes)
    est = fit(CalibratedClassifierCV(base(), method=method, cv=3, ensemble=ensemble), X, y)
    assert len(est.calibrated_classifiers_) == (3 if ensemble else 1)
    check_parity(est, X, tmp_path / "m.mle")


def test_calibrated_frozen_estimator(tmp_path):
    X, y = classification(3)
    est = fit(CalibratedClassifierCV(FrozenEstimator(fit(lr(), X, y))), X, y)
    check_parity(est, X, tmp_path / "m.mle")


def test_calibrated_zero_sum_is_uniform(tmp_path):
    """Where every class's calibrated value is 0 the row is uniform
    (np.divide's where=); set here through one fold's fitted parameters."""
    X, y = classification(3)
    est = fit(CalibratedClassifierCV(lr(), cv=2), X, y)
    for cal in est.calibrated_classifiers_[0].calibrators:
        cal.a_, cal.b_ = 0.0, 800.0  # expit(-800) = 0
    assert np.isclose(est.calibrated_classifiers_[0].predict_proba(X), 1 / 3).all()
    check_parity(est, X, tmp_path / "m.mle")


# ----------------------------------------------------------------- bagging

@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("make", [
    lambda: BaggingClassifier(lr(), n_estimators=5, max_features=0.6, bootstrap_features=True, random_state=0),
    lambda: BaggingClassifier(DecisionTreeClassifier(max_depth=3), n_estimators=6, max_samples=20, random_state=0),
    lambda: BaggingClassifier(KNeighborsClassifier(3), n_estimators=6, max_samples=6, random_state=0),
    lambda: BaggingClassifier(Perceptron(), n_estimators=5, max_features=3, random_state=0),
    lambda: BaggingClassifier(GaussianNB(), n_estimators=4, max_samples=8, n_jobs=2, random_state=0),
], ids=["lr_features", "tree", "knn_missing_classes", "perceptron_votes", "nb_two_jobs"])
def test_bagging_classifier(make, n_classes, tmp_path):
    X, y = classification(n_classes)
    est = fit(make(), X, y)
    _, checked = check_parity(est, X, tmp_path / "m.mle")
    assert {"predict_proba", "predict_log_proba"} <= set(checked)


def test_bagging_classifier_covers_missing_classes():
    """The KNN case above fits estimators on bootstraps that miss a class
    (estimators without sample_weight are fitted on the drawn rows alone)."""
    for n_classes in (2, 3):
        X, y = classification(n_classes)
        est = BaggingClassifier(KNeighborsClassifier(3), n_estimators=6, max_samples=6, random_state=0).fit(X, y)
        assert any(len(e.classes_) < n_classes for e in est.estimators_)


@pytest.mark.parametrize("make", [
    lambda: BaggingRegressor(LinearRegression(), n_estimators=5, max_features=0.5, bootstrap_features=True,
                             random_state=0),
    lambda: BaggingRegressor(DecisionTreeRegressor(max_depth=5), n_estimators=5, random_state=0),
], ids=["linear", "tree"])
def test_bagging_regressor(make, tmp_path):
    X, y = regression()
    check_parity(fit(make(), X, y), X, tmp_path / "m.mle")


# ------------------------------------------------------------- multioutput

@pytest.mark.parametrize("base", [lr, tree, GaussianNB], ids=lambda f: f.__name__)
def test_multi_output_classifier(base, tmp_path):
    X, y1 = classification(3)
    _, y2 = classification(2, seed=1)
    est = fit(MultiOutputClassifier(base()), X, np.column_stack([y1, y2]))
    m, _ = check_parity(est, X, tmp_path / "m.mle", skip=("predict_proba",))
    outs, got = m.run(X), m.predict_proba(X)
    assert isinstance(got, list) and len(got) == 2  # one array per target, as scikit-learn returns
    for i, p in enumerate(est.predict_proba(X)):
        np.testing.assert_allclose(outs[f"probabilities_{i}"], p, rtol=RTOL64, atol=ATOL64)
        np.testing.assert_allclose(got[i], p, rtol=RTOL64, atol=ATOL64)
    with pytest.raises(AttributeError, match="predict_log_proba"):  # as scikit-learn's has none
        m.predict_log_proba(X)


def test_multi_output_classifier_mixed_label_dtypes(tmp_path):
    """Targets with str, int, float and bool labels stack to numpy's str
    array ('<U32': numbers written as numpy writes them); int and float
    labels to float64."""
    X, y = classification(3)
    _, yi = classification(2, "int", seed=1)
    est = fit(MultiOutputClassifier(lr()), X, np.column_stack([yi, yi]))
    est.estimators_ = [fit(lr(), X, y), fit(lr(), X, yi), fit(tree(), X, yi * 2.0 + 1), fit(lr(), X, yi > 0)]
    assert est.predict(X).dtype == np.dtype("<U32")
    check_parity(est, X, tmp_path / "m.mle", skip=("predict_proba",))
    est.estimators_ = est.estimators_[1:3]
    assert est.predict(X).dtype == np.float64
    check_parity(est, X, tmp_path / "n.mle", skip=("predict_proba",))


def test_multi_output_regressor(tmp_path):
    X, Y = regression(3)
    for base in (Ridge(), DecisionTreeRegressor(max_depth=4, random_state=0)):
        check_parity(fit(MultiOutputRegressor(base), X, Y), X, tmp_path / "m.mle")


# ----------------------------------------------------------- one-vs-one

@pytest.mark.parametrize("base", [lr, tree, GaussianNB, SVC], ids=lambda f: f.__name__)
@pytest.mark.parametrize("n_classes", [2, 3, 4])
def test_one_vs_one(base, n_classes, tmp_path):
    X, y = classification(n_classes)
    _, checked = check_parity(fit(OneVsOneClassifier(base()), X, y), X, tmp_path / "m.mle")
    assert checked == ["predict", "decision_function"]


@pytest.mark.parametrize("base", [lr, lambda: DecisionTreeClassifier(max_depth=1, random_state=0)],
                         ids=["lr", "stump"])
def test_one_vs_one_vote_ties(base, tmp_path):
    """Three classes, each winning one pair (rows spread wider than the
    training data): the votes tie and the confidences decide, as
    _ovr_decision_function does."""
    X, y = classification(3)
    X_run = np.random.default_rng(0).normal(scale=3, size=(600, X.shape[1]))
    est = fit(OneVsOneClassifier(base()), X, y)
    votes = np.floor(est.decision_function(X_run) + 0.5)  # the confidence term is within (-1/3, 1/3)
    assert (votes == 1).all(axis=1).sum() > 10
    check_parity(est, X, tmp_path / "m.mle", X_run=X_run)


# ---------------------------------------------------------------- adaboost

@pytest.mark.parametrize("make", [lambda: AdaBoostClassifier(n_estimators=20, random_state=0),
                                  lambda: AdaBoostClassifier(lr(), n_estimators=5, random_state=0),
                                  lambda: AdaBoostClassifier(GaussianNB(), n_estimators=5, learning_rate=0.5,
                                                             random_state=0)],
                         ids=["stumps", "lr", "nb"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_adaboost_classifier(make, n_classes, tmp_path):
    X, y = classification(n_classes)
    _, checked = check_parity(fit(make(), X, y), X, tmp_path / "m.mle")
    assert {"predict_proba", "predict_log_proba", "decision_function"} <= set(checked)


@pytest.mark.parametrize("make", [lambda: AdaBoostRegressor(n_estimators=30, random_state=0),
                                  lambda: AdaBoostRegressor(LinearRegression(), n_estimators=8, random_state=0)],
                         ids=["trees", "linear"])
def test_adaboost_regressor(make, tmp_path):
    X, y = regression()
    check_parity(fit(make(), X, y), X, tmp_path / "m.mle")


@pytest.mark.parametrize("n_estimators", [5, 16, 40])
def test_adaboost_regressor_weighted_median_with_ties(n_estimators, tmp_path):
    """Fully grown trees on a target of few values predict equal values on
    every row: the weighted median (cumulative weights in sorted order)
    matches scikit-learn's exactly."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = (X[:, 0] > 0).astype(float) + (X[:, 1] > 0.5) + rng.integers(0, 2, 150)
    est = AdaBoostRegressor(DecisionTreeRegressor(), n_estimators=n_estimators, random_state=1).fit(X, y)
    preds = np.array([e.predict(X) for e in est.estimators_]).T
    assert all(len(set(r)) < len(r) for r in preds)
    mle_runtime.dump(est, tmp_path / "m.mle")
    np.testing.assert_array_equal(mle_runtime.load(tmp_path / "m.mle").predict(X), est.predict(X))


# ----------------------------------------------------------------- float32

FLOAT32_CASES = [
    lambda: (VotingClassifier([("lr", lr()), ("tree", tree()), ("nb", GaussianNB())], voting="soft"), "clf"),
    lambda: (VotingClassifier([("lr", lr()), ("tree", tree())], voting="hard", weights=[1, 2]), "clf"),
    lambda: (StackingClassifier([("lr", lr()), ("tree", tree())], passthrough=True, cv=3), "clf"),
    lambda: (CalibratedClassifierCV(lr(), cv=3), "clf"),
    # Isotonic segments can be steep: over scores that float32 rounds coarsely
    # (GaussianNB's probabilities) the error grows past float32 precision.
    lambda: (CalibratedClassifierCV(lr(), method="isotonic", cv=3), "clf"),
    lambda: (BaggingClassifier(tree(), n_estimators=4, max_features=0.7, random_state=0), "clf"),
    lambda: (AdaBoostClassifier(n_estimators=10, random_state=0), "clf"),
    lambda: (OneVsOneClassifier(lr()), "clf"),
    lambda: (MultiOutputClassifier(tree()), "multi"),
    lambda: (VotingRegressor([("lin", LinearRegression()), ("tree", reg_tree())]), "reg"),
    lambda: (StackingRegressor([("lin", LinearRegression()), ("tree", reg_tree())], cv=3), "reg"),
    lambda: (BaggingRegressor(DecisionTreeRegressor(max_depth=4), n_estimators=4, random_state=0), "reg"),
    lambda: (AdaBoostRegressor(n_estimators=10, random_state=0), "reg"),
    lambda: (MultiOutputRegressor(Ridge()), "multireg"),
]


def _fitted(case):
    est, kind = case()
    if kind == "clf":
        X, y = classification(3)
    elif kind == "multi":
        X, y = classification(3)
        y = np.column_stack([y, y[::-1]])
    elif kind == "reg":
        X, y = regression()
    else:
        X, y = regression(2)
    return fit(est, X, y), X


def _id(case):
    return type(case()[0]).__name__


@pytest.mark.parametrize("case", FLOAT32_CASES, ids=_id)
def test_float32_inputs_to_float64_model(case, tmp_path):
    """float32 X is converted to float64 once; scikit-learn promotes it
    against the inner estimators' float64 parameters (trees round X to
    float32 either way), so both compute the same."""
    est, X = _fitted(case)
    check_parity(est, X, tmp_path / "m.mle", X_run=X.astype(np.float32), skip=("predict_proba",)
                 if isinstance(est, MultiOutputClassifier) else ())


@pytest.mark.parametrize("case", FLOAT32_CASES, ids=_id)
def test_float32_mode(case, tmp_path):
    """A float32 graph: labels agree wherever float32 rounding does not move
    a decision (none here), scores to float32 precision."""
    est, X = _fitted(case)
    X32 = X.astype(np.float32)
    # Regression targets here reach a few hundred: float32 precision is relative to that scale.
    atol = ATOL32 if case()[1] in ("clf", "multi") else RTOL32 * np.abs(est.predict(X)).max()
    m, _ = check_parity(est, X, tmp_path / "m.mle", dtype=np.float32, rtol=RTOL32, atol=atol, X_run=X32,
                        skip=("predict_proba",) if isinstance(est, MultiOutputClassifier) else ())
    assert m.inputs[0].dtype == np.float32


# ------------------------------------------------- nesting and pipelines

def test_meta_estimators_nest_and_sit_in_pipelines(tmp_path):
    X, y = classification(3)
    est = fit(make_pipeline(StandardScaler(), StackingClassifier(
        [("bag", BaggingClassifier(tree(), n_estimators=3, random_state=0)),
         ("vote", VotingClassifier([("lr", lr()), ("nb", GaussianNB())], voting="soft"))],
        final_estimator=CalibratedClassifierCV(lr(), cv=2), cv=3)), X, y)
    check_parity(est, X, tmp_path / "m.mle")


# ----------------------------------------------------------------- refusals

def _refused(est, match, tmp_path):
    with pytest.raises(mle_runtime.MLEUnsupportedError, match=match):
        mle_runtime.dump(est, tmp_path / "m.mle")


def test_refusals(tmp_path):
    X, y = classification(3)
    _refused(fit(CalibratedClassifierCV(lr(), method="temperature", cv=2), X, y),
             r"CalibratedClassifierCV\(method='temperature'\)", tmp_path)
    # scikit-learn's own predict fails here: soft voting needs predict_proba.
    _refused(fit(VotingClassifier([("lr", lr()), ("p", Perceptron())], voting="soft"), X, y),
             "VotingClassifier.*Perceptron", tmp_path)
    from sklearn.gaussian_process import GaussianProcessClassifier
    unsupported = GaussianProcessClassifier()
    _refused(fit(VotingClassifier([("lr", lr()), ("gp", unsupported)]), X, y), "GaussianProcessClassifier", tmp_path)
    _refused(fit(OneVsOneClassifier(SVC(kernel="precomputed")), X @ X.T, y), "pairwise", tmp_path)
    Xi, yi = classification(2, "int")
    est = fit(MultiOutputClassifier(lr()), Xi, np.column_stack([yi, yi]))
    est.estimators_ = [fit(lr(), Xi, np.array(["a", "b"], dtype=object)[yi]), fit(lr(), Xi, yi)]
    assert est.predict(Xi).dtype == object  # str and int labels as Python objects
    _refused(est, "MultiOutputClassifier.*object array of mixed types", tmp_path)
