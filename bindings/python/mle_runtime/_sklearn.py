"""scikit-learn -> .mle: each supported estimator becomes graph nodes that
compute what its transform/predict/... compute, in the same order of
operations, so float64 results agree to rounding."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ._errors import MLEShapeError, MLEUnsupportedError
from . import _lightgbm, _sklearn_trees, _xgboost
from ._graph import Graph


@dataclass
class Head:
    """What a final estimator offers: public outputs and the methods that
    read them, plus class labels for classifiers."""

    task: str  # "classifier", "regressor", "outlier_detector" or "transformer"
    outputs: dict[str, str] = field(default_factory=dict)  # public name -> value
    methods: dict[str, str] = field(default_factory=dict)  # method -> public output
    classes: np.ndarray | None = None
    labels_are_indices: bool = False


def _unsupported(what: str) -> MLEUnsupportedError:
    return MLEUnsupportedError(f"{what} is not supported by mle_runtime's scikit-learn exporter "
                               f"(supported: {', '.join(sorted(_TRANSFORMERS) + sorted(_HEADS))}, Pipeline)",
                               8 | 3 << 8, "MLE_ERR_UNSUPPORTED_FEATURE")


# ------------------------------------------------------------ transformers

def _center_scale(g: Graph, x: str, center: Any, scale: Any) -> str:
    """X -= center; X /= scale, each when present (scikit-learn's order)."""
    if center is not None:
        x = g.op("Sub", x, g.const(center, "center"))
    if scale is not None:
        x = g.op("Div", x, g.const(scale, "scale"))
    return x


def _standard_scaler(g: Graph, est: Any, x: str) -> str:
    return _center_scale(g, x, est.mean_ if est.with_mean else None, est.scale_ if est.with_std else None)


def _min_max_scaler(g: Graph, est: Any, x: str) -> str:
    x = g.op("Add", g.op("Mul", x, g.const(est.scale_, "scale")), g.const(est.min_, "min"))
    if est.clip:
        lo, hi = est.feature_range
        x = g.op("Clip", x, g.const(lo, "lo"), g.const(hi, "hi"))
    return x


def _max_abs_scaler(g: Graph, est: Any, x: str) -> str:
    return g.op("Div", x, g.const(est.scale_, "scale"))


def _robust_scaler(g: Graph, est: Any, x: str) -> str:
    return _center_scale(g, x, est.center_ if est.with_centering else None, est.scale_ if est.with_scaling else None)


def _normalizer(g: Graph, est: Any, x: str) -> str:
    reduce = {"l1": "ReduceL1", "l2": "ReduceL2", "max": "ReduceMax"}.get(est.norm)
    if reduce is None:
        raise _unsupported(f"Normalizer(norm={est.norm!r})")
    src = g.op("Abs", x) if est.norm == "max" else x
    norms = g.op(reduce, src, axes=[1], keepdims=1)
    # scikit-learn's _handle_zeros_in_scale: near-zero norms become 1.
    tiny = g.op("Less", norms, g.const(10 * np.finfo(g.dtype).eps, "eps"))
    norms = g.op("Where", tiny, g.const(1.0, "one"), norms)
    return g.op("Div", x, norms)


def _simple_imputer(g: Graph, est: Any, x: str) -> str:
    if est.add_indicator:
        raise _unsupported("SimpleImputer(add_indicator=True)")
    stats = np.asarray(est.statistics_, dtype=np.float64)
    mv = est.missing_values
    if not getattr(est, "keep_empty_features", False):
        valid = ~np.isnan(stats)
        if not valid.all():  # scikit-learn drops all-missing columns
            x = g.op("Gather", x, g.const(np.flatnonzero(valid), "cols", np.int64), axis=1)
            stats = stats[valid]
    if isinstance(mv, float) and np.isnan(mv):
        mask = g.op("IsNaN", x)
    elif isinstance(mv, (int, float, np.integer, np.floating)):
        mask = g.op("Equal", x, g.const(mv, "missing"))
    else:
        raise _unsupported(f"SimpleImputer(missing_values={mv!r})")
    return g.op("Where", mask, g.const(stats, "fill"), x)


def _pca(g: Graph, est: Any, x: str) -> str:
    comps = np.asarray(est.components_, dtype=np.float64)
    y = g.op("Gemm", x, g.const(comps, "components"), transB=1)
    if est.mean_ is not None:
        # scikit-learn centres after projecting: X @ C.T - mean @ C.T.
        y = g.op("Sub", y, g.const(np.reshape(est.mean_, (1, -1)) @ comps.T, "mean_proj"))
    if est.whiten:
        scale = np.sqrt(est.explained_variance_)
        scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps
        y = g.op("Div", y, g.const(scale, "whiten"))
    return y


_TRANSFORMERS: dict[str, Callable[[Graph, Any, str], str]] = {
    "StandardScaler": _standard_scaler, "MinMaxScaler": _min_max_scaler, "MaxAbsScaler": _max_abs_scaler,
    "RobustScaler": _robust_scaler, "Normalizer": _normalizer, "SimpleImputer": _simple_imputer, "PCA": _pca,
}

# --------------------------------------------------------------- heads

def _linear(g: Graph, coef: Any, intercept: Any, x: str) -> str:
    w = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    b = np.broadcast_to(np.asarray(intercept, dtype=np.float64), (w.shape[0],))
    return g.op("Gemm", x, g.const(w, "coef"), g.const(b, "intercept"), transB=1, hint="scores")


def _regressor_linear(g: Graph, est: Any, x: str) -> Head:
    y = _linear(g, est.coef_, est.intercept_, x)
    if np.ndim(est.coef_) == 1:
        y = g.flatten_column(y)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


def _regressor_glm(g: Graph, est: Any, x: str) -> Head:
    """Poisson/Gamma/TweedieRegressor: the link's inverse of X @ coef + intercept."""
    link = type(getattr(getattr(est, "_base_loss", None), "link", None)).__name__
    if link not in ("IdentityLink", "LogLink"):
        raise _unsupported(f"{type(est).__name__} with link {link}")
    y = g.flatten_column(_linear(g, est.coef_, est.intercept_, x))
    if link == "LogLink":
        y = g.op("Exp", y)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


def _classes(g: Graph, head: Head, est: Any, index: str) -> None:
    """Adds the label output: class values when they are integers (so C,
    Rust and Node users get them too), else indices mapped in Python."""
    classes = np.asarray(est.classes_)
    head.classes = classes
    if classes.dtype.kind in "iu" and np.array_equal(classes, np.arange(len(classes))):
        head.outputs["label"] = index  # the index is the label
    elif classes.dtype.kind in "iu":
        head.outputs["label"] = g.op("Gather", g.const(classes.astype(np.int64), "classes", np.int64), index)
    else:
        head.outputs["label"] = index
        head.labels_are_indices = True
    head.methods["predict"] = "label"


def _proba_outputs(g: Graph, head: Head, proba: str) -> None:
    # predict_log_proba is np.log(predict_proba) in scikit-learn too; the
    # binding computes it from this output rather than every run computing it.
    head.outputs["probabilities"] = proba
    head.methods["predict_proba"] = "probabilities"
    head.methods["predict_log_proba"] = "probabilities"


def _ovr_normalize(g: Graph, p: str, n_classes: int) -> str:
    """LibLinear-style OvR normalization, uniform where every score is 0."""
    total = g.op("ReduceSum", p, axes=[1], keepdims=1)
    zero = g.op("Equal", total, g.const(0.0, "zero"))
    p = g.op("Where", zero, g.const(1.0, "one"), p)
    total = g.op("Where", zero, g.const(float(n_classes), "k"), total)
    return g.op("Div", p, total)


def _decision_head(g: Graph, est: Any, scores: str, binary: bool) -> tuple[Head, str]:
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
    _classes(g, head, est, index)
    return head, d


def _modified_huber(g: Graph, d: str) -> str:
    """(clip(d, -1, 1) + 1) / 2, the modified Huber loss's probability."""
    clipped = g.op("Clip", d, g.const(-1.0, "lo"), g.const(1.0, "hi"))
    return g.op("Div", g.op("Add", clipped, g.const(1.0, "one")), g.const(2.0, "two"))


def _classifier_linear(g: Graph, est: Any, x: str) -> Head:
    name = type(est).__name__
    binary = np.ndim(est.coef_) == 1 or np.shape(est.coef_)[0] == 1  # RidgeClassifier: 1-D coef_ for 2 classes
    head, d = _decision_head(g, est, _linear(g, est.coef_, est.intercept_, x), binary)
    loss = getattr(est, "loss", None)
    if name == "LogisticRegression" or (name == "SGDClassifier" and loss == "log_loss"):
        if binary:
            proba = g.two_class_proba(g.op("Sigmoid", d))
        elif name == "LogisticRegression":
            proba = g.op("Softmax", d, axis=1)
        else:
            proba = _ovr_normalize(g, g.op("Sigmoid", d), len(est.classes_))
        _proba_outputs(g, head, proba)
    elif name == "SGDClassifier" and loss == "modified_huber":
        p = _modified_huber(g, d)
        proba = g.two_class_proba(p) if binary else _ovr_normalize(g, p, len(est.classes_))
        _proba_outputs(g, head, proba)
    return head


def _one_vs_rest(g: Graph, est: Any, x: str) -> Head:
    """OneVsRestClassifier over binary linear classifiers: one Gemm for all."""
    subs = est.estimators_
    for e in subs:
        if type(e).__name__ not in ("LogisticRegression", "SGDClassifier", "LinearSVC"):
            raise _unsupported(f"OneVsRestClassifier over {type(e).__name__}")
    if est.label_binarizer_.y_type_ not in ("binary", "multiclass"):
        raise _unsupported("OneVsRestClassifier on multilabel targets")
    scores = _linear(g, np.vstack([e.coef_ for e in subs]), np.hstack([e.intercept_ for e in subs]), x)
    head, d = _decision_head(g, est, scores, len(subs) == 1)
    if all(hasattr(e, "predict_proba") and _has_proba(e) for e in subs):
        loss = getattr(subs[0], "loss", "log_loss")
        p = _modified_huber(g, d) if loss == "modified_huber" else g.op("Sigmoid", d)
        p = g.two_class_proba(p) if len(subs) == 1 else p
        # Rows are normalized where their sum is not zero (np.divide(where=)).
        total = g.op("ReduceSum", p, axes=[1], keepdims=1)
        zero = g.op("Equal", total, g.const(0.0, "zero"))
        _proba_outputs(g, head, g.op("Where", zero, p, g.op("Div", p, total)))
    return head


def _has_proba(e: Any) -> bool:
    name = type(e).__name__
    return name == "LogisticRegression" or (name == "SGDClassifier" and e.loss in ("log_loss", "modified_huber"))


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
            raise _unsupported(f"{type(est).__name__} activation {act!r}")
        elif _ACTIVATIONS[act]:
            h = g.op(_ACTIVATIONS[act], h)
    return h


def _mlp_classifier(g: Graph, est: Any, x: str) -> Head:
    if getattr(est._label_binarizer, "y_type_", "") == "multilabel-indicator":
        raise _unsupported("MLPClassifier trained on multilabel targets")
    out = _mlp_forward(g, est, x)
    head = Head("classifier")
    if est.n_outputs_ == 1:
        p = g.flatten_column(out)
        proba = g.two_class_proba(p)
        index = g.op("Cast", g.op("Greater", p, g.const(0.5, "half")), to=7)
    else:
        proba = out
        index = g.op("ArgMax", out, axis=1, keepdims=0)
    _classes(g, head, est, index)
    _proba_outputs(g, head, proba)
    return head


def _mlp_regressor(g: Graph, est: Any, x: str) -> Head:
    y = _mlp_forward(g, est, x)
    if est.n_outputs_ == 1:
        y = g.flatten_column(y)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


# Linear models whose predict is X @ coef_ + intercept_ (LinearModel's
# decision function), and linear classifiers whose decision function is the
# same, predicting class 1 where it is > 0 (binary) or the argmax; none of
# the classifiers below has predict_proba.
_LINEAR_REGRESSORS = ("LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV",
                      "Lars", "LassoLars", "LassoLarsIC", "OrthogonalMatchingPursuit", "SGDRegressor", "LinearSVR",
                      "PassiveAggressiveRegressor", "HuberRegressor", "QuantileRegressor", "BayesianRidge",
                      "ARDRegression")
_LINEAR_CLASSIFIERS = ("LogisticRegression", "SGDClassifier", "LinearSVC", "RidgeClassifier", "RidgeClassifierCV",
                       "Perceptron", "PassiveAggressiveClassifier")

_HEADS: dict[str, Callable[[Graph, Any, str], Head]] = {
    **dict.fromkeys(_LINEAR_REGRESSORS, _regressor_linear), **dict.fromkeys(_LINEAR_CLASSIFIERS, _classifier_linear),
    **dict.fromkeys(("PoissonRegressor", "GammaRegressor", "TweedieRegressor"), _regressor_glm),
    "MLPClassifier": _mlp_classifier, "MLPRegressor": _mlp_regressor, "OneVsRestClassifier": _one_vs_rest,
}
_HEADS.update(_sklearn_trees.HEADS)
_HEADS.update(_xgboost.HEADS)
_HEADS.update(_lightgbm.HEADS)

# -------------------------------------------------------------- export

def _steps(model: Any) -> list[Any]:
    if type(model).__name__ == "Pipeline":
        steps = [est for _, est in model.steps if est is not None and est != "passthrough"]
        if not steps:
            raise _unsupported("an empty Pipeline")
        out = []
        for s in steps:
            out.extend(_steps(s))
        return out
    return [model]


def _describe(model: Any) -> str:
    if type(model).__name__ == "Pipeline":
        return "Pipeline(" + ", ".join(_describe(e) for _, e in model.steps if e is not None and e != "passthrough") + ")"
    return type(model).__name__


def export(model: Any, dtype: Any = np.float64) -> tuple[Graph, Head, dict]:
    """Converts a fitted estimator or Pipeline into a Graph, its Head and the
    mle.* metadata properties."""
    import sklearn
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    steps = _steps(model)
    for est in steps:
        name = type(est).__name__
        if name not in _TRANSFORMERS and name not in _HEADS:
            raise _unsupported(f"scikit-learn estimator {name}")
        try:
            check_is_fitted(est)
        except NotFittedError as e:
            raise MLEUnsupportedError(f"{name} is not fitted: {e}", 8 | 3 << 8, "MLE_ERR_UNSUPPORTED_FEATURE") from e
    n_features = int(steps[0].n_features_in_)
    g = Graph(np.dtype(dtype))
    x = "X"
    head = None
    for i, est in enumerate(steps):
        name = type(est).__name__
        if name in _TRANSFORMERS:
            x = _TRANSFORMERS[name](g, est, x)
            if i == len(steps) - 1:
                head = Head("transformer", {"transformed": x}, {"transform": "transformed"})
        elif i != len(steps) - 1:
            raise _unsupported(f"{name} in the middle of a Pipeline")
        else:
            head = _HEADS[name](g, est, x)
    assert head is not None
    first = steps[0]
    props = {
        "mle.task": head.task,
        "mle.methods": _json(head.methods),
    }
    if (type(first).__name__ == "SimpleImputer" and _is_nan(first.missing_values)) or \
            all(_sklearn_trees._allow_nan(est) for est in steps):
        props["mle.allow_nan"] = "true"  # absent means false
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(first, "feature_names_in_", None)
    if names is not None:
        props["mle.feature_names"] = _json([str(n) for n in names])
    if head.classes is not None:
        c = head.classes
        values = [v.item() if hasattr(v, "item") else v for v in c.tolist()]
        props["mle.classes"] = _json({"dtype": c.dtype.str if c.dtype.kind != "O" else "O", "values": values})
        if head.labels_are_indices:
            props["mle.labels"] = "index"  # absent: the label output holds the class values
    meta = {"producer": {"name": "scikit-learn", "version": sklearn.__version__}, "name": _describe(model)}
    g.inputs = [("X", np.dtype(dtype), [-1, n_features])]
    return g, head, {"meta": meta, "properties": props}


def _json(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"))


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and np.isnan(v)


def is_sklearn(model: Any) -> bool:
    """scikit-learn estimators and Pipelines, and the scikit-learn wrappers
    of XGBoost and LightGBM (XGBClassifier, LGBMRegressor, ...)."""
    return type(model).__module__.startswith(("sklearn.", "xgboost.", "lightgbm.")) and not is_booster(model)


def is_booster(model: Any) -> bool:
    """A raw xgboost.Booster or lightgbm.Booster."""
    return type(model).__name__ == "Booster" and type(model).__module__.startswith(("xgboost.", "lightgbm."))


class SklearnMLEExporter:
    """The seed API: ``SklearnMLEExporter().export_sklearn(model, path, input_shape=(1, n))``."""

    def __init__(self, dtype: Any = np.float64) -> None:
        self.dtype = dtype

    def export_sklearn(self, model: Any, path: str, input_shape: tuple[int, int] | None = None, **kw: Any):
        from . import dump

        if input_shape is not None and int(input_shape[-1]) != int(_steps(model)[0].n_features_in_):
            raise MLEShapeError(f"input_shape {input_shape} does not match the model's "
                                f"{_steps(model)[0].n_features_in_} features", 9, "MLE_ERR_SHAPE")
        return dump(model, path, dtype=self.dtype, **kw)
