"""sklearn.discriminant_analysis: LinearDiscriminantAnalysis and
QuadraticDiscriminantAnalysis.

Like the naive Bayes models, each computes in the dtype scikit-learn
computes in for X of the graph's dtype and casts its float outputs to the
graph's dtype.

Summation contracts:
- LDA: X @ coef_.T + intercept_ and the transform's product are GEMMs in
  scikit-learn (BLAS) and here (the engine's kernel), in different orders:
  labels identical where a score is not within rounding of 0 (binary) or of
  the runner-up (multiclass); scores, probabilities and the transform to
  rounding. Probabilities: expit / softmax (an ulp or so apart).
- QDA: each class's (X − mean) @ (R·S^−½) is a GEMM (scores to rounding,
  labels as for LDA); everything after it follows numpy's order: the
  squares summed pairwise, then the elementwise steps, and
  predict_log_proba as scikit-learn's log-softmax (the sum of exps
  pairwise too).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, unsupported
from ._registry import PREDICTOR, register
from .sklearn_naive_bayes import cast, pairwise_sum


def _dtype(g: Graph, *arrays: Any) -> np.dtype:
    return np.result_type(g.dtype, *[np.asarray(a).dtype for a in arrays])


def _log_outputs(g: Graph, head: Head, proba: str, log_proba: str, dtype: np.dtype) -> None:
    head.outputs["probabilities"] = cast(g, proba, dtype, g.dtype)
    head.outputs["log_probabilities"] = cast(g, log_proba, dtype, g.dtype)  # scikit-learn's predict_log_proba
    head.methods["predict_proba"] = "probabilities"
    head.methods["predict_log_proba"] = "log_probabilities"


@register("sklearn.discriminant_analysis.LinearDiscriminantAnalysis", PREDICTOR,
          "binary and multiclass, solvers svd, lsqr and eigen; decision_function, predict_proba, "
          "predict_log_proba; transform (svd, eigen)")
def _lda(g: Graph, est: Any, x: str) -> Head:
    if len(est.classes_) < 2:
        raise unsupported("LinearDiscriminantAnalysis fitted on a single class (its predict indexes a second "
                          "class that does not exist)")
    coef, intercept = np.asarray(est.coef_), np.asarray(est.intercept_)
    d = _dtype(g, coef, intercept)
    xc = cast(g, x, g.dtype, d)
    scores = g.op("Gemm", xc, g.const(coef, "coef", d), g.const(intercept, "intercept", d), transB=1)
    head = Head("classifier")
    if coef.shape[0] == 1:  # two classes: one score, class 1 where it is > 0
        dec = g.flatten_column(scores)
        index = g.op("Cast", g.op("Greater", dec, g.const(0.0, "zero", d)), to=7)
        p = g.op("Sigmoid", dec)
        one = g.const(1.0, "one", d)
        proba = g.op("Concat", g.column(g.op("Sub", one, p)), g.column(p), axis=1)
    else:
        dec = scores
        index = g.op("ArgMax", dec, axis=1, keepdims=0)
        proba = g.op("Softmax", dec, axis=1)
    head.outputs["decision"] = cast(g, dec, d, g.dtype)
    head.methods["decision_function"] = "decision"
    classes(g, head, est, index)
    # predict_log_proba is log(proba) with exact zeros raised to the smallest normal number.
    tiny = g.const(np.finfo(d).smallest_normal, "smallest_normal", d)
    floored = g.op("Where", g.op("Equal", proba, g.const(0.0, "zero", d)), tiny, proba)
    _log_outputs(g, head, proba, g.op("Log", floored), d)
    if est.solver in ("svd", "eigen"):
        k = int(est._max_components)
        scalings = np.asarray(est.scalings_)[:, :k]
        if est.solver == "svd":
            dt = _dtype(g, est.xbar_, scalings)
            centred = g.op("Sub", cast(g, x, g.dtype, dt), g.const(est.xbar_, "xbar", dt))
        else:
            dt = _dtype(g, scalings)
            centred = cast(g, x, g.dtype, dt)
        projected = g.op("MatMul", centred, g.const(scalings, "scalings", dt))
        head.outputs["transformed"] = cast(g, projected, dt, g.dtype)
        head.methods["transform"] = "transformed"
    return head


@register("sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis", PREDICTOR,
          "binary and multiclass, solvers svd and eigen; decision_function, predict_proba, predict_log_proba")
def _qda(g: Graph, est: Any, x: str) -> Head:
    n_classes = len(est.classes_)
    means = np.asarray(est.means_)
    # Per class: R * S^-0.5, and u = Σ log S, by scikit-learn's expressions.
    weights = [np.asarray(r) * (np.asarray(s) ** (-0.5)) for r, s in zip(est.rotations_, est.scalings_)]
    u = np.asarray([np.sum(np.log(s)) for s in est.scalings_])
    with np.errstate(divide="ignore"):
        log_priors = np.log(est.priors_)  # a zero prior is -inf, as in scikit-learn
    d1 = _dtype(g, means, *weights)
    d2 = np.result_type(d1, u.dtype)
    d3 = np.result_type(d2, np.asarray(log_priors).dtype)
    xc = cast(g, x, g.dtype, d1)
    norms = []
    for i, w in enumerate(weights):
        x2 = g.op("MatMul", g.op("Sub", xc, g.const(means[i], "mean", d1)), g.const(w, "rotation", d1))
        norms.append(pairwise_sum(g, g.op("Mul", x2, x2), w.shape[1], d1))
    norm2 = cast(g, g.op("Concat", *norms, axis=1), d1, d2)
    dec = g.op("Mul", g.op("Add", norm2, g.const(u, "log_scalings", d2)), g.const(-0.5, "minus_half", d2))
    dec = g.op("Add", cast(g, dec, d2, d3), g.const(log_priors, "log_priors", d3))  # [N, K]
    head = Head("classifier")
    classes(g, head, est, g.op("ArgMax", dec, axis=1, keepdims=0))
    if n_classes == 2:
        def col(j: int) -> str:
            return g.op("Gather", dec, g.const(j, "col", np.int64), axis=1)

        decision = g.flatten_column(g.op("Sub", col(1), col(0)))
    else:
        decision = dec
    head.outputs["decision"] = cast(g, decision, d3, g.dtype)
    head.methods["decision_function"] = "decision"
    # log_likelihood − log(Σ exp(log_likelihood)), log_likelihood = dec − max.
    ll = g.op("Sub", dec, g.op("ReduceMax", dec, axes=[1], keepdims=1))
    log_proba = g.op("Sub", ll, g.op("Log", pairwise_sum(g, g.op("Exp", ll), n_classes, d3)))
    _log_outputs(g, head, g.op("Exp", log_proba), log_proba, d3)
    return head
