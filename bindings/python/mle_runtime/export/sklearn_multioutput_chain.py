"""sklearn.multioutput's chains: ClassifierChain and RegressorChain.

Each estimator of the chain sees X with the previous estimators' chain
outputs appended as float64 columns (np.hstack((X, Y_feature_chain[:, :i]))):
labels as numbers for chain_method "predict", the positive class's column
of predict_proba / predict_log_proba, or the decision function. Each
method's columns come out in chain order, then reordered by order_'s
inverse. ClassifierChain.predict returns the labels as float64, as
scikit-learn's np.zeros buffer holds them."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, unsupported
from ._meta import DTYPE_IDS, FLOAT64, cols, col, inner, need, output
from ._registry import PREDICTOR, register


def _binary_classes(e: Any, who: str) -> np.ndarray:
    c = np.asarray(e.classes_)
    if c.ndim != 1 or len(c) != 2 or c.dtype.kind not in "iufb":
        raise unsupported(f"{who} over {type(e).__name__} with classes {c.tolist()} (binary numeric targets only)")
    return c


def _response(g: Graph, e: Any, head: Head, method: str, who: str) -> str:
    """_get_response_values(e, X_aug, method) for a binary classifier: [N] in the graph's dtype."""
    if method == "predict":
        label = output(head, "predict")
        if head.labels_are_indices:
            raise unsupported(f"{who} over {type(e).__name__} with labels the graph cannot hold")
        return g.op("Cast", label, to=DTYPE_IDS[g.dtype])
    if method == "predict_log_proba":
        v = need(g, e, head, "predict_log_proba", who)
        if head.methods["predict_log_proba"] == head.methods.get("predict_proba"):
            v = g.op("Log", v)  # the estimator's np.log(predict_proba)
        return col(g, v, 1)  # pos_label = classes_[-1]
    v = need(g, e, head, method, who)
    return col(g, v, 1) if method == "predict_proba" else v


def _chain(g: Graph, est: Any, x: str, methods: list[str], who: str) -> dict[str, str]:
    """Every method's [N, n_targets] output, in the targets' order."""
    feature_method = getattr(est, "chain_method_", "predict")
    if type(est).__name__ == "ClassifierChain":
        for e in est.estimators_:
            _binary_classes(e, who)
    feats: list[str] = []
    outs: dict[str, list[str]] = {m: [] for m in methods}
    for e in est.estimators_:
        x_aug = x if not feats else g.op("Concat", x, *feats, axis=1)
        head = inner(g, e, x_aug)
        feats.append(g.column(_response(g, e, head, feature_method, who)))
        for m in methods:
            outs[m].append(feats[-1] if m == feature_method else g.column(_response(g, e, head, m, who)))
    inv = np.empty_like(np.asarray(est.order_))
    inv[np.asarray(est.order_)] = np.arange(len(est.order_))
    result = {}
    for m, columns in outs.items():
        y = g.op("Concat", *columns, axis=1) if len(columns) > 1 else columns[0]
        result[m] = y if np.array_equal(inv, np.arange(len(inv))) else cols(g, y, inv)
    return result


@register("sklearn.multioutput.ClassifierChain", PREDICTOR,
          "binary numeric targets over any supported classifiers; order_, chain_method (predict, predict_proba, "
          "predict_log_proba, decision_function); predict (float64 labels), predict_proba, decision_function")
def _classifier_chain(g: Graph, est: Any, x: str) -> Head:
    who = "ClassifierChain"
    methods = ["predict"] + [m for m in ("predict_proba", "decision_function") if hasattr(est, m)]
    out = _chain(g, est, x, methods, who)
    head = Head("classifier")
    head.outputs["label"] = g.op("Cast", out["predict"], to=FLOAT64)  # the labels in a float64 buffer
    head.methods["predict"] = "label"
    if "predict_proba" in out:
        head.outputs["probabilities"] = out["predict_proba"]
        head.methods["predict_proba"] = "probabilities"
        head.methods["predict_log_proba"] = "probabilities"  # np.log(predict_proba), taken by the binding
    if "decision_function" in out:
        head.outputs["decision"] = out["decision_function"]
        head.methods["decision_function"] = "decision"
    return head


@register("sklearn.multioutput.RegressorChain", PREDICTOR, "any supported regressors; order_; predict")
def _regressor_chain(g: Graph, est: Any, x: str) -> Head:
    y = _chain(g, est, x, ["predict"], "RegressorChain")["predict"]
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})
