"""mle_runtime: save scikit-learn and PyTorch models as .mle files and run
them anywhere, without unpickling, through libmle.

    import mle_runtime
    mle_runtime.dump(model, "model.mle")          # instead of joblib.dump
    m = mle_runtime.load("model.mle")             # instead of joblib.load
    m.predict(X)

Running a model needs only numpy; exporting needs the source framework.
"""

from __future__ import annotations

import enum
import json
import os
from typing import Any

import numpy as np

from . import _lib
from ._builder import DTYPE_NAMES, PUBLIC_DTYPES, dtype_id
from ._errors import (
    MLEBusyError,
    MLECancelledError,
    MLEChecksumError,
    MLEDTypeError,
    MLEError,
    MLEFileNotFoundError,
    MLEForkError,
    MLEFormatError,
    MLEInternalError,
    MLEIOError,
    MLEMemoryError,
    MLEPermissionError,
    MLEShapeError,
    MLETimeoutError,
    MLESecurityError,
    MLEUnsupportedError,
    MLEValueError,
)
from ._model import Model, TensorSpec
from ._registry import ModelRegistry
from ._trust import convert, decrypt, encrypt, keygen, sign, verify
from .export import SklearnMLEExporter

__version__ = "0.1.0"

__all__ = [
    "dump", "load", "Model", "TensorSpec", "DumpInfo", "Engine", "Device", "SklearnMLEExporter",
    "export_pytorch", "library_version", "keygen", "sign", "verify", "encrypt", "decrypt", "convert", "ModelRegistry",
    "MLEError", "MLEValueError", "MLEIOError", "MLEFormatError", "MLEChecksumError", "MLEUnsupportedError",
    "MLEShapeError", "MLEDTypeError", "MLEForkError", "MLEBusyError", "MLEInternalError", "MLEMemoryError",
    "MLECancelledError", "MLETimeoutError", "MLESecurityError", "MLEFileNotFoundError", "MLEPermissionError",
]


class DumpInfo:
    """What dump() wrote: ``path``, ``bytes`` (the file's size), ``inputs``
    and ``outputs`` (TensorSpecs), and ``quantization_error``: None, or
    (dump with quantize) the record also stored as the metadata property
    "mle.quantization_error", {"max_abs_output_error": x, "rows": n,
    "outputs": {name: error}}.

    libmle validated the model when it wrote the file (and re-read the
    written file before publishing it), so dump() does not open it again:
    ``outputs``, whose dtypes and shapes libmle inferred, are read from the
    file the first time they are asked for (for an encrypted file, or one
    with an access policy, dump reads them from its in-memory copy)."""

    __slots__ = ("path", "bytes", "inputs", "_outputs", "_where", "quantization_error")

    def __init__(self, path: str, bytes: int, inputs: list[TensorSpec],
                 outputs: list[TensorSpec] | None = None, quantization_error: dict | None = None) -> None:
        # _where: the file even if the working directory changes before outputs are read.
        for name, value in (("path", path), ("bytes", bytes), ("inputs", inputs), ("_outputs", outputs),
                            ("_where", os.path.abspath(path)), ("quantization_error", quantization_error)):
            object.__setattr__(self, name, value)

    @property
    def outputs(self) -> list[TensorSpec]:
        if self._outputs is None:
            with Model(self._where) as m:
                object.__setattr__(self, "_outputs", m.outputs)
        return self._outputs

    def __reduce__(self):  # pickling sets no attributes (they are read-only)
        return DumpInfo, (self.path, self.bytes, self.inputs, self._outputs, self.quantization_error)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"DumpInfo is read-only: cannot set {name!r}")

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, DumpInfo):
            return NotImplemented
        return (self.path, self.bytes, self.inputs, self.quantization_error, self.outputs) == (
            other.path, other.bytes, other.inputs, other.quantization_error, other.outputs)

    __hash__ = None  # type: ignore[assignment]  # as the frozen dataclass it was: lists are not hashable

    def __repr__(self) -> str:
        outputs = "<read at first use>" if self._outputs is None else repr(self._outputs)
        q = "" if self.quantization_error is None else f", quantization_error={self.quantization_error!r}"
        return f"DumpInfo(path={self.path!r}, bytes={self.bytes!r}, inputs={self.inputs!r}, outputs={outputs}{q})"


