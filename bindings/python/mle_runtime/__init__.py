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
    MLEForkError,
    MLEFormatError,
    MLEInternalError,
    MLEIOError,
    MLEMemoryError,
    MLEShapeError,
    MLETimeoutError,
    MLEUnsupportedError,
    MLEValueError,
)
from ._model import Model, TensorSpec
from .export import SklearnMLEExporter

__version__ = "0.1.0"

__all__ = [
    "dump", "load", "Model", "TensorSpec", "DumpInfo", "Engine", "Device", "SklearnMLEExporter",
    "export_pytorch", "library_version",
    "MLEError", "MLEValueError", "MLEIOError", "MLEFormatError", "MLEChecksumError", "MLEUnsupportedError",
    "MLEShapeError", "MLEDTypeError", "MLEForkError", "MLEBusyError", "MLEInternalError", "MLEMemoryError",
    "MLECancelledError", "MLETimeoutError",
]


class DumpInfo:
    """What dump() wrote: ``path``, ``bytes`` (the file's size), ``inputs``
    and ``outputs`` (TensorSpecs).

    libmle validated the model when it wrote the file (and re-read the
    written file before publishing it), so dump() does not open it again:
    ``outputs``, whose dtypes and shapes libmle inferred, are read from the
    file the first time they are asked for."""

    __slots__ = ("path", "bytes", "inputs", "_outputs", "_where")

    def __init__(self, path: str, bytes: int, inputs: list[TensorSpec],
                 outputs: list[TensorSpec] | None = None) -> None:
        # _where: the file even if the working directory changes before outputs are read.
        for name, value in (("path", path), ("bytes", bytes), ("inputs", inputs), ("_outputs", outputs),
                            ("_where", os.path.abspath(path))):
            object.__setattr__(self, name, value)

    @property
    def outputs(self) -> list[TensorSpec]:
        if self._outputs is None:
            with Model(self._where) as m:
                object.__setattr__(self, "_outputs", m.outputs)
        return self._outputs

    def __reduce__(self):  # pickling sets no attributes (they are read-only)
        return DumpInfo, (self.path, self.bytes, self.inputs, self._outputs)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"DumpInfo is read-only: cannot set {name!r}")

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, DumpInfo):
            return NotImplemented
        return (self.path, self.bytes, self.inputs, self.outputs) == (other.path, other.bytes, other.inputs,
                                                                      other.outputs)

    __hash__ = None  # type: ignore[assignment]  # as the frozen dataclass it was: lists are not hashable

    def __repr__(self) -> str:
        outputs = "<read at first use>" if self._outputs is None else repr(self._outputs)
        return f"DumpInfo(path={self.path!r}, bytes={self.bytes!r}, inputs={self.inputs!r}, outputs={outputs})"


def library_version() -> str:
    """The version of the loaded libmle."""
    return _lib.get().mle_version().decode()


def _is_torch(model: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def dump(model: Any, path: str | os.PathLike, *, metadata: dict | None = None, dtype: Any = None,
         example_input: Any = None, durable: bool = True) -> DumpInfo:
    """Writes a fitted scikit-learn estimator (or Pipeline) or a torch.nn.Module
    to an .mle file, atomically: readers see the whole file or none.

    dtype: compute dtype (default float64 for scikit-learn, float32 for torch).
    metadata: name, description, version (semver), properties {str: str}; other
    keys are refused (MLEFormatError), since the file would not keep them.
    example_input: for torch, an example batch when the input width cannot be
    read from the first layer.
    durable: fsync the file and its directory (default), so that it survives
    a power loss once dump returns. False skips both (as joblib.dump and
    torch.save do), most of a small model's save time.
    """
    from . import export

    g, head, info = export.export(model, dtype, example_input)
    meta = dict(info["meta"])
    props = dict(info["properties"])
    for key, value in (metadata or {}).items():
        if key == "properties":
            props.update({str(k): str(v) for k, v in value.items()})
        else:
            meta[key] = value
    meta["properties"] = props
    outputs = {name: value for name, value in head.outputs.items()}
    size, _ = g.write(g.inputs, outputs, meta, path, durable=durable)
    inputs = []
    for name, dt, shape in g.inputs:
        mle_id = dtype_id(dt)
        inputs.append(TensorSpec(name, PUBLIC_DTYPES[mle_id], tuple(int(d) for d in shape), DTYPE_NAMES[mle_id]))
    return DumpInfo(os.fspath(path), size, inputs)


def load(path: str | os.PathLike, *, verify: bool = False, device: str = "cpu", threads: int = 0,
         max_memory: int | None = None, max_sessions: int | None = None, spin_us: int | None = None) -> Model:
    """Opens an .mle file: memory-mapped and validated, no code executed.

    verify: also check every CRC (reads the whole file).
    device: "cpu" ("cuda" raises MLEUnsupportedError in a CPU-only build).
    threads: intra-op threads (0 = all CPUs).
    max_memory: bytes one run may allocate (activations, scratch, outputs);
    a run that needs more raises MLEMemoryError before allocating. None or 0:
    libmle's default, 16 GiB or 3/4 of what this process may use if less.
    max_sessions: the most runs that execute at once (threads sharing the
    model); None or 0: one per CPU. spin_us: how long idle worker threads
    spin before sleeping, in microseconds (-1: never); None or 0: 1000.
    Both can be changed later with Model.set_options.
    """
    return Model(path, verify=verify, device=device, threads=threads, max_memory=max_memory,
                 max_sessions=max_sessions, spin_us=spin_us)


def export_pytorch(module: Any, path: str | os.PathLike, example_input: Any = None, *, dtype: Any = None,
                   metadata: dict | None = None) -> DumpInfo:
    """Exports a torch.nn.Module (traced with torch.fx) to an .mle file."""
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
