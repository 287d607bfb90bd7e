"""sklearn.dummy: constant predictions, one row per input row. The rows
come from the input's first column (Where over IsNaN with the same value on
both sides), so every value is the stored constant exactly."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, proba_outputs, unsupported
from ._registry import PREDICTOR, register


def _per_row(g: Graph, x: str, value: np.ndarray, hint: str, dtype: Any = None) -> str:
    """value [K] repeated for each row of x: [N, K]."""
    first = g.op("Gather", x, g.const([0], "col", np.int64), axis=1)  # [N, 1]
    v = g.const(np.asarray(value)[None, :], hint, dtype)
    return g.op("Where", g.op("IsNaN", first), v, v)


@register("sklearn.dummy.DummyClassifier", PREDICTOR,
          "strategies prior, most_frequent, constant (stratified and uniform are random: refused); single "
          "output; predict_proba")
def _dummy_classifier(g: Graph, est: Any, x: str) -> Head:
    strategy = est._strategy
    if strategy in ("stratified", "uniform"):
        raise unsupported(f"DummyClassifier(strategy={strategy!r}) (its predictions are random)")
    if est.n_outputs_ != 1 or isinstance(est.classes_, list):
        raise unsupported("DummyClassifier fitted on several outputs")
    if est.sparse_output_:
        raise unsupported("DummyClassifier with sparse_output")
    cls = np.asarray(est.classes_)
    k = len(cls)
    if strategy == "constant":
        hits = np.flatnonzero(cls == est.constant)
        if len(hits) != 1:
            raise unsupported(f"DummyClassifier(constant={est.constant!r}) not among classes {cls.tolist()}")
        index = int(hits[0])
    else:
        index = int(np.asarray(est.class_prior_).argmax())
    if strategy == "prior":
        proba = np.asarray(est.class_prior_, dtype=np.float64)
    else:
        proba = np.zeros(k)
        proba[index] = 1.0
    head = Head("classifier")
    label_index = g.flatten_column(_per_row(g, x, np.array([index]), "index", np.int64))
    classes(g, head, est, label_index)
    proba_outputs(g, head, _per_row(g, x, proba, "proba"))
    return head


@register("sklearn.dummy.DummyRegressor", PREDICTOR, "strategies mean, median, quantile, constant; multi-output")
def _dummy_regressor(g: Graph, est: Any, x: str) -> Head:
    const = np.asarray(est.constant_)
    if const.dtype.kind not in "iuf":
        raise unsupported(f"DummyRegressor with a {const.dtype} constant")
    # np.full in constant_'s dtype: integers stay int64, floats in the graph's dtype.
    stored = np.int64 if const.dtype.kind in "iu" else None
    y = _per_row(g, x, const.reshape(-1), "constant", stored)
    if est.n_outputs_ == 1:
        y = g.flatten_column(y)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})
