"""Errors, inputs, threads and processes: the runtime side of mle_runtime."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

import mle_runtime
from mle_runtime import (MLEChecksumError, MLEDTypeError, MLEError, MLEForkError, MLEFormatError, MLEIOError,
                         MLEShapeError, MLEUnsupportedError, MLEValueError)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=1)
    return X, np.array(["a", "b", "c"])[y]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory, data):
    X, y = data
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    path = tmp_path_factory.mktemp("m") / "lr.mle"
    mle_runtime.dump(est, path, metadata={"description": "test model", "version": "1.2.3",
                                          "properties": {"owner": "tests"}})
    return path, est


def test_dump_refuses_metadata_the_file_would_not_keep(data, tmp_path):
    """A key the format does not define would vanish from the file: dump
    refuses it by name and leaves no file behind."""
    X, y = data
    est = LogisticRegression(max_iter=1000).fit(X, y)
    path = tmp_path / "m.mle"
    with pytest.raises(mle_runtime.MLEFormatError, match="parents") as e:
        mle_runtime.dump(est, path, metadata={"parents": ["run-17"]})
    assert e.value.status_name == "MLE_ERR_METADATA_FIELD"
    assert not path.exists()
    mle_runtime.dump(est, path, metadata={"properties": {"parents": "run-17"}})
    assert mle_runtime.load(path).metadata["properties"]["parents"] == "run-17"


def test_metadata_and_signature(model_path):
    path, est = model_path
    m = mle_runtime.load(path)
    assert m.metadata["version"] == "1.2.3" and m.metadata["description"] == "test model"
    assert m.metadata["producer"]["name"] == "scikit-learn"
    assert m.metadata["properties"]["owner"] == "tests"
    assert [s.name for s in m.inputs] == ["X"] and m.inputs[0].shape == (-1, 6)
    assert {s.name for s in m.outputs} >= {"label", "probabilities", "decision"}
    assert list(m.classes_) == ["a", "b", "c"]
    assert "Pipeline" in repr(m)


def test_inputs_lists_and_ints(model_path, data):
    path, est = model_path
    X, _ = data
    m = mle_runtime.load(path)
    np.testing.assert_array_equal(m.predict(X[:4].tolist()), est.predict(X[:4]))
    Xi = np.round(X[:4] * 10).astype(np.int32)
    np.testing.assert_allclose(m.predict_proba(Xi), est.predict_proba(Xi.astype(np.float64)), rtol=1e-9)
    np.testing.assert_array_equal(m.predict(np.asfortranarray(X[:5])), est.predict(X[:5]))


def test_bad_inputs(model_path, data):
    path, _ = model_path
    X, _ = data
    m = mle_runtime.load(path)
    with pytest.raises(MLEShapeError, match="7 features, but the model expects 6"):
        m.predict(np.zeros((2, 7)))
    with pytest.raises(MLEShapeError, match="2-D"):
        m.predict(np.zeros(6))
    with pytest.raises(MLEDTypeError, match="cannot convert"):
        m.predict(np.array([["x"] * 6]))
    bad = X[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(MLEValueError, match="NaN"):  # like scikit-learn: no imputer, no NaN
        m.predict(bad)
    bad[1, 2] = np.inf
    with pytest.raises(MLEValueError, match="infinity"):
        m.predict(bad)
    with pytest.raises(AttributeError, match="transform"):
        m.transform(X)
    with pytest.raises(MLEValueError, match="inputs"):
        m.run({"nope": X})
    assert isinstance(MLEShapeError("x"), MLEError) and isinstance(MLEShapeError("x"), ValueError)


def test_imputer_accepts_nan(data, tmp_path):
    X, y = data
    est = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=1000)).fit(X, y)
    mle_runtime.dump(est, tmp_path / "m.mle")
    Xn = X.copy()
    Xn[::3, 0] = np.nan
    np.testing.assert_array_equal(mle_runtime.load(tmp_path / "m.mle").predict(Xn), est.predict(Xn))


def test_dataframe_feature_names(data, tmp_path):
    X, y = data
    cols = [f"f{i}" for i in range(6)]
    df = pd.DataFrame(X, columns=cols)
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(df, y)
    mle_runtime.dump(est, tmp_path / "m.mle")
    m = mle_runtime.load(tmp_path / "m.mle")
    assert m.feature_names_in_ == cols
    np.testing.assert_array_equal(m.predict(df), est.predict(df))
    renamed = df.rename(columns={"f2": "height"})
    with pytest.raises(MLEShapeError, match="feature names"):
        m.predict(renamed)
    with pytest.raises(MLEShapeError, match="feature names"):
        m.predict(df[cols[::-1]])
    np.testing.assert_array_equal(m.predict(X), est.predict(X))  # plain arrays stay fine


def test_unsupported_estimators(data, tmp_path):
    X, y = data
    from sklearn.semi_supervised import LabelSpreading
    with pytest.raises(MLEUnsupportedError, match="LabelSpreading"):
        mle_runtime.dump(LabelSpreading().fit(X, y), tmp_path / "rf.mle")
    with pytest.raises(MLEUnsupportedError, match="not fitted"):
        mle_runtime.dump(LogisticRegression(), tmp_path / "unfitted.mle")
    with pytest.raises(MLEUnsupportedError, match="builtins.dict is not supported"):
        mle_runtime.dump({"not": "a model"}, tmp_path / "dict.mle")
    assert not (tmp_path / "rf.mle").exists() and os.listdir(tmp_path) == []


def test_no_predict_proba_for_linear_svc(data, tmp_path):
    X, y = data
    mle_runtime.dump(LinearSVC().fit(X, y), tmp_path / "svc.mle")
    m = mle_runtime.load(tmp_path / "svc.mle")
    with pytest.raises(AttributeError, match="predict_proba"):
        m.predict_proba(X)


def test_damaged_files(model_path, tmp_path):
    path, _ = model_path
    raw = path.read_bytes()
    with pytest.raises(MLEIOError, match="no such file"):
        mle_runtime.load(tmp_path / "missing.mle")
    trunc = tmp_path / "trunc.mle"
    trunc.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(MLEFormatError, match="truncated") as e:
        mle_runtime.load(trunc)
    assert e.value.status_name == "MLE_ERR_FORMAT_TRUNCATED"
    flipped = bytearray(raw)
    flipped[-20] ^= 0xFF  # inside the weights
    bad = tmp_path / "bad.mle"
    bad.write_bytes(bytes(flipped))
    mle_runtime.load(bad)  # structure only: opening does not read the weights
    with pytest.raises(MLEChecksumError, match="CRC"):
        mle_runtime.load(bad, verify=True)
    junk = tmp_path / "junk.mle"
    junk.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(MLEFormatError, match="magic"):
        mle_runtime.load(junk)
    with pytest.raises(MLEUnsupportedError, match="CUDA"):
        mle_runtime.load(path, device="cuda")


def test_open_from_memory(model_path, data):
    path, est = model_path
    X, _ = data
    raw = path.read_bytes()
    for buf in (raw, bytearray(raw), memoryview(raw)):
        with mle_runtime.Model(data=buf) as m:
            assert m.path is None
            np.testing.assert_array_equal(m.predict(X), est.predict(X))
    for short in (raw[:40], b""):
        with pytest.raises(MLEFormatError, match="header alone needs 64") as e:
            mle_runtime.Model(data=short)
        assert e.value.status_name == "MLE_ERR_FORMAT_TRUNCATED"
    with pytest.raises(MLEFormatError, match="magic"):
        mle_runtime.Model(data=b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(MLEValueError, match="read_all"):
        mle_runtime.Model(data=raw, read_all=True)


@pytest.mark.parametrize("names, description", [
    (("X", "Y"), "short"),
    (("é 日本 \"q\" \\", "out/1"), "d" * 6000),  # metadata larger than the first buffer
    (("a\x01b", "x\u2028y"), "short"),  # written as \\u escapes: Model asks libmle
])
def test_signature_equals_libmle(tmp_path, names, description):
    """Model reads inputs and outputs from the metadata when it can (libmle
    refuses metadata that disagrees with the graph) and asks libmle where it
    might read them otherwise: either way they are libmle's."""
    from mle_runtime._builder import Builder
    path = tmp_path / "sig.mle"
    with Builder() as b:
        b.set_metadata({"name": "sig", "description": description})
        b.add_input(names[0], np.float32, [-1, 3])
        b.add_input("B", "bfloat16", [2])
        b.add_node("Relu", [names[0]], [names[1]])
        b.add_node("Identity", ["B"], ["C"])
        b.add_output(names[1])
        b.add_output("C")
        b.save(path)
    with mle_runtime.load(path) as m:
        assert m.metadata["description"] == description
        assert m.inputs == m._specs("input") and m.outputs == m._specs("output")
        assert [s.name for s in m.inputs] == [names[0], "B"] and m.inputs[0].shape == (-1, 3)
        assert (m.inputs[1].dtype, m.inputs[1].mle_dtype, m.inputs[1].shape) == (np.float32, "bfloat16", (2,))
        assert [s.name for s in m.outputs] == [names[1], "C"]


