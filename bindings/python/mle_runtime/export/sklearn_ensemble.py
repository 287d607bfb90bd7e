"""scikit-learn trees and tree ensembles -> TreeEnsemble. Each head
reproduces the estimator's own arithmetic: the float32 rounding of X
(float64 for HistGradientBoosting), per-leaf values computed with the same
numpy operations, sums in estimator order, the same links and decision
rules (docs/trees.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, proba_outputs
from ._registry import PREDICTOR, register
from ._trees import CATEGORICAL, DEFAULT_LEFT, INVALID_MISSING, Ensemble, unsupported


def _tree_arrays(tree: Any) -> tuple[np.ndarray, ...]:
    """feature (-1 for leaves), threshold, left, right, flags of a fitted
    sklearn.tree._tree.Tree."""
    left = np.asarray(tree.children_left, dtype=np.int64)
    right = np.asarray(tree.children_right, dtype=np.int64)
    leaf = left == -1
    feature = np.where(leaf, -1, np.asarray(tree.feature, dtype=np.int64))
    mgl = getattr(tree, "missing_go_to_left", None)
    flags = np.zeros(len(left), dtype=np.uint8) if mgl is None else np.where(np.asarray(mgl) != 0, DEFAULT_LEFT, 0)
    return feature, np.asarray(tree.threshold, dtype=np.float64), left, right, flags.astype(np.uint8)


def _class_proba(tree: Any, n_classes: int) -> np.ndarray:
    """DecisionTreeClassifier.predict_proba's per-node values: the node's
    class weights divided by their sum (1 where the sum is 0)."""
    proba = np.asarray(tree.value[:, 0, :n_classes], dtype=np.float64)
    normalizer = proba.sum(axis=1)[:, np.newaxis]
    normalizer[normalizer == 0.0] = 1.0
    return proba / normalizer


def allow_nan(est: Any) -> bool:
    try:
        return bool(est.__sklearn_tags__().input_tags.allow_nan)
    except AttributeError:
        return False


def _classes_head(g: Graph, est: Any, index: str) -> Any:
    head = Head("classifier")
    classes(g, head, est, index)
    return head


def _check_single_output(est: Any) -> None:
    if getattr(est, "n_outputs_", 1) != 1 and hasattr(est, "classes_") and isinstance(est.classes_, list):
        raise unsupported(f"{type(est).__name__} with {est.n_outputs_} outputs (multi-output classification)")


# ------------------------------------------------------------ single trees

def decision_tree_classifier(g: Graph, est: Any, x: str) -> Any:
    _check_single_output(est)
    c = len(est.classes_)
    tree = est.tree_
    # Leaves hold [normalized | raw] class weights: predict_proba reads the
    # first half; predict takes the argmax of the raw weights, as
    # scikit-learn does (normalizing first could tie two nearly equal ones).
    values = np.hstack([_class_proba(tree, c), np.asarray(tree.value[:, 0, :c], dtype=np.float64)])
    ens = Ensemble(2 * c)
    ens.add(*_tree_arrays(tree), values)
    raw, _, _ = ens.node(g, x, 2 * c, input_cast="float32")
    proba = g.op("Gather", raw, g.const(np.arange(c), "cols", np.int64), axis=1, hint="proba")
    weights = g.op("Gather", raw, g.const(np.arange(c, 2 * c), "cols", np.int64), axis=1)
    head = _classes_head(g, est, g.op("ArgMax", weights, axis=1, keepdims=0))
    _proba(head, proba)
    return head


def _proba(head: Any, proba: str) -> None:
    proba_outputs(None, head, proba)  # type: ignore[arg-type]


def _regression_values(tree: Any) -> np.ndarray:
    return np.asarray(tree.value[:, :, 0], dtype=np.float64)


def _regressor_head(g: Graph, y: str, n_outputs: int) -> Any:
    if n_outputs == 1:
        y = g.flatten_column(y)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


def decision_tree_regressor(g: Graph, est: Any, x: str) -> Any:
    k = int(est.n_outputs_)
    ens = Ensemble(k)
    ens.add(*_tree_arrays(est.tree_), _regression_values(est.tree_))
    raw, _, _ = ens.node(g, x, k, input_cast="float32")
    return _regressor_head(g, raw, k)


# ------------------------------------------------------------- forests

def forest_classifier(g: Graph, est: Any, x: str) -> Any:
    _check_single_output(est)
    c = len(est.classes_)
    ens = Ensemble(c)
    for e in est.estimators_:
        ens.add(*_tree_arrays(e.tree_), _class_proba(e.tree_, c))
    # Per-tree probabilities added in estimator order, then divided by the
    # number of trees; predict is the first argmax of that mean.
    raw, _, dec = ens.node(g, x, c, aggregate="mean", input_cast="float32", decision="argmax",
                           want_decision=True)
    head = _classes_head(g, est, dec)
    _proba(head, raw)
    return head


def forest_regressor(g: Graph, est: Any, x: str) -> Any:
    k = int(est.n_outputs_)
    ens = Ensemble(k)
    for e in est.estimators_:
        ens.add(*_tree_arrays(e.tree_), _regression_values(e.tree_))
    raw, _, _ = ens.node(g, x, k, aggregate="mean", input_cast="float32")
    return _regressor_head(g, raw, k)


# ------------------------------------------------------ gradient boosting

def _gb_base(est: Any) -> np.ndarray:
    """The raw prediction of the init estimator, which is the same for every
    row when it is the default (a prior) or "zero"; scikit-learn's own code
    computes it."""
    init = est.init_
    if not (isinstance(init, str) and init == "zero") and type(init).__name__ not in ("DummyClassifier", "DummyRegressor"):
        raise unsupported(f"{type(est).__name__} with init={type(init).__name__}: its starting point depends on X")
    row = np.zeros((1, est.n_features_in_), dtype=np.float32)
    return np.asarray(est._raw_predict_init(row), dtype=np.float64)[0]


def _gb_ensemble(est: Any) -> tuple[Ensemble, int]:
    k = est.estimators_.shape[1]
    ens = Ensemble(1)
    lr = est.learning_rate
    for stage in est.estimators_:
        for j, e in enumerate(stage):
            # raw += learning_rate * leaf, one product rounded per stage,
            # as _gradient_boosting.pyx computes it.
            ens.add(*_tree_arrays(e.tree_), lr * np.asarray(e.tree_.value[:, 0, 0], dtype=np.float64), target=j)
    return ens, k


def gradient_boosting_regressor(g: Graph, est: Any, x: str) -> Any:
    ens, k = _gb_ensemble(est)
    raw, _, _ = ens.node(g, x, k, base=_gb_base(est), input_cast="float32")
    return _regressor_head(g, raw, 1)


def gradient_boosting_classifier(g: Graph, est: Any, x: str) -> Any:
    ens, k = _gb_ensemble(est)
    loss = type(est._loss).__name__
    if k == 1:
        # Binary: log_loss is expit(raw), exponential expit(2 raw); predict is raw >= 0.
        scale = 2.0 if loss == "ExponentialLoss" else 1.0
        if loss not in ("HalfBinomialLoss", "ExponentialLoss"):
            raise unsupported(f"GradientBoostingClassifier with loss {loss}")
        raw, p, dec = ens.node(g, x, 1, base=_gb_base(est), input_cast="float32", post_transform="logistic",
                               post_scale=scale, decision="ge0", want_post=True, want_decision=True)
        d = g.flatten_column(raw)
        proba = g.two_class_proba(g.flatten_column(p))
    else:
        if loss != "HalfMultinomialLoss":
            raise unsupported(f"GradientBoostingClassifier with loss {loss}")
        raw, proba, dec = ens.node(g, x, k, base=_gb_base(est), input_cast="float32", post_transform="softmax",
                                   decision="argmax_raw", want_post=True, want_decision=True)
        d = raw
    return _boosting_head(g, est, dec, d, proba)


def _boosting_head(g: Graph, est: Any, dec: str, decision: str, proba: str) -> Any:
    """A boosting classifier's head: labels, decision_function, probabilities."""
    head = _classes_head(g, est, dec)
    head.outputs["decision"] = decision
    head.methods["decision_function"] = "decision"
    _proba(head, proba)
    return head


