"""Parity with scikit-learn: every supported estimator, on binary,
multiclass (string labels too) and regression data, float64 and float32."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import (ARDRegression, BayesianRidge, ElasticNet, ElasticNetCV, GammaRegressor,
                                  HuberRegressor, Lars, Lasso, LassoCV, LassoLars, LassoLarsIC, LinearRegression,
                                  LogisticRegression, OrthogonalMatchingPursuit, PassiveAggressiveClassifier,
                                  PassiveAggressiveRegressor, Perceptron, PoissonRegressor, QuantileRegressor, Ridge,
                                  RidgeCV, RidgeClassifier, RidgeClassifierCV, SGDClassifier, SGDRegressor,
                                  TweedieRegressor)
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, Normalizer, RobustScaler, StandardScaler
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeClassifier

import mle_runtime
import parity
from sklearn.base import is_classifier

RTOL64, ATOL64 = 1e-9, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-6


def classification(n_classes: int, labels: str = "int", seed: int = 0):
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, n_redundant=1, n_classes=n_classes,
                               n_clusters_per_class=1, random_state=seed)
    if labels == "str":
        y = np.array(["ant", "bee", "cat", "dog"])[y]
    elif labels == "int32":
        y = (y * 7 - 3).astype(np.int32)
    return X, y


def regression(n_targets: int = 1, seed: int = 0):
    X, y = make_regression(n_samples=300, n_features=8, n_informative=6, n_targets=n_targets, noise=0.5,
                           random_state=seed)
    return X, y


def fit(est, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y) if y is not None else est.fit(X)


def check_parity(est, X, path, dtype=np.float64, rtol=RTOL64, atol=ATOL64, X_run=None):
    """Dumps est, loads it, and compares every method it offers on X_run;
    a classifier's labels must be identical, dtype included."""
    return parity.compare(est, X, path, dtype=dtype, X_run=X_run, rtol=rtol, atol=atol,
                          exact=lambda name, want: name == "predict" and is_classifier(est)).model


CLASSIFIERS = [
    lambda: LogisticRegression(max_iter=2000),
    lambda: OneVsRestClassifier(LogisticRegression(max_iter=2000)),
    lambda: OneVsRestClassifier(SGDClassifier(loss="modified_huber", random_state=0)),
    lambda: OneVsRestClassifier(LinearSVC(random_state=0)),
    lambda: SGDClassifier(loss="log_loss", random_state=0),
    lambda: SGDClassifier(loss="modified_huber", random_state=0),
    lambda: SGDClassifier(loss="hinge", random_state=0),
    lambda: LinearSVC(random_state=0),
    lambda: RidgeClassifier(alpha=0.5), lambda: RidgeClassifierCV(), lambda: Perceptron(random_state=0),
    lambda: PassiveAggressiveClassifier(random_state=0),
    lambda: MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0),
    lambda: MLPClassifier(hidden_layer_sizes=(12, 6), activation="tanh", max_iter=300, random_state=0),
    lambda: MLPClassifier(hidden_layer_sizes=(10,), activation="logistic", max_iter=300, random_state=0),
    lambda: MLPClassifier(hidden_layer_sizes=(10,), activation="identity", max_iter=300, random_state=0),
]

REGRESSORS = [
    lambda: LinearRegression(), lambda: Ridge(alpha=0.5), lambda: Lasso(alpha=0.1), lambda: ElasticNet(alpha=0.1),
    lambda: SGDRegressor(random_state=0), lambda: LinearSVR(random_state=0, max_iter=5000),
    lambda: MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0),
    lambda: LinearRegression(fit_intercept=False),
    lambda: RidgeCV(), lambda: LassoCV(cv=3), lambda: ElasticNetCV(cv=3), lambda: Lars(), lambda: LassoLars(alpha=0.01),
    lambda: LassoLarsIC(), lambda: OrthogonalMatchingPursuit(), lambda: PassiveAggressiveRegressor(random_state=0),
    lambda: HuberRegressor(max_iter=500), lambda: QuantileRegressor(alpha=0.01), lambda: BayesianRidge(),
    lambda: ARDRegression(),
]

TRANSFORMERS = [
    lambda: StandardScaler(), lambda: StandardScaler(with_mean=False), lambda: MinMaxScaler(),
    lambda: MinMaxScaler(feature_range=(-1, 2), clip=True), lambda: MaxAbsScaler(), lambda: RobustScaler(),
    lambda: Normalizer(), lambda: Normalizer(norm="l1"), lambda: Normalizer(norm="max"), lambda: PCA(n_components=4),
    lambda: PCA(n_components=3, whiten=True), lambda: SimpleImputer(), lambda: SimpleImputer(strategy="median"),
]


