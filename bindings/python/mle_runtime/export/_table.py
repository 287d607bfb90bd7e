"""Models over tables (DataFrames with named columns of mixed types): each
column the model reads is a graph input of its own, shape [N], named after
the column — string for text, the model's float dtype for numbers — so
every language passes columns by name (docs/FORMAT.md section 4.1,
mle.columns)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._builder import STRING, dtype_id
from .._graph import Graph
from ._head import unsupported


# Missing values in a text column, as text: string tensors have no null, so
# the model contract names stand-ins (mle.missing_text, docs/FORMAT.md 4.1)
# that the Python binding substitutes and other callers pass. scikit-learn
# keeps None and NaN apart (each its own category) and treats pd.NA as unknown.
MISSING_TEXT = {"None": "\x00None\x00", "NaN": "\x00NaN\x00", "NA": "\x00NA\x00"}


def missing_kind(v: Any) -> str | None:
    """"None", "NaN" or "NA" for a missing value, else None."""
    if v is None:
        return "None"
    if isinstance(v, float) and v != v:
        return "NaN"
    return "NA" if type(v).__name__ == "NAType" else None


class Table:
    """The fitted columns of a model; a column becomes an input when a
    converter first reads it, as text or as numbers (not both)."""

    def __init__(self, g: Graph, names: list[str]) -> None:
        self.g, self.names = g, names
        self.text: dict[int, bool] = {}  # column index -> read as text
        self.nan_ok: set[int] = set()  # numeric columns whose first reader handles NaN (imputer, encoder)

    def column(self, i: int, text: bool) -> str:
        name = self.names[i]
        seen = self.text.get(i)
        if seen is None:
            self.text[i] = text
            self.g.reserve(name)
        elif seen != text:
            raise unsupported(f"column {name!r} read both as text and as numbers")
        return name

    def nan_columns(self, all_numeric: bool) -> list[str]:
        """The numeric columns that may hold NaN (all of them when the final estimator takes NaN)."""
        return [self.names[i] for i in sorted(self.text) if not self.text[i] and (all_numeric or i in self.nan_ok)]

    def inputs(self) -> list[tuple[str, np.dtype, list[int]]]:
        return [(self.names[i], STRING if self.text[i] else self.g.dtype, [-1]) for i in sorted(self.text)]


class Columns:
    """Some columns of a Table, as a converter receives them."""

    def __init__(self, table: Table, indices: list[int]) -> None:
        self.table, self.indices = table, indices

    @property
    def names(self) -> list[str]:
        return [self.table.names[i] for i in self.indices]

    def column(self, j: int, text: bool) -> str:
        """Column j of these, [N]."""
        return self.table.column(self.indices[j], text)

    def handles_nan(self) -> None:
        """Marks these columns as read first by something that handles NaN."""
        self.table.nan_ok.update(i for i in self.indices if i not in self.table.text or not self.table.text[i])

    def matrix(self, g: Graph) -> str:
        """These columns as numbers, [N, len(indices)]."""
        shape = g.const([-1, 1], "col", np.int64)
        cols = [g.op("Reshape", self.column(j, False), shape) for j in range(len(self.indices))]
        return cols[0] if len(cols) == 1 else g.op("Concat", *cols, axis=1)


def columns_of(g: Graph, x: Any, n: int) -> list[tuple[Any, str]]:
    """Per-column accessors of x: a Columns, or a numeric matrix [N, n] whose
    column j is gathered out. Each is (get(text) -> value [N], name)."""
    if isinstance(x, Columns):
        return [((lambda text, j=j: x.column(j, text)), name) for j, name in enumerate(x.names)]

    def gathered(text: bool, j: int) -> str:
        if text:
            raise unsupported("text categories on a numeric input (fit on a DataFrame to pass text columns)")
        col = g.op("Gather", x, g.const([j], "col", np.int64), axis=1)
        return g.op("Reshape", col, g.const([-1], "flat", np.int64))

    return [((lambda text, j=j: gathered(text, j)), f"x{j}") for j in range(n)]


def as_matrix(g: Graph, x: Any) -> str:
    """A numeric matrix from x (Columns, or a matrix: bool ones, such as a
    MissingIndicator's, become the graph's floats, as numpy promotes them)."""
    if isinstance(x, Columns):
        return x.matrix(g)
    if x in g.bools:
        return g.op("Cast", x, to=dtype_id(g.dtype))
    return x