def test_loads_share_no_mutable_state(model_path, data):
    """Every load of a file gets objects of its own."""
    path, est = model_path
    X, _ = data
    a, b = mle_runtime.load(path), mle_runtime.load(path)
    assert a.classes_ is not b.classes_ and list(a.classes_) == list(b.classes_) == ["a", "b", "c"]
    assert a.metadata is not b.metadata and a.metadata == b.metadata
    a.classes_[0] = "z"
    a.metadata["properties"]["owner"] = "x"
    c = mle_runtime.load(path)
    assert list(c.classes_) == ["a", "b", "c"] and c.metadata["properties"]["owner"] == "tests"
    np.testing.assert_array_equal(c.predict(X[:5]), est.predict(X[:5]))


def test_threads_share_one_model(model_path, data):
    path, est = model_path
    X, _ = data
    m = mle_runtime.load(path)
    want = est.predict_proba(X)
    errors = []

    def work(k):
        try:
            rows = X[k * 20:(k + 1) * 20]
            first = m.predict_proba(rows)
            for _ in range(200):
                np.testing.assert_array_equal(m.predict_proba(rows), first)
            np.testing.assert_allclose(first, want[k * 20:(k + 1) * 20], rtol=1e-9)
        except Exception as e:  # reported in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def _script(body: str, path) -> subprocess.CompletedProcess:
    """Runs body as a script file (spawn and forkserver re-import __main__)."""
    script = path.parent / f"script_{os.getpid()}_{time.monotonic_ns()}.py"
    script.write_text(textwrap.dedent(body).replace("MODEL", repr(str(path))))
    try:
        return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    finally:
        script.unlink()