# --------------------------------------------- histogram gradient boosting

def _hgb_categories(est: Any) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Where each column the trees read comes from, and the categories of
    the categorical ones. With categorical features, scikit-learn first
    runs an OrdinalEncoder (unknown categories become NaN, i.e. missing) and
    puts the categorical columns first; the trees read its codes."""
    pre = getattr(est, "_preprocessor", None)
    if pre is None:
        return np.arange(est.n_features_in_), {}
    is_cat = np.asarray(est.is_categorical_, dtype=bool)
    colmap = np.concatenate([np.flatnonzero(is_cat), np.flatnonzero(~is_cat)])
    cats = {}
    for j, c in enumerate(pre.named_transformers_["encoder"].categories_):
        if c.dtype.kind not in "iuf":
            raise unsupported(f"{type(est).__name__} with {c.dtype} categories "
                              "(string categories need string tensors)")
        c = np.asarray(c, dtype=np.float64)
        c = c[~np.isnan(c)]
        if np.any(c < 0) or np.any(c != np.floor(c)) or np.any(c >= 1 << 24):
            raise unsupported(f"{type(est).__name__} with categories that are not integers in [0, 2^24)")
        cats[j] = c.astype(np.int64)
    return colmap, cats


def _hgb_ensemble(est: Any) -> tuple[Ensemble, int]:
    k = est.n_trees_per_iteration_
    colmap, categories = _hgb_categories(est)
    known, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
    known = np.asarray(known, dtype=np.uint32)
    ens = Ensemble(1)
    for iteration in est._predictors:
        for j, pred in enumerate(iteration):
            nodes = pred.nodes
            leaf = nodes["is_leaf"].astype(bool)
            feature = np.where(leaf, -1, colmap[nodes["feature_idx"].astype(np.int64)])
            is_cat = nodes["is_categorical"].astype(bool) & ~leaf
            mgl = nodes["missing_go_to_left"].astype(bool)
            flags = np.where(mgl, DEFAULT_LEFT, 0) | np.where(is_cat, CATEGORICAL | INVALID_MISSING, 0)
            cats: list[bytes | None] | None = None
            if is_cat.any():
                cats = [None] * len(nodes)
                raw_left = np.asarray(pred.raw_left_cat_bitsets, dtype=np.uint32)
                for i in np.flatnonzero(is_cat):
                    fj = int(nodes["feature_idx"][i])
                    left_bits = raw_left[nodes["bitset_idx"][i]]
                    known_bits = known[f_idx_map[fj]]
                    # By code: left when in the left set, or unknown while
                    # missing values go left (unknown = missing).
                    code_left = np.unpackbits((left_bits | (~known_bits if mgl[i] else np.uint32(0)))
                                              .astype("<u4").view(np.uint8), bitorder="little").astype(bool)
                    values = categories[fj]
                    # By raw value: each category takes its code's side;
                    # other values in the bitset's bytes are unknown (missing).
                    by_value = np.full(-(-(int(values.max()) + 1) // 8) * 8 if len(values) else 0, mgl[i])
                    by_value[values] = code_left[:len(values)]
                    cats[i] = np.packbits(by_value, bitorder="little").tobytes()
            ens.add(feature, nodes["num_threshold"].astype(np.float64), nodes["left"].astype(np.int64),
                    nodes["right"].astype(np.int64), flags.astype(np.uint8),
                    nodes["value"].astype(np.float64), target=j, cats=cats)
    return ens, k


def hgb_regressor(g: Graph, est: Any, x: str) -> Any:
    ens, k = _hgb_ensemble(est)
    link = type(est._loss.link).__name__
    post = {"IdentityLink": "none", "LogLink": "exp"}.get(link)
    if post is None:
        raise unsupported(f"HistGradientBoostingRegressor with link {link}")
    raw, p, _ = ens.node(g, x, 1, base=est._baseline_prediction, post_transform=post, want_post=post != "none")
    return _regressor_head(g, p or raw, 1)


def hgb_classifier(g: Graph, est: Any, x: str) -> Any:
    ens, k = _hgb_ensemble(est)
    if k == 1:
        raw, p, dec = ens.node(g, x, 1, base=est._baseline_prediction, post_transform="logistic", decision="gt0",
                               want_post=True, want_decision=True)
        d = g.flatten_column(raw)
        proba = g.two_class_proba(g.flatten_column(p))
    else:
        raw, proba, dec = ens.node(g, x, k, base=est._baseline_prediction, post_transform="softmax",
                                   decision="argmax_raw", want_post=True, want_decision=True)
        d = raw
    return _boosting_head(g, est, dec, d, proba)


# ------------------------------------------------------ isolation forest

def isolation_forest(g: Graph, est: Any, x: str) -> Any:
    from sklearn.ensemble._iforest import _average_path_length

    ens = Ensemble(1)
    for t, (e, feats) in enumerate(zip(est.estimators_, est.estimators_features_)):
        feature, thr, left, right, flags = _tree_arrays(e.tree_)
        feats = np.asarray(feats, dtype=np.int64)
        feature = np.where(feature < 0, -1, feats[np.maximum(feature, 0)])
        # depths += path length to the leaf + c(leaf size) - 1.0, per tree.
        per_node = est._decision_path_lengths[t] + est._average_path_length_per_tree[t] - 1.0
        ens.add(feature, thr, left, right, flags, per_node)
    denominator = len(est.estimators_) * _average_path_length([est._max_samples])
    raw, score, _ = ens.node(g, x, 1, input_cast="float32", post_transform="isolation",
                             post_scale=float(denominator[0]), want_post=True)
    score = g.flatten_column(score)
    decision = g.op("Sub", score, g.const(est.offset_, "offset"))
    label = g.op("Where", g.op("Less", decision, g.const(0.0, "zero")), g.const(-1, "outlier", np.int64),
                 g.const(1, "inlier", np.int64))
    return Head("outlier_detector", {"label": label, "decision": decision, "score": score},
                       {"predict": "label", "decision_function": "decision", "score_samples": "score"})


_HEADS = (
    ("sklearn.tree.DecisionTreeClassifier", decision_tree_classifier, "binary and multiclass; predict_proba; NaN"),
    ("sklearn.tree.ExtraTreeClassifier", decision_tree_classifier, "binary and multiclass; predict_proba"),
    ("sklearn.tree.DecisionTreeRegressor", decision_tree_regressor, "single and multi-output; NaN"),
    ("sklearn.tree.ExtraTreeRegressor", decision_tree_regressor, "single and multi-output"),
    ("sklearn.ensemble.RandomForestClassifier", forest_classifier, "binary and multiclass; predict_proba; NaN"),
    ("sklearn.ensemble.ExtraTreesClassifier", forest_classifier, "binary and multiclass; predict_proba"),
    ("sklearn.ensemble.RandomForestRegressor", forest_regressor, "single and multi-output; NaN"),
    ("sklearn.ensemble.ExtraTreesRegressor", forest_regressor, "single and multi-output"),
    ("sklearn.ensemble.GradientBoostingClassifier", gradient_boosting_classifier,
     "log_loss and exponential loss; decision_function, predict_proba"),
    ("sklearn.ensemble.GradientBoostingRegressor", gradient_boosting_regressor, "init estimators that are constant"),
    ("sklearn.ensemble.HistGradientBoostingClassifier", hgb_classifier,
     "NaN and integer categorical features; decision_function, predict_proba"),
    ("sklearn.ensemble.HistGradientBoostingRegressor", hgb_regressor, "NaN and integer categorical features"),
    ("sklearn.ensemble.IsolationForest", isolation_forest, "predict, decision_function, score_samples"),
)
for _name, _fn, _note in _HEADS:
    register(_name, PREDICTOR, _note)(_fn)
