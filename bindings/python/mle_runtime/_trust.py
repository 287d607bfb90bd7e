"""Signing, encryption, compression and quantization through libmle
(include/mle.h, "trust: signing, encryption, compression"; docs/security.md
says what each protects against).

Keys cross into libmle through ctypes buffers of this module's own
(Secrets), zeroed when the call returns: libmle copies what it keeps. The
caller's own bytes objects are immutable and cannot be wiped from here.
"""

from __future__ import annotations

import ctypes
import datetime
import json
import math
import os
from typing import Any, Iterable, Mapping

import numpy as np

from . import _lib
from ._errors import MLEError, MLEIOError, MLEValueError
from ._tables_gen import MLE_ERR_IO_OPEN

# mle_write_options.flags: skip the fsyncs (MLE_SAVE_NO_SYNC).
_SAVE_NO_SYNC = 1
# The rows of the batch dump(quantize=...) makes when it has no calibration.
SYNTHETIC_ROWS = 64
# The metadata property that records the measured quantization error.
QUANTIZATION_ERROR = "mle.quantization_error"

_BYTES_LIKE = (bytes, bytearray, memoryview)


def _key_bytes(key: Any, what: str) -> bytes:
    """A key given as bytes (an encryption key: exactly 32, which libmle checks)."""
    if isinstance(key, _BYTES_LIKE):
        return memoryview(key).tobytes()
    raise TypeError(f"{what} must be bytes (32 raw bytes), got {type(key).__name__}")


def _key_source(key: Any, what: str) -> bytes:
    """A signing or public key: bytes (PEM or raw), PEM text, or the path of a key file."""
    if isinstance(key, _BYTES_LIKE):
        return memoryview(key).tobytes()
    if isinstance(key, str) and key.lstrip().startswith("-----BEGIN"):
        return key.encode("ascii", "replace")
    if isinstance(key, (str, os.PathLike)):
        try:
            with open(key, "rb") as f:
                return f.read(1 << 16)  # libmle refuses anything longer than a key could be
        except OSError as e:
            raise MLEIOError(f"{what}: cannot read key file {os.fspath(key)!r}: {e.strerror or e}", MLE_ERR_IO_OPEN,
                             "MLE_ERR_IO_OPEN") from e
    raise TypeError(f"{what} must be a key file's path or the key's bytes, got {type(key).__name__}")


def _key_list(keys: Any) -> list[bytes]:
    """trusted_keys: a list of keys, or one key on its own."""
    if isinstance(keys, (str, os.PathLike) + _BYTES_LIKE):
        keys = [keys]
    if not isinstance(keys, Iterable):
        raise TypeError(f"trusted_keys must be a list of public keys (paths or bytes), got {type(keys).__name__}")
    return [_key_source(k, f"trusted_keys[{i}]") for i, k in enumerate(keys)]


def _path(p: Any) -> bytes:
    return os.fsencode(os.fspath(p))


class Secrets:
    """ctypes copies of keys for one call, zeroed on exit."""

    def __init__(self) -> None:
        self._bufs: list[Any] = []

    def buffer(self, data: bytes) -> tuple[int, int]:
        """(address, length) of a copy of data that lives until exit."""
        buf = ctypes.create_string_buffer(data, max(len(data), 1))
        self._bufs.append(buf)
        return ctypes.addressof(buf), len(data)

    def keep(self, obj: Any) -> Any:
        self._bufs.append(obj)
        return obj

    def __enter__(self) -> "Secrets":
        return self

    def __exit__(self, *exc: Any) -> None:
        for b in self._bufs:
            if isinstance(b, ctypes.Array) and b._type_ is ctypes.c_char:
                ctypes.memset(b, 0, ctypes.sizeof(b))
        self._bufs.clear()


def wants_trust(key: Any, trusted_keys: Any, require_signature: bool) -> bool:
    return key is not None or trusted_keys is not None or bool(require_signature)


