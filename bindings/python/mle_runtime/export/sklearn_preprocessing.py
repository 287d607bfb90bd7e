"""sklearn.preprocessing: scalers and Normalizer, in scikit-learn's order of
operations; OneHotEncoder and OrdinalEncoder over text and numeric columns."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._builder import dtype_id
from .._graph import Graph
from ._head import unsupported
from ._registry import TRANSFORMER, register
from ._table import MISSING_TEXT, Columns, columns_of, missing_kind


def _center_scale(g: Graph, x: str, center: Any, scale: Any) -> str:
    """X -= center; X /= scale, each when present (scikit-learn's order)."""
    if center is not None:
        x = g.op("Sub", x, g.const(center, "center"))
    if scale is not None:
        x = g.op("Div", x, g.const(scale, "scale"))
    return x


@register("sklearn.preprocessing.StandardScaler", TRANSFORMER, "with_mean, with_std")
def _standard_scaler(g: Graph, est: Any, x: str) -> str:
    return _center_scale(g, x, est.mean_ if est.with_mean else None, est.scale_ if est.with_std else None)


@register("sklearn.preprocessing.MinMaxScaler", TRANSFORMER, "feature_range, clip")
def _min_max_scaler(g: Graph, est: Any, x: str) -> str:
    x = g.op("Add", g.op("Mul", x, g.const(est.scale_, "scale")), g.const(est.min_, "min"))
    if est.clip:
        lo, hi = est.feature_range
        x = g.op("Clip", x, g.const(lo, "lo"), g.const(hi, "hi"))
    return x


@register("sklearn.preprocessing.MaxAbsScaler", TRANSFORMER, "")
def _max_abs_scaler(g: Graph, est: Any, x: str) -> str:
    return g.op("Div", x, g.const(est.scale_, "scale"))


@register("sklearn.preprocessing.RobustScaler", TRANSFORMER, "with_centering, with_scaling")
def _robust_scaler(g: Graph, est: Any, x: str) -> str:
    return _center_scale(g, x, est.center_ if est.with_centering else None, est.scale_ if est.with_scaling else None)


@register("sklearn.preprocessing.Normalizer", TRANSFORMER, "l1, l2, max")
def _normalizer(g: Graph, est: Any, x: str) -> str:
    reduce = {"l1": "ReduceL1", "l2": "ReduceL2", "max": "ReduceMax"}.get(est.norm)
    if reduce is None:
        raise unsupported(f"Normalizer(norm={est.norm!r})")
    src = g.op("Abs", x) if est.norm == "max" else x
    norms = g.op(reduce, src, axes=[1], keepdims=1)
    # scikit-learn's _handle_zeros_in_scale: near-zero norms become 1.
    tiny = g.op("Less", norms, g.const(10 * np.finfo(g.dtype).eps, "eps"))
    norms = g.op("Where", tiny, g.const(1.0, "one"), norms)
    return g.op("Div", x, norms)


# ---------------------------------------------------------------- encoders
#
# OneHotEncoder and OrdinalEncoder map each column through CategoryIndex
# (the value's position among categories_, NaN included) and then a table
# from that position to the output. The tables are read off the fitted
# encoder itself by transforming its own categories (and one unknown value,
# and NaN): drop, infrequent grouping, unknown_value and
# encoded_missing_value come out exactly as scikit-learn computes them.


def _keys(est: Any, i: int, column: str) -> tuple[np.ndarray, bool, list[Any]]:
    """Feature i's categories as CategoryIndex keys, whether they are text,
    and the categories as scikit-learn holds them. A missing value among
    text categories (None or NaN) is the missing-text sentinel in the graph."""
    cats = est.categories_[i]
    vals = cats.tolist()
    if cats.dtype.kind in "OUS":
        keys = [MISSING_TEXT[missing_kind(v)] if missing_kind(v) else v for v in vals]
        if all(isinstance(v, str) for v in keys) and not set(MISSING_TEXT.values()) & set(vals):
            return np.asarray(keys, dtype=object), True, vals
        raise unsupported(f"{type(est).__name__} column {column!r}: categories {vals[:5]!r} mix text with numbers")
    keys = cats.astype(np.float64)
    if cats.dtype.kind in "iub" and not np.array_equal(keys.astype(cats.dtype), cats):
        raise unsupported(f"{type(est).__name__} column {column!r}: integer categories beyond 2**53")
    return keys, False, vals


def _unknown(keys: np.ndarray, text: bool) -> Any:
    """A value not among keys."""
    if text:
        v, seen = "\x00unknown", set(keys.tolist())
        while v in seen:
            v += "?"
        return v
    finite = keys[np.isfinite(keys)]
    return float(finite.max()) + 1.0 if finite.size else 0.0


def _probe(est: Any, i: int, values: list[Any]) -> np.ndarray | None:
    """est.transform of rows whose feature i takes each of values (the other
    features their first category); None if scikit-learn refuses them."""
    import warnings

    n = len(est.categories_)
    cols = []
    for f in range(n):
        base = est.categories_[f][0]
        col = np.empty(len(values), dtype=object)
        col[:] = values if f == i else [base] * len(values)
        cols.append(col)
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        import pandas as pd

        # object Series: pandas would otherwise turn None into NaN, a different category
        X = pd.DataFrame({str(nm): pd.Series(c, dtype=object) if est.categories_[f].dtype.kind in "OUS"
                          else c.astype(np.float64) for f, (nm, c) in enumerate(zip(names, cols))})
    else:
        X = np.column_stack(cols)
        if all(c.dtype.kind not in "OUS" for c in est.categories_):
            X = X.astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = est.transform(X)
        except ValueError:
            return None
    return np.asarray(out.toarray() if hasattr(out, "toarray") else out, dtype=np.float64)


def _encoder(g: Graph, est: Any, x: Any, onehot: bool) -> str:
    name = type(est).__name__
    n = len(est.categories_)
    refuse = est.handle_unknown == "error"
    if onehot:
        widths = list(est._n_features_outs)
        offsets = np.cumsum([0] + widths)
    blocks = []
    for i, (get, column) in enumerate(columns_of(g, x, n)):
        keys, text, originals = _keys(est, i, column)
        if isinstance(x, Columns) and not text:
            Columns(x.table, [x.indices[i]]).handles_nan()  # NaN is a category, an unknown or refused
        rows = _probe(est, i, originals)
        if rows is None:
            raise unsupported(f"{name} column {column!r}: transforming its own categories failed")
        if not text and not np.isnan(keys).any():
            nan_row = _probe(est, i, [np.nan])
            if nan_row is not None:  # NaN has an encoding of its own (else it is unknown)
                keys, rows = np.append(keys, np.nan), np.vstack([rows, nan_row])
        unknown = _probe(est, i, [_unknown(keys, text)])
        if (unknown is None) != refuse:
            raise unsupported(f"{name}(handle_unknown={est.handle_unknown!r}): unknown values behave unexpectedly")
        col = get(text)
        if not text and g.dtype != np.float64:  # keys are float64: widen the column exactly
            col = g.op("Cast", col, to=dtype_id(np.float64))
        code = g.op("CategoryIndex", col, g.const(keys, "categories", object if text else np.float64),
                    unknown_index=len(keys), refuse_unknown=int(refuse), node_name=column)
        if unknown is not None:
            rows = np.vstack([rows, unknown])
        else:
            rows = np.vstack([rows, rows[:1] * np.nan])  # never read: unknowns fail the run
        if onehot:
            block = rows[:, offsets[i]:offsets[i + 1]]
            if block.shape[1] == 0:
                continue
            hot = np.nan_to_num(block, nan=0.0)
            if not np.all((hot == 0) | (hot == 1)) or (hot.sum(axis=1) > 1).any():
                raise unsupported(f"{name} column {column!r}: an encoding is not one-hot")
            pos = np.where(hot.any(axis=1), hot.argmax(axis=1), -1)
            at = g.op("Gather", g.const(pos, "onehot_map", np.int64), code)
            at = g.op("Reshape", at, g.const([-1, 1], "col", np.int64))
            eq = g.op("Equal", at, g.const(np.arange(block.shape[1]), "range", np.int64))
            blocks.append(g.op("Cast", eq, to=dtype_id(g.dtype)))
        else:
            v = g.op("Gather", g.const(rows[:, i], "ordinal_map"), code)
            blocks.append(g.op("Reshape", v, g.const([-1, 1], "col", np.int64)))
    if not blocks:
        raise unsupported(f"{name} with no output columns")
    return blocks[0] if len(blocks) == 1 else g.op("Concat", *blocks, axis=1)


@register("sklearn.preprocessing.OneHotEncoder", TRANSFORMER,
          "text and numeric columns; handle_unknown error/ignore/infrequent_if_exist/warn; drop; "
          "infrequent categories; NaN as a category (numeric columns)", columns=True)
def _one_hot_encoder(g: Graph, est: Any, x: Any) -> str:
    return _encoder(g, est, x, onehot=True)


@register("sklearn.preprocessing.OrdinalEncoder", TRANSFORMER,
          "text and numeric columns; handle_unknown error/use_encoded_value; encoded_missing_value; "
          "infrequent categories", columns=True)
def _ordinal_encoder(g: Graph, est: Any, x: Any) -> str:
    return _encoder(g, est, x, onehot=False)


# numpy ufuncs as ops (elementwise, float64: within an ulp of numpy's).
_UFUNCS = {"exp": "Exp", "log": "Log", "sqrt": "Sqrt", "negative": "Neg", "absolute": "Abs", "tanh": "Tanh"}


def apply_ufunc(g: Graph, fn: Any, x: str, what: str) -> str:
    """fn(x) for fn None (identity) or one of the numpy ufuncs above."""
    if fn is None:
        return x
    op = _UFUNCS.get(fn.__name__) if isinstance(fn, np.ufunc) else None
    if op is None:
        raise unsupported(f"{what} {fn!r}: only None and numpy's {', '.join(sorted(_UFUNCS))} are exported")
    return g.op(op, x)


@register("sklearn.preprocessing.FunctionTransformer", TRANSFORMER,
          "func None (identity, as ColumnTransformer's passthrough) or numpy's exp, log, sqrt, negative, "
          "absolute, tanh; no kw_args")
def _function_transformer(g: Graph, est: Any, x: str) -> str:
    if est.kw_args:
        raise unsupported("FunctionTransformer with kw_args")
    return apply_ufunc(g, est.func, x, "FunctionTransformer func")
