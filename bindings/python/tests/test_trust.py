"""Compression, quantization, signing, encryption and access policies:
dump(compress=, quantize=, sign_key=, encrypt_key=, policy=, lineage=),
load(key=, trusted_keys=, require_signature=), keygen, sign, verify,
encrypt, decrypt, convert."""

from __future__ import annotations

import datetime
import json
import os
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

import mle_runtime
from mle_runtime import MLEChecksumError, MLEFormatError, MLEIOError, MLESecurityError, MLEValueError
from mle_runtime import _tables_gen as codes

COMPRESSIONS = ["zstd", "lz4", "brotli"]
QUANTIZATIONS = ["fp16", "bf16", "int8"]
PAST = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)


def expect(err: pytest.ExceptionInfo, name: str) -> None:
    """The error carries the extended status name and its code."""
    assert err.value.status_name == name, str(err.value)
    assert err.value.status == getattr(codes, name)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=300, n_features=10, n_informative=6, n_classes=3, random_state=3)
    return X, y


@pytest.fixture(scope="module")
def models(data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {
            "logreg": LogisticRegression(max_iter=2000).fit(X, y),
            "mlp": MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=400, random_state=0).fit(X, y),
            "forest": RandomForestClassifier(n_estimators=12, max_depth=6, random_state=0).fit(X, y),
        }


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    return {"a": mle_runtime.keygen(d / "a"), "b": mle_runtime.keygen(d / "b")}


@pytest.fixture(scope="module")
def plain(tmp_path_factory, models):
    """Each model dumped without any storage option (the reference)."""
    d = tmp_path_factory.mktemp("plain")
    return {name: mle_runtime.dump(est, d / f"{name}.mle").path for name, est in models.items()}


def files(d) -> list[str]:
    return sorted(os.listdir(d))


# ------------------------------------------------------------ compression


@pytest.mark.parametrize("compress", COMPRESSIONS)
@pytest.mark.parametrize("name", ["logreg", "mlp", "forest"])
def test_compressed_predicts_as_uncompressed(tmp_path, data, models, plain, name, compress):
    X, _ = data
    est = models[name]
    info = mle_runtime.dump(est, tmp_path / "m.mle", compress=compress)
    assert info.bytes == os.path.getsize(info.path)
    with mle_runtime.load(info.path) as m, mle_runtime.load(plain[name]) as ref:
        np.testing.assert_array_equal(m.predict(X), ref.predict(X))
        np.testing.assert_array_equal(m.predict_proba(X), ref.predict_proba(X))
        np.testing.assert_array_equal(m.predict(X), est.predict(X))
        np.testing.assert_allclose(m.predict_proba(X), est.predict_proba(X), rtol=1e-9, atol=1e-12)
    with mle_runtime.load(info.path, verify=True) as m:  # every chunk decoded and checked
        np.testing.assert_array_equal(m.predict(X), est.predict(X))


@pytest.mark.parametrize("compress", COMPRESSIONS)
def test_compression_shrinks_a_forest(tmp_path, models, plain, compress):
    # Tree tables compress well: the file must be smaller, or nothing was compressed.
    info = mle_runtime.dump(models["forest"], tmp_path / "f.mle", compress=compress)
    assert info.bytes < os.path.getsize(plain["forest"])


def test_unknown_compression_is_refused_and_leaves_nothing(tmp_path, models):
    with pytest.raises(MLEValueError) as e:
        mle_runtime.dump(models["logreg"], tmp_path / "m.mle", compress="gzip")
    expect(e, "MLE_ERR_INVALID_OPTIONS")
    with pytest.raises(MLEValueError) as e:
        mle_runtime.dump(models["logreg"], tmp_path / "m.mle", quantize="int4")
    expect(e, "MLE_ERR_INVALID_OPTIONS")
    with pytest.raises(TypeError):
        mle_runtime.dump(models["logreg"], tmp_path / "m.mle", compress=3)
    assert files(tmp_path) == []


# ----------------------------------------------------------- quantization


def measure(a_path, b_path, X) -> dict:
    """max |a - b| per float output, as the test computes it itself."""
    with mle_runtime.load(a_path) as a, mle_runtime.load(b_path) as b:
        ra, rb = a.run(X), b.run(X)
        return {k: float(np.max(np.abs(ra[k].astype(np.float64) - rb[k].astype(np.float64))))
                for k in ra if ra[k].dtype.kind == "f"}


