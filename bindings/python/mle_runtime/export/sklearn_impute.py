"""sklearn.impute."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import unsupported
from ._registry import TRANSFORMER, register


@register("sklearn.impute.SimpleImputer", TRANSFORMER, "numeric missing_values (NaN or a number); add_indicator=False")
def _simple_imputer(g: Graph, est: Any, x: str) -> str:
    if est.add_indicator:
        raise unsupported("SimpleImputer(add_indicator=True)")
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
        raise unsupported(f"SimpleImputer(missing_values={mv!r})")
    return g.op("Where", mask, g.const(stats, "fill"), x)
