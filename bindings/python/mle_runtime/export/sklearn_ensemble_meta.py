"""sklearn.ensemble's meta-estimators over any supported inner estimator:
VotingClassifier/Regressor, StackingClassifier/Regressor,
BaggingClassifier/Regressor, AdaBoostClassifier/Regressor.

Each inner estimator (or Pipeline) is applied through apply_predictor and
combined as scikit-learn combines it, in its order: averages add the terms
one by one in estimator order (numpy's order for a sum over an outer axis,
and Python's sum()), then divide; votes count in float64 (exact); argmax
takes the first maximum. Inner classifiers of Voting, Stacking and Bagging
were fitted on encoded labels (0..k-1), which the graph maps back to
classes_ at the end."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, unsupported
from ._meta import (FLOAT64, INT64, add_in_order, as_columns, check_not_multilabel, col, cols, inner, label_index,
                    need, one_hot, output, probabilities, to_float)
from ._registry import PREDICTOR, register
from ._elementary import log1p


def _average(g: Graph, terms: list[str], weights: Any, axis_shape: tuple[int, ...], axis: int) -> str:
    """np.average of the stacked terms along the estimator axis: the
    products (when weighted) added in estimator order, divided by the
    weights' sum (computed by numpy here, as np.average computes it) or by
    their count."""
    if weights is None:
        return g.op("Div", add_in_order(g, terms), g.const(float(len(terms)), "count"))
    w = np.asanyarray(weights)
    dt = np.result_type(np.float64, w.dtype)
    scl = w.reshape(axis_shape).sum(axis=axis, dtype=dt).item()
    if scl == 0.0:
        raise unsupported("weights that sum to zero (np.average raises ZeroDivisionError)")
    w = w.astype(dt)
    prods = [g.op("Mul", t, g.const(float(wi), "weight")) for t, wi in zip(terms, w)]
    return g.op("Div", add_in_order(g, prods), g.const(scl, "weight_sum"))


# ------------------------------------------------------------------ voting

@register("sklearn.ensemble.VotingClassifier", PREDICTOR,
          "any supported classifiers; hard (weighted bincount, first maximum) and soft (weighted average of "
          "predict_proba) voting; transform")
def _voting_classifier(g: Graph, est: Any, x: str) -> Head:
    check_not_multilabel(est, "VotingClassifier")
    k = len(est.classes_)
    encoded = np.arange(k)
    subs = list(est.estimators_)
    weights = est._weights_not_none
    heads = [inner(g, e, x) for e in subs]
    head = Head("classifier")
    if est.voting == "soft":
        probas = [need(g, e, h, "predict_proba", "VotingClassifier(voting='soft')") for e, h in zip(subs, heads)]
        for e in subs:
            if len(e.classes_) != k:
                raise unsupported(f"VotingClassifier over {type(e).__name__} fitted on {len(e.classes_)} of {k} "
                                  "classes")
        avg = _average(g, probas, weights, (len(subs), 1, 1), 0)
        index = g.op("ArgMax", avg, axis=1, keepdims=0)
        probabilities(g, head, est, avg)
        if est.flatten_transform:
            transformed = g.op("Concat", *probas, axis=1)
        else:
            shape = g.const([1, -1, k], "shape", np.int64)
            transformed = g.op("Concat", *[g.op("Reshape", p, shape) for p in probas], axis=0)
    else:
        # np.argmax(np.bincount(labels, weights)): per-class weight totals
        # (float64, added in estimator order), first maximum.
        idx = [label_index(g, h, e, encoded) for e, h in zip(subs, heads)]
        hits = [one_hot(g, i, k, np.float64) for i in idx]
        if weights is None:
            votes = add_in_order(g, hits)
        else:
            w = np.asarray(weights, dtype=np.float64)
            weighted = [g.op("Mul", h, g.const(float(wi), "weight", np.float64)) for h, wi in zip(hits, w)]
            votes = add_in_order(g, weighted)
            if (w < 0).any():
                # bincount only has the classes up to the largest label
                # predicted; with negative weights a class past it (0 votes)
                # could otherwise win.
                upper = np.triu(np.ones((k, k)))  # column c sums the hits of classes >= c
                reached = g.op("Greater", g.op("MatMul", add_in_order(g, hits), g.const(upper.T, "upper", np.float64)),
                               g.const(0.0, "zero", np.float64))
                votes = g.op("Where", reached, votes, g.const(-np.inf, "neg_inf", np.float64))
        index = g.op("ArgMax", votes, axis=1, keepdims=0)
        labels = [output(h, "predict") for h in heads]
        transformed = g.op("Concat", *[g.column(_int_label(g, v, e)) for v, e in zip(labels, subs)], axis=1)
    classes(g, head, est, index)
    head.outputs["transformed"] = transformed
    head.methods["transform"] = "transformed"
    return head


def _int_label(g: Graph, v: str, e: Any) -> str:
    """An inner classifier's encoded label (int64 in the graph; bool for two classes stored as bool)."""
    kind = np.asarray(e.classes_).dtype.kind
    if kind not in "iub":
        raise unsupported(f"{type(e).__name__} with {np.asarray(e.classes_).dtype} labels inside a meta-estimator")
    return v if kind in "iu" else g.op("Cast", v, to=INT64)