@pytest.mark.parametrize("quantize", QUANTIZATIONS)
def test_quantized_mlp_records_its_output_error(tmp_path, data, models, plain, quantize):
    X, y = data
    est = models["mlp"]
    info = mle_runtime.dump(est, tmp_path / "q.mle", quantize=quantize, calibration=X)
    with mle_runtime.load(info.path) as m:
        props = m.metadata["properties"]
        proba = m.predict_proba(X)
        assert np.mean(m.predict(X) == est.predict(X)) > 0.97
    np.testing.assert_allclose(proba, est.predict_proba(X), atol=0.05)
    # libmle's own record of the weights it changed
    q = json.loads(props["mle.quantization"])
    assert q["scheme"] == quantize and q["tensors"] > 0 and q["max_abs_weight_error"] > 0
    # dump's record of what that did to the outputs, measured on X
    rec = json.loads(props["mle.quantization_error"])
    assert rec == info.quantization_error
    assert rec["rows"] == len(X)
    mine = measure(plain["mlp"], info.path, X)
    assert set(rec["outputs"]) == set(mine) == {"probabilities"}
    for k, v in mine.items():
        assert rec["outputs"][k] == pytest.approx(v, rel=1e-12, abs=0)
    assert rec["max_abs_output_error"] == pytest.approx(max(mine.values()), rel=1e-12, abs=0)
    assert 0 < rec["max_abs_output_error"] < 0.05
    # the weights take less room than float64
    assert info.bytes < os.path.getsize(plain["mlp"])


def test_quantize_without_calibration_uses_a_synthetic_batch(tmp_path, models):
    a = mle_runtime.dump(models["mlp"], tmp_path / "a.mle", quantize="int8")
    b = mle_runtime.dump(models["mlp"], tmp_path / "b.mle", quantize="int8")
    assert a.quantization_error["rows"] == 64
    assert a.quantization_error == b.quantization_error  # deterministic
    with mle_runtime.load(a.path) as m:
        assert json.loads(m.metadata["properties"]["mle.quantization_error"]) == a.quantization_error


def test_quantize_with_compression_signature_and_encryption(tmp_path, data, models, plain, keys):
    X, _ = data
    key = os.urandom(32)
    info = mle_runtime.dump(models["mlp"], tmp_path / "q.mle", quantize="fp16", compress="zstd", calibration=X[:50],
                            sign_key=keys["a"][0], encrypt_key=key)
    assert info.quantization_error["rows"] == 50
    assert [o.name for o in info.outputs] == ["label", "probabilities"]
    with mle_runtime.load(info.path, key=key, trusted_keys=[keys["a"][1]], require_signature=True) as m:
        rec = json.loads(m.metadata["properties"]["mle.quantization_error"])
        assert rec == info.quantization_error
        np.testing.assert_allclose(m.predict_proba(X), models["mlp"].predict_proba(X), atol=0.01)


def test_quantized_torch_model_calibrates_on_its_example(tmp_path):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 24), torch.nn.ReLU(), torch.nn.Linear(24, 3)).eval()
    example = torch.randn(40, 6)
    plain = mle_runtime.dump(net, tmp_path / "p.mle", example_input=example)
    info = mle_runtime.dump(net, tmp_path / "q.mle", example_input=example, quantize="int8")
    assert info.quantization_error["rows"] == 40
    x = example.numpy()
    mine = measure(plain.path, info.path, x)
    assert set(info.quantization_error["outputs"]) == set(mine)
    assert info.quantization_error["max_abs_output_error"] == pytest.approx(max(mine.values()), rel=1e-12, abs=0)
    # a calibration batch as a dict of named inputs wins over the example
    batch = {plain.inputs[0].name: np.random.default_rng(1).standard_normal((7, 6)).astype(np.float32)}
    info = mle_runtime.dump(net, tmp_path / "q2.mle", example_input=example, quantize="bf16", calibration=batch)
    assert info.quantization_error["rows"] == 7
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    with mle_runtime.load(info.path) as m:
        np.testing.assert_allclose(m(x), want, atol=0.05)


# ---------------------------------------------------------------- signing


