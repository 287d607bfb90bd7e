"""Scoring Spark DataFrames with an .mle model, through
``pyspark.ml.functions.predict_batch_udf``: the model travels by path (or
registry:// URI), each Python worker opens it once (keep
``spark.python.worker.reuse`` on, Spark's default), and batches arrive as
Arrow-backed numpy columns.

    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import DoubleType
    udf = predict_batch_udf(mle_runtime.spark.make_predict_fn("model.mle"), return_type=DoubleType(),
                            batch_size=4096)
    df.withColumn("score", udf("f0", "f1", "f2"))

or in one line: ``mle_runtime.spark.predict(df, "model.mle", features=[...])``.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np

from . import _scale


def make_predict_fn(model: Any, *, method: str | None = "predict", features: Sequence[str] | None = None,
                    **load_options: Any) -> Callable[[], Callable[..., np.ndarray]]:
    """A ``make_predict_fn`` for predict_batch_udf. It closes over a
    reference (path or URI) and options only, so it pickles small; called in
    a worker, it opens the model once per process and returns a function of
    the input columns: one numpy array per column of ``features`` (which
    also names them, for models trained on DataFrames), or, without
    features, one 2-D array for a vector column given with
    input_tensor_shapes. method: predict,
    predict_proba, transform, … or None for the graph's first output."""
    ref = _scale.reference(model)
    names = list(features) if features is not None else None

    def make() -> Callable[..., np.ndarray]:
        m = _scale.shared(ref, load_options)

        def predict(*columns: np.ndarray) -> np.ndarray:
            y = _scale.apply(m, _scale.features_frame(m, columns, names), method)
            return y.astype(object) if y.dtype.kind == "U" else y

        if names is not None and len(names) > 1:
            # predict_batch_udf counts the function's parameters to decide
            # how many columns it passes: one per feature.
            p = inspect.Parameter.POSITIONAL_ONLY
            predict.__signature__ = inspect.Signature([inspect.Parameter(f"c{i}", p) for i in range(len(names))])
        return predict

    return make


def return_type(model: Any, method: str | None = "predict", **load_options: Any):
    """The Spark type of a method's result: a scalar per row for 1-D
    results, an array of doubles for 2-D ones."""
    from pyspark.sql import types as T

    m = _scale.shared(_scale.reference(model), load_options)
    out = m.outputs[m._out_index[m._methods[method]]] if method is not None and method in m._methods else m.outputs[0]
    scalar = {"int64": T.LongType(), "int32": T.IntegerType(), "float64": T.DoubleType(), "float32": T.FloatType(),
              "string": T.StringType(), "bool": T.BooleanType()}
    if method == "predict" and m.classes_ is not None:
        k = m.classes_.dtype.kind
        return T.StringType() if k in "OU" else T.LongType() if k in "iu" else T.DoubleType()
    if len(out.shape) == 1:
        return scalar.get(out.mle_dtype, T.DoubleType())
    return T.ArrayType(T.DoubleType() if out.mle_dtype.startswith("float") else scalar.get(out.mle_dtype, T.DoubleType()))


def predict(df: Any, model: Any, *, features: Sequence[str], output_col: str = "prediction",
            method: str | None = "predict", batch_size: int = 4096, **load_options: Any) -> Any:
    """df with a column of the model's results on the feature columns."""
    from pyspark.ml.functions import predict_batch_udf

    rtype = return_type(model, method, **load_options)
    udf = predict_batch_udf(make_predict_fn(model, method=method, features=features, **load_options),
                            return_type=rtype, batch_size=batch_size)
    return df.withColumn(output_col, udf(*features))
