"""Scoring 1,000,000 rows of a random forest with Spark local[2], Ray and
Dask: the .mle file by path (mle_runtime.spark/.ray/.dask) next to the same
job with the joblib-pickled scikit-learn model shipped to the workers.

Each (engine, way, round) runs in a fresh process with a fresh cluster, so
worker memory and first-job costs are not shared between the two ways. The
job runs twice there: the first run pays for shipping and opening the model
("first job"), the second reuses the workers ("again").

    bench/scale_out.sh [--rows N] [--rounds R] [--engines spark,ray,dask] [--write-docs] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FEATURES = [f"f{i}" for i in range(20)]
PARTS = 8  # partitions / blocks of the scored data
BATCH = 10_000  # rows per batch handed to a worker function
WAYS = ("mle", "joblib")


# -- what the baseline ships ---------------------------------------------------------------------------------------

class Shipped:
    """The joblib way's payload (the fitted estimator), logging every
    unpickle with its process id and pickled size: how many bytes reached
    worker processes is measured, not estimated."""

    def __init__(self, est, log: str) -> None:
        self.est, self.log = est, log

    def __getstate__(self):
        import joblib  # the estimator pickles as joblib.dump writes it: plain pickle, numpy arrays inline
        import io

        buf = io.BytesIO()
        joblib.dump(self.est, buf)
        return {"blob": buf.getvalue(), "log": self.log}

    def __setstate__(self, state):
        import io

        import joblib

        self.log = state["log"]
        self.est = joblib.load(io.BytesIO(state["blob"]))
        with open(self.log, "a") as f:  # one short line per unpickle: O_APPEND keeps lines whole
            f.write(f"{os.getpid()} {len(state['blob'])}\n")


def sk_columns(est, cols) -> np.ndarray:
    return est.predict(np.column_stack([np.asarray(c, dtype=np.float64) for c in cols]))


# -- worker memory --------------------------------------------------------------------------------------------------

def is_worker(engine: str, p) -> bool:
    """The processes that run the model: Spark's Python workers, Ray's
    worker processes, Dask's worker processes."""
    try:
        cmd = " ".join(p.cmdline())
    except Exception:
        return False
    if engine == "spark":
        return "pyspark.daemon" in cmd or "pyspark/daemon.py" in cmd
    if engine == "ray":
        return cmd.startswith("ray::")
    return "multiprocessing" in cmd and "resource_tracker" not in cmd


class MemoryWatch:
    """Samples the worker processes (descendants of this one) every 50 ms:
    the kernel's RSS high-water mark (VmHWM) and the proportional set size
    (PSS: a page shared by n processes counts 1/n, as the page cache of an
    mmap'd model is), the largest per process."""

    def __init__(self, engine: str) -> None:
        self.engine, self.hwm, self.pss = engine, {}, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.stop.wait(0.05):
            for p in me.children(recursive=True):
                if p.pid in self.hwm or is_worker(self.engine, p):
                    self.sample(p.pid)

    def sample(self, pid: int) -> None:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.hwm[pid] = max(self.hwm.get(pid, 0), int(line.split()[1]) * 1024)
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        self.pss[pid] = max(self.pss.get(pid, 0), int(line.split()[1]) * 1024)
        except OSError:
            pass  # exited between listing and reading

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


# -- the jobs, one engine each ---------------------------------------------------------------------------------------

def make_part(i: int, rows: int):
    import pandas as pd

    rng = np.random.default_rng(i)
    return pd.DataFrame(rng.standard_normal((rows, len(FEATURES))), columns=FEATURES)


def spark_job(way: str, d: Path, rows: int, log: str):
    import mle_runtime
    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master("local[2]").appName("mle-bench")
             .config("spark.python.worker.reuse", "true").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    df = spark.range(0, rows, numPartitions=PARTS).select(*[F.randn(seed=i).alias(f) for i, f in enumerate(FEATURES)])
    df = df.cache()
    df.count()
    if way == "mle":
        fn = mle_runtime.spark.make_predict_fn(d / "model.mle", features=FEATURES, threads=1)
        payload = len(_cloudpickle().dumps(fn))
    else:
        shipped = Shipped(_load_joblib(d), log)

        def fn():
            import inspect

            est = shipped.est

            def predict(*cols):
                return sk_columns(est, cols)
            # predict_batch_udf passes one column per parameter it counts.
            pos = inspect.Parameter.POSITIONAL_ONLY
            predict.__signature__ = inspect.Signature([inspect.Parameter(f"c{i}", pos) for i in range(len(FEATURES))])
            return predict
        payload = None
    udf = predict_batch_udf(fn, return_type=LongType(), batch_size=BATCH)

    def run():
        return df.withColumn("y", udf(*FEATURES)).agg(F.sum("y")).collect()[0][0]
    return run, payload, PARTS, spark.stop