def trust_options(lib: ctypes.CDLL, sec: Secrets, key: Any = None, trusted_keys: Any = None,
                  require_signature: bool = False) -> _lib.TrustOptions:
    """An mle_trust_options whose buffers sec keeps."""
    t = lib.mle_default_trust_options()
    if key is not None:
        t.key, t.key_len = sec.buffer(_key_bytes(key, "key"))
    if trusted_keys is not None:
        keys = _key_list(trusted_keys)
        n = len(keys)
        ptrs = sec.keep((ctypes.c_void_p * max(n, 1))())
        lens = sec.keep((ctypes.c_size_t * max(n, 1))())
        for i, k in enumerate(keys):
            ptrs[i], lens[i] = sec.buffer(k)
        t.trusted_keys, t.trusted_key_lens, t.n_trusted_keys = ptrs, lens, n
    t.require_signature = int(bool(require_signature))
    return t


def _encoding(value: Any, what: str) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string or None, got {type(value).__name__}")
    return value.encode("utf-8")  # libmle names unknown values (MLE_ERR_INVALID_OPTIONS)


def write_options(lib: ctypes.CDLL, sec: Secrets, *, compress: str | None = None, quantize: str | None = None,
                  properties: Mapping[str, str] | None = None, sign_key: Any = None, encrypt_key: Any = None,
                  durable: bool = True) -> _lib.WriteOptions:
    """An mle_write_options whose buffers sec keeps."""
    w = lib.mle_default_write_options()
    w.compress = sec.keep(_encoding(compress, "compress"))
    w.quantize = sec.keep(_encoding(quantize, "quantize"))
    if properties:
        w.properties_json = sec.keep(json.dumps(dict(properties)).encode("utf-8"))
    if sign_key is not None:
        w.sign_key, w.sign_key_len = sec.buffer(_key_source(sign_key, "sign_key"))
    if encrypt_key is not None:
        w.encrypt_key, w.encrypt_key_len = sec.buffer(_key_bytes(encrypt_key, "encrypt_key"))
    if not durable:
        w.flags = _SAVE_NO_SYNC
    return w


def save_with(builder: Any, path: str | os.PathLike, **options: Any) -> int:
    """mle_builder_save_with; returns the file's size."""
    lib = _lib.get()
    n, err = ctypes.c_uint64(), ctypes.c_void_p()
    with Secrets() as sec:
        w = write_options(lib, sec, **options)
        status = lib.mle_builder_save_with(builder._h, _path(path), ctypes.byref(w), ctypes.byref(n),
                                           ctypes.byref(err))
    _lib.check(status, err)
    return n.value


def convert_memory(data: bytes, *, key: Any = None, **options: Any) -> bytes:
    """mle_convert_memory: the bytes of data re-stored as options say."""
    lib = _lib.get()
    out, n, err = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_void_p()
    raw = np.frombuffer(data, dtype=np.uint8)
    with Secrets() as sec:
        t = trust_options(lib, sec, key)
        w = write_options(lib, sec, **options)
        status = lib.mle_convert_memory(raw.ctypes.data, raw.size, ctypes.byref(t), ctypes.byref(w),
                                        ctypes.byref(out), ctypes.byref(n), ctypes.byref(err))
    _lib.check(status, err)
    try:
        return ctypes.string_at(out, n.value)
    finally:
        lib.mle_free(out)


# ------------------------------------------------------------ public API


def keygen(prefix: str | os.PathLike) -> tuple[str, str]:
    """Writes a new Ed25519 key pair: ``prefix.key`` (the private key, PKCS #8
    PEM, mode 0600) and ``prefix.pub`` (the public key, PEM). Returns
    (key_path, pub_path). An existing ``prefix.key`` is never replaced
    (MLEIOError): a lost private key cannot be recovered."""
    lib = _lib.get()
    p = os.fspath(prefix)
    err = ctypes.c_void_p()
    _lib.check(lib.mle_keygen(os.fsencode(p), ctypes.byref(err)), err)
    if isinstance(p, bytes):
        return os.fsdecode(p + b".key"), os.fsdecode(p + b".pub")
    return p + ".key", p + ".pub"