def test_keygen_writes_a_pair_and_never_replaces_a_key(tmp_path):
    key, pub = mle_runtime.keygen(tmp_path / "k")
    assert (key, pub) == (str(tmp_path / "k.key"), str(tmp_path / "k.pub"))
    assert open(key, "rb").read().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert open(pub, "rb").read().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert os.stat(key).st_mode & 0o077 == 0
    before = open(key, "rb").read()
    with pytest.raises(MLEIOError):
        mle_runtime.keygen(tmp_path / "k")
    assert open(key, "rb").read() == before


def test_sign_then_verify(tmp_path, data, plain, keys):
    X, _ = data
    (key_a, pub_a), (_, pub_b) = keys["a"], keys["b"]
    out = mle_runtime.sign(plain["logreg"], key_a, out=tmp_path / "s.mle")
    assert out == os.fspath(tmp_path / "s.mle")
    assert mle_runtime.verify(out, [pub_a]) is True
    assert mle_runtime.verify(out, [pub_b, open(pub_a, "rb").read()]) is True  # bytes, and any of several
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.verify(out, [pub_b])
    expect(e, "MLE_ERR_SIGNATURE_UNTRUSTED")
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(out, trusted_keys=[pub_b])
    expect(e, "MLE_ERR_SIGNATURE_UNTRUSTED")
    with mle_runtime.load(out, trusted_keys=pub_a, require_signature=True) as m, \
            mle_runtime.load(plain["logreg"]) as ref:
        np.testing.assert_array_equal(m.predict_proba(X), ref.predict_proba(X))
    # a signing key as bytes (PEM), signing in place
    copy = tmp_path / "c.mle"
    copy.write_bytes(open(plain["logreg"], "rb").read())
    assert mle_runtime.sign(copy, open(key_a, "rb").read()) == os.fspath(copy)
    assert mle_runtime.verify(copy, [pub_a])


def test_unsigned_file_when_a_signature_is_required(plain, keys):
    pub = keys["a"][1]
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.verify(plain["logreg"], [pub])
    expect(e, "MLE_ERR_SIGNATURE_REQUIRED")
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(plain["logreg"], trusted_keys=[pub], require_signature=True)
    expect(e, "MLE_ERR_SIGNATURE_REQUIRED")
    with mle_runtime.load(plain["logreg"], trusted_keys=[pub]):  # an unsigned file opens unless required
        pass
    with pytest.raises(MLEValueError) as e:
        mle_runtime.load(plain["logreg"], require_signature=True)  # no key to check against
    expect(e, "MLE_ERR_INVALID_OPTIONS")


def test_dump_signed_then_a_changed_weight_is_caught(tmp_path, data, models, keys):
    X, _ = data
    key, pub = keys["a"]
    est = models["mlp"]
    info = mle_runtime.dump(est, tmp_path / "s.mle", sign_key=key)
    assert mle_runtime.verify(info.path, [pub])
    raw = bytearray(open(info.path, "rb").read())
    w = np.ascontiguousarray(est.coefs_[0], dtype=np.float64)
    at = next(i for i in (raw.find(w.tobytes()[:64]), raw.find(np.ascontiguousarray(w.T).tobytes()[:64])) if i >= 0)
    raw[at + 5] ^= 0x10
    bad = tmp_path / "bad.mle"
    bad.write_bytes(bytes(raw))
    with mle_runtime.load(bad, trusted_keys=[pub]) as m:  # opening stays O(1): tensors are checked at first use
        with pytest.raises(MLESecurityError) as e:
            m.predict(X)
        expect(e, "MLE_ERR_DIGEST_MISMATCH")
    with pytest.raises((MLESecurityError, MLEChecksumError)):
        mle_runtime.verify(bad, [pub])
    with pytest.raises((MLESecurityError, MLEChecksumError)):
        mle_runtime.load(bad, trusted_keys=[pub], verify=True)


def test_key_arguments_are_checked(tmp_path, plain, keys):
    with pytest.raises(TypeError):
        mle_runtime.load(plain["logreg"], key="0" * 32)
    with pytest.raises(TypeError):
        mle_runtime.load(plain["logreg"], trusted_keys=[3])
    with pytest.raises(MLEIOError):
        mle_runtime.verify(plain["logreg"], [tmp_path / "missing.pub"])
    with pytest.raises(MLESecurityError):  # 31 bytes are no public key
        mle_runtime.verify(plain["logreg"], [b"\x01" * 31])
    with pytest.raises(MLESecurityError):  # a private key is not a public one
        mle_runtime.verify(plain["logreg"], [keys["a"][0]])