def _id(make):
    return repr(make()).replace(" ", "")


@pytest.mark.parametrize("make", CLASSIFIERS, ids=_id)
@pytest.mark.parametrize("n_classes,labels", [(2, "int"), (3, "int"), (4, "str"), (3, "int32"), (2, "str")])
def test_classifiers(make, n_classes, labels, tmp_path):
    X, y = classification(n_classes, labels)
    est = fit(make(), X, y)
    check_parity(est, X, tmp_path / "m.mle")


def test_liblinear_binary(tmp_path):
    X, y = classification(2, "str")
    check_parity(fit(LogisticRegression(C=0.1, solver="liblinear"), X, y), X, tmp_path / "m.mle")


@pytest.mark.parametrize("make", REGRESSORS, ids=_id)
def test_regressors(make, tmp_path):
    X, y = regression()
    est = fit(make(), X, y)
    check_parity(est, X, tmp_path / "m.mle")


@pytest.mark.parametrize("make", [lambda: PoissonRegressor(), lambda: GammaRegressor(), lambda: TweedieRegressor(power=0),
                                  lambda: TweedieRegressor(power=1.5), lambda: TweedieRegressor(power=0, link="log"),
                                  lambda: TweedieRegressor(power=1.5, link="identity")], ids=_id)
def test_glm_regressors(make, tmp_path):
    """Generalized linear models: exp (log link) or identity of the linear
    predictor; positive targets, as Gamma and Tweedie need."""
    X, y = regression()
    y = np.exp(y / np.abs(y).max())  # in (e^-1, e]
    check_parity(fit(make(), X, y), X, tmp_path / "m.mle")


def test_glm_other_link_refused(tmp_path):
    """A link other than log or identity is refused, naming it."""
    X, y = regression()
    est = fit(PoissonRegressor(), X, np.exp(y / np.abs(y).max()))

    class LogitLink:  # a link the exporter does not know
        pass

    est._base_loss = type("Loss", (), {"link": LogitLink()})()
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="PoissonRegressor with link LogitLink"):
        mle_runtime.dump(est, tmp_path / "m.mle")


@pytest.mark.parametrize("make", [lambda: LinearRegression(), lambda: Ridge(), lambda: MLPRegressor(max_iter=200)],
                         ids=_id)
def test_multi_target_regression(make, tmp_path):
    X, y = regression(n_targets=3)
    check_parity(fit(make(), X, y), X, tmp_path / "m.mle")


@pytest.mark.parametrize("make", TRANSFORMERS, ids=_id)
def test_transformers(make, tmp_path):
    X, _ = classification(2)
    X = X * np.arange(1, 9)  # different scales per column
    X[::7, 2] = 0.0
    check_parity(fit(make(), X), X, tmp_path / "m.mle")


def test_normalizer_zero_rows(tmp_path):
    X = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 2.0], [1e-300, 0.0, 0.0]])
    for norm in ("l1", "l2", "max"):
        check_parity(fit(Normalizer(norm=norm), X), X, tmp_path / f"{norm}.mle")


def test_imputer_with_nans_and_empty_column(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5))
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:, 3] = np.nan  # all missing: scikit-learn drops the column
    for strategy in ("mean", "median", "most_frequent", "constant"):
        imp = fit(SimpleImputer(strategy=strategy, fill_value=-1.0), X)
        m = check_parity(imp, X, tmp_path / f"{strategy}.mle")
        assert m.transform(X).shape == (50, 4)


def test_imputer_numeric_missing_value(tmp_path):
    X = np.array([[1.0, -1.0], [-1.0, 3.0], [5.0, 4.0]])
    check_parity(fit(SimpleImputer(missing_values=-1.0), X), X, tmp_path / "m.mle")


PIPELINES = [
    lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
    lambda: make_pipeline(SimpleImputer(), StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=200,
                                                                           random_state=0)),
    lambda: make_pipeline(MinMaxScaler(), PCA(n_components=5), SGDClassifier(loss="log_loss", random_state=0)),
    lambda: make_pipeline(RobustScaler(), Normalizer(), LinearSVC(random_state=0)),
    lambda: make_pipeline(MaxAbsScaler(), make_pipeline(StandardScaler(), LogisticRegression())),
]


