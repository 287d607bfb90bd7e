"""sklearn.pipeline.FeatureUnion: every transformer on the same input, the
outputs side by side in transformer_list order, each times its weight."""

from __future__ import annotations

from typing import Any

from .._graph import Graph
from ._head import unsupported
from ._registry import TRANSFORMER, find, register
from ._table import Columns, as_matrix


def _takes_columns(trans: Any) -> bool:
    from .sklearn_pipeline import _steps

    conv = find(_steps(trans)[0])
    return conv is not None and conv.columns


@register("sklearn.pipeline.FeatureUnion", TRANSFORMER,
          "any supported transformers or Pipelines of them; transformer_weights; drop, passthrough; dense output",
          columns=True)
def _feature_union(g: Graph, est: Any, x: Any) -> str:
    from .sklearn_pipeline import apply_transformer

    weights = est.transformer_weights or {}
    parts = [(name, t) for name, t in est.transformer_list if not (isinstance(t, str) and t == "drop")]
    if not parts:
        raise unsupported("a FeatureUnion with no output columns")
    # One matrix for every member that reads numbers (named columns go to
    # those that read them, such as encoders).
    matrix = None
    blocks = []
    for name, trans in parts:
        if isinstance(x, Columns) and not isinstance(trans, str) and _takes_columns(trans):
            out = apply_transformer(g, trans, x)
        else:
            if matrix is None:
                matrix = as_matrix(g, x)
            out = matrix if isinstance(trans, str) else apply_transformer(g, trans, matrix)
        w = weights.get(name)
        if w is not None:
            out = g.op("Mul", out, g.const(float(w), "weight"))
        blocks.append(out)
    if len(blocks) == 1:
        return blocks[0]
    return g.op("Concat", *[as_matrix(g, b) for b in blocks], axis=1)  # hstack promotes bool blocks
