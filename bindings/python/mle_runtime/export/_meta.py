"""What the meta-estimators share (sklearn_ensemble_meta, sklearn_calibration,
sklearn_multioutput, sklearn_multiclass_ovo): inner estimators applied
through sklearn_pipeline.apply_predictor, the method scikit-learn would call
on each, predicted labels turned back into class positions, and sums built
add by add in the order numpy adds them.

Value dtypes: a head's float outputs are mostly in the graph's dtype
(XGBoost's are float32: response() widens them, as numpy does when it
stacks them with float64 arrays); its label output holds the class values
(int64, float64, bool or string) or, for classes the graph cannot hold,
indices (Head.labels_are_indices)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._graph import Graph
from ._head import Head, proba_outputs, unsupported

# Cast "to" ids (docs/FORMAT.md section 7).
FLOAT32, INT64, FLOAT64 = 1, 7, 11
DTYPE_IDS = {np.dtype(np.float32): FLOAT32, np.dtype(np.float64): FLOAT64}


def inner(g: Graph, est: Any, x: str) -> Head:
    from .sklearn_pipeline import apply_predictor

    return apply_predictor(g, est, x)


def output(head: Head, method: str) -> str | None:
    """The value the head publishes for method, or None."""
    name = head.methods.get(method)
    return None if name is None else head.outputs[name]


def response(g: Graph, est: Any, head: Head, methods: Sequence[str], who: str, widen: bool = True) -> tuple[str, str]:
    """The first of methods that est has (scikit-learn's
    _check_response_method order) and the head's value for it; scores (all
    but a classifier's labels) in the graph's float dtype when widen."""
    for m in methods:
        if hasattr(est, m):
            v = output(head, m)
            if v is None:
                raise unsupported(f"{who} over {type(est).__name__}, whose {m} the exporter does not produce")
            if widen and not (m == "predict" and head.task == "classifier"):
                v = g.op("Cast", v, to=DTYPE_IDS[g.dtype])  # a plain copy when it has that dtype already
            return m, v
    raise unsupported(f"{who} over {type(est).__name__}, which has none of {list(methods)}")


def need(g: Graph, est: Any, head: Head, method: str, who: str, widen: bool = True) -> str:
    """The head's value for method, which scikit-learn will call on est."""
    return response(g, est, head, [method], who, widen)[1]


def own_classes(head: Head, est: Any) -> np.ndarray:
    return np.asarray(head.classes if head.classes is not None else est.classes_)


def label_index(g: Graph, head: Head, est: Any, classes: Any) -> str:
    """int64 position of each label est predicts among classes (-1 for a
    label not among them), from its head's label output. scikit-learn
    compares the labels by value (==), as this does."""
    own = own_classes(head, est)
    label = output(head, "predict")
    if label is None:
        raise unsupported(f"{type(est).__name__} without predict")
    if head.labels_are_indices or (own.dtype.kind in "iu" and np.array_equal(own, np.arange(len(own)))):
        index = label  # the label output holds positions in own
    else:
        kind = own.dtype.kind
        if kind == "b":
            label, keys = g.op("Cast", label, to=INT64), g.const(own.astype(np.int64), "classes", np.int64)
        elif kind in "iu":
            keys = g.const(own.astype(np.int64), "classes", np.int64)
        elif kind == "f":
            keys = g.const(own.astype(np.float64), "classes", np.float64)
        else:
            keys = g.const(own, "classes", object)
        index = g.op("CategoryIndex", label, keys)
    where = {}
    for j, c in enumerate(np.asarray(classes).tolist()):
        where.setdefault(c, j)
    table = [where.get(c, -1) for c in own.tolist()]
    if table == list(range(len(own))):
        return index
    return g.op("Gather", g.const(np.asarray(table + [-1], dtype=np.int64), "positions", np.int64), index)


def cols(g: Graph, v: str, idx: Any) -> str:
    return g.op("Gather", v, g.const(np.asarray(idx, dtype=np.int64), "cols", np.int64), axis=1)


def col(g: Graph, v: str, j: int) -> str:
    """Column j of v [N, K] as [N] (a stored scalar is 1-D: Graph.const)."""
    return g.flatten_column(cols(g, v, [j]))


def as_columns(g: Graph, v: str) -> str:
    """[N] -> [N, 1]; [N, K] unchanged (Reshape's 0 copies a dimension)."""
    return g.op("Reshape", v, g.const([0, -1], "shape", np.int64))


def to_float(g: Graph, v: str) -> str:
    """A numeric label output (int64 or bool) in the graph's float dtype."""
    return g.op("Cast", v, to=DTYPE_IDS[g.dtype])


def add_in_order(g: Graph, terms: Sequence[str]) -> str:
    """((t0 + t1) + t2) + ...: numpy's order for a sum over an outer axis,
    Python's sum() and in-place += loops."""
    acc = terms[0]
    for t in terms[1:]:
        acc = g.op("Add", acc, t)
    return acc


def one_hot(g: Graph, index: str, n: int, dtype: Any) -> str:
    """[N] int64 positions -> [N, n] of 1.0 / 0.0 (an index out of range is all 0)."""
    hit = g.op("Equal", g.column(index), g.const(np.arange(n, dtype=np.int64)[None, :], "classes", np.int64))
    return g.op("Cast", hit, to=DTYPE_IDS[np.dtype(dtype)])


def probabilities(g: Graph, head: Head, est: Any, proba: str) -> None:
    """predict_proba output; predict_log_proba only where scikit-learn has it
    (the binding then takes np.log of predict_proba, as these estimators do)."""
    proba_outputs(g, head, proba)
    if not hasattr(est, "predict_log_proba"):
        del head.methods["predict_log_proba"]


def check_not_multilabel(est: Any, who: str) -> None:
    if isinstance(getattr(est, "classes_", None), list):
        raise unsupported(f"{who} fitted on multilabel or multi-output targets")
