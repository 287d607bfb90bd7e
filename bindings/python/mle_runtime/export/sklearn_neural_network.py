"""sklearn.neural_network: MLPClassifier and MLPRegressor."""

from __future__ import annotations

from typing import Any

from .._graph import Graph
from ._head import Head, classes, proba_outputs, unsupported
from ._registry import PREDICTOR, register

_ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid", "identity": None}


def _mlp_forward(g: Graph, est: Any, x: str) -> str:
    h = x
    last = len(est.coefs_) - 1
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        h = g.op("Gemm", h, g.const(w, "coef"), g.const(b, "intercept"), hint="layer")
        act = est.activation if i < last else est.out_activation_
        if act == "softmax":
            h = g.op("Softmax", h, axis=1)
        elif act not in _ACTIVATIONS:
            raise unsupported(f"{type(est).__name__} activation {act!r}")
        elif _ACTIVATIONS[act]:
            h = g.op(_ACTIVATIONS[act], h)
    return h


@register("sklearn.neural_network.MLPClassifier", PREDICTOR, "binary and multiclass; predict_proba")
def _mlp_classifier(g: Graph, est: Any, x: str) -> Head:
    if getattr(est._label_binarizer, "y_type_", "") == "multilabel-indicator":
        raise unsupported("MLPClassifier trained on multilabel targets")
    out = _mlp_forward(g, est, x)
    head = Head("classifier")
    if est.n_outputs_ == 1:
        p = g.flatten_column(out)
        proba = g.two_class_proba(p)
        index = g.op("Cast", g.op("Greater", p, g.const(0.5, "half")), to=7)
    else:
        proba = out
        index = g.op("ArgMax", out, axis=1, keepdims=0)
    classes(g, head, est, index)
    proba_outputs(g, head, proba)
    return head


@register("sklearn.neural_network.MLPRegressor", PREDICTOR, "single and multi-output")
def _mlp_regressor(g: Graph, est: Any, x: str) -> Head:
    y = _mlp_forward(g, est, x)
    if est.n_outputs_ == 1:
        y = g.flatten_column(y)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})
