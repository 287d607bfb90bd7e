"""sklearn.multiclass."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, linear, proba_outputs, unsupported
from ._registry import PREDICTOR, register
from .sklearn_linear_model import decision_head, modified_huber


@register("sklearn.multiclass.OneVsRestClassifier", PREDICTOR,
          "over LogisticRegression, SGDClassifier, LinearSVC (one Gemm for all classes); predict_proba")
def _one_vs_rest(g: Graph, est: Any, x: str) -> Head:
    """OneVsRestClassifier over binary linear classifiers: one Gemm for all."""
    subs = est.estimators_
    for e in subs:
        if type(e).__name__ not in ("LogisticRegression", "SGDClassifier", "LinearSVC"):
            raise unsupported(f"OneVsRestClassifier over {type(e).__name__}")
    if est.label_binarizer_.y_type_ not in ("binary", "multiclass"):
        raise unsupported("OneVsRestClassifier on multilabel targets")
    scores = linear(g, np.vstack([e.coef_ for e in subs]), np.hstack([e.intercept_ for e in subs]), x)
    head, d = decision_head(g, est, scores, len(subs) == 1)
    if all(hasattr(e, "predict_proba") and _has_proba(e) for e in subs):
        loss = getattr(subs[0], "loss", "log_loss")
        p = modified_huber(g, d) if loss == "modified_huber" else g.op("Sigmoid", d)
        p = g.two_class_proba(p) if len(subs) == 1 else p
        # Rows are normalized where their sum is not zero (np.divide(where=)).
        total = g.op("ReduceSum", p, axes=[1], keepdims=1)
        zero = g.op("Equal", total, g.const(0.0, "zero"))
        proba_outputs(g, head, g.op("Where", zero, p, g.op("Div", p, total)))
    return head


def _has_proba(e: Any) -> bool:
    name = type(e).__name__
    return name == "LogisticRegression" or (name == "SGDClassifier" and e.loss in ("log_loss", "modified_huber"))
