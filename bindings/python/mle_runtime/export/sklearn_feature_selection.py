"""sklearn.feature_selection: every selector's transform is X[:, get_support()]
(a Gather of the kept columns, NaN passed through); RFE and RFECV also
predict through their inner estimator_ on those columns."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, unsupported
from ._registry import PREDICTOR, TRANSFORMER, register


def select(g: Graph, est: Any, x: str) -> str:
    keep = np.flatnonzero(np.asarray(est.get_support(), dtype=bool))
    if keep.size == 0:
        raise unsupported(f"{type(est).__name__} that selects no features")
    if keep.size == int(est.n_features_in_):
        return x
    return g.op("Gather", x, g.const(keep, "selected", np.int64), axis=1)


_SELECTORS = ("VarianceThreshold", "SelectKBest", "SelectPercentile", "SelectFpr", "SelectFdr", "SelectFwe",
              "GenericUnivariateSelect", "SelectFromModel", "SequentialFeatureSelector")

for _name in _SELECTORS:
    register(f"sklearn.feature_selection.{_name}", TRANSFORMER, "the columns of get_support()")(select)


def _rfe(g: Graph, est: Any, x: str) -> Head:
    from .sklearn_pipeline import apply_predictor

    kept = select(g, est, x)
    head = apply_predictor(g, est.estimator_, kept)
    if "transformed" in head.outputs or "transform" in head.methods:
        raise unsupported(f"{type(est).__name__} over an estimator that has a transform output of its own")
    head.outputs["transformed"] = kept
    head.methods["transform"] = "transformed"
    return head


for _name in ("RFE", "RFECV"):
    register(f"sklearn.feature_selection.{_name}", PREDICTOR,
             "transform (the columns of support_) and every method of a supported estimator_ on them; "
             "last step only")(_rfe)