# ------------------------------------------------------------- encryption


def test_encrypted_dump_round_trip(tmp_path, data, models, plain):
    X, _ = data
    key = os.urandom(32)
    info = mle_runtime.dump(models["forest"], tmp_path / "e.mle", encrypt_key=key)
    assert [o.name for o in info.outputs] == ["label", "probabilities"]  # read without the key
    for k in (key, bytearray(key), memoryview(key)):
        with mle_runtime.load(info.path, key=k) as m, mle_runtime.load(plain["forest"]) as ref:
            np.testing.assert_array_equal(m.predict_proba(X), ref.predict_proba(X))
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(info.path)
    expect(e, "MLE_ERR_KEY_REQUIRED")
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(info.path, key=os.urandom(32))
    expect(e, "MLE_ERR_KEY_WRONG")
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(info.path, key=key[:31])
    expect(e, "MLE_ERR_KEY_INVALID")
    # in memory too
    with mle_runtime.Model(data=open(info.path, "rb").read(), key=key) as m:
        np.testing.assert_array_equal(m.predict(X), models["forest"].predict(X))


def test_failing_dumps_leave_no_file(tmp_path, models):
    target = tmp_path / "m.mle"
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.dump(models["mlp"], target, encrypt_key=b"k" * 31)
    expect(e, "MLE_ERR_KEY_INVALID")
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.dump(models["mlp"], target, encrypt_key=b"k" * 33, quantize="int8", compress="lz4")
    expect(e, "MLE_ERR_KEY_INVALID")
    with pytest.raises(MLESecurityError):
        mle_runtime.dump(models["mlp"], target, sign_key=b"not a key")
    assert files(tmp_path) == []
    # nor does one that fails over an existing file change it
    mle_runtime.dump(models["mlp"], target)
    before = target.read_bytes()
    with pytest.raises(MLESecurityError):
        mle_runtime.dump(models["logreg"], target, encrypt_key=b"k" * 31)
    assert target.read_bytes() == before and files(tmp_path) == ["m.mle"]


def test_encrypt_and_decrypt_files(tmp_path, data, plain):
    X, _ = data
    key = os.urandom(32)
    enc = mle_runtime.encrypt(plain["mlp"], key, out=tmp_path / "e.mle")
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(enc)
    expect(e, "MLE_ERR_KEY_REQUIRED")
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.decrypt(enc, os.urandom(32), out=tmp_path / "d.mle")
    expect(e, "MLE_ERR_KEY_WRONG")
    assert not (tmp_path / "d.mle").exists()
    dec = mle_runtime.decrypt(enc, key, out=tmp_path / "d.mle")
    with mle_runtime.load(dec) as m, mle_runtime.load(enc, key=key) as me, mle_runtime.load(plain["mlp"]) as ref:
        np.testing.assert_array_equal(m.predict_proba(X), ref.predict_proba(X))
        np.testing.assert_array_equal(me.predict_proba(X), ref.predict_proba(X))
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.encrypt(plain["mlp"], key[:16], out=tmp_path / "x.mle")
    expect(e, "MLE_ERR_KEY_INVALID")


def test_signed_and_encrypted_dump(tmp_path, data, models, plain, keys):
    X, _ = data
    (key_a, pub_a), (_, pub_b) = keys["a"], keys["b"]
    key = os.urandom(32)
    info = mle_runtime.dump(models["logreg"], tmp_path / "se.mle", sign_key=key_a, encrypt_key=key,
                            compress="zstd")
    with mle_runtime.load(info.path, key=key, trusted_keys=[pub_a], require_signature=True) as m, \
            mle_runtime.load(plain["logreg"]) as ref:
        np.testing.assert_array_equal(m.predict_proba(X), ref.predict_proba(X))
    assert mle_runtime.verify(info.path, [pub_a], key=key)
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(info.path, key=key, trusted_keys=[pub_b], require_signature=True)
    expect(e, "MLE_ERR_SIGNATURE_UNTRUSTED")
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.verify(info.path, [pub_a])
    expect(e, "MLE_ERR_KEY_REQUIRED")


