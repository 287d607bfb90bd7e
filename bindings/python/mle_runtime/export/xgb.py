"""XGBoost -> TreeEnsemble, read from the model's JSON (save_raw("json");
get_dump's text is lossy). XGBoost predicts in float32: X rounded to float32,
numeric splits `x < split` on float32 split values (stored exactly as
float64), leaves added in tree order in float32 onto the intercept, then the
objective's link. xgboost is imported only while exporting."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, proba_outputs, to_json
from ._registry import MODEL, PREDICTOR, register
from ._trees import CATEGORICAL, DEFAULT_LEFT, IN_SET_RIGHT, STRICT, Ensemble, bitset_bytes, unsupported

# Objective -> the TreeEnsemble post-transform predict applies to margins.
_LINKS = {
    "binary:logistic": "logistic", "reg:logistic": "logistic", "binary:logitraw": "none",
    "multi:softprob": "softmax", "multi:softmax": "softmax",
    "count:poisson": "exp", "reg:gamma": "exp", "reg:tweedie": "exp", "survival:cox": "exp", "survival:aft": "exp",
    "reg:squarederror": "none", "reg:squaredlogerror": "none", "reg:pseudohubererror": "none",
    "reg:absoluteerror": "none", "reg:quantileerror": "none",
    "rank:pairwise": "none", "rank:ndcg": "none", "rank:map": "none",
}


class _Model:
    """A Booster's JSON, the trees predict uses and their exact intercept."""

    def __init__(self, booster: Any, what: str, end_iteration: int = 0) -> None:
        self.what = what
        doc = json.loads(booster.save_raw("json"))
        learner = doc["learner"]
        gb = learner["gradient_booster"]
        if gb["name"] == "gblinear":
            raise unsupported(f"{what}: booster gblinear (a linear model, not trees)")
        self.dart = gb["name"] == "dart"
        model = gb["gbtree"]["model"] if self.dart else gb["model"]
        if any(model.get("cats", {}).get(k) for k in ("enc", "feature_segments", "sorted_idx")):
            raise unsupported(f"{what}: categories recoded from pandas/arrow data (the model maps "
                              "category names, not numbers)")
        self.objective = learner["objective"]["name"]
        if self.objective not in _LINKS:
            raise unsupported(f"{what}: objective {self.objective} (its link is unknown)")
        self.link = _LINKS[self.objective]
        mp = learner["learner_model_param"]
        self.n_features = int(mp["num_feature"])
        self.k = max(int(mp["num_class"]), int(mp.get("num_target", 1)), 1)
        self.feature_names = learner.get("feature_names") or None
        # iteration_indptr[i] is the first tree of round i; end 0 means all.
        indptr = model["iteration_indptr"]
        n_rounds = len(indptr) - 1
        end = n_rounds if end_iteration <= 0 else min(end_iteration, n_rounds)
        self.trees = model["trees"][:indptr[end]]
        self.groups = model["tree_info"][:indptr[end]]
        self.weights = gb["weight_drop"][:indptr[end]] if self.dart else None
        self.base = self._intercept(doc)

    def _intercept(self, doc: dict) -> np.ndarray:
        """The float32 margin every row starts from, per output: predicted by
        XGBoost itself on a copy whose leaves are all 0, rather than
        recomputed from base_score through the objective's inverse link."""
        import xgboost

        model = doc["learner"]["gradient_booster"]
        model = model["gbtree"]["model"] if self.dart else model["model"]
        model["trees"] = [dict(t, base_weights=[0.0] * len(t["base_weights"]),
                               split_conditions=[0.0 if l == -1 else s
                                                 for s, l in zip(t["split_conditions"], t["left_children"])])
                          for t in model["trees"]]
        zeroed = xgboost.Booster(model_file=bytearray(json.dumps(doc).encode()))
        row = xgboost.DMatrix(np.full((1, self.n_features), np.nan, dtype=np.float32))
        margin = zeroed.predict(row, output_margin=True, validate_features=False)
        return np.asarray(margin, dtype=np.float32).reshape(-1)

    def ensemble(self) -> Ensemble:
        ens = Ensemble(1)
        for t, (tree, group) in enumerate(zip(self.trees, self.groups)):
            if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
                raise unsupported(f"{self.what}: vector-leaf trees (multi_strategy='multi_output_tree')")
            left = np.asarray(tree["left_children"], dtype=np.int64)
            leaf = left == -1
            # Split values and leaf values are float32; the JSON prints them
            # with enough digits to round back to the same float32.
            cond = np.asarray(tree["split_conditions"], dtype=np.float32)
            is_cat = np.asarray(tree["split_type"], dtype=np.int64) == 1
            flags = (np.where(np.asarray(tree["default_left"]) != 0, DEFAULT_LEFT, 0)
                     | np.where(is_cat, CATEGORICAL | IN_SET_RIGHT, STRICT))
            cats: list[bytes | None] | None = None
            if is_cat.any():
                # The listed categories go right; any other, and invalid ones
                # (negative, >= 2^24, beyond the set), go left.
                cats = [None] * len(left)
                seg, sizes, listed = tree["categories_segments"], tree["categories_sizes"], tree["categories"]
                for k, nid in enumerate(tree["categories_nodes"]):
                    cats[nid] = bitset_bytes(listed[seg[k]:seg[k] + sizes[k]]) or b"\0"
            values = cond
            if self.weights is not None:
                # DART adds (float32(base + leaf) - base) * weight per tree, in
                # float32: a function of the leaf alone, so precomputed here.
                b = self.base[group]
                values = ((b + cond) - b) * np.float32(self.weights[t])
            ens.add(np.where(leaf, -1, tree["split_indices"]), cond.astype(np.float64), left,
                    tree["right_children"], flags.astype(np.uint8), values.astype(np.float64), target=group,
                    cats=cats)
        return ens

    def node(self, g: Graph, x: str, decision: str = "none") -> tuple[str, str | None, str | None]:
        """The TreeEnsemble node: (float32 margins [N, k], transformed or
        None, decision or None)."""
        return self.ensemble().node(g, x, self.k, base=self.base, accumulate="float32", input_cast="float32",
                                    post_transform=self.link, want_post=self.link != "none", decision=decision,
                                    want_decision=decision != "none")