def _file_op(fn: str, path: Any, out: Any, key: bytes) -> str:
    lib = _lib.get()
    err = ctypes.c_void_p()
    with Secrets() as sec:
        k, n = sec.buffer(key)
        status = getattr(lib, fn)(_path(path), None if out is None else _path(out), k, n, ctypes.byref(err))
    _lib.check(status, err)
    return os.fspath(path if out is None else out)


def sign(path: str | os.PathLike, key: Any, out: str | os.PathLike | None = None) -> str:
    """Adds an Ed25519 signature to the .mle file at path, writing it to out
    (None: in place, atomically). key: the private key's file (as keygen
    writes it), or its bytes (PEM, or the 32-byte seed). The file is
    verified before it is signed; signatures already there are kept.
    Encrypted files are refused: sign first, then encrypt. Returns the
    signed file's path."""
    return _file_op("mle_sign_file", path, out, _key_source(key, "key"))


def encrypt(path: str | os.PathLike, key: Any, out: str | os.PathLike | None = None) -> str:
    """Encrypts the .mle file at path with a 32-byte key (AES-256-GCM in
    chunks) into out (None: in place). Returns the output's path."""
    return _file_op("mle_encrypt_file", path, out, _key_bytes(key, "key"))


def decrypt(path: str | os.PathLike, key: Any, out: str | os.PathLike | None = None) -> str:
    """Writes the plain .mle file sealed in the encrypted file at path to out
    (None: in place). A wrong key raises MLESecurityError
    (MLE_ERR_KEY_WRONG). Returns the output's path."""
    return _file_op("mle_decrypt_file", path, out, _key_bytes(key, "key"))


def convert(path: str | os.PathLike, out: str | os.PathLike | None = None, *, compress: str | None = None,
            quantize: str | None = None, key: Any = None, sign_key: Any = None) -> str:
    """Re-stores the .mle file at path into out (None: in place, atomically).

    compress: "zstd", "lz4", "brotli" or "none"; quantize: "fp16", "bf16",
    "int8" (weights of Gemm and MatMul) or "none"; None keeps what the file
    has. key: the 32-byte key of an encrypted file; the output is encrypted
    with it too, so that converting never writes a plain copy of an
    encrypted model (decrypt does that when asked). Signatures do not
    survive a conversion (they would not verify over the new bytes):
    sign_key signs the output (before it is encrypted). The access policy
    travels with the file and is not checked here. Returns the output's path."""
    lib = _lib.get()
    err = ctypes.c_void_p()
    with Secrets() as sec:
        t = trust_options(lib, sec, key)
        w = write_options(lib, sec, compress=compress, quantize=quantize, sign_key=sign_key, encrypt_key=key)
        status = lib.mle_convert_file(_path(path), None if out is None else _path(out), ctypes.byref(t),
                                      ctypes.byref(w), ctypes.byref(err))
    _lib.check(status, err)
    return os.fspath(path if out is None else out)


def verify(path: str | os.PathLike, trusted_keys: Any, key: Any = None) -> bool:
    """Checks that the .mle file at path is signed by one of trusted_keys
    (public keys: paths of .pub files, or their bytes, PEM or 32 raw) and
    that every byte of it is what was signed: the signature, every
    section's digest and every tensor's SHA-256 (the whole file is read).
    key: the 32-byte key, if the file is encrypted.

    Returns True; raises otherwise, never returns False: MLESecurityError
    with ``status_name`` MLE_ERR_SIGNATURE_UNTRUSTED (signed, but by none
    of trusted_keys), MLE_ERR_SIGNATURE_REQUIRED (not signed),
    MLE_ERR_SIGNATURE_INVALID, MLE_ERR_DIGEST_MISMATCH (a changed byte
    whose CRC was forged to match), MLE_ERR_KEY_REQUIRED / MLE_ERR_KEY_WRONG
    (encryption), MLE_ERR_POLICY (the file's access policy refuses this
    process: it is checked at every open); MLEChecksumError (a changed byte
    that the CRCs, checked first, already catch) or MLEFormatError for a
    damaged file."""
    from ._model import Model

    with Model(path, verify=True, key=key, trusted_keys=trusted_keys, require_signature=True):
        pass
    return True


