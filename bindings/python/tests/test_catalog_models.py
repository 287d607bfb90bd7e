"""Parity with scikit-learn for the naive Bayes models, k-means and the
discriminant analyses: every method scikit-learn offers, on binary and
multiclass data with int and string labels, float64 and float32; the
outputs published beside the methods (log_probabilities,
joint_log_likelihood); bit-identical scores where the exporter promises
them; k-means' tie rule; refusals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.datasets import make_blobs, make_classification
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import BernoulliNB, CategoricalNB, ComplementNB, GaussianNB, MultinomialNB
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import mle_runtime
import parity

RTOL64, ATOL64 = 1e-9, 1e-12
RTOL32, ATOL32 = 1e-5, 1e-6
# Published outputs that are not binding methods -> the scikit-learn method they equal.
EXTRA_OUTPUTS = {"log_probabilities": "predict_log_proba", "joint_log_likelihood": "predict_joint_log_proba"}


def check_parity(est, X, path, dtype=np.float64, rtol=RTOL64, atol=ATOL64, X_run=None):
    """Dumps est, loads it, and compares every method it offers, and the
    extra outputs, on X_run; labels must be identical (values and dtype)."""
    X_run = X if X_run is None else X_run
    p = parity.compare(est, X, path, dtype=dtype, X_run=X_run, rtol=rtol, atol=atol,
                       exact=lambda name, want: name == "predict")
    m, checked = p.model, list(p.checked)
    outs = m.run(X_run)
    for out, method in EXTRA_OUTPUTS.items():
        if out in outs:
            np.testing.assert_allclose(outs[out], _final_method(est, method, X_run), rtol=rtol, atol=atol, err_msg=out)
            checked.append(out)
    assert "predict" in checked and len(checked) > 1, checked
    return m


def _final_method(est, method, X):
    """est.method(X), for a Pipeline its last step's on the transformed X
    (a Pipeline does not forward predict_joint_log_proba)."""
    if isinstance(est, Pipeline):
        return getattr(est[-1], method)(est[:-1].transform(X))
    return getattr(est, method)(X)


# ------------------------------------------------------------------- data

def gaussian(n_classes: int, labels: str = "int", seed: int = 0, n: int = 240, f: int = 6):
    """Classes with their own means and per-feature spreads (small enough
    that no log-probability falls below -700: see test_log_probabilities_*)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    means = rng.normal(scale=1.5, size=(n_classes, f))
    scales = rng.uniform(0.6, 1.6, size=(n_classes, f))
    X = rng.normal(size=(n, f)) * scales[y] + means[y]
    return X, relabel(y, labels)