def ray_job(way: str, d: Path, rows: int, log: str):
    import mle_runtime
    import ray

    # Logical CPUs: the two actors and Ray Data's own small tasks must fit at once (as in the tests).
    ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    per = rows // PARTS
    ds = ray.data.from_pandas([make_part(i, per) for i in range(PARTS)]).materialize()
    if way == "mle":
        cls, kwargs = mle_runtime.ray.Predictor, {"model": str(d / "model.mle"), "features": FEATURES, "threads": 1}
    else:
        cls, kwargs = SkPredictor, {"model": Shipped(_load_joblib(d), log)}
    payload = len(_cloudpickle().dumps(kwargs)) if way == "mle" else None

    def run():
        out = ds.map_batches(cls, fn_constructor_kwargs=kwargs, concurrency=2, batch_size=BATCH,
                             batch_format="numpy")
        return out.sum("prediction")
    return run, payload, 2, ray.shutdown


class SkPredictor:
    """The joblib way for Ray Data: the unpickled estimator, per actor."""

    def __init__(self, model: Shipped) -> None:
        self.est = model.est

    def __call__(self, batch):
        batch["prediction"] = sk_columns(self.est, [batch[f] for f in FEATURES])
        return batch


def _sk_partition(pdf, model: Shipped):
    import pandas as pd

    return pd.Series(sk_columns(model.est, [pdf[f] for f in FEATURES]) if len(pdf) else [], index=pdf.index,
                     dtype="int64")


def dask_job(way: str, d: Path, rows: int, log: str):
    import dask.dataframe as dd
    import mle_runtime
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    per = rows // PARTS
    ddf = dd.from_map(make_part, range(PARTS), [per] * PARTS, meta=make_part(0, 0)).persist()
    from distributed import wait

    wait(ddf)
    if way == "mle":
        payload = len(_cloudpickle().dumps((str(d / "model.mle"), FEATURES, "predict", {"threads": 1})))

        def series(frame):
            return mle_runtime.dask.predict(frame, d / "model.mle", features=FEATURES, threads=1, meta=("y", "int64"))
    else:
        shipped = Shipped(_load_joblib(d), log)

        def series(frame):
            return frame.map_partitions(_sk_partition, shipped, meta=("y", "int64"))
        payload = None
    runs = iter(range(1_000_000))

    def run():
        # Dask names results by their inputs: the same job twice would find
        # the first one's partitions still in the workers' memory. A column
        # that differs per run gives each run its own keys.
        return int(series(ddf.assign(run=next(runs))).sum().compute())

    def stop():
        client.close()
        cluster.close()
    return run, payload, PARTS, stop


def _cloudpickle():
    import cloudpickle

    return cloudpickle


def _load_joblib(d: Path):
    import joblib

    return joblib.load(d / "model.joblib")


def child(engine: str, way: str, d: Path, rows: int) -> dict:
    """One (engine, way) in this process: the job twice, the memory of the
    workers, and what reached them."""
    import warnings

    warnings.filterwarnings("ignore")
    log = tempfile.mktemp(prefix="mle-bench-unpickle-")
    open(log, "w").close()
    with MemoryWatch(engine) as mem:
        run, payload, tasks, stop = {"spark": spark_job, "ray": ray_job, "dask": dask_job}[engine](way, d, rows, log)
        try:
            t = time.perf_counter()
            total = run()
            first = time.perf_counter() - t
            first_log = Path(log).read_text()  # what the first job shipped
            t = time.perf_counter()
            again_total = run()
            again = time.perf_counter() - t
            time.sleep(0.2)  # a last memory sample
        finally:
            stop()
    assert total == again_total, (total, again_total)
    lines = [ln.split() for ln in first_log.splitlines()]
    os.unlink(log)
    worker_lines = [(int(p), int(n)) for p, n in lines if int(p) != os.getpid()]
    if way == "joblib":
        shipped, deliveries = sum(n for _, n in worker_lines), len(worker_lines)
    else:
        # The reference and options travel with each task (or actor): an upper bound.
        shipped, deliveries = payload * tasks, tasks
    workers = [p for p in mem.hwm if mem.hwm[p] > 0]
    return {"engine": engine, "way": way, "first": first, "again": again, "sum": int(total),
            "shipped": shipped, "deliveries": deliveries, "workers": len(workers),
            "hwm": max(mem.hwm.values(), default=0), "pss": max(mem.pss.values(), default=0)}


# -- the driver -------------------------------------------------------------------------------------------------------

