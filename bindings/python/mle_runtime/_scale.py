"""What the Spark, Ray and Dask integrations share: a model travels as a
reference (a path or a registry:// URI, with its open options) and each
worker process opens it once; a batch of columns becomes the model's input."""

from __future__ import annotations

import os
import threading
from typing import Any, Sequence

import numpy as np

from . import _model

_open: dict[tuple, Any] = {}
_open_lock = threading.Lock()


def reference(model: Any) -> str:
    """The reference a model travels by: a path or URI as given (made
    absolute), or an open Model's file. Nothing here loads libmle, so a
    driver that forks workers afterwards stays fork-safe."""
    if isinstance(model, _model.Model):
        if model.path is None:
            raise TypeError("a model opened from bytes cannot travel to workers: save it to a file they can read")
        return model._uri or os.path.abspath(model.path)
    ref = os.fspath(model)
    if isinstance(ref, bytes):
        ref = os.fsdecode(ref)
    return ref if ref.startswith("registry://") else os.path.abspath(ref)


def shared(ref: str, options: dict) -> _model.Model:
    """The model at ref, opened once per process (and per fork: a child never
    uses its parent's handle). A registry URI's digest is checked at open."""
    key = (_model._fork_generation, ref, repr(sorted(options.items())))
    with _open_lock:
        m = _open.get(key)
        if m is None or m._h is None:
            m = _model.Model(ref, **options)
            _open[key] = m
        return m


def features_frame(m: _model.Model, columns: Sequence[np.ndarray], names: Sequence[str] | None) -> Any:
    """The model's input from per-column arrays: the model's own columns by
    name (a DataFrame-trained model), one 2-D array (columns stacked, or a
    single vector column as it is), or one array per graph input."""
    cols = [np.asarray(c) for c in columns]
    if m._columns:  # a model of named 1-D inputs
        if names is None or len(names) != len(cols):
            raise ValueError(f"this model takes columns {[s.name for s in m.inputs]}: name the features")
        return dict(zip(names, cols))
    if len(cols) == 1 and cols[0].ndim == 2:
        return cols[0]
    if len(m.inputs) == 1 and len(m.inputs[0].shape) == 2:
        if m.feature_names_in_ is not None and names is not None:
            import pandas as pd

            return pd.DataFrame(dict(zip(names, cols)))
        return np.column_stack(cols) if len(cols) > 1 else cols[0].reshape(-1, 1)
    return cols if len(cols) > 1 else cols[0]


def apply(m: _model.Model, x: Any, method: str | None) -> np.ndarray:
    """method (predict, predict_proba, transform, …) on x; None runs the
    graph and returns its first output."""
    if method is None:
        return next(iter(m.run(x).values()))
    fn = getattr(m, method, None)
    if fn is None or method.startswith("_"):
        raise ValueError(f"models have no method {method!r}")
    return fn(x)