# ------------------------------------------------- quantization error


def rfc3339(policy: Any) -> Any:
    """A policy dict with timezone-aware datetimes written as RFC 3339 text."""
    if not isinstance(policy, Mapping):
        return policy  # libmle says what is wrong with it (MLE_ERR_METADATA_POLICY)
    out = {}
    for k, v in policy.items():
        if isinstance(v, datetime.datetime):
            if v.tzinfo is None or v.utcoffset() is None:
                raise MLEValueError(f"policy {k!r}: the datetime {v} has no time zone; give one (e.g. "
                                    "datetime.timezone.utc)", 1025, "MLE_ERR_INVALID_VALUE")
            v = v.isoformat()
        out[k] = v
    return out


def _batch(m: Any, X: Any) -> list[np.ndarray]:
    """A calibration batch as the model's input arrays: X as predict takes it
    (or as run takes it, for models without scikit-learn methods)."""
    if m._columns:
        return m._table(X)
    if isinstance(X, Mapping) or not m._methods:
        return m._arrays(X, {})
    if m._documents:
        return [m._docs(X)]
    return [m._features(X)]


def _synthetic(m: Any) -> dict[str, np.ndarray]:
    """A small deterministic batch from the model's input signature:
    standard normal floats, small integers, a few words."""
    rng = np.random.default_rng(0)
    batch = {}
    for spec in m.inputs:
        shape = tuple((SYNTHETIC_ROWS if i == 0 else 1) if d < 0 else d for i, d in enumerate(spec.shape))
        kind = spec.dtype.kind
        if kind == "f":
            a = rng.standard_normal(shape).astype(spec.dtype)
        elif kind == "b":
            a = rng.random(shape) < 0.5
        elif kind in "iu":
            a = rng.integers(0, 3, shape).astype(spec.dtype)
        else:
            a = rng.choice(np.array(["a", "b", "c"], dtype=object), shape)
        batch[spec.name] = a
    return batch


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    """The largest |a - b|; positions NaN (or the same infinity) in both count as equal."""
    if a.shape != b.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    x, y = a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)
    same = (x == y) | (np.isnan(x) & np.isnan(y))
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.where(same, 0.0, np.abs(x - y))
    d = np.where(np.isnan(d), math.inf, d)
    return float(d.max())


def quantization_error(plain: bytes, quantized: bytes, calibration: Any) -> tuple[dict, list]:
    """Runs the unquantized and the quantized model (file bytes) on the
    calibration batch (None: a synthetic one); returns the record of
    mle.quantization_error and the model's outputs (TensorSpecs)."""
    from ._model import Model, _shape

    with Model(data=plain) as ref, Model(data=quantized) as q:
        if calibration is not None:
            arrays = _batch(ref, calibration)
        else:
            arrays = ref._arrays(_synthetic(ref), {})
        try:
            want = ref._outputs(arrays, None)
        except MLEError as e:
            if calibration is not None:
                raise
            raise MLEValueError(f"quantize: the model does not run on a synthetic batch drawn from its input "
                                f"signature ({e}); pass calibration= (a batch of real inputs)", 1025,
                                "MLE_ERR_INVALID_VALUE") from e
        got = q._outputs(arrays, None)
        per = {}
        for spec, a, b in zip(ref.outputs, want, got):
            if spec.dtype.kind == "f":
                per[spec.name] = _max_abs(a, b)
        shape = _shape(arrays[0]) if arrays else ()
        rows = int(shape[0]) if shape else 1
        worst = max(per.values(), default=0.0)
        record = {"max_abs_output_error": _finite(worst), "rows": rows,
                  "outputs": {k: _finite(v) for k, v in per.items()}}
        return record, ref.outputs


def _finite(x: float) -> float | None:
    # JSON has no infinity: null marks outputs that disagree on NaN or infinity.
    return x if math.isfinite(x) else None