def _half_cut() -> np.float32:
    """The largest float32 margin whose XGBoost probability is not above
    0.5: XGBClassifier predicts class 1 where 1 / (expf(-m) + 1), computed
    in float32, is > 0.5, which a few margins just above 0 are not."""
    def above(bits: int) -> bool:
        e = np.float32(math.exp(-float(np.int32(bits).view(np.float32))))
        return bool(np.float32(1) / (e + np.float32(1)) > np.float32(0.5))

    lo, hi = 0, int(np.float32(1e-6).view(np.int32))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if above(mid) else (mid, hi)
    return np.int32(lo).view(np.float32)


def two_class(g: Graph, p: str, dtype: Any) -> str:
    """[N] probability of class 1 -> [N, 2] as [1 - p, p], in p's dtype."""
    one = g.const(1.0, "one", dtype)
    return g.op("Concat", g.column(g.op("Sub", one, p)), g.column(p), axis=1, hint="proba")


def _end_iteration(est: Any) -> int:
    """The rounds the wrapper's predict uses: up to best_iteration after early
    stopping, else all (0)."""
    try:
        return int(est.best_iteration) + 1
    except AttributeError:
        return 0


def _sklearn_model(est: Any) -> _Model:
    name = type(est).__name__
    if callable(est.objective):
        raise unsupported(f"{name}: a custom objective (its link is unknown)")
    if not (isinstance(est.missing, float) and math.isnan(est.missing)):
        raise unsupported(f"{name}: missing={est.missing!r} (only NaN marks missing values)")
    return _Model(est.get_booster(), name, _end_iteration(est))


