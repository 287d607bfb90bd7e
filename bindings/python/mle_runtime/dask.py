"""Scoring Dask DataFrames with an .mle model: the model travels by path (or
registry:// URI) and each worker process opens it once.

    from distributed import Client
    client.register_plugin(mle_runtime.dask.ModelPlugin("model.mle"))   # optional: open at worker start
    ddf["score"] = mle_runtime.dask.predict(ddf, "model.mle", features=[...])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import _scale

try:
    from distributed.diagnostics.plugin import WorkerPlugin as _WorkerPlugin
except ImportError:  # distributed is optional: map_partitions works without it
    _WorkerPlugin = object


class ModelPlugin(_WorkerPlugin):
    """Opens the model when each worker starts (it must see the path), so
    the first task does not pay for the open and a worker that cannot read
    the file fails at start with the reason."""

    def __init__(self, model: Any, **load_options: Any) -> None:
        self.ref = _scale.reference(model)
        self.options = load_options
        self.name = "mle:" + self.ref

    def setup(self, worker: Any) -> None:
        _scale.shared(self.ref, self.options)


def _partition(pdf: Any, ref: str, features: list[str], method: str | None, options: dict) -> Any:
    import pandas as pd

    m = _scale.shared(ref, options)
    if len(pdf) == 0:
        return pd.Series([], dtype="float64", index=pdf.index)
    cols = [pdf[f].to_numpy() for f in features]
    y = _scale.apply(m, _scale.features_frame(m, cols, features), method)
    if y.ndim == 2:
        return pd.Series(list(y), index=pdf.index)
    return pd.Series(y, index=pdf.index)


def predict(ddf: Any, model: Any, *, features: Sequence[str], method: str | None = "predict",
            meta: Any = None, **load_options: Any) -> Any:
    """A Dask Series of the model's results, partition by partition
    (``map_partitions``); meta is Dask's, inferred from a one-row run when
    not given."""
    ref = _scale.reference(model)
    feats = list(features)
    if meta is None:
        import pandas as pd

        m = _scale.shared(ref, load_options)
        sample = ddf.head(1, npartitions=-1)
        y = _scale.apply(m, _scale.features_frame(m, [sample[f].to_numpy() for f in feats], feats), method)
        meta = pd.Series([], dtype=object if y.ndim == 2 or y.dtype.kind in "OU" else y.dtype)
    return ddf.map_partitions(_partition, ref, feats, method, load_options, meta=meta)
