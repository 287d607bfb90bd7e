"""LightGBM -> TreeEnsemble, read from model_to_string() (whose numbers
round-trip: LightGBM reloads models from it). LightGBM predicts in double:
`x <= threshold` goes left, leaves (the initial score folded into the first
trees) added in tree order, the objective's link applied after. lightgbm is
imported only while exporting."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, proba_outputs
from ._registry import MODEL, PREDICTOR, register
from ._trees import CATEGORICAL, DEFAULT_LEFT, MISSING_NONE, MISSING_ZERO, TRUNC_FIRST, STRICT, Ensemble, unsupported
from .xgb import booster_info, two_class

# LightGBM's kZeroThreshold (a float literal): when it reads X, values with
# |x| <= it become 0.0 before any split sees them.
_KZERO = float(np.float32(1e-35))

_IDENTITY = ("regression", "regression_l1", "huber", "fair", "quantile", "mape", "lambdarank", "rank_xendcg")


def _parse(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The header's and each tree's key=value lines (a bare key, such as
    average_output, maps to "")."""
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    cur = header
    for line in text.splitlines():
        if line == "end of trees":
            break
        if line.startswith("Tree="):
            cur = {}
            trees.append(cur)
            continue
        key, _, value = line.partition("=")
        if key:
            cur[key] = value
    return header, trees


def _link(objective: str, what: str) -> tuple[str, float]:
    """(post-transform, its scale) of predict, from the objective line
    ("binary sigmoid:1", "multiclass num_class:3", "regression sqrt", ...)."""
    name, *opts = objective.split(" ")
    params = dict(o.split(":", 1) for o in opts if ":" in o)
    if "sqrt" in opts:
        raise unsupported(f"{what}: objective {name} with reg_sqrt=True")
    if name in ("binary", "multiclassova"):
        return "logistic", float(params["sigmoid"])
    if name == "cross_entropy":
        return "logistic", 1.0
    if name == "multiclass":
        return "softmax", 1.0
    if name in ("poisson", "gamma", "tweedie"):
        return "exp", 1.0
    if name in _IDENTITY:
        return "none", 1.0
    raise unsupported(f"{what}: objective {objective or 'custom'} (its link is unknown)")


def _floats(s: str) -> np.ndarray:
    return np.array(s.split(" "), dtype=np.float64)


def _ints(s: str) -> np.ndarray:
    return np.array(s.split(" "), dtype=np.int64)


def _add_tree(ens: Ensemble, t: dict[str, str], target: int, what: str) -> None:
    if t.get("is_linear", "0") != "0":
        raise unsupported(f"{what}: linear_tree=True (leaves are linear models)")
    n_leaves = int(t["num_leaves"])
    values = _floats(t["leaf_value"])
    if n_leaves == 1:
        ens.add([-1], [0.0], [0], [-1], [0], values[:1], target=target)
        return
    # Internal nodes 0..n-2, then leaf j as node n-1+j (children < 0 are ~leaf).
    ni = n_leaves - 1
    kids = [np.where(c >= 0, c, ni + ~c) for c in (_ints(t["left_child"]), _ints(t["right_child"]))]
    dt = _ints(t["decision_type"])
    thr = _floats(t["threshold"])
    is_cat = dt & 1 != 0
    missing = (dt >> 2) & 3  # 0 None (NaN read as 0), 1 Zero, 2 NaN
    flags = (np.where(dt & 2 != 0, DEFAULT_LEFT, 0)
             | np.select([missing == 0, missing == 1], [MISSING_NONE, MISSING_ZERO], 0))
    # LightGBM reads |x| <= kZ as 0.0, so a threshold t with |t| <= kZ sends
    # that whole band to 0's side: left when t >= 0. Moving t to the band's
    # edge (x <= kZ for t >= 0, x < -kZ for t < 0) gives every x its side.
    small = ~is_cat & (np.abs(thr) <= _KZERO)
    flags = np.where(small & (thr < 0), flags | STRICT, flags)
    thr = np.where(small, np.where(thr < 0, -_KZERO, _KZERO), thr)
    # Categorical: the set goes left; NaN, negative (after truncation:
    # -0.5 is category 0) and unlisted categories go right.
    flags = np.where(is_cat, CATEGORICAL | TRUNC_FIRST, flags)
    cats: list[bytes | None] | None = None
    if is_cat.any():
        bounds, words = _ints(t["cat_boundaries"]), _ints(t["cat_threshold"]).astype("<u4")
        cats = [None] * (ni + n_leaves)
        for i in np.flatnonzero(is_cat):
            c = int(thr[i])
            cats[i] = words[bounds[c]:bounds[c + 1]].tobytes()
    feature = np.concatenate([_ints(t["split_feature"]), np.full(n_leaves, -1)])
    pad = np.zeros(n_leaves, dtype=np.int64)
    ens.add(feature, np.concatenate([np.where(is_cat, 0.0, thr), pad]), np.concatenate([kids[0], pad]),
            np.concatenate([kids[1], pad]), np.concatenate([flags, pad]).astype(np.uint8),
            np.concatenate([np.zeros(ni), values]), target=target, cats=cats)