@pytest.mark.parametrize("make", PIPELINES, ids=lambda m: repr(m()).replace(" ", "")[:80])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_pipelines(make, n_classes, tmp_path):
    X, y = classification(n_classes, "str")
    check_parity(fit(make(), X, y), X, tmp_path / "m.mle")


def test_regression_pipeline(tmp_path):
    X, y = regression()
    est = fit(make_pipeline(StandardScaler(), PCA(n_components=6), Ridge()), X, y)
    check_parity(est, X, tmp_path / "m.mle")


def test_transformer_pipeline(tmp_path):
    X, _ = regression()
    est = fit(make_pipeline(StandardScaler(), PCA(n_components=3, whiten=True)), X)
    check_parity(est, X, tmp_path / "m.mle")


def test_imputing_pipeline_accepts_nan(tmp_path):
    X, y = classification(3)
    X[::5, 1] = np.nan
    est = fit(make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000)), X, y)
    check_parity(est, X, tmp_path / "m.mle")


# ---------------------------------------------------------------- float32

@pytest.mark.parametrize("make", [CLASSIFIERS[0], CLASSIFIERS[6], PIPELINES[0], PIPELINES[2]], ids=_id)
def test_float32_inputs_to_float64_model(make, tmp_path):
    """float32 X is converted to float64 once. scikit-learn keeps some steps
    in float32, so agreement is to float32 precision."""
    X, y = classification(3)
    est = fit(make(), X, y)
    X32 = X.astype(np.float32)
    check_parity(est, X, tmp_path / "m.mle", rtol=RTOL32, atol=ATOL32, X_run=X32)


@pytest.mark.parametrize("make", [CLASSIFIERS[0], CLASSIFIERS[6], PIPELINES[0], PIPELINES[1], REGRESSORS[0],
                                  TRANSFORMERS[0]], ids=_id)
def test_float32_mode(make, tmp_path):
    X, y = classification(3)
    est = make()
    est = fit(est, X, None if type(est).__name__ in ("StandardScaler",) else y)
    m = check_parity(est, X, tmp_path / "m.mle", dtype=np.float32, rtol=RTOL32, atol=ATOL32, X_run=X.astype(np.float32))
    assert m.inputs[0].dtype == np.float32


def test_seed_exporter_api(tmp_path):
    X, y = classification(2)
    est = fit(LogisticRegression(), X, y)
    info = mle_runtime.SklearnMLEExporter().export_sklearn(est, str(tmp_path / "m.mle"), input_shape=(1, 8))
    assert info.bytes > 0 and info.inputs[0].shape == (-1, 8)
    engine = mle_runtime.Engine(mle_runtime.Device.CPU)
    engine.load_model(tmp_path / "m.mle")
    outs = engine.run([X[:3]])
    assert len(outs) == len(engine.model.outputs)
    with pytest.raises(mle_runtime.MLEShapeError):
        mle_runtime.SklearnMLEExporter().export_sklearn(est, str(tmp_path / "n.mle"), input_shape=(1, 9))


CLI = Path(__file__).resolve().parents[3] / "build" / "mle"


@pytest.mark.parametrize("kind", ["str", "object", "float", "bool"])
def test_labels_come_from_the_graph(kind, tmp_path):
    """Class labels of any dtype are gathered by the graph, so the raw label
    output (what C, Rust, Node.js and `mle run` see) holds them; the Go CLI
    writes them to .npy as they are."""
    X, y = classification(3 if kind != "bool" else 2)
    labels = {"str": np.array(["ünï", "b c", "東京"]), "object": np.array(["x", "yy", "zzz"], dtype=object),
              "float": np.array([-1.0, 2.0, 7.0]), "bool": np.array([False, True])}[kind]
    est = fit(DecisionTreeClassifier(max_depth=4, random_state=0), X, labels[y])
    m = check_parity(est, X, tmp_path / "m.mle")
    label = next(s for s in m.outputs if s.name == "label")
    assert label.mle_dtype == {"str": "string", "object": "string", "float": "float64", "bool": "bool"}[kind]
    assert "mle.labels" not in m.metadata["properties"]
    raw = m.run(X)["label"]
    assert raw.tolist() == est.predict(X).tolist()
    np.save(tmp_path / "x.npy", X[:5])
    assert CLI.exists(), f"{CLI} is missing: run `make cli`"
    r = subprocess.run([str(CLI), "run", str(tmp_path / "m.mle"), "--input", str(tmp_path / "x.npy"),
                        "--output-dir", str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = np.load(tmp_path / "out" / "label.npy")
    assert got.tolist() == est.predict(X[:5]).tolist()