@register("sklearn.ensemble.VotingRegressor", PREDICTOR,
          "any supported regressors; weighted average in estimator order; transform")
def _voting_regressor(g: Graph, est: Any, x: str) -> Head:
    subs = list(est.estimators_)
    preds = [need(g, e, inner(g, e, x), "predict", "VotingRegressor") for e in subs]
    y = _average(g, preds, est._weights_not_none, (1, len(subs)), 1)
    transformed = g.op("Concat", *[g.column(p) for p in preds], axis=1)
    return Head("regressor", {"prediction": y, "transformed": transformed},
                {"predict": "prediction", "transform": "transformed"})


# ---------------------------------------------------------------- stacking

def _stack(g: Graph, est: Any, x: str, n_classes: int | None) -> str:
    """StackingClassifier/Regressor.transform: each estimator's stack_method_
    output as columns (a binary classifier's predict_proba without its first
    column), then X itself with passthrough."""
    who = type(est).__name__
    blocks = []
    for e, meth in zip(est.estimators_, est.stack_method_):
        h = inner(g, e, x)
        v = need(g, e, h, meth, who)
        if meth == "predict" and h.classes is not None:
            v = to_float(g, _int_label(g, v, e))  # encoded labels, as numbers
        if meth == "predict_proba" and n_classes == 2:
            v = cols(g, v, [1])
        else:
            v = as_columns(g, v)
        blocks.append(v)
    if est.passthrough:
        blocks.append(x)
    return g.op("Concat", *blocks, axis=1) if len(blocks) > 1 else blocks[0]


@register("sklearn.ensemble.StackingClassifier", PREDICTOR,
          "any supported classifiers and final estimator; stack_method auto, predict_proba, decision_function, "
          "predict; passthrough; predict_proba and decision_function where the final estimator has them; transform")
def _stacking_classifier(g: Graph, est: Any, x: str) -> Head:
    check_not_multilabel(est, "StackingClassifier")
    k = len(est.classes_)
    meta = _stack(g, est, x, k)
    final = est.final_estimator_
    fh = inner(g, final, meta)
    head = Head("classifier")
    classes(g, head, est, label_index(g, fh, final, np.arange(k)))
    if hasattr(est, "predict_proba"):
        probabilities(g, head, est, need(g, final, fh, "predict_proba", "StackingClassifier", widen=False))
    if hasattr(est, "decision_function"):
        head.outputs["decision"] = need(g, final, fh, "decision_function", "StackingClassifier",
                                        widen=False)
        head.methods["decision_function"] = "decision"
    head.outputs["transformed"] = meta
    head.methods["transform"] = "transformed"
    return head


@register("sklearn.ensemble.StackingRegressor", PREDICTOR,
          "any supported regressors and final estimator; passthrough; transform")
def _stacking_regressor(g: Graph, est: Any, x: str) -> Head:
    meta = _stack(g, est, x, None)
    final = est.final_estimator_
    y = need(g, final, inner(g, final, meta), "predict", "StackingRegressor", widen=False)
    return Head("regressor", {"prediction": y, "transformed": meta},
                {"predict": "prediction", "transform": "transformed"})


# ----------------------------------------------------------------- bagging

def _jobs(est: Any) -> list[list[int]]:
    """The estimators each joblib job sums (scikit-learn adds the jobs'
    partial sums afterwards), as _partition_estimators splits them on this
    machine (n_jobs=None: one job)."""
    from sklearn.ensemble._base import _partition_estimators

    if len(est.estimators_) != est.n_estimators:
        raise unsupported(f"{type(est).__name__} with {len(est.estimators_)} estimators for n_estimators="
                          f"{est.n_estimators}")
    n_jobs, _, starts = _partition_estimators(est.n_estimators, est.n_jobs)
    return [list(range(starts[i], starts[i + 1])) for i in range(n_jobs)]


def _features(g: Graph, est: Any, x: str, i: int) -> str:
    f = np.asarray(est.estimators_features_[i], dtype=np.int64)
    return x if np.array_equal(f, np.arange(est.n_features_in_)) else cols(g, x, f)