def counts(n_classes: int, labels: str = "int", seed: int = 0, n: int = 240, f: int = 6):
    """Poisson counts whose rates depend on the class."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    rates = rng.uniform(0.5, 4.0, size=(n_classes, f))
    return rng.poisson(rates[y]).astype(np.float64), relabel(y, labels)


def relabel(y, labels: str):
    if labels == "str":
        return np.array(["ant", "bee", "cat", "dog"])[y]
    if labels == "int32":
        return (y * 7 - 3).astype(np.int32)
    return y


def categorical(n_classes: int, labels: str = "int", seed: int = 0):
    X, y = counts(n_classes, labels, seed)
    return np.minimum(X, 5.0), y


def wide(n_classes: int, labels: str = "int", seed: int = 0):
    """13 features: sums over more than 8 terms (numpy's 8 accumulators)."""
    X, y = gaussian(n_classes, labels, seed, n=300, f=13)
    return X / 2, y


def binary01(n_classes: int, labels: str = "int", seed: int = 0):
    X, y = gaussian(n_classes, labels, seed)
    return (X > 0).astype(np.float64), y


# (factory, data) for every classifier configuration covered.
CLASSIFIERS = [
    (lambda: GaussianNB(), gaussian),
    (lambda: GaussianNB(var_smoothing=1e-3), gaussian),
    (lambda: MultinomialNB(), counts),
    (lambda: MultinomialNB(alpha=0.5, fit_prior=False), counts),
    (lambda: ComplementNB(), counts),
    (lambda: ComplementNB(norm=True), counts),
    (lambda: BernoulliNB(), gaussian),
    (lambda: BernoulliNB(binarize=0.5), gaussian),
    (lambda: BernoulliNB(binarize=None), binary01),
    (lambda: CategoricalNB(), categorical),
    (lambda: CategoricalNB(min_categories=8, alpha=0.5), categorical),
    (lambda: LinearDiscriminantAnalysis(), gaussian),
    (lambda: LinearDiscriminantAnalysis(solver="eigen"), gaussian),
    (lambda: LinearDiscriminantAnalysis(solver="eigen", shrinkage="auto"), gaussian),
    (lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage=0.1), gaussian),
    (lambda: LinearDiscriminantAnalysis(n_components=1), gaussian),
    (lambda: QuadraticDiscriminantAnalysis(), gaussian),
    (lambda: QuadraticDiscriminantAnalysis(solver="eigen"), gaussian),
    (lambda: QuadraticDiscriminantAnalysis(reg_param=0.1), gaussian),
    (lambda: QuadraticDiscriminantAnalysis(reg_param=0.01), wide),
    (lambda: GaussianNB(var_smoothing=1e-8), wide),
]


def _id(case):
    return repr(case[0]()).replace(" ", "")


@pytest.mark.parametrize("case", CLASSIFIERS, ids=_id)
@pytest.mark.parametrize("n_classes,labels", [(2, "int"), (3, "int"), (4, "str"), (2, "str"), (3, "int32")])
def test_classifiers(case, n_classes, labels, tmp_path):
    make, data = case
    X, y = data(n_classes, labels)
    check_parity(make().fit(X, y), X, tmp_path / "m.mle")


@pytest.mark.parametrize("case", CLASSIFIERS, ids=_id)
def test_float32_inputs_to_float64_model(case, tmp_path):
    """float32 X is converted to float64 once; scikit-learn promotes it
    against its float64 parameters, so both compute in float64."""
    make, data = case
    X, y = data(3, "str")
    X32 = X.astype(np.float32)
    est = make().fit(X, y)
    check_parity(est, X, tmp_path / "m.mle", rtol=RTOL64, atol=ATOL64, X_run=X32)


@pytest.mark.parametrize("case", CLASSIFIERS, ids=_id)
def test_float32_mode(case, tmp_path):
    """A float32 graph computes in the dtype scikit-learn computes in
    (float64 here) and rounds its outputs to float32."""
    make, data = case
    X, y = data(3, "int")
    X32 = X.astype(np.float32)
    m = check_parity(make().fit(X, y), X, tmp_path / "m.mle", dtype=np.float32, rtol=RTOL32, atol=ATOL32, X_run=X32)
    assert m.inputs[0].dtype == np.float32
    assert m.run(X32)["probabilities"].dtype == np.float32


@pytest.mark.parametrize("make", [lambda: GaussianNB(), lambda: LinearDiscriminantAnalysis(),
                                  lambda: QuadraticDiscriminantAnalysis()], ids=lambda m: type(m()).__name__)
def test_fitted_on_float32(make, tmp_path):
    """Fitted on float32 data (scikit-learn then keeps some parameters in
    float32) and run on float32 in a float32 graph."""
    X, y = gaussian(3, "str")
    X32 = X.astype(np.float32)
    est = make().fit(X32, y)
    check_parity(est, X32, tmp_path / "m.mle", dtype=np.float32, rtol=RTOL32, atol=ATOL32)


# --------------------------------------------------- bit-identical scores

