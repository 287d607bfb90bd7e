"""sklearn.naive_bayes: GaussianNB, MultinomialNB, BernoulliNB, ComplementNB
and CategoricalNB, plus the numeric helpers the discriminant analyses share
(numpy's pairwise summation, scikit-learn's logsumexp).

Each model computes in the dtype scikit-learn computes in for an input of
the graph's dtype (numpy's promotion of X with the fitted arrays: float64
for a model fitted on float64 even in float32 mode), and casts its float
outputs to the graph's dtype at the end.

Summation contracts:
- GaussianNB: the joint log likelihood is bit-identical to scikit-learn's
  for C-ordered X: its per-class sum over features is built as numpy's
  pairwise summation (8 accumulators over blocks of up to 128, halves
  above), and every other operation is elementwise in the same order.
- CategoricalNB: bit-identical: a sum over features in feature order, as
  scikit-learn's loop adds them.
- MultinomialNB, ComplementNB, BernoulliNB: X @ W is a GEMM in scikit-learn
  (BLAS) and here (the engine's kernel), in different orders: labels are
  identical where the top two scores differ by more than rounding; scores
  agree to rounding.
- predict_proba / predict_log_proba of all: scikit-learn's _logsumexp
  (max, pairwise sum of the other exps, log1p) mirrored step by step; exp,
  log and log1p (computed as log(u)·s/(u−1)) agree to an ulp or so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._elementary import log1p
from ._head import Head, classes
from ._registry import PREDICTOR, register

DTYPE_IDS = {np.dtype(np.float32): 1, np.dtype(np.float64): 11}


def cast(g: Graph, v: str, frm: Any, to: Any) -> str:
    """v (of dtype frm) as dtype to."""
    frm, to = np.dtype(frm), np.dtype(to)
    return v if frm == to else g.op("Cast", v, to=DTYPE_IDS[to])


def _cols(g: Graph, v: str, idx: Any) -> str:
    return g.op("Gather", v, g.const(np.asarray(idx, dtype=np.int64), "cols", np.int64), axis=1)


def pairwise_sum(g: Graph, v: str, n: int, dtype: Any) -> str:
    """Row sums [R, 1] of v [R, n], added in the order of numpy's pairwise
    summation along a contiguous axis (what np.sum(a, axis=-1) does for a
    C-ordered a), so the bits are numpy's. Every add is a binary op in
    dtype, except that float64 runs of the 8 accumulators use a sequential
    ReduceSum (float64 accumulation: the same adds)."""
    dtype = np.dtype(dtype)

    def seq(acc: str | None, lo: int, hi: int) -> str:
        for j in range(lo, hi):
            c = _cols(g, v, [j])
            acc = c if acc is None else g.op("Add", acc, c)
        assert acc is not None
        return acc

    def block(lo: int, hi: int) -> str:
        k = hi - lo
        if k < 8:
            return seq(None, lo, hi)
        m = k - k % 8
        if dtype == np.float64 and m > 8:
            blocks = g.op("Reshape", _cols(g, v, np.arange(lo, lo + m)), g.const([-1, m // 8, 8], "shape", np.int64))
            r = g.op("ReduceSum", blocks, axes=[1], keepdims=0)
        else:
            r = _cols(g, v, np.arange(lo, lo + 8))
            for b in range(lo + 8, lo + m, 8):
                r = g.op("Add", r, _cols(g, v, np.arange(b, b + 8)))
        # ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        r = g.op("Add", _cols(g, r, [0, 2, 4, 6]), _cols(g, r, [1, 3, 5, 7]))
        r = g.op("Add", _cols(g, r, [0, 2]), _cols(g, r, [1, 3]))
        r = g.op("Add", _cols(g, r, [0]), _cols(g, r, [1]))
        return seq(r, lo + m, hi)

    def rec(lo: int, hi: int) -> str:
        k = hi - lo
        if k <= 128:
            return block(lo, hi)
        half = k // 2
        half -= half % 8
        return g.op("Add", rec(lo, lo + half), rec(lo + half, hi))

    return rec(0, n)


def logsumexp(g: Graph, a: str, n: int, dtype: Any) -> str:
    """[N, 1] log-sum-exp of a [N, n] along axis 1, in the steps of
    scikit-learn's _logsumexp: the maxima are taken out (their count m),
    the other terms' exps summed (pairwise, as numpy), then
    log1p(sum / m) + log(m) + max."""
    dtype = np.dtype(dtype)

    def c(value: float, hint: str) -> str:
        return g.const(value, hint, dtype)

    mx = g.op("ReduceMax", a, axes=[1], keepdims=1)
    is_max = g.op("Equal", a, mx)
    rest = g.op("Where", is_max, c(-np.inf, "ninf"), a)
    m = g.op("ReduceSum", g.op("Cast", is_max, to=DTYPE_IDS[dtype]), axes=[1], keepdims=1)
    finite = g.op("Less", g.op("Abs", mx), c(np.inf, "inf"))
    shift = g.op("Where", finite, mx, c(0.0, "zero"))
    s = pairwise_sum(g, g.op("Exp", g.op("Sub", rest, shift)), n, dtype)
    s = g.op("Where", g.op("Equal", s, c(0.0, "zero")), s, g.op("Div", s, m))
    return g.op("Add", g.op("Add", log1p(g, s, dtype), g.op("Log", m)), mx)


def nb_head(g: Graph, est: Any, jll: str, dtype: Any) -> Head:
    """The head of a naive Bayes classifier from its joint log likelihood
    [N, K] (dtype): predict = first argmax; predict_log_proba = jll −
    logsumexp(jll); predict_proba = its exp (scikit-learn's _BaseNB)."""
    head = Head("classifier")
    classes(g, head, est, g.op("ArgMax", jll, axis=1, keepdims=0))
    log_proba = g.op("Sub", jll, logsumexp(g, jll, len(est.classes_), dtype))
    proba = g.op("Exp", log_proba)
    head.outputs["probabilities"] = cast(g, proba, dtype, g.dtype)
    # scikit-learn's own log-probabilities (not log(proba), which underflows below about -708).
    head.outputs["log_probabilities"] = cast(g, log_proba, dtype, g.dtype)
    head.outputs["joint_log_likelihood"] = cast(g, jll, dtype, g.dtype)
    head.methods.update(predict_proba="probabilities", predict_log_proba="log_probabilities",
                        predict_joint_log_proba="joint_log_likelihood")
    return head


def _dtype(g: Graph, *arrays: Any) -> np.dtype:
    return np.result_type(g.dtype, *[np.asarray(a).dtype for a in arrays])


@register("sklearn.naive_bayes.GaussianNB", PREDICTOR,
          "binary and multiclass; predict_proba, predict_log_proba; joint log likelihood bit-identical")
def _gaussian_nb(g: Graph, est: Any, x: str) -> Head:
    theta, var = np.asarray(est.theta_), np.asarray(est.var_)
    n_classes, n_features = theta.shape
    # The per-class constants, by scikit-learn's own expressions (same bits).
    jointi = np.asarray([np.log(est.class_prior_[i]) for i in range(n_classes)])
    n_ij = np.asarray([-0.5 * np.sum(np.log(2.0 * np.pi * var[i, :])) for i in range(n_classes)])
    d1 = _dtype(g, theta, var)  # of ((X - theta) ** 2) / var and its sum
    d2 = np.result_type(d1, n_ij.dtype)
    d3 = np.result_type(d2, jointi.dtype)
    xc = g.op("Reshape", cast(g, x, g.dtype, d1), g.const([-1, 1, n_features], "shape", np.int64))
    diff = g.op("Sub", xc, g.const(theta, "theta", d1))
    z = g.op("Div", g.op("Mul", diff, diff), g.const(var, "var", d1))  # [N, K, F]
    s = pairwise_sum(g, g.op("Reshape", z, g.const([-1, n_features], "shape", np.int64)), n_features, d1)
    s = g.op("Reshape", s, g.const([-1, n_classes], "shape", np.int64))
    half_s = cast(g, g.op("Mul", s, g.const(0.5, "half", d1)), d1, d2)
    t = cast(g, g.op("Sub", g.const(n_ij, "n_ij", d2), half_s), d2, d3)
    jll = g.op("Add", g.const(jointi, "log_prior", d3), t)
    return nb_head(g, est, jll, d3)


def _gemm_jll(g: Graph, est: Any, x: str, w: np.ndarray, bias: np.ndarray | None) -> Head:
    """jll = X @ w.T (+ bias), the discrete models' form."""
    d = _dtype(g, w) if bias is None else _dtype(g, w, bias)
    xc = cast(g, x, g.dtype, d)
    if bias is None:
        jll = g.op("Gemm", xc, g.const(w, "coef", d), transB=1)
    else:
        jll = g.op("Gemm", xc, g.const(w, "coef", d), g.const(bias, "bias", d), transB=1)
    return nb_head(g, est, jll, d)


@register("sklearn.naive_bayes.MultinomialNB", PREDICTOR,
          "binary and multiclass; predict_proba, predict_log_proba; scores to rounding (GEMM)")
def _multinomial_nb(g: Graph, est: Any, x: str) -> Head:
    return _gemm_jll(g, est, x, np.asarray(est.feature_log_prob_), np.asarray(est.class_log_prior_))


@register("sklearn.naive_bayes.ComplementNB", PREDICTOR,
          "binary and multiclass, norm; predict_proba, predict_log_proba; scores to rounding (GEMM)")
def _complement_nb(g: Graph, est: Any, x: str) -> Head:
    # scikit-learn adds the class prior only when there is a single class.
    bias = np.asarray(est.class_log_prior_) if len(est.classes_) == 1 else None
    return _gemm_jll(g, est, x, np.asarray(est.feature_log_prob_), bias)


@register("sklearn.naive_bayes.BernoulliNB", PREDICTOR,
          "binary and multiclass; binarize threshold or None; predict_proba, predict_log_proba; scores to rounding "
          "(GEMM)")
def _bernoulli_nb(g: Graph, est: Any, x: str) -> Head:
    flp = np.asarray(est.feature_log_prob_)
    neg_prob = np.log(1 - np.exp(flp))
    w = flp - neg_prob
    bias = est.class_log_prior_ + neg_prob.sum(axis=1)  # added after the product, as one term
    if est.binarize is not None:
        # binarize(): X > threshold, compared in X's dtype.
        above = g.op("Greater", x, g.const(est.binarize, "threshold"))
        x = g.op("Cast", above, to=DTYPE_IDS[g.dtype])
    return _gemm_jll(g, est, x, w, np.asarray(bias))


@register("sklearn.naive_bayes.CategoricalNB", PREDICTOR,
          "binary and multiclass, min_categories; X truncated to integers; a negative category or one past "
          "n_categories_ fails the run, as scikit-learn raises; bit-identical scores")
def _categorical_nb(g: Graph, est: Any, x: str) -> Head:
    tables = [np.asarray(t, dtype=np.float64).T for t in est.feature_log_prob_]  # [categories, K] per feature
    n_cat = np.asarray([t.shape[0] for t in tables], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(n_cat)[:-1]]).astype(np.int64)
    table = np.concatenate(tables, axis=0)
    # scikit-learn converts X with astype(int) (truncation), then refuses
    # negatives and fails indexing past a feature's categories; an index
    # past the whole table makes Gather fail the run in both cases.
    xi = g.op("Cast", x, to=7)
    out_of_range = g.const(len(table), "out_of_range", np.int64)
    idx = g.op("Where", g.op("Less", xi, g.const(n_cat, "n_categories", np.int64)),
               g.op("Add", xi, g.const(offsets, "offsets", np.int64)), out_of_range)
    idx = g.op("Where", g.op("Less", xi, g.const(0, "zero", np.int64)), out_of_range, idx)
    picked = g.op("Gather", g.const(table, "feature_log_prob", np.float64), idx, axis=0)  # [N, F, K]
    # jll = 0 + table_0 + table_1 + ... in feature order, accumulated in
    # float64 as scikit-learn's loop does; then the class prior.
    jll = g.op("ReduceSum", picked, axes=[1], keepdims=0)
    jll = g.op("Add", jll, g.const(np.asarray(est.class_log_prior_, dtype=np.float64), "log_prior", np.float64))
    return nb_head(g, est, jll, np.float64)