def build_model(d: Path, quick: bool) -> dict:
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    import mle_runtime

    X, y = make_classification(n_samples=20_000 if quick else 100_000, n_features=len(FEATURES), n_informative=10,
                               n_classes=3, random_state=0)
    est = RandomForestClassifier(n_estimators=20 if quick else 100, max_depth=10, random_state=0).fit(X, y)
    joblib.dump(est, d / "model.joblib")
    mle_runtime.dump(est, d / "model.mle")
    # The two ways must agree on every row: checked on a slice here, and each job's label sum is compared below.
    Xt = make_part(0, 50_000).to_numpy()
    assert (mle_runtime.load(d / "model.mle").predict(Xt) == est.predict(Xt)).all()
    nodes = sum(t.tree_.node_count for t in est.estimators_)
    return {"desc": f"RandomForestClassifier(n_estimators={len(est.estimators_)}, max_depth=10), 20 features, "
                    f"3 classes, {nodes:,} nodes",
            "joblib_bytes": (d / "model.joblib").stat().st_size, "mle_bytes": (d / "model.mle").stat().st_size}


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--engines", default="spark,ray,dask")
    ap.add_argument("--quick", action="store_true", help="100k rows, a small forest, one round; writes nothing")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--child", nargs=3, metavar=("ENGINE", "WAY", "DIR"))
    a = ap.parse_args()
    if a.child:
        engine, way, d = a.child
        print("RESULT " + json.dumps(child(engine, way, Path(d), a.rows)), flush=True)
        return
    if a.quick:
        a.rows, a.rounds, a.write_docs = 100_000, 1, False
    engines = a.engines.split(",")
    with tempfile.TemporaryDirectory(prefix="mle-scale-") as tmp:
        d = Path(tmp)
        model = build_model(d, a.quick)
        print(model["desc"], "| joblib", mib(model["joblib_bytes"]), "| mle", mib(model["mle_bytes"]), flush=True)
        res: dict = {}
        for r in range(a.rounds):
            for engine in engines:
                # Alternate which way goes first, so a slow phase of the VM falls on both.
                for way in (WAYS if r % 2 == 0 else WAYS[::-1]):
                    out = subprocess.run([sys.executable, __file__, "--rows", str(a.rows), "--child", engine, way,
                                          str(d)], capture_output=True, text=True, timeout=1800)
                    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
                    if out.returncode != 0 or not line:
                        sys.stderr.write(out.stdout[-4000:] + out.stderr[-4000:])
                        raise SystemExit(f"{engine}/{way} failed (exit {out.returncode})")
                    x = json.loads(line[0][7:])
                    res.setdefault((engine, way), []).append(x)
                    print(f"round {r + 1} {engine:5} {way:6} first {x['first']:6.2f} s  again {x['again']:6.2f} s  "
                          f"shipped {mib(x['shipped']):>10} in {x['deliveries']:2}  workers {x['workers']}  "
                          f"peak RSS {mib(x['hwm'])}  PSS {mib(x['pss'])}  sum {x['sum']}", flush=True)
        for engine in engines:
            sums = {x["sum"] for w in WAYS for x in res[(engine, w)]}
            assert len(sums) == 1, f"{engine}: the two ways disagree: {sums}"
        body = report(model, res, engines, a)
        print(body)
        if a.write_docs:
            sys.path.insert(0, str(ROOT / "bench"))
            from _docs import replace_block

            replace_block(ROOT / "docs" / "BENCHMARKS.md", "<!-- BEGIN scale_out -->", "<!-- END scale_out -->", body)


def med(xs: list[float]) -> tuple[float, float, float]:
    return statistics.median(xs), min(xs), max(xs)


def report(model: dict, res: dict, engines: list[str], a) -> str:
    lines = [f"Model: {model['desc']}. joblib file {mib(model['joblib_bytes'])}, .mle file "
             f"{mib(model['mle_bytes'])}. {a.rows:,} rows of 20 float64 features in {PARTS} partitions, "
             f"batches of {BATCH:,} rows, 2 workers with one thread each (MLE opened with threads=1, scikit-learn "
             f"with n_jobs=1); {a.rounds} rounds, each way in a fresh process and cluster. Medians, with "
             "[min–max].", "",
             "| engine | way | first job (s) | again (s) | MLE speed-up (first / again) | bytes shipped to workers "
             "(first job) "
             "| peak RSS per worker | peak PSS per worker |",
             "|---|---|---|---|---|---|---|---|"]
    for engine in engines:
        m = {w: res[(engine, w)] for w in WAYS}
        f = {w: med([x["first"] for x in m[w]]) for w in WAYS}
        g = {w: med([x["again"] for x in m[w]]) for w in WAYS}
        for w in WAYS:
            ship = statistics.median([x["shipped"] for x in m[w]])
            n = statistics.median([x["deliveries"] for x in m[w]])
            ship_s = (f"≤ {ship / 1024:.1f} KiB ({n:.0f} tasks × the path and options)" if w == "mle"
                      else f"{mib(ship)} ({n:.0f} unpickles)")
            ratio = (f"**{f['joblib'][0] / f['mle'][0]:.2f}× / {g['joblib'][0] / g['mle'][0]:.2f}×**"
                     if w == "mle" else "")
            lines.append(f"| {engine} | {w} | {f[w][0]:.2f} [{f[w][1]:.2f}–{f[w][2]:.2f}] | "
                         f"{g[w][0]:.2f} [{g[w][1]:.2f}–{g[w][2]:.2f}] | {ratio} | {ship_s} | "
                         f"{mib(statistics.median([x['hwm'] for x in m[w]]))} | "
                         f"{mib(statistics.median([x['pss'] for x in m[w]]))} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