@pytest.mark.parametrize("n_features,n_classes,fit_dtype,dtype", [
    (6, 3, np.float64, np.float64), (7, 2, np.float64, np.float64), (300, 9, np.float64, np.float64),
    (300, 9, np.float32, np.float32), (21, 3, np.float32, np.float64), (21, 3, np.float64, np.float32)])
def test_gaussian_nb_joint_log_likelihood_is_bit_identical(n_features, n_classes, fit_dtype, dtype, tmp_path):
    """numpy's pairwise summation reproduced: fewer than 8 features, blocks
    of 8 with a remainder, more than 128 (halves), float32 accumulators; and
    the labels, which follow."""
    rng = np.random.default_rng(n_features)
    y = np.arange(90) % n_classes
    X = rng.normal(size=(90, n_features)) + 0.3 * y[:, None]
    est = GaussianNB().fit(X.astype(fit_dtype), y)
    mle_runtime.dump(est, tmp_path / "m.mle", dtype=dtype)
    m = mle_runtime.load(tmp_path / "m.mle")
    X_run = (1.3 * X).astype(dtype)
    want = est.predict_joint_log_proba(X_run)
    outs = m.run(X_run)
    np.testing.assert_array_equal(outs["joint_log_likelihood"], want.astype(dtype))
    np.testing.assert_array_equal(m.predict(X_run), est.predict(X_run))
    rtol, atol = (RTOL64, ATOL64) if dtype == np.float64 else (RTOL32, ATOL32)
    np.testing.assert_allclose(outs["log_probabilities"], est.predict_log_proba(X_run), rtol=rtol, atol=atol)


def test_categorical_nb_is_bit_identical_and_truncates(tmp_path):
    """The sum over features in feature order, as scikit-learn's loop; X is
    truncated to integers as its astype(int) does (1.7 -> 1, -0.5 -> 0),
    and categories unseen in training but under min_categories work."""
    X, y = categorical(3, "str")
    est = CategoricalNB(min_categories=7).fit(X, y)
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    X_run = np.vstack([X, [[1.7, -0.5, 6.0, 6.9, 0.2, 3.99]]])
    np.testing.assert_array_equal(m.run(X_run)["joint_log_likelihood"], est.predict_joint_log_proba(X_run))
    np.testing.assert_array_equal(m.predict(X_run), est.predict(X_run))


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")  # scikit-learn's astype(int) of 1e30
@pytest.mark.parametrize("row", [[7.0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 9.5], [-1.0, 0, 0, 0, 0, 0],
                                 [0, 0, 1e30, 0, 0, 0]])
def test_categorical_nb_out_of_range_fails_like_scikit_learn(row, tmp_path):
    """A category past n_categories_ (IndexError there) or negative
    (ValueError there) fails the run instead of reading another feature's
    table."""
    X, y = categorical(2)
    est = CategoricalNB(min_categories=7).fit(X, y)
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    X_bad = np.array([row])
    with pytest.raises((IndexError, ValueError)):
        est.predict(X_bad)
    with pytest.raises(mle_runtime.MLEValueError):
        m.predict(X_bad)


# ---------------------------------------------- extreme log-probabilities

@pytest.mark.parametrize("make,data,scale", [(lambda: GaussianNB(), gaussian, 30), (lambda: MultinomialNB(), counts, 100),
                                             (lambda: QuadraticDiscriminantAnalysis(), gaussian, 30)],
                         ids=["GaussianNB", "MultinomialNB", "QDA"])
def test_log_probabilities_where_exp_underflows(make, data, scale, tmp_path):
    """Far from the training data the log-probabilities go below -745,
    where their exp is 0: the published log_probabilities output still
    equals scikit-learn's predict_log_proba, and predict_proba holds the
    zeros."""
    X, y = data(3, "str")
    est = make().fit(X, y)
    X_far = X * scale
    want = est.predict_log_proba(X_far)
    assert want.min() < -745  # the case under test occurs
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    np.testing.assert_allclose(m.run(X_far)["log_probabilities"], want, rtol=RTOL64, atol=ATOL64)
    np.testing.assert_allclose(m.predict_proba(X_far), est.predict_proba(X_far), rtol=RTOL64, atol=ATOL64)
    np.testing.assert_array_equal(m.predict(X_far), est.predict(X_far))


