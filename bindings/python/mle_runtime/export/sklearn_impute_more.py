"""sklearn.impute.MissingIndicator: the bool mask of missing values (NaN,
or equal to a number), for every feature or those missing at fit. As in
scikit-learn, a feature with missing values at transform but none at fit
fails the run (error_on_new, features="missing-only")."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._elementary import c64
from ._head import unsupported
from ._registry import TRANSFORMER, register


@register("sklearn.impute.MissingIndicator", TRANSFORMER,
          "features missing-only or all; missing_values NaN or a number; error_on_new; dense bool output "
          "(sparse=True refused)")
def _missing_indicator(g: Graph, est: Any, x: str) -> str:
    if est.sparse is True:
        raise unsupported("MissingIndicator(sparse=True) (a sparse output)")
    if est._precomputed:
        raise unsupported("MissingIndicator over a precomputed mask")
    mv = est.missing_values
    if isinstance(mv, float) and np.isnan(mv):
        mask = g.op("IsNaN", x)
    elif isinstance(mv, (int, float, np.integer, np.floating)) and not isinstance(mv, bool):
        mask = g.op("Equal", x, g.const(float(mv), "missing_value"))  # X == missing_values in X's dtype
    else:
        raise unsupported(f"MissingIndicator(missing_values={mv!r}) (numeric X only)")
    n = int(est._n_features)
    keep = np.asarray(est.features_, dtype=np.int64)
    if est.features == "all" or keep.size == n:
        g.bools.add(mask)
        return mask
    others = np.setdiff1d(np.arange(n), keep)
    out = g.op("Gather", mask, g.const(keep, "features", np.int64), axis=1)
    if est.error_on_new and others.size:
        # A missing value in a feature without any at fit: a key the lookup does not know fails the run.
        key = g.op("Where", g.op("Gather", mask, g.const(others, "new", np.int64), axis=1), c64(g, 1.0, "missing"),
                   c64(g, np.nan, "nan"))
        code = g.op("CategoryIndex", key, c64(g, [np.nan], "ok"), refuse_unknown=1,
                    node_name="MissingIndicator: missing values in features that had none at fit")
        ok = g.op("Equal", g.op("Gather", code, g.const([0], "first", np.int64), axis=1), g.const(0, "zero", np.int64))
        out = g.op("Where", ok, out, out)
    g.bools.add(out)
    return out
