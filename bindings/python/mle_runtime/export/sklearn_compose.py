"""sklearn.compose: ColumnTransformer (each transformer on its columns, the
outputs side by side in transformer order, the remainder last — as
transformers_ lists them) and TransformedTargetRegressor."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, unsupported
from ._registry import PREDICTOR, TRANSFORMER, register
from ._table import Columns, as_matrix
from .sklearn_preprocessing import apply_ufunc


def _select(g: Graph, x: Any, indices: list[int]) -> Any:
    if isinstance(x, Columns):
        return Columns(x.table, [x.indices[i] for i in indices])
    return g.op("Gather", x, g.const(indices, "cols", np.int64), axis=1)


@register("sklearn.compose.ColumnTransformer", TRANSFORMER,
          "any supported transformers or Pipelines of them over named or positional columns; drop, "
          "passthrough, remainder; dense output (a sparse one holds the same values)", columns=True)
def _column_transformer(g: Graph, ct: Any, x: Any) -> str:
    from .sklearn_pipeline import apply_transformer

    by_name = getattr(ct, "_transformer_to_input_indices", None)
    if by_name is None:
        raise unsupported("ColumnTransformer without _transformer_to_input_indices (scikit-learn < 1.2)")
    blocks = []
    for name, trans, _ in ct.transformers_:
        indices = [int(i) for i in by_name.get(name, [])]
        if trans == "drop" or not indices:
            continue
        sub = _select(g, x, indices)
        blocks.append(as_matrix(g, sub) if trans == "passthrough" else apply_transformer(g, trans, sub))
    if not blocks:
        raise unsupported("a ColumnTransformer with no output columns")
    if len(blocks) == 1:
        return blocks[0]
    return g.op("Concat", *[as_matrix(g, b) for b in blocks], axis=1)  # hstack promotes bool blocks


@register("sklearn.compose.TransformedTargetRegressor", PREDICTOR,
          "a supported regressor with a supported transformer (inverse_transform of StandardScaler, "
          "MinMaxScaler, MaxAbsScaler) or an inverse_func that is one of numpy's exp, log, sqrt, negative, absolute",
          inner=lambda est: est.regressor_)
def _transformed_target(g: Graph, est: Any, x: Any) -> Head:
    from .sklearn_pipeline import apply_predictor

    head = apply_predictor(g, est.regressor_, x)
    y = head.outputs["prediction"]
    tr = est.transformer_
    kind = type(tr).__name__
    # The transformer was fitted on y as a 2-D array; predict squeezes one target back to 1-D.
    single = getattr(tr, "n_features_in_", 1) == 1
    two_d = g.op("Reshape", y, g.const([-1, 1], "col", np.int64)) if single else y
    if kind == "FunctionTransformer":
        out = apply_ufunc(g, tr.inverse_func, two_d, "TransformedTargetRegressor inverse_func")
    elif kind == "StandardScaler":
        out = two_d
        if tr.with_std:
            out = g.op("Mul", out, g.const(tr.scale_, "scale"))
        if tr.with_mean:
            out = g.op("Add", out, g.const(tr.mean_, "mean"))
    elif kind == "MinMaxScaler":
        out = g.op("Div", g.op("Sub", two_d, g.const(tr.min_, "min")), g.const(tr.scale_, "scale"))
    elif kind == "MaxAbsScaler":
        out = g.op("Mul", two_d, g.const(tr.scale_, "scale"))
    else:
        raise unsupported(f"TransformedTargetRegressor with transformer {kind}")
    out = g.flatten_column(out) if single else out
    return Head("regressor", {"prediction": out}, {"predict": "prediction"})