class _Model:
    """The trees predict uses (best_iteration's, as Booster.predict) and how
    it turns their sums into predictions."""

    def __init__(self, booster: Any, what: str) -> None:
        self.what = what
        if getattr(booster, "pandas_categorical", None):
            raise unsupported(f"{what}: pandas categorical columns (predict maps their values to codes)")
        header, self.trees = _parse(booster.model_to_string(num_iteration=booster.best_iteration))
        self.k = int(header["num_tree_per_iteration"])
        self.link, self.sigma = _link(header.get("objective", ""), what)
        self.rf = "average_output" in header  # predict divides sums by the rounds
        self.n_features = int(header["max_feature_idx"]) + 1
        self.feature_names = header.get("feature_names", "").split(" ")

    def node(self, g: Graph, x: str) -> tuple[str, str | None]:
        """(raw scores [N, k] as predict(raw_score=True), predict's
        transform of them or None)."""
        ens = Ensemble(1)
        for i, t in enumerate(self.trees):
            _add_tree(ens, t, i % self.k, self.what)
        if not self.rf:
            raw, post, _ = ens.node(g, x, self.k, post_transform=self.link, post_scale=self.sigma,
                                    want_post=self.link != "none")
            return raw, post
        # Random forest: raw_score is the plain sum; predict divides it by
        # the rounds (not by the trees, k per round, as the op's mean would)
        # before the link.
        raw, _, _ = ens.node(g, x, self.k)
        avg = g.op("Div", raw, g.const(float(len(self.trees) // self.k), "rounds", np.float64))
        if self.link == "logistic":
            return raw, g.op("Sigmoid", g.op("Mul", avg, g.const(self.sigma, "sigmoid", np.float64)))
        if self.link == "softmax":
            return raw, g.op("Softmax", avg, axis=1)
        return raw, g.op("Exp", avg) if self.link == "exp" else avg


def _sklearn_model(est: Any) -> _Model:
    name = type(est).__name__
    if callable(est.objective):
        raise unsupported(f"{name}: a custom objective (its link is unknown)")
    return _Model(est.booster_, name)


def _flat(g: Graph, m: _Model, y: str) -> str:
    return g.flatten_column(y) if m.k == 1 else y


def lgbm_classifier(g: Graph, est: Any, x: str) -> Any:
    m = _sklearn_model(est)
    raw, post = m.node(g, x)
    if m.k == 1:
        # predict_proba is [1 - p, p]; predict its first argmax: p > 0.5.
        p = g.flatten_column(post or raw)
        proba = two_class(g, p, np.float64)
        index = g.op("Cast", g.op("Greater", p, g.const(0.5, "half", np.float64)), to=7)
    else:
        proba = post or raw
        index = g.op("ArgMax", proba, axis=1, keepdims=0)
    head = Head("classifier")
    classes(g, head, est, index)
    head.outputs["decision"] = _flat(g, m, raw)
    head.methods["decision_function"] = "decision"  # predict(raw_score=True)
    proba_outputs(g, head, proba)
    return head


def lgbm_regressor(g: Graph, est: Any, x: str) -> Any:
    m = _sklearn_model(est)
    raw, post = m.node(g, x)
    task = "ranker" if type(est).__name__ == "LGBMRanker" else "regressor"
    return Head(task, {"prediction": _flat(g, m, post or raw)}, {"predict": "prediction"})


def export_booster(booster: Any, dtype: Any) -> tuple[Graph, Any, dict]:
    """A raw lightgbm.Booster: predict is Booster.predict(X), decision_function
    its raw_score=True."""
    import lightgbm

    m = _Model(booster, "lightgbm.Booster")
    g = Graph(np.dtype(dtype))
    raw, post = m.node(g, "X")
    head = Head("booster", {"prediction": _flat(g, m, post or raw), "margin": _flat(g, m, raw)},
                       {"predict": "prediction", "decision_function": "margin"})
    # Names LightGBM made up (Column_0, ...) are not worth checking.
    names = None if m.feature_names == [f"Column_{i}" for i in range(m.n_features)] else m.feature_names
    return booster_info(g, head, "lightgbm", lightgbm.__version__, m.n_features, names, dtype)


for _name, _fn, _note in (
        ("LGBMClassifier", lgbm_classifier, "binary and multiclass; NaN and categorical splits"),
        ("LGBMRegressor", lgbm_regressor, "objectives with a known link"),
        ("LGBMRanker", lgbm_regressor, "predict (scores)")):
    register("lightgbm." + _name, PREDICTOR, _note)(_fn)
register("lightgbm.Booster", MODEL, "predict and raw_score")(
    lambda model, dtype, _example: export_booster(model, dtype or np.float64))