def test_lda_predict_log_proba_of_zero_probabilities(tmp_path):
    """scikit-learn raises exact zeros to the smallest normal number before
    its log (-708.4, not -inf); the binding's predict_log_proba gets the same."""
    X, y = gaussian(2, "str")
    est = LinearDiscriminantAnalysis().fit(X, y)
    X_far = X * 40
    assert (est.predict_proba(X_far) == 0).any()  # the case under test occurs
    m = check_parity(est, X, tmp_path / "m.mle", X_run=X_far)
    assert np.isfinite(m.predict_log_proba(X_far)).all()


def test_complement_nb_single_class(tmp_path):
    """With one class scikit-learn adds the class prior to the scores."""
    X, _ = counts(2)
    est = ComplementNB().fit(X, np.array(["only"] * len(X)))
    check_parity(est, X, tmp_path / "m.mle")


@pytest.mark.parametrize("make", [lambda: make_pipeline(StandardScaler(), GaussianNB()),
                                  lambda: make_pipeline(MinMaxScaler(), MultinomialNB()),
                                  lambda: make_pipeline(StandardScaler(), QuadraticDiscriminantAnalysis()),
                                  lambda: make_pipeline(StandardScaler(), LinearDiscriminantAnalysis()),
                                  lambda: make_pipeline(StandardScaler(), KMeans(3, n_init=2, random_state=0))],
                         ids=lambda m: "+".join(type(s).__name__ for _, s in m().steps))
def test_pipelines(make, tmp_path):
    X, y = gaussian(3, "str")
    check_parity(make().fit(X, y), X, tmp_path / "m.mle")


# ------------------------------------------------------------------ k-means

KMEANS = [lambda: KMeans(4, n_init=3, random_state=0), lambda: KMeans(4, algorithm="elkan", n_init=2, random_state=0),
          lambda: KMeans(1, n_init=1, random_state=0),
          lambda: MiniBatchKMeans(4, n_init=3, batch_size=64, random_state=0)]


def blobs(seed: int = 0):
    X, _ = make_blobs(n_samples=240, n_features=5, centers=4, random_state=seed)
    return X


@pytest.mark.parametrize("make", KMEANS, ids=lambda m: repr(m()).replace(" ", ""))
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_kmeans(make, dtype, tmp_path):
    """Fitted and run in one dtype (scikit-learn's predict takes only X of
    its centres' dtype); int32 labels, as scikit-learn returns."""
    X = blobs().astype(dtype)
    rtol, atol = (RTOL64, ATOL64) if dtype == np.float64 else (RTOL32, ATOL32)
    m = check_parity(make().fit(X), X, tmp_path / "m.mle", dtype=dtype, rtol=rtol, atol=atol,
                     X_run=np.vstack([X, blobs(seed=1).astype(dtype)]))
    assert m.predict(X).dtype == np.int32


def test_kmeans_float32_inputs_to_float64_model(tmp_path):
    """float32 X is converted to float64 (scikit-learn's predict refuses it;
    its transform upcasts it the same way)."""
    X = blobs()
    est = KMeans(4, n_init=2, random_state=0).fit(X)
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(m.predict(X32), est.predict(X32.astype(np.float64)))
    np.testing.assert_allclose(m.transform(X32), est.transform(X32), rtol=RTOL64, atol=ATOL64)