def _spread(g: Graph, v: str, own: np.ndarray, k: int, fill: float) -> str:
    """An inner estimator's per-class columns [N, len(own)] placed at the
    columns of its classes (own: encoded labels) among k, fill elsewhere."""
    if len(own) == k:
        return v
    at = {int(c): j for j, c in enumerate(own)}
    gathered = cols(g, v, [at.get(c, 0) for c in range(k)])
    mask = g.const(np.array([c in at for c in range(k)])[None, :], "present", np.bool_)
    return g.op("Where", mask, gathered, g.const(fill, "fill"))


def _logaddexp(g: Graph, a: str, b: str) -> str:
    """numpy's npy_logaddexp: a + ln 2 where a == b (equal infinities
    included), else max + log1p(exp(-|a - b|))."""
    d = g.op("Sub", a, b)
    top = g.op("Where", g.op("Greater", d, g.const(0.0, "zero")), a, b)
    s = g.op("Exp", g.op("Neg", g.op("Abs", d)))
    r = g.op("Add", top, log1p(g, s, g.dtype))
    return g.op("Where", g.op("Equal", a, b), g.op("Add", a, g.const(np.log(2.0), "ln2")), r)


@register("sklearn.ensemble.BaggingClassifier", PREDICTOR,
          "any supported classifiers; estimators_features_ (bootstrap features too); mean predict_proba (votes for "
          "estimators without it), classes missing from a bootstrap; predict_log_proba; decision_function")
def _bagging_classifier(g: Graph, est: Any, x: str) -> Head:
    check_not_multilabel(est, "BaggingClassifier")
    k = int(est.n_classes_)
    encoded = np.arange(k)
    subs = est.estimators_
    heads = [inner(g, e, _features(g, est, x, i)) for i, e in enumerate(subs)]
    per = []
    for e, h in zip(subs, heads):
        own = np.asarray(e.classes_)
        if hasattr(e, "predict_proba"):
            per.append(_spread(g, need(g, e, h, "predict_proba", "BaggingClassifier"), own, k, 0.0))
        else:  # proba[i, predictions[i]] += 1
            per.append(one_hot(g, label_index(g, h, e, encoded), k, g.dtype))
    jobs = _jobs(est)
    n = g.const(float(est.n_estimators), "n_estimators")
    proba = g.op("Div", add_in_order(g, [add_in_order(g, [per[i] for i in job]) for job in jobs]), n)
    head = Head("classifier")
    classes(g, head, est, g.op("ArgMax", proba, axis=1, keepdims=0))
    probabilities(g, head, est, proba)
    if hasattr(est.estimator_, "predict_log_proba"):
        logs = []
        for e, h in zip(subs, heads):
            lp = need(g, e, h, "predict_log_proba", "BaggingClassifier")
            if h.methods["predict_log_proba"] == h.methods.get("predict_proba"):
                lp = g.op("Log", lp)  # the binding's np.log(predict_proba), as the estimator computes it
            logs.append(_spread(g, lp, np.asarray(e.classes_), k, -np.inf))
        parts = []
        for job in jobs:
            acc = logs[job[0]]  # logaddexp(-inf, first) is first
            for i in job[1:]:
                acc = _logaddexp(g, acc, logs[i])
            parts.append(acc)
        acc = parts[0]
        for p in parts[1:]:
            acc = _logaddexp(g, acc, p)
        head.outputs["log_probabilities"] = g.op("Sub", acc, g.const(np.log(est.n_estimators), "log_n"))
        head.methods["predict_log_proba"] = "log_probabilities"
    if hasattr(est, "decision_function") and all(len(e.classes_) == k for e in subs):
        dec = [need(g, e, h, "decision_function", "BaggingClassifier") for e, h in zip(subs, heads)]
        total = add_in_order(g, [add_in_order(g, [dec[i] for i in job]) for job in jobs])
        head.outputs["decision"] = g.op("Div", total, n)
        head.methods["decision_function"] = "decision"
    return head


@register("sklearn.ensemble.BaggingRegressor", PREDICTOR,
          "any supported regressors; estimators_features_ (bootstrap features too); mean in estimator order")
def _bagging_regressor(g: Graph, est: Any, x: str) -> Head:
    preds = [need(g, e, inner(g, e, _features(g, est, x, i)), "predict", "BaggingRegressor")
             for i, e in enumerate(est.estimators_)]
    total = add_in_order(g, [add_in_order(g, [preds[i] for i in job]) for job in _jobs(est)])
    y = g.op("Div", total, g.const(float(est.n_estimators), "n_estimators"))
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


# ---------------------------------------------------------------- adaboost

@register("sklearn.ensemble.AdaBoostClassifier", PREDICTOR,
          "SAMME (scikit-learn's only algorithm) over any supported classifiers; decision_function, predict_proba")
