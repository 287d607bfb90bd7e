"""sklearn.isotonic.IsotonicRegression: predict (and transform) is scipy's
interp1d over X_thresholds_ / y_thresholds_, which for float64 thresholds
is np.interp (the Interp op), with out-of-bounds values set to NaN,
clipped first, or refused at run time (as scikit-learn raises)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._builder import dtype_id
from .._graph import Graph
from . import sklearn_pipeline
from ._head import Head, unsupported
from ._registry import PREDICTOR, register
from .sklearn_preprocessing_more import checked_input

F64 = np.float64
NAME = "sklearn.isotonic.IsotonicRegression"

# IsotonicRegression has no n_features_in_: its input is declared here, one
# float64 column (scikit-learn converts T to the thresholds' float64 too).
sklearn_pipeline.INPUTS[NAME] = ("X", np.dtype(F64), [-1, 1])


@register(NAME, PREDICTOR,
          "predict and transform; out_of_bounds nan, clip, raise (the run fails naming the value); increasing "
          "true/false/auto; float64 fits (Interp op)")
def _isotonic(g: Graph, est: Any, x: str) -> Head:
    xt, yt = np.asarray(est.X_thresholds_), np.asarray(est.y_thresholds_)
    if xt.dtype != F64 or yt.dtype != F64:
        # scipy's interp1d then interpolates in its own way (not np.interp).
        raise unsupported(f"IsotonicRegression fitted on {xt.dtype} data (X_thresholds_ must be float64)")
    mode = est.out_of_bounds
    if mode not in ("nan", "clip", "raise"):
        raise unsupported(f"IsotonicRegression(out_of_bounds={mode!r})")
    xs, ys = g.const(xt, "X_thresholds", F64), g.const(yt, "y_thresholds", F64)
    if len(yt) == 1:
        # A single threshold predicts y for every x, in every mode.
        same = g.const(yt[:1], "y0", F64)
        y = g.op("Interp", x, xs, ys, same, same)
    else:
        if mode == "raise":  # scipy's interp1d raises ValueError for x outside the thresholds
            x = checked_input(g, x, xt[:1], xt[-1:], "IsotonicRegression(out_of_bounds='raise'): X beyond the "
                                                     "fitted range")
        if mode == "clip":
            x = g.op("Clip", x, g.const(est.X_min_, "X_min", F64), g.const(est.X_max_, "X_max", F64))
        nan = g.const(np.nan, "nan", F64)
        y = g.op("Interp", x, xs, ys, nan, nan)
    y = g.flatten_column(y)
    if g.dtype != F64:
        y = g.op("Cast", y, to=dtype_id(g.dtype))
    return Head("regressor", {"prediction": y}, {"predict": "prediction", "transform": "prediction"})
