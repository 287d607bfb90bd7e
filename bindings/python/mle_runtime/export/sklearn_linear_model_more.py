"""sklearn.linear_model beyond sklearn_linear_model.py: the CV and
multi-task variants (X @ coef_.T + intercept_, as LinearModel predicts),
LogisticRegressionCV (LogisticRegression's heads), RANSACRegressor (its
estimator_) and SGDOneClassSVM."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, unsupported
from ._meta import need
from ._registry import PREDICTOR, register
from .sklearn_linear_model import _classifier_linear, _regressor_linear

# LinearModel.predict: one target gives [N], several (MultiTask*) [N, n_targets].
for _name in ("LarsCV", "LassoLarsCV", "OrthogonalMatchingPursuitCV", "MultiTaskLasso", "MultiTaskLassoCV",
              "MultiTaskElasticNet", "MultiTaskElasticNetCV", "TheilSenRegressor"):
    register("sklearn.linear_model." + _name, PREDICTOR, "predict")(_regressor_linear)

register("sklearn.linear_model.LogisticRegressionCV", PREDICTOR,
         "binary and multiclass; decision_function, predict_proba (sigmoid for two classes, softmax otherwise)")(
    _classifier_linear)


@register("sklearn.linear_model.RANSACRegressor", PREDICTOR, "predict through any supported estimator_")
def _ransac(g: Graph, est: Any, x: str) -> Head:
    from .sklearn_pipeline import apply_predictor

    y = need(g, est.estimator_, apply_predictor(g, est.estimator_, x), "predict", "RANSACRegressor", widen=False)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


@register("sklearn.linear_model.SGDOneClassSVM", PREDICTOR,
          "predict (int32, as scikit-learn's), decision_function, score_samples")
def _sgd_one_class_svm(g: Graph, est: Any, x: str) -> Head:
    coef = np.asarray(est.coef_, dtype=np.float64)
    if coef.ndim != 1:
        raise unsupported(f"SGDOneClassSVM with coef_ of shape {coef.shape}")
    offset = np.asarray(est.offset_, dtype=np.float64).ravel()
    # X @ coef_ - offset_; Gemm adds -offset_, the same rounding as subtracting it.
    dot = g.op("Gemm", x, g.const(coef[None, :], "coef"), g.const(-offset, "minus_offset"), transB=1)
    decision = g.flatten_column(dot)
    score = g.op("Add", decision, g.const(offset, "offset"))  # decision_function + offset_, rounded again
    # decision >= 0 is an inlier (scikit-learn's predict); X holds no NaN (scikit-learn refuses it).
    outlier = g.op("Less", decision, g.const(0.0, "zero"))
    label = g.op("Where", outlier, g.const(-1, "outlier", np.int32), g.const(1, "inlier", np.int32))
    return Head("outlier_detector", {"label": label, "decision": decision, "score": score},
                {"predict": "label", "decision_function": "decision", "score_samples": "score"})