def _adaboost_classifier(g: Graph, est: Any, x: str) -> Head:
    check_not_multilabel(est, "AdaBoostClassifier")
    k = int(est.n_classes_)
    if k < 2:
        raise unsupported("AdaBoostClassifier fitted on one class")
    cls = np.asarray(est.classes_)
    ws = np.asarray(est.estimator_weights_, dtype=np.float64)
    terms = []
    for e, w in zip(est.estimators_, ws):
        hit = g.op("Equal", g.column(label_index(g, inner(g, e, x), e, cls)),
                   g.const(np.arange(k, dtype=np.int64)[None, :], "classes", np.int64))
        # np.where(predict == classes, w, -1 / (n_classes - 1) * w)
        terms.append(g.op("Where", hit, g.const(float(w), "weight"), g.const(-1 / (k - 1) * w, "weight_against")))
    pred = g.op("Div", add_in_order(g, terms), g.const(ws.sum(), "weight_sum"))
    head = Head("classifier")
    if k == 2:
        d = g.op("Add", g.op("Neg", col(g, pred, 0)), col(g, pred, 1))  # pred[:, 0] *= -1; pred.sum(axis=1)
        index = g.op("Cast", g.op("Greater", d, g.const(0.0, "zero")), to=INT64)
        half = g.op("Div", d, g.const(2.0, "two"))
        logits = g.op("Concat", g.column(g.op("Neg", half)), g.column(half), axis=1)
    else:
        d = pred
        index = g.op("ArgMax", d, axis=1, keepdims=0)
        logits = g.op("Div", d, g.const(float(k - 1), "k_minus_1"))
    classes(g, head, est, index)
    head.outputs["decision"] = d
    head.methods["decision_function"] = "decision"
    probabilities(g, head, est, g.op("Softmax", logits, axis=1))
    return head


@register("sklearn.ensemble.AdaBoostRegressor", PREDICTOR,
          "over any supported regressors; the weighted median (ties among equal predictions taken in estimator "
          "order)")
def _adaboost_regressor(g: Graph, est: Any, x: str) -> Head:
    """_get_median_predict: predictions sorted per row, the estimator weights
    in that order summed cumulatively (float64, in sorted order), the first
    position where the sum reaches half the total, its prediction. Without a
    sort op the graph ranks each prediction by comparisons (ties ordered by
    estimator, as a stable sort), places the weights at their ranks and adds
    them in rank order, so the sums are numpy's wherever predictions differ."""
    subs = est.estimators_
    e_n = len(subs)
    preds = [need(g, e, inner(g, e, x), "predict", "AdaBoostRegressor") for e in subs]
    p = g.op("Concat", *[g.column(v) for v in preds], axis=1)  # [N, E]
    f64 = lambda v, hint: g.const(np.asarray(v, dtype=np.float64), hint, np.float64)  # noqa: E731
    rows = g.op("Reshape", p, g.const([-1, e_n, 1], "shape", np.int64))  # p_i
    others = g.op("Reshape", p, g.const([-1, 1, e_n], "shape", np.int64))  # p_j
    below = g.op("Cast", g.op("Less", others, rows), to=FLOAT64)
    earlier = np.tril(np.ones((e_n, e_n), dtype=bool), -1)  # j < i
    tied = g.op("Cast", g.op("Where", g.const(earlier, "earlier", np.bool_), g.op("Equal", others, rows),
                             g.const(False, "false", np.bool_)), to=FLOAT64)
    rank = g.op("ReduceSum", g.op("Add", below, tied), axes=[2], keepdims=0)  # [N, E], a permutation of 0..E-1
    at = g.op("Equal", g.op("Reshape", rank, g.const([-1, e_n, 1], "shape", np.int64)),
              f64(np.arange(e_n)[None, None, :], "positions"))  # [N, i, position]
    w = np.asarray(est.estimator_weights_[:e_n], dtype=np.float64)
    placed = g.op("Where", at, f64(w[None, :, None], "weights"), f64(0.0, "zero"))
    sorted_w = g.op("ReduceSum", placed, axes=[1], keepdims=0)  # one nonzero term per position
    cdf = [col(g, sorted_w, 0)]
    for j in range(1, e_n):
        cdf.append(g.op("Add", cdf[-1], col(g, sorted_w, j)))
    cdf_m = g.op("Concat", *[g.column(c) for c in cdf], axis=1)
    half = g.op("Mul", g.column(cdf[-1]), f64(0.5, "half"))
    reached = g.op("Where", g.op("Less", cdf_m, half), f64(0.0, "no"), f64(1.0, "yes"))
    median = g.op("Cast", g.op("ArgMax", reached, axis=1, keepdims=1), to=FLOAT64)  # [N, 1] position
    pick = g.op("Equal", rank, median)
    y = g.op("ReduceSum", g.op("Where", pick, p, g.const(0.0, "zero")), axes=[1], keepdims=0)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})