def test_use_after_fork_raises_fast(model_path):
    path, _ = model_path
    r = _script("""
        import os, time, mle_runtime, numpy as np
        m = mle_runtime.load(MODEL)
        m.predict(np.zeros((1, 6)))
        pid = os.fork()
        if pid == 0:
            t = time.time()
            try:
                m.predict(np.zeros((1, 6)))
                os._exit(3)
            except mle_runtime.MLEForkError as e:
                assert "fork" in str(e) and "docs/python.md" in str(e), str(e)
                os._exit(0 if time.time() - t < 1 else 4)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        print(m.predict(np.zeros((1, 6)))[0])  # the parent keeps working
    """, path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() in ("a", "b", "c")


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_worker_processes_load_their_own(model_path, method):
    """Importing in the parent and loading in the workers works with every
    start method (the library loads lazily, per process)."""
    path, est = model_path
    r = _script(f"""
        import multiprocessing as mp, numpy as np, mle_runtime
        def work(k):
            return list(mle_runtime.load(MODEL).predict(np.full((2, 6), float(k))))
        if __name__ == "__main__":
            with mp.get_context("{method}").Pool(2) as pool:
                print(pool.map(work, range(4)))
    """, path)
    assert r.returncode == 0, r.stderr
    want = [list(est.predict(np.full((2, 6), float(k)))) for k in range(4)]
    assert r.stdout.strip() == str(want)


def test_run_and_call(model_path, data):
    path, est = model_path
    X, _ = data
    m = mle_runtime.load(path)
    outs = m.run(X[:3])
    assert set(outs) == {s.name for s in m.outputs}
    np.testing.assert_allclose(outs["probabilities"], est.predict_proba(X[:3]), rtol=1e-9)
    assert len(m(X[:3])) == len(m.outputs)
    with mle_runtime.load(path) as m2:
        m2.predict(X[:1])
    with pytest.raises(MLEValueError, match="closed"):
        m2.predict(X[:1])


def test_dump_is_atomic(data, tmp_path):
    X, y = data
    target = tmp_path / "model.mle"
    target.write_bytes(b"old contents")
    from sklearn.semi_supervised import LabelSpreading
    with pytest.raises(MLEUnsupportedError):
        mle_runtime.dump(LabelSpreading().fit(X, y), target)
    assert target.read_bytes() == b"old contents"
    info = mle_runtime.dump(LogisticRegression(max_iter=500).fit(X, y), target)
    assert info.bytes == target.stat().st_size and sorted(os.listdir(tmp_path)) == ["model.mle"]


def test_dump_durable_false_writes_the_same_file(data, tmp_path):
    X, y = data
    clf = LogisticRegression(max_iter=500).fit(X, y)
    synced = mle_runtime.dump(clf, tmp_path / "synced.mle")
    unsynced = mle_runtime.dump(clf, tmp_path / "unsynced.mle", durable=False)
    assert unsynced.bytes == synced.bytes == (tmp_path / "unsynced.mle").stat().st_size
    a = mle_runtime.load(tmp_path / "synced.mle")
    b = mle_runtime.load(tmp_path / "unsynced.mle")
    np.testing.assert_array_equal(a.predict_proba(X[:50]), b.predict_proba(X[:50]))
    assert sorted(os.listdir(tmp_path)) == ["synced.mle", "unsynced.mle"]
