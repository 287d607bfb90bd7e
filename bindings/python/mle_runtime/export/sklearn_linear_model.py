"""sklearn.linear_model (and LinearSVC/LinearSVR): X @ coef_ + intercept_,
the GLMs' inverse links, and the classifiers' decision heads."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, linear, proba_outputs, unsupported
from ._registry import PREDICTOR, register

def _regressor_linear(g: Graph, est: Any, x: str) -> Head:
    y = linear(g, est.coef_, est.intercept_, x)
    if np.ndim(est.coef_) == 1:
        y = g.flatten_column(y)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


def _regressor_glm(g: Graph, est: Any, x: str) -> Head:
    """Poisson/Gamma/TweedieRegressor: the link's inverse of X @ coef + intercept."""
    link = type(getattr(getattr(est, "_base_loss", None), "link", None)).__name__
    if link not in ("IdentityLink", "LogLink"):
        raise unsupported(f"{type(est).__name__} with link {link}")
    y = g.flatten_column(linear(g, est.coef_, est.intercept_, x))
    if link == "LogLink":
        y = g.op("Exp", y)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


def _ovr_normalize(g: Graph, p: str, n_classes: int) -> str:
    """LibLinear-style OvR normalization, uniform where every score is 0."""
    total = g.op("ReduceSum", p, axes=[1], keepdims=1)
    zero = g.op("Equal", total, g.const(0.0, "zero"))
    p = g.op("Where", zero, g.const(1.0, "one"), p)
    total = g.op("Where", zero, g.const(float(n_classes), "k"), total)
    return g.op("Div", p, total)


def decision_head(g: Graph, est: Any, scores: str, binary: bool) -> tuple[Head, str]:
    """The decision function and labels of a linear classifier: a binary one
    has one score column and predicts class 1 where it is > 0 (as scikit-learn
    does, rather than an argmax that would tie at 0), others the argmax."""
    head = Head("classifier")
    if binary:
        d = g.flatten_column(scores)
        index = g.op("Cast", g.op("Greater", d, g.const(0.0, "zero")), to=7)
    else:
        d = scores
        index = g.op("ArgMax", d, axis=1, keepdims=0)
    head.outputs["decision"] = d
    head.methods["decision_function"] = "decision"
    classes(g, head, est, index)
    return head, d


def modified_huber(g: Graph, d: str) -> str:
    """(clip(d, -1, 1) + 1) / 2, the modified Huber loss's probability."""
    clipped = g.op("Clip", d, g.const(-1.0, "lo"), g.const(1.0, "hi"))
    return g.op("Div", g.op("Add", clipped, g.const(1.0, "one")), g.const(2.0, "two"))


def _classifier_linear(g: Graph, est: Any, x: str) -> Head:
    name = type(est).__name__
    binary = np.ndim(est.coef_) == 1 or np.shape(est.coef_)[0] == 1  # RidgeClassifier: 1-D coef_ for 2 classes
    head, d = decision_head(g, est, linear(g, est.coef_, est.intercept_, x), binary)
    loss = getattr(est, "loss", None)
    logistic = name in ("LogisticRegression", "LogisticRegressionCV")  # the CV inherits predict_proba
    if logistic or (name == "SGDClassifier" and loss == "log_loss"):
        if binary:
            proba = g.two_class_proba(g.op("Sigmoid", d))
        elif logistic:
            proba = g.op("Softmax", d, axis=1)
        else:
            proba = _ovr_normalize(g, g.op("Sigmoid", d), len(est.classes_))
        proba_outputs(g, head, proba)
    elif name == "SGDClassifier" and loss == "modified_huber":
        p = modified_huber(g, d)
        proba = g.two_class_proba(p) if binary else _ovr_normalize(g, p, len(est.classes_))
        proba_outputs(g, head, proba)
    return head


def _fq(name: str) -> str:
    return ("sklearn.svm." if name in ("LinearSVC", "LinearSVR") else "sklearn.linear_model.") + name


# Linear models whose predict is X @ coef_ + intercept_ (LinearModel's
# decision function), and linear classifiers whose decision function is the
# same, predicting class 1 where it is > 0 (binary) or the argmax.
for _name in ("LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV", "Lars",
              "LassoLars", "LassoLarsIC", "OrthogonalMatchingPursuit", "SGDRegressor", "LinearSVR",
              "PassiveAggressiveRegressor", "HuberRegressor", "QuantileRegressor", "BayesianRidge", "ARDRegression"):
    register(_fq(_name), PREDICTOR, "predict")(_regressor_linear)
_DECISION = "binary and multiclass; decision_function"
for _name, _note in (("LogisticRegression", _DECISION + ", predict_proba"),
                     ("SGDClassifier", _DECISION + "; predict_proba for log_loss and modified_huber"),
                     ("LinearSVC", _DECISION), ("RidgeClassifier", _DECISION), ("RidgeClassifierCV", _DECISION),
                     ("Perceptron", _DECISION), ("PassiveAggressiveClassifier", _DECISION)):
    register(_fq(_name), PREDICTOR, _note)(_classifier_linear)
for _name in ("PoissonRegressor", "GammaRegressor", "TweedieRegressor"):
    register(_fq(_name), PREDICTOR, "identity and log links")(_regressor_glm)
