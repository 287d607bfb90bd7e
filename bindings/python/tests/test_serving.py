"""The serving core from Python (issue "Engine v2"): runs through
mle_model_run from many threads, the serving options, the 1-row fast path,
and dump() without re-opening the file."""

from __future__ import annotations

import pickle
import platform
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mle_runtime
from mle_runtime import MLEDTypeError, MLEShapeError, MLETimeoutError, MLEValueError
from mle_runtime import _model
from mle_runtime._builder import Builder

ROWS = 64


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Pipeline(StandardScaler, LogisticRegression), 3 classes, float64."""
    X, y = make_classification(n_samples=300 + ROWS, n_features=12, n_informative=6, n_classes=3, random_state=3)
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:300], y[:300])
    path = tmp_path_factory.mktemp("serve") / "pipe.mle"
    mle_runtime.dump(est, path)
    return path, est, np.ascontiguousarray(X[300:])


@pytest.fixture(scope="module")
def matmul(tmp_path_factory):
    """Y = A @ B for any sizes: big inputs make a long run."""
    path = tmp_path_factory.mktemp("mm") / "matmul.mle"
    with Builder() as b:
        b.set_metadata({"name": "matmul"})
        b.add_input("A", np.float32, [-1, -1])
        b.add_input("B", np.float32, [-1, -1])
        b.add_node("MatMul", ["A", "B"], ["Y"])
        b.add_output("Y")
        b.save(path)
    return path


def _long_inputs(m, seconds: float) -> np.ndarray:
    """A square matrix whose product with itself takes about `seconds` here."""
    a = np.ones((512, 512), np.float32)
    m.run(A=a, B=a)
    t = time.perf_counter()
    m.run(A=a, B=a)
    per = time.perf_counter() - t
    n = 512
    while per * (n / 512) ** 3 < seconds and n < 8192:
        n += 256
    return np.ones((n, n), np.float32)


# ------------------------------------------------------------ 1-row path

def test_one_row_equals_scikit_learn_and_the_batch(pipeline):
    path, est, X = pipeline
    m = mle_runtime.load(path)
    batch = {name: getattr(m, name)(X) for name in ("predict", "predict_proba", "decision_function")}
    np.testing.assert_array_equal(batch["predict"], est.predict(X))
    np.testing.assert_allclose(batch["predict_proba"], est.predict_proba(X), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(batch["decision_function"], est.decision_function(X), rtol=1e-9, atol=1e-12)
    for i in range(ROWS):
        row = X[i:i + 1]
        for _ in range(2):  # the first run of a shape lets libmle allocate; later ones write into numpy arrays
            y = m.predict(row)
            assert y.dtype == est.predict(row).dtype and y.shape == (1,)
            assert y[0] == est.predict(row)[0] == batch["predict"][i]
            p = m.predict_proba(row)
            np.testing.assert_allclose(p, est.predict_proba(row), rtol=1e-9, atol=1e-15)
            d = m.decision_function(row)
            np.testing.assert_allclose(d, est.decision_function(row), rtol=1e-9, atol=1e-12)
            # The same bits whichever way the outputs are asked for.
            outs = m.run(row)
            np.testing.assert_array_equal(outs["probabilities"], p)
            np.testing.assert_array_equal(outs["decision"], d)
            np.testing.assert_array_equal(outs["label"], y)


def test_one_row_inputs_of_every_kind(pipeline):
    """Lists, ints, float32, Fortran order, strided and big-endian rows all
    convert as before."""
    path, est, X = pipeline
    m = mle_runtime.load(path)
    want = est.predict_proba(X[:1])
    doubled = np.repeat(X, 2, axis=1)  # every column twice: [:, ::2] is X, strided
    wide = np.hstack([X, X])
    for row in (X[:1].tolist(), X[:1].astype(">f8"), np.asfortranarray(X[:1]), doubled[:1, ::2], doubled[:3:2, ::2][:1],
                wide[:1, :12]):
        np.testing.assert_allclose(m.predict_proba(row), want, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(m.predict_proba(X[:1].astype(np.float32)),
                               est.predict_proba(X[:1].astype(np.float32)), rtol=1e-5)
    ints = np.round(X[:3] * 10).astype(np.int64)
    np.testing.assert_array_equal(m.predict(ints), est.predict(ints.astype(np.float64)))
    # Alternating shapes: every call sets up its own.
    for i in range(6):
        rows = X[:1 + i % 3]
        np.testing.assert_array_equal(m.predict(rows), est.predict(rows))


def test_one_row_errors_unchanged(pipeline):
    path, _, X = pipeline
    m = mle_runtime.load(path)
    m.predict(X[:1])
    with pytest.raises(MLEShapeError, match="X has 13 features, but the model expects 12") as e:
        m.predict(np.zeros((1, 13)))
    assert e.value.status_name == "MLE_ERR_SHAPE"
    with pytest.raises(MLEShapeError, match=r"reshape a single sample with X.reshape\(1, -1\)"):
        m.predict(X[0])
    with pytest.raises(MLEShapeError, match="2-D"):
        m.predict(X[:1].reshape(1, 1, 12))
    with pytest.raises(MLEDTypeError, match="cannot convert"):
        m.predict([["a"] * 12])
    for bad in (np.nan, np.inf, -np.inf):
        row = X[:1].copy()
        row[0, 5] = bad
        with pytest.raises(MLEValueError, match="NaN or infinity") as e:
            m.predict(row)
        assert e.value.status_name == "MLE_ERR_INVALID_VALUE"
        with pytest.raises(MLEValueError, match="NaN or infinity"):
            m.predict_proba(np.repeat(row, 100, axis=0))  # past the small-array check
    huge = np.full((1, 12), np.finfo(np.float64).max)  # finite, though its top byte is 0x7F
    assert m.predict(huge).shape == (1,)
    with pytest.raises(AttributeError, match="transform"):
        m.transform(X[:1])
    m.close()
    with pytest.raises(MLEValueError, match="closed") as e:
        m.predict(X[:1])
    assert e.value.status_name == "MLE_ERR_BAD_HANDLE"
    m.close()  # again: a no-op


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("rows", [1, 3, 100])
def test_non_finite_prefilter(dtype, rows):
    """False must prove every value finite; True only asks for a closer look."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, 12)).astype(dtype)
    assert not _model._maybe_not_finite(a)
    for bad in (np.nan, np.inf, -np.inf, -np.nan):
        for i, j in ((0, 0), (rows - 1, 11), (rows // 2, 5)):
            b = a.copy()
            b[i, j] = bad
            assert _model._maybe_not_finite(b), (bad, i, j)
    big = np.full((rows, 12), np.finfo(dtype).max, dtype)
    assert np.isfinite(big).all()  # may be flagged, never wrongly passed
    assert not _model._maybe_not_finite(np.zeros((0, 12), dtype))


def test_nan_check_with_an_imputer(tmp_path):
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    est = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, y)
    mle_runtime.dump(est, tmp_path / "imp.mle")
    m = mle_runtime.load(tmp_path / "imp.mle")
    row = X[:1].copy()
    row[0, 1] = np.nan
    np.testing.assert_array_equal(m.predict(row), est.predict(row))
    row[0, 2] = np.inf
    with pytest.raises(MLEValueError, match="contains infinity"):
        m.predict(row)


def test_data_address_read_from_the_array():
    """The fast path reads an array's data pointer from the object; it must
    agree with numpy for every kind of array it is given. CPython has it;
    elsewhere _address is numpy's own (the portable path)."""
    assert (_model._DATA_OFFSET is not None) == (platform.python_implementation() == "CPython")
    base = np.arange(100, dtype=np.float64).reshape(10, 10)
    for a in (base, base[3:], base[2:4, 1:], np.empty((0, 5)), np.ones(3, np.int8)[1:], np.asfortranarray(base),
              base.astype(">f8"), np.zeros((), np.float32)):
        assert _model._address(a) == a.ctypes.data


# ---------------------------------------------------------------- threads

def test_many_threads_equal_one_thread(pipeline):
    """8 threads predicting at once (1 row and batches of different sizes,
    on libmle's shared session pool) get exactly the single-thread results."""
    path, _, X = pipeline
    m = mle_runtime.load(path)
    want_rows = [m.predict_proba(X[i:i + 1]) for i in range(ROWS)]
    want_batches = [m.predict_proba(X[:k + 1]) for k in range(8)]
    want_labels = m.predict(X)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(k: int) -> None:
        try:
            start.wait()
            for rep in range(20):
                i = (k * 7 + rep) % ROWS
                np.testing.assert_array_equal(m.predict_proba(X[i:i + 1]), want_rows[i])
                np.testing.assert_array_equal(m.predict_proba(X[:k + 1]), want_batches[k])
                np.testing.assert_array_equal(m.predict(X), want_labels)
        except BaseException as e:  # reported in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_one_session_serves_four_threads(pipeline):
    path, _, X = pipeline
    m = mle_runtime.load(path, max_sessions=1, spin_us=-1)
    want = m.predict_proba(X)
    results: dict[int, list[np.ndarray]] = {}

    def work(k: int) -> None:
        results[k] = [m.predict_proba(X) for _ in range(25)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [0, 1, 2, 3]
    for outs in results.values():
        for out in outs:
            np.testing.assert_array_equal(out, want)


def test_max_sessions_bounds_concurrent_runs(matmul):
    """With one session a second run waits for it, within its timeout; a
    larger bound lets it run at once."""
    m = mle_runtime.load(matmul, max_sessions=1)
    big = _long_inputs(m, 3.0)
    small = np.arange(6, dtype=np.float32).reshape(2, 3)
    long_run = threading.Thread(target=m.run, kwargs={"A": big, "B": big})
    long_run.start()
    try:
        deadline = time.monotonic() + 2.5
        while True:  # until the long run holds the only session
            try:
                m.run(A=small, B=small.T, timeout=0.05)
            except MLETimeoutError as e:
                assert "free session" in str(e), e
                break
            assert time.monotonic() < deadline, "the long run never took the session"
            time.sleep(0.01)
        assert long_run.is_alive()
        m.set_options(max_sessions=2)
        np.testing.assert_array_equal(m.run(A=small, B=small.T, timeout=30)["Y"], small @ small.T)
        assert long_run.is_alive(), "the long run ended first: the check proves nothing"
    finally:
        long_run.join()


# ---------------------------------------------------------------- options

@pytest.mark.parametrize("kw, exc, match", [
    ({"max_sessions": -1}, MLEValueError, "-1"),
    ({"max_sessions": 65537}, MLEValueError, "65537"),
    ({"max_sessions": 1 << 31}, MLEValueError, "32-bit"),
    ({"spin_us": -2}, MLEValueError, "-2"),
    ({"spin_us": 100_001}, MLEValueError, "100001"),
    ({"spin_us": -(1 << 31) - 1}, MLEValueError, "32-bit"),
    ({"max_sessions": True}, TypeError, "bool"),
    ({"max_sessions": 1.5}, TypeError, "float"),
    ({"spin_us": "10"}, TypeError, "str"),
])
def test_serving_options_validated(pipeline, kw, exc, match):
    path, est, X = pipeline
    with pytest.raises(exc, match=match) as e:
        mle_runtime.load(path, **kw)
    if exc is MLEValueError:
        assert e.value.status_name == "MLE_ERR_INVALID_OPTIONS"
    m = mle_runtime.load(path)
    with pytest.raises(exc, match=match):
        m.set_options(**kw)
    np.testing.assert_array_equal(m.predict(X), est.predict(X))  # still usable


def test_serving_options_accepted(pipeline):
    path, est, X = pipeline
    m = mle_runtime.load(path, max_sessions=np.int64(2), spin_us=0)
    for kw in ({"max_sessions": 65536}, {"spin_us": 100_000}, {"spin_us": -1}, {"max_sessions": 0}, {}):
        m.set_options(**kw)
        np.testing.assert_array_equal(m.predict(X), est.predict(X))
    m.close()
    with pytest.raises(MLEValueError, match="closed"):
        m.set_options(max_sessions=1)


def test_signal_handler_that_runs_the_model_then_returns(matmul, tmp_path):
    """A SIGINT handler that itself runs the model on the main thread, then
    returns: the interrupted run starts over with its own inputs and shapes."""
    script = tmp_path / "reenter.py"
    script.write_text(textwrap.dedent("""
        import os, signal, sys, threading, time, numpy as np, mle_runtime
        m = mle_runtime.load(sys.argv[1])
        a = np.ones((1024, 1024), np.float32)
        m.run(A=a, B=a)
        t = time.perf_counter(); m.run(A=a, B=a); t1024 = time.perf_counter() - t
        n = 1024
        while t1024 * (n / 1024) ** 3 < 0.6 and n < 8192:  # a run of about 0.6 s
            n += 512
        a = np.random.default_rng(0).integers(0, 4, (n, n)).astype(np.float32)
        want = a @ a  # exact: small integers, whatever the order of the sums
        small = np.arange(6, dtype=np.float32).reshape(2, 3)
        inner = []
        signal.signal(signal.SIGINT, lambda *args: inner.append(m(small, small.T)))
        threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()
        print(np.array_equal(m(a, a), want), len(inner), np.array_equal(inner[0], small @ small.T))
    """))
    r = subprocess.run([sys.executable, str(script), str(matmul)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True", "1", "True"], r.stdout


# ------------------------------------------------------------------- dump

def test_dump_does_not_reopen_the_file(pipeline, tmp_path, monkeypatch):
    """dump() returns what it wrote without opening the file again (libmle
    validated it while saving); outputs are read at first use."""
    _, est, X = pipeline
    opened = []
    real_init = mle_runtime.Model.__init__

    def counting_init(self, *args, **kw):
        opened.append(args)
        real_init(self, *args, **kw)

    monkeypatch.setattr(mle_runtime.Model, "__init__", counting_init)
    info = mle_runtime.dump(est, tmp_path / "m.mle")
    assert opened == []
    assert info.bytes == (tmp_path / "m.mle").stat().st_size
    assert info.inputs == [mle_runtime.TensorSpec("X", np.dtype(np.float64), (-1, 12), "float64")]
    assert "outputs=<read at first use>" in repr(info)
    monkeypatch.setattr(mle_runtime.Model, "__init__", real_init)
    with mle_runtime.load(tmp_path / "m.mle") as m:
        assert info.inputs == m.inputs and info.outputs == m.outputs
    assert info.outputs is info.outputs  # read once
    assert "TensorSpec(name='label'" in repr(info)
    with pytest.raises(AttributeError, match="read-only"):
        info.bytes = 0
    assert info == mle_runtime.dump(est, tmp_path / "m.mle")
    assert pickle.loads(pickle.dumps(info)) == info


def test_dump_info_outputs_after_a_chdir(pipeline, tmp_path, monkeypatch):
    _, est, _ = pipeline
    monkeypatch.chdir(tmp_path)
    info = mle_runtime.dump(est, "rel.mle")
    monkeypatch.chdir("/")
    assert info.path == "rel.mle" and [s.name for s in info.outputs] == ["decision", "label", "probabilities"]
