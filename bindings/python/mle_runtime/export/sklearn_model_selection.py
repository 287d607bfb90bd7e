"""sklearn.model_selection's wrappers: the search CVs (predict and the
other methods are best_estimator_'s) and the threshold classifiers
(FixedThresholdClassifier, TunedThresholdClassifierCV: labels from a
thresholded response, the other methods the inner classifier's)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, unsupported
from ._meta import col, response
from ._registry import PREDICTOR, TRANSFORMER, register


def delegate(g: Graph, est: Any, x: Any) -> Head:
    """est (an estimator or a Pipeline) applied to x, every method its own:
    a predictor's head, or a transformer's transform."""
    from .sklearn_pipeline import _converter, _steps, apply_predictor, apply_transformer

    if _converter(_steps(est)[-1]).kind == TRANSFORMER:
        return Head("transformer", {"transformed": apply_transformer(g, est, x)}, {"transform": "transformed"})
    return apply_predictor(g, est, x)


def _best(est: Any) -> Any:
    if not hasattr(est, "best_estimator_"):
        raise unsupported(f"{type(est).__name__}(refit={est.refit!r}) without best_estimator_ (it cannot predict)")
    return est.best_estimator_


def _search(g: Graph, est: Any, x: Any) -> Head:
    return delegate(g, _best(est), x)


_SEARCH = "best_estimator_ (any supported estimator or Pipeline, named columns kept); refit=False is refused"
for _name in ("GridSearchCV", "RandomizedSearchCV"):
    register("sklearn.model_selection." + _name, PREDICTOR, _SEARCH, inner=_best)(_search)
# Public as sklearn.model_selection.Halving* only once sklearn.experimental.enable_halving_search_cv
# is imported; registered where the classes live, so they resolve either way.
for _name in ("HalvingGridSearchCV", "HalvingRandomSearchCV"):
    register("sklearn.model_selection._search_successive_halving." + _name, PREDICTOR,
             f"sklearn.model_selection.{_name} (experimental): " + _SEARCH, inner=_best)(_search)


# ------------------------------------------------------- threshold classifiers

def _inner_classifier(est: Any) -> Any:
    return getattr(est, "estimator_", est.estimator)


def _thresholded(g: Graph, est: Any, x: Any, threshold: Any, pos_label: Any) -> Head:
    """_get_response_values_binary, then _threshold_scores_to_class_labels:
    classes_[pos] where the response is >= the threshold, else the other
    class (pos_label None: classes_[1] and classes_[0])."""
    clf = _inner_classifier(est)
    who = type(est).__name__
    cls = np.asarray(est.classes_)
    if cls.ndim != 1 or len(cls) != 2:
        raise unsupported(f"{who} over {type(clf).__name__} fitted on {len(cls)} classes (binary only)")
    inner_head = delegate(g, clf, x)
    methods = ["predict_proba", "decision_function"] if est.response_method == "auto" else [est.response_method]
    used, score = response(g, clf, inner_head, methods, who)
    scored = cls[-1] if pos_label is None else pos_label  # whose response is scored
    if scored not in cls.tolist():
        raise unsupported(f"{who} with pos_label={pos_label!r} not among classes {cls.tolist()}")
    if used == "predict_proba":
        score = col(g, score, int(np.flatnonzero(cls == scored)[0]))
    elif scored == cls[0]:
        score = g.op("Neg", score)  # -1 * decision_function
    if isinstance(threshold, str):  # "auto"
        threshold = 0.5 if used == "predict_proba" else 0.0
    if pos_label is None:
        pos, neg = 1, 0
    else:
        pos, neg = int(np.flatnonzero(cls == pos_label)[0]), int(np.flatnonzero(cls != pos_label)[0])
    t = g.const(float(threshold), "threshold")
    # score >= threshold, NaN false as in numpy (no GreaterOrEqual op: > or ==).
    hit = g.op("Where", g.op("Greater", score, t), g.const(pos, "pos", np.int64),
               g.op("Where", g.op("Equal", score, t), g.const(pos, "pos", np.int64), g.const(neg, "neg", np.int64)))
    head = Head("classifier")
    classes(g, head, est, hit)
    for m in ("predict_proba", "predict_log_proba", "decision_function"):
        if hasattr(est, m):
            out = inner_head.methods.get(m)
            if out is None:
                raise unsupported(f"{who} over {type(clf).__name__}, whose {m} the exporter does not produce")
            head.outputs[out] = inner_head.outputs[out]
            head.methods[m] = out
    return head


@register("sklearn.model_selection.FixedThresholdClassifier", PREDICTOR,
          "binary; any supported classifier (response predict_proba or decision_function, threshold and "
          "pos_label as scikit-learn applies them: response >= threshold); predict_proba, decision_function",
          inner=_inner_classifier)
def _fixed_threshold(g: Graph, est: Any, x: Any) -> Head:
    return _thresholded(g, est, x, est.threshold, est.pos_label)


@register("sklearn.model_selection.TunedThresholdClassifierCV", PREDICTOR,
          "binary; as FixedThresholdClassifier with best_threshold_ and the scorer's pos_label",
          inner=_inner_classifier)
def _tuned_threshold(g: Graph, est: Any, x: Any) -> Head:
    return _thresholded(g, est, x, est.best_threshold_, est._curve_scorer._get_pos_label())