@pytest.mark.parametrize("order", [[[0.0, 0.0], [4.0, 0.0]], [[4.0, 0.0], [0.0, 0.0]]], ids=["left-first", "right-first"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_kmeans_tie_goes_to_the_first_centre(order, dtype, tmp_path):
    """Points exactly halfway between two centres (every sum exact, so both
    sides compute a true tie) go to the lower index, whichever centre that is."""
    X = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1], [3, -1], [3, 1], [5, -1], [5, 1]], dtype=dtype)
    est = KMeans(2, init=np.array(order, dtype=dtype), n_init=1).fit(X)
    np.testing.assert_array_equal(est.cluster_centers_, np.array(order, dtype=dtype))  # the fit kept them
    q = np.array([[2, 0], [2, 5], [2, -3.5], [2, 0.25], [0, 0], [4, 0]], dtype=dtype)
    m = check_parity(est, X, tmp_path / "m.mle", dtype=dtype, X_run=q)
    np.testing.assert_array_equal(m.predict(q)[:4], [0, 0, 0, 0])


# ------------------------------------------------------------------ refusals

def test_kmeans_dtype_other_than_its_centres_refused(tmp_path):
    X = blobs()
    est32 = KMeans(2, n_init=1, random_state=0).fit(X.astype(np.float32))
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="KMeans with float32 cluster centres in a float64 model"):
        mle_runtime.dump(est32, tmp_path / "m.mle")
    est64 = MiniBatchKMeans(2, n_init=1, random_state=0).fit(X)
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="MiniBatchKMeans with float64 cluster centres in a "
                                                             "float32 model"):
        mle_runtime.dump(est64, tmp_path / "m.mle", dtype=np.float32)


def test_lda_single_class_refused(tmp_path):
    X, _ = gaussian(2)
    est = LinearDiscriminantAnalysis().fit(X, np.zeros(len(X)))
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="LinearDiscriminantAnalysis fitted on a single class"):
        mle_runtime.dump(est, tmp_path / "m.mle")


def test_subclass_refused(tmp_path):
    class MyNB(GaussianNB):
        def predict(self, X):
            return super().predict(X)[::-1]

    X, y = gaussian(2)
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="a subclass of sklearn.naive_bayes.GaussianNB"):
        mle_runtime.dump(MyNB().fit(X, y), tmp_path / "m.mle")


@pytest.mark.parametrize("est", [GaussianNB(), KMeans(2), QuadraticDiscriminantAnalysis()],
                         ids=lambda e: type(e).__name__)
def test_unfitted_refused(est, tmp_path):
    with pytest.raises(mle_runtime.MLEUnsupportedError, match=f"{type(est).__name__} is not fitted"):
        mle_runtime.dump(clone(est), tmp_path / "m.mle")


def test_estimator_without_transform_inside_a_pipeline_refused(tmp_path):
    """A final estimator with no transform cannot sit in the middle of a Pipeline."""
    from sklearn.naive_bayes import GaussianNB

    X, y = gaussian(2)
    est = make_pipeline(GaussianNB(), LogisticRegression())
    est.steps[0][1].fit(X, y)
    est.steps[1][1].fit(GaussianNB().fit(X, y).predict_proba(X), y)
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="GaussianNB in the middle of a Pipeline"):
        mle_runtime.dump(est, tmp_path / "m.mle")


@pytest.mark.parametrize("first", ["kmeans", "lda"])
def test_estimator_with_transform_inside_a_pipeline(first, tmp_path):
    """KMeans and LDA in the middle of a Pipeline pass on their transform."""
    from sklearn.cluster import KMeans
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, n_classes=3, random_state=0)
    y = np.array(["ant", "bee", "cat"])[y]
    step = KMeans(4, random_state=0, n_init=2) if first == "kmeans" else LinearDiscriminantAnalysis()
    est = make_pipeline(step, LogisticRegression(max_iter=1000)).fit(X, y)
    mle_runtime.dump(est, tmp_path / "p.mle")
    m = mle_runtime.load(tmp_path / "p.mle")
    assert m.predict(X).tolist() == est.predict(X).tolist()
    np.testing.assert_allclose(m.predict_proba(X), est.predict_proba(X), rtol=1e-9, atol=1e-12)