def xgb_classifier(g: Graph, est: Any, x: str) -> Any:
    m = _sklearn_model(est)
    head = Head("classifier")
    if m.objective in ("binary:logistic", "reg:logistic", "binary:logitraw") and m.k == 1:
        raw, p, _ = m.node(g, x)
        d = g.flatten_column(raw)
        p = g.flatten_column(p) if p else d
        # predict: class 1 where predict's float32 output is > 0.5, i.e.
        # where the margin is above the cut (0.5 itself for logitraw).
        cut = _half_cut() if p != d else np.float32(0.5)
        index = g.op("Cast", g.op("Greater", d, g.const(cut, "cut", np.float32)), to=7)
        proba = two_class(g, p, np.float32)
    elif m.objective in ("multi:softprob", "multi:softmax") and m.k > 2:
        # softprob: the first largest float32 probability; softmax: the
        # first largest margin (its predict_proba is scipy's softmax).
        raw, proba, index = m.node(g, x, "argmax" if m.objective == "multi:softprob" else "argmax_raw")
        d = raw
    else:
        raise unsupported(f"{type(est).__name__}: objective {m.objective} with {m.k} outputs")
    classes(g, head, est, index)
    head.outputs["decision"] = d
    head.methods["decision_function"] = "decision"  # predict(output_margin=True)
    proba_outputs(g, head, proba)
    return head


def _predictions(g: Graph, m: _Model, x: str) -> tuple[str, str]:
    """(Booster.predict's output, margins), [N] when there is one output."""
    if m.objective == "multi:softmax":
        raw, _, index = m.node(g, x, "argmax_raw")
        return g.op("Cast", index, to=1), raw  # the first largest margin's index, as float32
    raw, post, _ = m.node(g, x)
    if m.k == 1:
        return g.flatten_column(post or raw), g.flatten_column(raw)
    return post or raw, raw


def xgb_regressor(g: Graph, est: Any, x: str) -> Any:
    y, _ = _predictions(g, _sklearn_model(est), x)
    task = "ranker" if type(est).__name__ == "XGBRanker" else "regressor"
    return Head(task, {"prediction": y}, {"predict": "prediction"})


def export_booster(booster: Any, dtype: Any) -> tuple[Graph, Any, dict]:
    """A raw xgboost.Booster: predict is Booster.predict(DMatrix(X)) (all
    trees), decision_function its output_margin=True."""
    import xgboost

    m = _Model(booster, "xgboost.Booster")
    g = Graph(np.dtype(dtype))
    y, raw = _predictions(g, m, "X")
    head = Head("booster", {"prediction": y, "margin": raw},
                       {"predict": "prediction", "decision_function": "margin"})
    return booster_info(g, head, "xgboost", xgboost.__version__, m.n_features, m.feature_names, dtype)


def booster_info(g: Graph, head: Any, producer: str, version: str, n_features: int, names: Any,
                 dtype: Any) -> tuple[Graph, Any, dict]:
    """What sklearn_pipeline.export returns, for a raw Booster (NaN is allowed)."""
    props = {"mle.task": head.task, "mle.methods": to_json(head.methods), "mle.allow_nan": "true"}
    if names:
        props["mle.feature_names"] = to_json([str(n) for n in names])
    g.inputs = [("X", np.dtype(dtype), [-1, n_features])]
    meta = {"producer": {"name": producer, "version": version}, "name": "Booster"}
    return g, head, {"meta": meta, "properties": props}


for _name, _fn, _note in (
        ("XGBClassifier", xgb_classifier, "binary:logistic, binary:logitraw, multi:softprob, multi:softmax"),
        ("XGBRFClassifier", xgb_classifier, "as XGBClassifier"),
        ("XGBRegressor", xgb_regressor, "objectives with a known link"),
        ("XGBRFRegressor", xgb_regressor, "as XGBRegressor"),
        ("XGBRanker", xgb_regressor, "predict (scores)")):
    register("xgboost." + _name, PREDICTOR, _note)(_fn)
register("xgboost.Booster", MODEL, "predict (all trees) and output_margin")(
    lambda model, dtype, _example: export_booster(model, dtype or np.float64))
