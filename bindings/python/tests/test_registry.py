"""mle_runtime.ModelRegistry over libmle's registry: register, aliases, deprecation, GC, registry:// URIs."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge

import mle_runtime
from mle_runtime import MLEIOError, MLESecurityError, MLEValueError, ModelRegistry


@pytest.fixture()
def files(tmp_path):
    X, y = make_regression(n_samples=80, n_features=4, random_state=0)
    paths = []
    for i, alpha in enumerate([0.1, 1.0, 10.0]):
        p = tmp_path / f"ridge{i}.mle"
        mle_runtime.dump(Ridge(alpha=alpha).fit(X, y), p, metadata={"version": f"1.{i}.0"})
        paths.append(p)
    return paths, X


def test_register_alias_load(tmp_path, files):
    paths, X = files
    reg = ModelRegistry(tmp_path / "reg")
    r1 = reg.register(paths[0], "ridge", alias="staging")
    r2 = reg.register(paths[1], "ridge")
    assert (r1["version"], r2["version"]) == (1, 2) and r1["semver"] == "1.0.0" and len(r1["sha256"]) == 64
    assert r1["aliases"] == ["staging"]
    with pytest.raises(MLEValueError, match="already exists"):
        reg.register(paths[2], "ridge", version=2)
    reg.set_alias("ridge", "production", 2)
    assert reg.show("ridge", "production")["version"] == 2 and reg.show("ridge")["version"] == 2
    assert {d["field"] for d in reg.compare("ridge", 1, 2)} >= {"sha256", "semver"}
    # load() and the registry's own load take registry:// URIs, and answer like the file.
    want = mle_runtime.load(paths[1]).predict(X)
    np.testing.assert_array_equal(mle_runtime.load(reg.uri("ridge", "production")).predict(X), want)
    np.testing.assert_array_equal(reg.load("ridge", "production").predict(X), want)
    with pytest.raises(MLEIOError, match='no version or alias "canary"'):
        reg.load("ridge", "canary")
    reg.remove_alias("ridge", "staging")
    reg.deprecate("ridge", 1, "superseded")
    assert [r["version"] for r in reg.gc(dry_run=True)] == [1]
    reg.gc()
    [m] = reg.list()
    assert [v["version"] for v in m["versions"]] == [2] and m["aliases"] == {"production": 2}


def test_digest_and_bad_input(tmp_path, files):
    paths, _ = files
    reg = ModelRegistry(tmp_path / "reg")
    reg.register(paths[0], "ridge", alias="production")
    f = reg.file("ridge", "production")
    data = bytearray(open(f, "rb").read())
    data[-1] ^= 1
    open(f, "wb").write(bytes(data))
    with pytest.raises(MLESecurityError, match="MLE_ERR_DIGEST_MISMATCH"):
        mle_runtime.load(reg.uri("ridge", "production"))
    with pytest.raises(MLEIOError):
        ModelRegistry(tmp_path / "nowhere").list()
    with pytest.raises(MLEValueError, match="model name"):
        reg.register(paths[0], "../escape")
    junk = tmp_path / "junk.mle"
    junk.write_bytes(b"\x89MLE nonsense")
    with pytest.raises(mle_runtime.MLEError):
        reg.register(junk, "ridge")
    assert [v["version"] for v in reg.list()[0]["versions"]] == [1]


def test_concurrent_writers(tmp_path, files):
    paths, _ = files
    reg = ModelRegistry(tmp_path / "reg")
    results, errors = [], []

    def go():
        try:
            results.append(reg.register(paths[0], "m", version=7)["version"])
        except MLEValueError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [7] and len(errors) == 5 and all("already exists" in e for e in errors)


def test_models_pickle_by_reference(tmp_path, files):
    """A model pickles as (path or URI, SHA-256, options): small, reopened once per process, refused if changed."""
    import pickle

    paths, X = files
    m = mle_runtime.load(paths[0], threads=1)
    blob = pickle.dumps(m)
    assert len(blob) < 1000 and paths[0].name.encode() in blob  # no weights travel
    a, b = pickle.loads(blob), pickle.loads(blob)
    assert a is b  # one open per process
    np.testing.assert_array_equal(a.predict(X), m.predict(X))
    reg = ModelRegistry(tmp_path / "reg")
    reg.register(paths[1], "ridge", alias="production")
    via = pickle.loads(pickle.dumps(mle_runtime.load(reg.uri("ridge", "production"))))
    assert b"registry://" in pickle.dumps(via)
    np.testing.assert_array_equal(via.predict(X), mle_runtime.load(paths[1]).predict(X))
    # The file changed under the reference.
    moved = tmp_path / "copy.mle"
    moved.write_bytes(paths[2].read_bytes())
    blob = pickle.dumps(mle_runtime.load(moved))
    moved.write_bytes(paths[0].read_bytes())
    with pytest.raises(MLESecurityError, match="MLE_ERR_DIGEST_MISMATCH"):
        pickle.loads(blob)
    moved.unlink()
    with pytest.raises(MLEIOError, match="visible to every worker"):
        pickle.loads(blob)
    with pytest.raises(TypeError, match="opened from bytes"):
        pickle.dumps(mle_runtime.Model(data=paths[0].read_bytes()))


def test_unpickled_in_worker_processes(tmp_path, files):
    """Worker processes (spawned: libmle must load after the fork) get the model by path."""
    import concurrent.futures
    import multiprocessing
    import pickle

    paths, X = files
    m = mle_runtime.load(paths[0])
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        outs = list(ex.map(_predict_in_worker, [pickle.dumps(m)] * 2, [X] * 2))
    for out in outs:
        np.testing.assert_array_equal(out, m.predict(X))


def _predict_in_worker(blob, X):
    import pickle

    return pickle.loads(blob).predict(X)