# ---------------------------------------------------------------- convert


def test_convert(tmp_path, data, plain, keys):
    X, _ = data
    out = mle_runtime.convert(plain["forest"], tmp_path / "z.mle", compress="brotli")
    assert os.path.getsize(out) < os.path.getsize(plain["forest"])
    back = mle_runtime.convert(out, tmp_path / "r.mle", compress="none")
    with mle_runtime.load(out) as a, mle_runtime.load(back) as b, mle_runtime.load(plain["forest"]) as ref:
        np.testing.assert_array_equal(a.predict_proba(X), ref.predict_proba(X))
        np.testing.assert_array_equal(b.predict_proba(X), ref.predict_proba(X))
    q = mle_runtime.convert(plain["mlp"], tmp_path / "q.mle", quantize="int8")
    with mle_runtime.load(q) as m:
        assert json.loads(m.metadata["properties"]["mle.quantization"])["scheme"] == "int8"
    # an encrypted file stays encrypted; a signature is dropped unless sign_key re-signs
    key = os.urandom(32)
    enc = mle_runtime.dump(_fit_small(), tmp_path / "e.mle",
                           encrypt_key=key, sign_key=keys["a"][0]).path
    conv = mle_runtime.convert(enc, tmp_path / "ec.mle", compress="lz4", key=key, sign_key=keys["a"][0])
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(conv)
    expect(e, "MLE_ERR_KEY_REQUIRED")
    assert mle_runtime.verify(conv, [keys["a"][1]], key=key)
    unsigned = mle_runtime.convert(enc, tmp_path / "eu.mle", key=key)
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.verify(unsigned, [keys["a"][1]], key=key)
    expect(e, "MLE_ERR_SIGNATURE_REQUIRED")


def _fit_small():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    return LogisticRegression().fit(X, y)


# --------------------------------------------------- policy and lineage


def test_expired_policy_refuses_every_open(tmp_path, models, keys):
    info = mle_runtime.dump(models["logreg"], tmp_path / "p.mle", policy={"expires": PAST})
    assert "probabilities" in [o.name for o in info.outputs]  # read from dump's copy: the file refuses
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(info.path)
    expect(e, "MLE_ERR_POLICY")
    signed = mle_runtime.dump(models["logreg"], tmp_path / "ps.mle", policy={"expires": "2020-01-01T00:00:00Z"},
                              sign_key=keys["a"][0], quantize="fp16")
    with pytest.raises(MLESecurityError) as e:
        mle_runtime.load(signed.path, trusted_keys=[keys["a"][1]], require_signature=True)
    expect(e, "MLE_ERR_POLICY")


def test_policy_and_lineage_are_recorded(tmp_path, data, models):
    X, _ = data
    future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3650)
    lineage = {"author": "tests", "git_commit": "abc123", "dataset": {"name": "make_classification", "rows": 300},
               "params": {"max_iter": 2000, "solver": "lbfgs"}}
    info = mle_runtime.dump(models["logreg"], tmp_path / "p.mle", policy={"expires": future, "not_before": PAST},
                            lineage=lineage)
    with mle_runtime.load(info.path) as m:
        assert m.metadata["lineage"] == lineage
        assert set(m.metadata["policy"]) == {"expires", "not_before"}
        np.testing.assert_array_equal(m.predict(X), models["logreg"].predict(X))


def test_unknown_policy_claim_is_refused_at_dump(tmp_path, models):
    with pytest.raises(MLEFormatError) as e:
        mle_runtime.dump(models["logreg"], tmp_path / "p.mle", policy={"expires": "2099-01-01T00:00:00Z",
                                                                        "regions": ["eu"]})
    expect(e, "MLE_ERR_METADATA_POLICY")
    with pytest.raises(MLEFormatError) as e:  # through metadata= as well, and with storage options
        mle_runtime.dump(models["logreg"], tmp_path / "p.mle", metadata={"policy": {"max_runs": 3}}, compress="zstd")
    expect(e, "MLE_ERR_METADATA_POLICY")
    with pytest.raises(MLEValueError):  # a naive datetime has no time zone to write
        mle_runtime.dump(models["logreg"], tmp_path / "p.mle", policy={"expires": datetime.datetime(2099, 1, 1)})
    assert files(tmp_path) == []
