"""sklearn.calibration.CalibratedClassifierCV with method="sigmoid" or
"isotonic", over any supported classifier (a FrozenEstimator is read
through).

Per calibrated classifier (one per cv fold with ensemble=True, one
otherwise), as _CalibratedClassifier.predict_proba computes it: the
classifier's decision_function (else predict_proba; the positive column
for two classes), each column through its calibrator into the column of
its class (Platt: expit(-(a * t + b)); isotonic: the registered
IsotonicRegression converter, np.interp after clipping); two classes: column 0
is 1 - column 1; more: divided by the row sum (numpy's pairwise order),
uniform where that sum is 0; values in (1, 1 + 1e-5] set to 1. Then the
mean over the calibrated classifiers (added in order, divided by their
count) and predict is its first argmax."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, unsupported
from ._meta import DTYPE_IDS, FLOAT64, add_in_order, col, inner, need, probabilities, response
from ._registry import PREDICTOR, register
from .sklearn_naive_bayes import pairwise_sum

WHO = "CalibratedClassifierCV"


def _unfrozen(clf: Any) -> Any:
    from sklearn.frozen import FrozenEstimator

    return clf.estimator if type(clf) is FrozenEstimator else clf


def _zeros(g: Graph, like: str) -> str:
    """0.0 in like's shape and dtype (a comparison that is always false, NaN included)."""
    return g.op("Cast", g.op("Less", like, g.const(-np.inf, "neg_inf")), to=DTYPE_IDS[g.dtype])


def _calibrate(g: Graph, cal: Any, t: str) -> str:
    """One calibrator's output for the scores t [N]."""
    kind = type(cal).__name__
    if kind == "_SigmoidCalibration":
        z = g.op("Add", g.op("Mul", t, g.const(float(cal.a_), "platt_a")), g.const(float(cal.b_), "platt_b"))
        return g.op("Sigmoid", g.op("Neg", z))
    if kind == "IsotonicRegression":
        # Its predict converts the scores to its thresholds' dtype (float64
        # here: the isotonic converter refuses others) and interpolates.
        t64 = t if g.dtype == np.float64 else g.op("Cast", t, to=FLOAT64)
        return need(g, cal, inner(g, cal, g.column(t64)), "predict", WHO)
    raise unsupported(f"{WHO} with calibrator {kind}")


def _calibrated(g: Graph, cc: Any, x: str, all_classes: np.ndarray) -> str:
    n = len(all_classes)
    clf = _unfrozen(cc.estimator)
    head = inner(g, clf, x)
    meth, pred = response(g, clf, head, ["decision_function", "predict_proba"], WHO)
    own = np.asarray(clf.classes_)
    binary = len(own) == 2  # _get_response_values gives one column (the positive class's)
    if meth == "predict_proba" and binary:
        pred = col(g, pred, 1)
    columns = [pred] if binary else [col(g, pred, j) for j in range(len(own))]
    positions = np.searchsorted(all_classes, own)  # LabelEncoder(classes).transform(clf.classes_)
    if not np.array_equal(all_classes[np.minimum(positions, n - 1)], own):
        raise unsupported(f"{WHO} whose classifier has classes outside classes_")
    proba: list[str | None] = [None] * n
    for idx, t, cal in zip(positions, columns, cc.calibrators):
        if n == 2:
            idx += 1  # the one calibrator is the positive class's
        proba[int(idx)] = _calibrate(g, cal, t)
    if n == 2:
        if proba[1] is None:
            raise unsupported(f"{WHO} with a binary classifier calibrated on the negative class")
        p = g.two_class_proba(proba[1])
    else:
        filled = next(v for v in proba if v is not None)
        p = g.op("Concat", *[g.column(v if v is not None else _zeros(g, filled)) for v in proba], axis=1)
        total = pairwise_sum(g, p, n, g.dtype)
        uniform = g.const(1.0 / n, "uniform")
        p = g.op("Where", g.op("Equal", total, g.const(0.0, "zero")), uniform, g.op("Div", p, total))
    # proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
    one = g.const(1.0, "one")
    return g.op("Where", g.op("Greater", p, one), g.op("Where", g.op("Greater", p, g.const(1.0 + 1e-5, "one_eps")), p,
                                                       one), p)


@register("sklearn.calibration.CalibratedClassifierCV", PREDICTOR,
          "method='sigmoid' and 'isotonic' over any supported classifier (decision_function, else "
          "predict_proba), ensemble True or False, FrozenEstimator; binary and multiclass; predict_proba")
def _calibrated_classifier_cv(g: Graph, est: Any, x: str) -> Head:
    if est.method not in ("sigmoid", "isotonic"):
        # _convert_to_logits decides per batch whether the inputs look like probabilities.
        raise unsupported(f"{WHO}(method={est.method!r}) (its logits depend on the whole batch)")
    all_classes = np.asarray(est.classes_)
    per = [_calibrated(g, cc, x, all_classes) for cc in est.calibrated_classifiers_]
    mean = g.op("Div", add_in_order(g, per), g.const(float(len(per)), "count"))
    head = Head("classifier")
    classes(g, head, est, g.op("ArgMax", mean, axis=1, keepdims=0))
    probabilities(g, head, est, mean)
    return head