def library_version() -> str:
    """The version of the loaded libmle."""
    return _lib.get().mle_version().decode()


def _is_torch(model: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def dump(model: Any, path: str | os.PathLike, *, metadata: dict | None = None, dtype: Any = None,
         example_input: Any = None, durable: bool = True, compress: str | None = None, quantize: str | None = None,
         sign_key: Any = None, encrypt_key: Any = None, calibration: Any = None, policy: dict | None = None,
         lineage: dict | None = None, reference: Any = None) -> DumpInfo:
    """Writes a fitted scikit-learn estimator (or Pipeline) or a torch.nn.Module
    to an .mle file, atomically: readers see the whole file or none (a
    failing dump leaves no file behind, and path untouched).

    dtype: compute dtype (default float64 for scikit-learn; for torch, the
    parameters' dtype, which dtype must match).
    metadata: name, description, version (semver), properties {str: str},
    lineage, policy; other keys are refused (MLEFormatError), since the file
    would not keep them.
    example_input: for torch, an example batch (or a tuple of them, one per
    forward() argument) on which torch.export captures the module; an MLP
    starting with nn.Linear needs none. docs/python.md says which dims stay
    dynamic.
    durable: fsync the file and its directory (default), so that it survives
    a power loss once dump returns. False skips both (as joblib.dump and
    torch.save do), most of a small model's save time.

    How the file is stored (docs/security.md):
    compress: None, "zstd", "lz4" or "brotli": every tensor compressed in
    independent chunks; the model computes exactly the same.
    quantize: None, "fp16", "bf16" or "int8" (per output channel): the
    weights of Gemm and MatMul stored in fewer bits (never integer data,
    tables or tree thresholds). libmle records what changed, and the
    largest change of a weight, as the property "mle.quantization". dump
    also measures what it does to the outputs: it runs the unquantized and
    the quantized model on ``calibration`` (a batch as predict takes it: an
    array, a DataFrame or a dict of arrays; default: example_input, else a
    small deterministic batch drawn from the model's input signature) and
    stores the largest absolute difference of each float output as the
    property "mle.quantization_error", JSON {"max_abs_output_error": x,
    "rows": n, "outputs": {name: error}} (null for outputs that disagree on
    NaN or infinity); DumpInfo.quantization_error holds the same record.
    sign_key: an Ed25519 private key (a key file's path, as keygen writes
    it, or its bytes: PEM or the 32-byte seed): the file is signed, and
    load(trusted_keys=..., require_signature=True) or verify() check it.
    encrypt_key: 32 bytes: the file is encrypted (AES-256-GCM, after
    signing); load(key=...) opens it. A key of another length raises
    MLESecurityError (MLE_ERR_KEY_INVALID).
    policy: an access policy checked at every open (MLE_ERR_POLICY when it
    refuses): {"not_before", "expires"} (RFC 3339 text or aware datetimes),
    "hosts", "users" (lists of names), "min_runtime" (a libmle version). An
    unknown claim is refused here (MLE_ERR_METADATA_POLICY). It binds only
    as far as the file is signed and readers require the signature.
    lineage: where the model came from: {"parents": [{"name", "version",
    "sha256"}], "dataset": {"name", "sha256", "rows"}, "git_commit",
    "author", "params": {str: scalar}}; recorded, not checked.
    reference: training data (a 2-D array or DataFrame, as predict takes it)
    for a model with one 2-D numeric input: each column's deciles and the
    fraction of rows between them are stored as the property
    "mle.reference", against which `mle serve` scores the drift of live
    traffic (population stability index per feature; docs/serve.md).
    """
    from . import _trust, export

    g, head, info = export.export(model, dtype, example_input)
    meta = dict(info["meta"])
    props = dict(info["properties"])
    if reference is not None:
        props["mle.reference"] = _reference_property(reference, g.inputs)
    for key, value in (metadata or {}).items():
        if key == "properties":
            props.update({str(k): str(v) for k, v in value.items()})
        else:
            meta[key] = value
    meta["properties"] = props
    if policy is not None:
        meta["policy"] = policy
    if lineage is not None:
        meta["lineage"] = lineage
    if "policy" in meta:
        meta["policy"] = _trust.rfc3339(meta["policy"])
    outputs = {name: value for name, value in head.outputs.items()}
    inputs = []
    for name, dt, shape in g.inputs:
        mle_id = dtype_id(dt)
        inputs.append(TensorSpec(name, PUBLIC_DTYPES[mle_id], tuple(int(d) for d in shape), DTYPE_NAMES[mle_id]))
    stored = compress is not None or quantize is not None or sign_key is not None or encrypt_key is not None
    if not stored and "policy" not in meta:
        size, _ = g.write(g.inputs, outputs, meta, path, durable=durable)
        return DumpInfo(os.fspath(path), size, inputs)
    measure = quantize is not None and quantize not in ("none", "keep")
    specs, qerr = None, None
    with g.builder(g.inputs, outputs, meta) as b:  # refuses bad metadata (a policy's claims) before any work
        if measure or encrypt_key is not None or "policy" in meta:
            # An in-memory copy to run (and to read the outputs from, which
            # the file cannot give without its key, or past its policy):
            # without the policy, which would refuse this process too.
            if "policy" in meta:
                b.set_metadata({k: v for k, v in meta.items() if k != "policy"})
            plain = b.serialize()
            if "policy" in meta:
                b.set_metadata(meta)
            if measure:
                quantized = _trust.convert_memory(plain, quantize=quantize)
                qerr, specs = _trust.quantization_error(
                    plain, quantized, calibration if calibration is not None else example_input)
            else:
                with Model(data=plain) as m:
                    specs = m.outputs
            del plain
        if stored:
            extra = {_trust.QUANTIZATION_ERROR: json.dumps(qerr)} if qerr is not None else None
            size = _trust.save_with(b, path, compress=compress, quantize=quantize, properties=extra,
                                    sign_key=sign_key, encrypt_key=encrypt_key, durable=durable)
        else:
            size = b.save(path, durable=durable)
    return DumpInfo(os.fspath(path), size, inputs, specs, qerr)


def _reference_property(data: Any, inputs: list) -> str:
    """The "mle.reference" property: per-feature decile edges and bin fractions."""
    import numpy as np

    numeric = ("float32", "float64", "int8", "uint8", "int32", "int64", "float16", "bfloat16")
    if len(inputs) != 1 or len(inputs[0][2]) != 2 or DTYPE_NAMES[dtype_id(inputs[0][1])] not in numeric:
        takes = ", ".join(f"{n} {DTYPE_NAMES[dtype_id(d)]}{list(s)}" for n, d, s in inputs)
        raise MLEValueError(f"reference= needs a model with one 2-D numeric input; this one takes {takes}",
                            1025, "MLE_ERR_INVALID_VALUE")
    name, _, shape = inputs[0]
    names = [str(c) for c in data.columns] if hasattr(data, "columns") else None
    try:
        x = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise MLEValueError(f"reference= must be numeric: {e}", 1025, "MLE_ERR_INVALID_VALUE") from None
    if x.ndim != 2 or x.shape[0] == 0 or (shape[1] >= 0 and x.shape[1] != shape[1]):
        raise MLEValueError(f"reference= has shape {x.shape}; the model's input {name} takes {list(shape)}"
                            " (and at least one row)", 1025, "MLE_ERR_INVALID_VALUE")
    names = names or [f"f{j}" for j in range(x.shape[1])]
    features = []
    for j in range(x.shape[1]):
        col = x[:, j]
        nan = np.isnan(col)
        finite = col[~nan]
        edges = np.unique(np.quantile(finite, np.linspace(0.1, 0.9, 9))) if finite.size else np.empty(0)
        counts = np.bincount(np.searchsorted(edges, finite, side="left"), minlength=edges.size + 1)
        features.append({"name": names[j], "edges": edges.tolist(), "fractions": (counts / col.size).tolist(),
                         "missing": float(nan.sum() / col.size),
                         "mean": float(finite[np.isfinite(finite)].mean()) if np.isfinite(finite).any() else 0.0})
    return json.dumps({"input": name, "rows": int(x.shape[0]), "features": features})


def load(path: str | os.PathLike, *, verify: bool = False, device: str = "cpu", threads: int = 0,
         max_memory: int | None = None, max_sessions: int | None = None, spin_us: int | None = None,
         key: Any = None, trusted_keys: Any = None, require_signature: bool = False) -> Model:
    """Opens an .mle file: memory-mapped and validated, no code executed.

    verify: also check every CRC (reads the whole file); for a signed file,
    every tensor's SHA-256 too (otherwise each is checked when first used).
    device: "cpu" ("cuda" raises MLEUnsupportedError in a CPU-only build).
    threads: intra-op threads (0 = all CPUs).
    max_memory: bytes one run may allocate (activations, scratch, outputs);
    a run that needs more raises MLEMemoryError before allocating. None or 0:
    libmle's default, 16 GiB or 3/4 of what this process may use if less.
    max_sessions: the most runs that execute at once (threads sharing the
    model); None or 0: one per CPU. spin_us: how long idle worker threads
    spin before sleeping, in microseconds (-1: never); None or 0: 1000.
    Both can be changed later with Model.set_options.

    key: the 32 bytes an encrypted file was written with (MLESecurityError:
    MLE_ERR_KEY_REQUIRED without it, MLE_ERR_KEY_WRONG for another,
    MLE_ERR_KEY_INVALID for a length other than 32).
    trusted_keys: Ed25519 public keys (each a .pub file's path, or bytes: PEM
    or 32 raw): a signed file must then carry a valid signature by one of
    them (MLE_ERR_SIGNATURE_UNTRUSTED, MLE_ERR_SIGNATURE_INVALID); a changed
    byte raises MLE_ERR_DIGEST_MISMATCH, at open or when its tensor is
    first used (with verify, the CRCs checked first may catch it as
    MLEChecksumError). require_signature: refuse an unsigned file
    (MLE_ERR_SIGNATURE_REQUIRED); needs trusted_keys. A file's access
    policy is checked at every open (MLE_ERR_POLICY).
    """
    return Model(path, verify=verify, device=device, threads=threads, max_memory=max_memory,
                 max_sessions=max_sessions, spin_us=spin_us, key=key, trusted_keys=trusted_keys,
                 require_signature=require_signature)


def export_pytorch(module: Any, path: str | os.PathLike, example_input: Any = None, *, dtype: Any = None,
                   metadata: dict | None = None) -> DumpInfo:
    """Exports a torch.nn.Module (captured with torch.export) to an .mle file."""
    if not _is_torch(module):
        raise MLEUnsupportedError(f"{type(module).__name__} is not a torch.nn.Module", 8 | 3 << 8,
                                  "MLE_ERR_UNSUPPORTED_FEATURE")
    return dump(module, path, metadata=metadata, dtype=dtype, example_input=example_input)


class Device(enum.Enum):
    """Where an Engine runs models."""

    CPU = "cpu"
    CUDA = "cuda"


class Engine:
    """The seed API: ``Engine(Device.CPU).load_model(path)`` then ``run([arrays])``."""

    def __init__(self, device: Device | str = Device.CPU, threads: int = 0, max_memory: int | None = None) -> None:
        self.device = Device(device) if not isinstance(device, Device) else device
        self.threads = threads
        self.max_memory = max_memory
        self.model: Model | None = None

    def load_model(self, path: str | os.PathLike, verify: bool = False) -> Model:
        self.model = load(path, verify=verify, device=self.device.value, threads=self.threads,
                          max_memory=self.max_memory)
        return self.model

    def run(self, inputs: Any, timeout: float | None = None) -> list[np.ndarray]:
        """Runs the loaded model; returns the outputs in graph order."""
        if self.model is None:
            raise MLEValueError("no model loaded: call load_model(path) first", 1025, "MLE_ERR_INVALID_VALUE")
        return list(self.model.run(inputs, timeout=timeout).values())


def __getattr__(name: str) -> Any:
    # The integrations load on first use: importing mle_runtime must not
    # import Spark, Dask or Ray (nor need them installed).
    if name in ("spark", "dask", "ray"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'mle_runtime' has no attribute {name!r}")
