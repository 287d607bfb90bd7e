"""sklearn.preprocessing beyond scalers and encoders: Binarizer,
PolynomialFeatures, KBinsDiscretizer, SplineTransformer,
QuantileTransformer, PowerTransformer and TargetEncoder, each in
scikit-learn's order of operations."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._builder import dtype_id
from .._graph import Graph
from ._head import unsupported
from ._registry import TRANSFORMER, register

F64 = np.float64


def ones_column(g: Graph, x: str) -> str:
    """[N, 1] of ones, N taken from x [N, F] (F >= 1); NaN rows too."""
    col = g.op("Gather", x, g.const([0], "col0", np.int64), axis=1)
    one = g.const(1.0, "one")
    return g.op("Where", g.op("IsNaN", col), one, one)


def to_float64(g: Graph, x: str) -> str:
    """x in float64 (a float32 graph widens exactly, as numpy promotes)."""
    return x if g.dtype == F64 else g.op("Cast", x, to=dtype_id(F64))


def to_graph_dtype(g: Graph, x: str) -> str:
    return x if g.dtype == F64 else g.op("Cast", x, to=dtype_id(g.dtype))


def checked_input(g: Graph, x: str, lo: Any, hi: Any, what: str) -> str:
    """x itself, bit for bit, from a node that fails the run (naming the
    value and `what`) where some x < lo or x > hi (per column, or None for
    no bound; NaN passes): scikit-learn's ValueError for such values. The
    failing lookup is a CategoryIndex that knows only NaN."""
    nan = g.const(np.nan, "nan", F64)
    x64 = to_float64(g, x)
    key = nan
    if hi is not None:
        key = g.op("Where", g.op("Greater", x64, g.const(hi, "hi", F64)), x64, key)
    if lo is not None:
        key = g.op("Where", g.op("Less", x64, g.const(lo, "lo", F64)), x64, key)
    code = g.op("CategoryIndex", key, g.const([np.nan], "in_range", F64), refuse_unknown=1, node_name=what)
    return g.op("Where", g.op("Equal", code, g.const(0, "zero", np.int64)), x, x)


@register("sklearn.preprocessing.Binarizer", TRANSFORMER, "threshold (X > threshold is 1, else 0)")
def _binarizer(g: Graph, est: Any, x: str) -> str:
    # A float32 graph compares with float32(threshold), as numpy compares
    # float32 rows with a Python float since NEP 50.
    return g.op("Cast", g.op("Greater", x, g.const(est.threshold, "threshold")), to=dtype_id(g.dtype))


@register("sklearn.preprocessing.PolynomialFeatures", TRANSFORMER,
          "degree (int or (min, max)), interaction_only, include_bias; scikit-learn's column order and products")
def _polynomial_features(g: Graph, est: Any, x: str) -> str:
    n = int(est.n_features_in_)
    lo, hi = int(est._min_degree), int(est._max_degree)
    blocks: list[str] = []
    if est.include_bias:
        blocks.append(ones_column(g, x))
    if hi > 0:
        blocks.append(x)
        # scikit-learn's dense transform: each column of degree d is one
        # column of degree d-1 times one feature (so x0^3 = (x0*x0)*x0), in
        # the column order its index bookkeeping gives; reproduced here.
        first = 1 if est.include_bias else 0
        index = list(range(first, first + n + 1))
        prev, prev_start, current = x, first, first + n
        for _ in range(2, hi + 1):
            new_index, end = [], index[-1]
            src, feat = [], []
            for f in range(n):
                start = index[f]
                new_index.append(current)
                if est.interaction_only:
                    start += index[f + 1] - index[f]
                nxt = current + end - start
                if nxt <= current:
                    break
                src += range(start - prev_start, end - prev_start)
                feat += [f] * (end - start)
                current = nxt
            new_index.append(current)
            index = new_index
            if not src:
                break  # no terms of this degree (interaction_only past n features), nor above
            block = g.op("Mul", g.op("Gather", prev, g.const(src, "terms", np.int64), axis=1),
                         g.op("Gather", x, g.const(feat, "feats", np.int64), axis=1))
            blocks.append(block)
            prev, prev_start = block, end
    full = blocks[0] if len(blocks) == 1 else g.op("Concat", *blocks, axis=1)
    n_full, n_out = int(est._n_out_full), int(est.n_output_features_)
    if lo > 1:  # drop the degrees below min, as scikit-learn cuts them out
        keep = ([0] if est.include_bias else []) + list(range(n_full - n_out + (1 if est.include_bias else 0), n_full))
        full = g.op("Gather", full, g.const(keep, "keep", np.int64), axis=1)
    return full


@register("sklearn.preprocessing.KBinsDiscretizer", TRANSFORMER,
          "any strategy (bin_edges_), encode ordinal/onehot/onehot-dense (dense output), dtype")
def _kbins(g: Graph, est: Any, x: str) -> str:
    ordinal = kbins_ordinal(g, est, x)
    if est.encode == "ordinal":
        return ordinal
    if est.encode not in ("onehot", "onehot-dense"):
        raise unsupported(f"KBinsDiscretizer(encode={est.encode!r})")
    n_bins = [int(b) for b in est.n_bins_]
    feat = np.repeat(np.arange(len(n_bins)), n_bins)
    code = np.concatenate([np.arange(b) for b in n_bins]).astype(F64)
    at = g.op("Gather", ordinal, g.const(feat, "bin_feature", np.int64), axis=1)
    return g.op("Cast", g.op("Equal", at, g.const(code, "bin_code")), to=dtype_id(g.dtype))


def kbins_ordinal(g: Graph, est: Any, x: str) -> str:
    """np.searchsorted(bin_edges_[j][1:-1], x, side="right") per column:
    the number of inner edges <= x, compared in float64 (numpy promotes
    float32 rows against the float64 edges; dtype=float32 rounds X first)."""
    inner = [np.asarray(e, dtype=F64)[1:-1] for e in est.bin_edges_]
    width = max(1, max(len(e) for e in inner))
    table = np.full((len(inner), width), np.inf)  # padding: never <= a finite x
    for j, e in enumerate(inner):
        table[j, :len(e)] = e
    if est.dtype is not None and np.dtype(est.dtype) == np.float32 and g.dtype != np.float32:
        x = g.op("Cast", x, to=dtype_id(np.float32))  # validate_data rounds X to float32 first
        x = g.op("Cast", x, to=dtype_id(F64))
    else:
        x = to_float64(g, x)
    x3 = g.op("Reshape", x, g.const([-1, len(inner), 1], "shape", np.int64))
    below = g.op("Cast", g.op("Less", x3, g.const(table, "bin_edges", F64)), to=dtype_id(F64))
    count = g.op("ReduceSum", below, axes=[2], keepdims=0)
    return to_graph_dtype(g, g.op("Sub", g.const(float(width), "width", F64), count))


# ---------------------------------------------------- QuantileTransformer

BOUNDS_THRESHOLD = 1e-7  # scikit-learn's, in _data.py


@register("sklearn.preprocessing.QuantileTransformer", TRANSFORMER,
          "output_distribution uniform and normal (scipy's ndtri from arithmetic ops, then the clip); NaN passes "
          "through (Interp op)")
def _quantile_transformer(g: Graph, est: Any, x: str) -> str:
    from ._elementary import c64, ndtri

    q = np.asarray(est.quantiles_, dtype=F64).T  # [F, n_quantiles]
    refs = np.broadcast_to(np.asarray(est.references_, dtype=F64), q.shape)
    x = to_float64(g, x)
    # 0.5 * (interp(x, q, r) - interp(-x, -q[::-1], -r[::-1])): repeated
    # quantiles get the middle of their references, as scikit-learn does.
    up = g.op("Interp", x, c64(g, q, "quantiles"), c64(g, refs, "references"))
    down = g.op("Interp", g.op("Neg", x), c64(g, -q[:, ::-1], "quantiles_reversed"),
                c64(g, -refs[:, ::-1], "references_reversed"))
    y = g.op("Mul", c64(g, 0.5, "half"), g.op("Sub", up, down))
    y = g.op("Where", g.op("IsNaN", x), x, y)
    lo, hi = c64(g, q[:, 0], "lower_bound"), c64(g, q[:, -1], "upper_bound")
    if est.output_distribution == "normal":
        eps = c64(g, BOUNDS_THRESHOLD, "bounds_threshold")
        below = g.op("Less", g.op("Sub", x, eps), lo)
        above = g.op("Greater", g.op("Add", x, eps), hi)
    elif est.output_distribution == "uniform":
        below, above = g.op("Equal", x, lo), g.op("Equal", x, hi)
    else:
        raise unsupported(f"QuantileTransformer(output_distribution={est.output_distribution!r})")
    y = g.op("Where", above, c64(g, 1.0, "one"), y)
    y = g.op("Where", below, c64(g, 0.0, "zero"), y)
    if est.output_distribution == "normal":
        from scipy import stats

        clip_min = float(stats.norm.ppf(BOUNDS_THRESHOLD - np.spacing(1)))
        clip_max = float(stats.norm.ppf(1 - (BOUNDS_THRESHOLD - np.spacing(1))))
        y = g.op("Clip", ndtri(g, y), c64(g, clip_min, "clip_min"), c64(g, clip_max, "clip_max"))
    return to_graph_dtype(g, y)


# ------------------------------------------------------- PowerTransformer

@register("sklearn.preprocessing.PowerTransformer", TRANSFORMER,
          "yeo-johnson and box-cox (scipy's formulas with log1p/expm1 from arithmetic ops), standardize; NaN "
          "passes through")
def _power_transformer(g: Graph, est: Any, x: str) -> str:
    from ._elementary import c64, expm1, log1p

    lam = np.asarray(est.lambdas_, dtype=F64)
    x = to_float64(g, x)
    if est.method == "yeo-johnson":
        # scipy.stats.yeojohnson: x >= 0: expm1(l*log1p(x))/l (log1p(x) if
        # |l| < eps); x < 0: -expm1((2-l)*log1p(-x))/(2-l) (-log1p(-x) if
        # |l-2| < eps); eps of float64.
        eps = np.finfo(F64).eps
        neg = g.op("Less", x, c64(g, 0.0, "zero"))  # scikit-learn's ~(x >= 0), NaN aside
        a = log1p(g, g.op("Abs", x))  # log1p(x) or log1p(-x)
        two_minus = 2.0 - lam
        e = expm1(g, g.op("Mul", g.op("Where", neg, c64(g, two_minus, "two_minus_lambda"),
                                      c64(g, lam, "lambdas")), a))
        pos_val = g.op("Div", e, c64(g, lam, "lambdas"))
        neg_val = g.op("Neg", g.op("Div", e, c64(g, two_minus, "two_minus_lambda")))
        pos_val = g.op("Where", g.const(np.abs(lam) < eps, "lambda_zero", np.bool_), a, pos_val)
        neg_val = g.op("Where", g.const(np.abs(lam - 2) <= eps, "lambda_two", np.bool_), g.op("Neg", a), neg_val)
        y = g.op("Where", g.op("IsNaN", x), x, g.op("Where", neg, neg_val, pos_val))
    elif est.method == "box-cox":
        # scipy.special.boxcox: log(x) if |l| < 1e-19; expm1(l*log x)/l while
        # l*log x < 709.78; else sign(l)*exp(l*log x - log|l|) - 1/l.
        # scikit-learn refuses X <= 0 (NaN aside): values below the smallest positive double fail the run.
        x = checked_input(g, x, np.full(len(lam), 5e-324), None,
                          "PowerTransformer(method='box-cox'): X not strictly positive")
        lx = g.op("Log", x)
        t = g.op("Mul", c64(g, lam, "lambdas"), lx)
        small = g.op("Div", expm1(g, t), c64(g, lam, "lambdas"))
        with np.errstate(divide="ignore"):
            big = g.op("Sub", g.op("Mul", c64(g, np.copysign(1.0, lam), "lambda_sign"),
                                   g.op("Exp", g.op("Sub", t, c64(g, np.log(np.abs(lam)), "log_abs_lambda")))),
                       c64(g, 1.0 / lam, "inv_lambda"))
        y = g.op("Where", g.op("Less", t, c64(g, 709.78, "exp_limit")), small, big)
        y = g.op("Where", g.const(np.abs(lam) < 1e-19, "lambda_zero", np.bool_), lx, y)
    else:
        raise unsupported(f"PowerTransformer(method={est.method!r})")
    if est.standardize:
        sc = est._scaler
        if sc.with_mean:
            y = g.op("Sub", y, c64(g, sc.mean_, "mean"))
        if sc.with_std:
            y = g.op("Div", y, c64(g, sc.scale_, "scale"))
    return to_graph_dtype(g, y)


# ---------------------------------------------------------- TargetEncoder

@register("sklearn.preprocessing.TargetEncoder", TRANSFORMER,
          "transform (not fit_transform's cross fitting): binary, continuous and multiclass targets over text and "
          "numeric columns; unknown categories get target_mean_", columns=True)
def _target_encoder(g: Graph, est: Any, x: Any) -> str:
    from ._table import Columns, columns_of
    from .sklearn_preprocessing import _keys

    n = len(est.categories_)
    multi = est.target_type_ == "multiclass"
    k = len(est.classes_) if multi else 1
    means = np.atleast_1d(np.asarray(est.target_mean_, dtype=F64))
    blocks = []
    for i, (get, column) in enumerate(columns_of(g, x, n)):
        keys, text = _keys(est, i, column)[:2]
        if isinstance(x, Columns) and not text:
            Columns(x.table, [x.indices[i]]).handles_nan()  # NaN is a category or an unknown
        col = get(text) if text else to_float64(g, get(text))  # numbers match float64 categories
        code = g.op("CategoryIndex", col, g.const(keys, "categories", object if text else F64),
                    unknown_index=len(keys), node_name=column)
        # Row c: the encodings of category c (one per class); the last row,
        # for unknown categories, target_mean_.
        enc = np.column_stack([np.asarray(est.encodings_[i * k + j], dtype=F64) for j in range(k)])
        table = np.vstack([enc, means[None, :]])
        blocks.append(g.op("Gather", g.const(table, "encodings"), code))  # [N, k]
    return blocks[0] if len(blocks) == 1 else g.op("Concat", *blocks, axis=1)


# ------------------------------------------------------- SplineTransformer
#
# Each feature's B-spline basis is scipy's BSpline evaluation (what
# SplineTransformer calls), operation for operation: the interval
# l = the last knot index in [k, n-1] with t[l] <= x (scipy's
# _find_interval, clamped when extrapolating); then _deBoor_D's
# Cox-de Boor recursion (h[0] = 1; for j = 1..k, n = 1..j:
# w = h_old[n-1] / (t[l+n] - t[l+n-j]), h[n-1] += w*(t[l+n] - x),
# h[n] = w*(x - t[l+n-j])); then output column c = (l + a - k) mod the
# number of splines gets h[a], summed over a in increasing order from 0.0
# (scipy's product with the identity coefficients: bit-identical for x in
# the same interval). Periodic extrapolation maps x to
# t[k] + (x - t[k]) mod period, numpy's remainder (exact within two periods
# of t[k], else to an ulp of the argument); constant and linear extrapolation use the
# boundary values and slopes scipy gives at export, with scikit-learn's
# own column bookkeeping (including its degree += 1 for linear degree <= 1,
# which carries over to the following features).

def _zeros_like(g: Graph, x: str, value: float = 0.0) -> str:
    v = g.const(value, "fill", F64)
    return g.op("Where", g.op("IsNaN", x), v, v)


@register("sklearn.preprocessing.SplineTransformer", TRANSFORMER,
          "degree, n_knots or knots, every extrapolation (error: the run fails naming the value), include_bias, "
          "handle_missing, sparse_output (dense output); scipy's B-spline evaluation step by step")
def _spline_transformer(g: Graph, est: Any, x: str) -> str:
    spl = est.bsplines_
    n_feat = len(spl)
    k = int(spl[0].k)
    S = int(spl[0].c.shape[1])
    ext = est.extrapolation
    T = len(spl[0].t)
    t = np.stack([np.asarray(s.t, dtype=F64) for s in spl])  # [F, T]
    if any(len(s.t) != T or int(s.k) != k for s in spl) or not np.all(np.diff(t, axis=1) > 0):
        raise unsupported("SplineTransformer with knots that are not strictly increasing")
    n = T - k - 1  # coefficient rows: S, or S + degree when periodic
    x = to_float64(g, x)
    if ext == "error":
        x = checked_input(g, x, t[:, k], t[:, n], "SplineTransformer(extrapolation='error'): X beyond the knots")
    elif ext == "constant" and est.degree == 0:
        # f_max[-0:] is all of f_max: scikit-learn fails on values above the last knot.
        x = checked_input(g, x, None, t[:, -1], "SplineTransformer(degree=0, extrapolation='constant'): X above "
                                                "the last knot (scikit-learn fails there too)")
    x3 = g.op("Reshape", x, g.const([-1, n_feat, 1], "shape", np.int64))
    xe = x
    if ext == "periodic":
        tk, period = t[:, k], t[:, n] - t[:, k]
        a = g.op("Sub", x, g.const(tk, "t_k", F64))
        p = g.const(period, "period", F64)
        q = g.op("Cast", g.op("Cast", g.op("Div", a, p), to=dtype_id(np.int64)), to=dtype_id(F64))
        r = g.op("Sub", a, g.op("Mul", q, p))
        r = g.op("Where", g.op("Less", r, p), r, g.op("Sub", r, p))  # a/P rounded up to the next integer
        # numpy's sign fix of fmod (its sum may round to P itself, as numpy's does).
        r = g.op("Where", g.op("Less", r, g.const(0.0, "zero", F64)), g.op("Add", r, p), r)
        xe = g.op("Add", g.const(tk, "t_k", F64), r)
    elif ext not in ("continue", "error", "constant", "linear"):
        raise unsupported(f"SplineTransformer(extrapolation={ext!r})")
    # The interval: k + the number of knots t[k+1 .. n-1] at or below x.
    inner = t[:, k + 1:n]
    if inner.shape[1]:
        xe3 = g.op("Reshape", xe, g.const([-1, n_feat, 1], "shape", np.int64))
        above = g.op("Cast", g.op("Less", xe3, g.const(inner, "inner_knots", F64)), to=dtype_id(F64))
        ell = g.op("Sub", g.const(float(n - 1), "last", F64), g.op("ReduceSum", above, axes=[2], keepdims=0))
    else:
        ell = _zeros_like(g, xe, float(k))
    ell = g.op("Cast", ell, to=dtype_id(np.int64))
    base = g.op("Add", ell, g.const(np.arange(n_feat) * T, "row_start", np.int64))
    flat = g.const(t.reshape(-1), "knots", F64)
    tv = {d: g.op("Gather", flat, g.op("Add", base, g.const(d, "offset", np.int64))) for d in range(1 - k, k + 1)}
    h: list[str] = [g.const(1.0, "one", F64)]
    for j in range(1, k + 1):
        old = h
        h = [g.const(0.0, "zero", F64)] + [""] * j
        for m in range(1, j + 1):
            xb, xa = tv[m], tv[m - j]
            w = g.op("Div", old[m - 1], g.op("Sub", xb, xa))
            h[m - 1] = g.op("Add", h[m - 1], g.op("Mul", w, g.op("Sub", xb, xe)))
            h[m] = g.op("Mul", w, g.op("Sub", xe, xa))
    if k == 0:
        h = [_zeros_like(g, xe, 1.0)]
    # Column (l + a - k) of the identity (periodic: wrapped) gets h[a].
    cols = g.const(np.arange(S), "splines", np.int64)
    zero = g.const(0.0, "zero", F64)
    out = zero
    col3 = g.const([-1, n_feat, 1], "shape", np.int64)
    for a in range(k + 1):
        col = g.op("Add", ell, g.const(a - k, "shift", np.int64))
        if n > S:
            col = g.op("Where", g.op("Less", col, g.const(S, "n_splines", np.int64)), col,
                       g.op("Sub", col, g.const(S, "n_splines", np.int64)))
        hit = g.op("Equal", g.op("Reshape", col, col3), cols)
        out = g.op("Add", out, g.op("Where", hit, g.op("Reshape", h[a], col3), zero))
    out = _extrapolate(g, est, x3, out, t, k, S)
    out = g.op("Reshape", out, g.const([-1, n_feat * S], "shape", np.int64))
    if not est.include_bias:
        keep = [j for j in range(n_feat * S) if (j + 1) % S != 0]
        out = g.op("Gather", out, g.const(keep, "keep", np.int64), axis=1)
    return to_graph_dtype(g, out)


def _extrapolate(g: Graph, est: Any, x3: str, out: str, t: np.ndarray, k: int, S: int) -> str:
    """The basis [N, F, S] outside the knots and at NaN, as scikit-learn's
    transform sets them."""
    ext, n_feat = est.extrapolation, t.shape[0]
    n = t.shape[1] - k - 1
    zero = g.const(0.0, "zero", F64)
    if ext in ("continue", "error", "periodic"):
        return g.op("Where", g.op("IsNaN", x3), zero, out)  # handle_missing="zeros"
    # constant / linear: scikit-learn's loop over features, whose local
    # degree grows by one per feature for linear degree <= 1.
    deg = est.degree
    lo, hi = np.zeros(n_feat), np.zeros(n_feat)
    low_cols, high_cols = np.zeros((n_feat, S), bool), np.zeros((n_feat, S), bool)
    fmin, fmax, dmin, dmax = (np.zeros((n_feat, S)) for _ in range(4))
    for f, spl in enumerate(est.bsplines_):
        if 2 * deg + 1 > len(spl.t) or (ext == "linear" and (deg + 1 if deg <= 1 else deg) > S):
            raise unsupported(f"SplineTransformer(degree={est.degree}, extrapolation={ext!r}) with {S} splines "
                              f"over {n_feat} features: scikit-learn's degree bookkeeping (degree += 1 from "
                              "feature to feature) runs past the knots, where its transform fails or crosses its "
                              "own bounds")
        lo[f], hi[f] = spl.t[deg], spl.t[-deg - 1]
        f_min, f_max = spl(lo[f]), spl(hi[f])
        if ext == "constant":
            low_cols[f, :deg] = True
            fmin[f, :deg] = f_min[:deg]
            if deg:
                high_cols[f, S - deg:] = True
                fmax[f, S - deg:] = f_max[-deg:]
        else:
            fp_min, fp_max = spl(lo[f], nu=1), spl(hi[f], nu=1)
            if deg <= 1:
                deg += 1
            for j in range(deg):
                low_cols[f, j], fmin[f, j], dmin[f, j] = True, f_min[j], fp_min[j]
                c = S - 1 - j
                high_cols[f, c], fmax[f, c], dmax[f, c] = True, f_max[c], fp_max[c]
    lo3, hi3 = g.const(lo[:, None], "xmin", F64), g.const(hi[:, None], "xmax", F64)
    inside = g.op("Where", g.op("IsNaN", x3), zero, out)
    if ext == "constant":
        below = g.const(np.where(low_cols, fmin, 0.0), "f_min", F64)
        above = g.const(np.where(high_cols, fmax, 0.0), "f_max", F64)
    else:
        # f_min[j] + (x - xmin) * fp_min[j], and likewise above xmax.
        below = g.op("Add", g.const(fmin, "f_min", F64),
                     g.op("Mul", g.op("Sub", x3, lo3), g.const(dmin, "fp_min", F64)))
        below = g.op("Where", g.const(low_cols, "low_cols", np.bool_), below, zero)
        above = g.op("Add", g.const(fmax, "f_max", F64),
                     g.op("Mul", g.op("Sub", x3, hi3), g.const(dmax, "fp_max", F64)))
        above = g.op("Where", g.const(high_cols, "high_cols", np.bool_), above, zero)
    out = g.op("Where", g.op("Greater", x3, hi3), above, inside)
    return g.op("Where", g.op("Less", x3, lo3), below, out)
