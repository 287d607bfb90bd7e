"""Spark, Dask and Ray for real (local mode): models travel by path, each worker opens them once, and the
scores equal scikit-learn's."""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mle_runtime

FEATURES = ["f0", "f1", "f2", "f3", "f4"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    X, y = make_classification(n_samples=600, n_features=5, n_informative=3, n_classes=3, random_state=1)
    pdf = pd.DataFrame(X, columns=FEATURES)
    d = tmp_path_factory.mktemp("scale")
    # Trained on numpy (no feature names), with string classes.
    labels = np.array(["bronze", "gold", "silver"])[y]
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, labels)
    mle_runtime.dump(est, d / "tiers.mle")
    # Trained on a DataFrame (feature names checked), integer classes.
    named = LogisticRegression(max_iter=500).fit(pdf, y)
    mle_runtime.dump(named, d / "named.mle")
    return d, pdf, est, named


def test_spark(data):
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql import SparkSession
    from pyspark.sql.types import ArrayType, DoubleType

    assert shutil.which("java"), "Spark needs a JRE: run `make jre` (make test does)"
    d, pdf, est, named = data
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers run this venv's Python
    spark = (SparkSession.builder.master("local[2]").appName("mle-test")
             .config("spark.python.worker.reuse", "true").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    try:
        sdf = spark.createDataFrame(pdf).repartition(3)
        got = mle_runtime.spark.predict(sdf, d / "tiers.mle", features=FEATURES, output_col="tier").toPandas()
        want = est.predict(got[FEATURES].to_numpy())
        assert list(got["tier"]) == list(want)
        # The pieces by hand: probabilities as arrays, a DataFrame-trained model.
        udf = predict_batch_udf(mle_runtime.spark.make_predict_fn(d / "named.mle", method="predict_proba",
                                                                  features=FEATURES),
                                return_type=ArrayType(DoubleType()), batch_size=64)
        got = sdf.withColumn("p", udf(*FEATURES)).toPandas()
        np.testing.assert_allclose(np.stack(got["p"]), named.predict_proba(got[FEATURES]), rtol=0, atol=1e-9)
    finally:
        spark.stop()


def test_dask(data):
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    d, pdf, est, named = data
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.register_plugin(mle_runtime.dask.ModelPlugin(d / "tiers.mle"))
        ddf = dd.from_pandas(pdf, npartitions=4)
        got = mle_runtime.dask.predict(ddf, d / "tiers.mle", features=FEATURES).compute()
        assert list(got) == list(est.predict(pdf.to_numpy()))
        proba = mle_runtime.dask.predict(ddf, d / "named.mle", features=FEATURES, method="predict_proba").compute()
        np.testing.assert_allclose(np.stack(proba.to_numpy()), named.predict_proba(pdf), rtol=0, atol=1e-9)
        # Each worker process opened the model once, and not the scheduler's.
        pids = client.run(lambda: os.getpid())
        assert len(set(pids.values())) == 2


def test_ray(data):
    import ray
    from ray import serve

    d, pdf, est, named = data
    # Logical CPUs: two Predictor actors and the dataset's own tasks must fit at once.
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        ds = ray.data.from_pandas(pdf).repartition(4)
        out = ds.map_batches(mle_runtime.ray.Predictor, fn_constructor_kwargs={"model": str(d / "tiers.mle"),
                                                                              "features": FEATURES},
                             concurrency=2, batch_format="pandas").to_pandas()
        assert list(out["prediction"]) == list(est.predict(out[FEATURES].to_numpy()))
        handle = serve.run(mle_runtime.ray.deployment(d / "named.mle", FEATURES), name="mle", route_prefix=None)
        rows = pdf.head(7)
        got = handle.remote({f: rows[f].tolist() for f in FEATURES}).result()
        assert got["prediction"] == named.predict(rows).tolist()
        serve.shutdown()
    finally:
        ray.shutdown()
