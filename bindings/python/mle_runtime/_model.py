"""A loaded model: open, inspect, run; scikit-learn-style methods."""

from __future__ import annotations

import ctypes
import json
import math
import os
import threading
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from . import _lib
from ._builder import DTYPES, dtype_id
from ._errors import MLEDTypeError, MLEForkError, MLEShapeError, MLEValueError, FORK_GUIDANCE

_DEVICES = {"cpu": 0, "cuda": 1}


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: name, numpy dtype, shape (-1 = any size)."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]


# Bumped in every child after fork(): cheaper to compare than os.getpid().
_fork_generation = 0


def _forked() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _check_not_forked(generation: int) -> None:
    if generation != _fork_generation:
        raise MLEForkError("this model was opened in a parent process before fork()." + FORK_GUIDANCE,
                           12, "MLE_ERR_FORKED")


_ONE_BYTE = ctypes.c_char * 1


def _address(a: np.ndarray) -> int:
    """The data address of a C-contiguous array (the fast way when writable)."""
    if a.flags.writeable and a.nbytes:
        return ctypes.addressof(_ONE_BYTE.from_buffer(a))
    return a.ctypes.data


class _Layout:
    """Where each output lives in one buffer, for one set of input shapes."""

    def __init__(self, outs: list[tuple[np.dtype, tuple[int, ...]]]) -> None:
        self.outs = outs
        self.offsets, total = [], 0
        for dt, shape in outs:
            total = (total + 63) & ~63  # keep every output 64-byte aligned
            self.offsets.append(total)
            total += int(np.prod(shape, dtype=np.int64)) * dt.itemsize
        self.nbytes = [int(np.prod(shape, dtype=np.int64)) * dt.itemsize for dt, shape in outs]
        self.buffer_type = ctypes.c_char * max(total + 64, 1)

    def view(self, buf: ctypes.Array, base: int, i: int) -> np.ndarray:
        dt, shape = self.outs[i]
        return np.ndarray(shape, dt, buf, self.offsets[i] + base)


class _Session:
    """One thread's session: the C handle plus reusable ctypes structs.

    After the first run with given input shapes and outputs, results are
    written straight into one buffer per call that the returned arrays share
    (no copies). Asking for some outputs computes only what they need."""

    def __init__(self, model: "Model") -> None:
        lib = model._lib
        h, err = ctypes.c_void_p(), ctypes.c_void_p()
        _lib.check(lib.mle_session_new(model._h, ctypes.byref(h), ctypes.byref(err)), err)
        self.h, self.lib, self.pid = h, lib, os.getpid()
        self.n_in, self.n_out = len(model.inputs), len(model.outputs)
        self.names = [spec.name.encode() for spec in model.outputs]
        self.ins = (_lib.Tensor * max(self.n_in, 1))()
        self.outs = (_lib.Tensor * max(self.n_out, 1))()
        self.err = ctypes.c_void_p()
        self.err_ref = ctypes.byref(self.err)
        self.layouts: dict[tuple, _Layout] = {}
        self.last_key: tuple | None = None

    def _prepare(self, key: tuple, arrays: Sequence[np.ndarray], which: tuple[int, ...] | None) -> _Layout | None:
        """Writes what stays the same between runs with this key."""
        for t, a in zip(self.ins, arrays):
            t.dtype = dtype_id(a.dtype)
            t.rank = a.ndim
            for d, n in enumerate(a.shape):
                t.shape[d] = n
        for i in range(self.n_out if which is None else len(which)):
            self.outs[i].name = None if which is None else self.names[which[i]]
        layout = self.layouts.get(key)
        if layout is not None:
            for t, n in zip(self.outs, layout.nbytes):
                t.nbytes = n
        self.last_key = key
        return layout

    def run(self, arrays: Sequence[np.ndarray], which: tuple[int, ...] | None
            ) -> tuple[_Layout, ctypes.Array | None, int, list[np.ndarray] | None]:
        """Runs; returns the layout and either (buffer, aligned base) for
        views, or the outputs themselves (first run with this key)."""
        key = (tuple((a.shape, a.dtype.num) for a in arrays), which)
        layout = self.layouts.get(key) if key == self.last_key else self._prepare(key, arrays, which)
        n_out = self.n_out if which is None else len(which)
        for t, a in zip(self.ins, arrays):
            t.data = _address(a)
            t.nbytes = a.nbytes
        if layout is not None:
            buf = layout.buffer_type()
            addr = ctypes.addressof(buf)
            base = (-addr) & 63
            for t, off in zip(self.outs, layout.offsets):
                t.data = addr + base + off
            _lib.check(self.lib.mle_session_run(self.h, self.ins, self.n_in, self.outs, n_out, self.err_ref),
                       self.err)
            return layout, buf, base, None
        for i in range(n_out):
            self.outs[i].data, self.outs[i].nbytes = None, 0
        _lib.check(self.lib.mle_session_run(self.h, self.ins, self.n_in, self.outs, n_out, self.err_ref),
                   self.err)
        results, shapes = [], []
        for i in range(n_out):
            t = self.outs[i]
            dt = DTYPES[t.dtype]
            shape = tuple(t.shape[d] for d in range(t.rank))
            try:
                results.append(np.frombuffer(ctypes.string_at(t.data, t.nbytes), dtype=dt).reshape(shape).copy())
            finally:
                self.lib.mle_free(t.data)
            shapes.append((dt, shape))
        if len(self.layouts) > 64:
            self.layouts.clear()
        layout = _Layout(shapes)
        self.layouts[key] = layout
        self._prepare(key, arrays, which)
        return layout, None, 0, results

    def outputs(self, arrays: Sequence[np.ndarray], which: tuple[int, ...] | None = None) -> list[np.ndarray]:
        """Runs and returns all outputs, or only those at the indices given."""
        layout, buf, base, results = self.run(arrays, which)
        if results is not None:
            return results
        return [layout.view(buf, base, i) for i in range(len(layout.outs))]

    def __del__(self) -> None:
        if self.h and self.h.value and os.getpid() == self.pid:
            try:
                self.lib.mle_session_free(self.h)
            except Exception:
                pass


class Model(_lib.Closeable):
    """A model opened from an .mle file (memory-mapped, validated).

    Thread-safe: each thread gets its own session inside, and runs release the
    GIL. After fork(), use in the child raises MLEForkError: open the model in
    the child instead (see docs/python.md).
    """

    def __init__(self, path: str | os.PathLike | None = None, *, data: bytes | bytearray | memoryview | None = None,
                 verify: bool = False, device: str = "cpu", threads: int = 0, read_all: bool = False) -> None:
        lib = _lib.get()
        self._lib, self._pid, self._generation = lib, os.getpid(), _fork_generation
        if device not in _DEVICES:
            raise MLEValueError(f"unknown device {device!r}; want 'cpu' or 'cuda'", 513, "MLE_ERR_INVALID_OPTIONS")
        opts = lib.mle_default_open_options()
        opts.verify, opts.read_all, opts.threads, opts.device = int(verify), int(read_all), int(threads), _DEVICES[device]
        h, err = ctypes.c_void_p(), ctypes.c_void_p()
        if data is not None:
            # libmle copies the bytes; any contiguous bytes-like object is read in place.
            raw = np.frombuffer(data, dtype=np.uint8)
            status = lib.mle_model_open_memory(raw.ctypes.data, raw.size, ctypes.byref(opts), ctypes.byref(h),
                                               ctypes.byref(err))
        else:
            status = lib.mle_model_open(os.fsencode(os.fspath(path)), ctypes.byref(opts), ctypes.byref(h),
                                        ctypes.byref(err))
        _lib.check(status, err)
        self._h = h
        self.path = None if path is None else os.fspath(path)
        self.metadata: dict = self._read_metadata()
        self.inputs = self._specs("input")
        self.outputs = self._specs("output")
        self._out_index = {s.name: i for i, s in enumerate(self.outputs)}
        self._local = threading.local()
        props = self.metadata.get("properties", {})
        self._methods: dict = json.loads(props.get("mle.methods", "{}"))
        self._classes = None
        if "mle.classes" in props:
            c = json.loads(props["mle.classes"])
            self._classes = np.asarray(c["values"], dtype=np.dtype(c["dtype"]))
        self._labels_are_indices = props.get("mle.labels") == "index"
        self._feature_names = json.loads(props["mle.feature_names"]) if "mle.feature_names" in props else None
        self._allow_nan = props.get("mle.allow_nan") == "true"

    # ---------------------------------------------------------------- info

    def _read_metadata(self) -> dict:
        n, err = ctypes.c_size_t(), ctypes.c_void_p()
        _lib.check(self._lib.mle_model_metadata(self._h, None, 0, ctypes.byref(n), ctypes.byref(err)), err)
        buf = ctypes.create_string_buffer(n.value + 1)
        _lib.check(self._lib.mle_model_metadata(self._h, buf, n.value + 1, ctypes.byref(n), ctypes.byref(err)), err)
        return json.loads(buf.value.decode("utf-8"))

    def _specs(self, kind: str) -> list[TensorSpec]:
        count = ctypes.c_size_t()
        _lib.check(getattr(self._lib, f"mle_model_{kind}_count")(self._h, ctypes.byref(count)))
        specs = []
        for i in range(count.value):
            info, err = _lib.IoInfo(), ctypes.c_void_p()
            info.struct_size = ctypes.sizeof(info)
            _lib.check(getattr(self._lib, f"mle_model_{kind}_info")(self._h, i, ctypes.byref(info), ctypes.byref(err)), err)
            specs.append(TensorSpec(info.name.decode(), DTYPES[info.dtype], tuple(info.shape[d] for d in range(info.rank))))
        return specs

    def __repr__(self) -> str:
        name = self.metadata.get("name") or self.path or "model"
        sig = ", ".join(f"{s.name}: {s.dtype}{list(s.shape)}" for s in self.inputs)
        return f"<mle_runtime.Model {name} ({sig})>"

    # ----------------------------------------------------------------- run

    def _session(self) -> _Session:
        _check_not_forked(self._generation)
        if self._h is None:
            raise MLEValueError("the model is closed", 2, "MLE_ERR_BAD_HANDLE")
        s = getattr(self._local, "session", None)
        if s is None:
            s = _Session(self)
            self._local.session = s
        return s

    def _convert(self, spec: TensorSpec, x: Any) -> np.ndarray:
        if type(x) is np.ndarray and x.dtype == spec.dtype and x.flags.c_contiguous:
            return x  # the common case, checked cheaply
        try:
            a = np.asarray(x)
        except (TypeError, ValueError) as e:
            raise MLEDTypeError(f"input {spec.name!r}: cannot make an array: {e}", 10, "MLE_ERR_DTYPE") from e
        if a.dtype != spec.dtype:
            if a.dtype.kind not in "biuf" or (spec.dtype.kind == "b" and a.dtype.kind != "b"):
                raise MLEDTypeError(f"input {spec.name!r}: got {a.dtype}, which cannot convert to the model's {spec.dtype}",
                                    10, "MLE_ERR_DTYPE")
            a = a.astype(spec.dtype)
        if not a.flags.c_contiguous or a.dtype.byteorder == ">":
            a = np.ascontiguousarray(a, dtype=spec.dtype.newbyteorder("<"))
        return a

    def run(self, inputs: Any = None, /, *, convert: bool = True, **named: Any) -> dict[str, np.ndarray]:
        """Runs the model. ``inputs``: one array (single-input models), a list
        in input order, or a dict by name; or pass arrays as keywords.
        convert=False passes arrays with their own dtype, so a mismatch
        raises MLEDTypeError instead of converting. Returns {output name: array}."""
        outs = self._session().outputs(self._arrays(inputs, named, convert))
        return {s.name: o for s, o in zip(self.outputs, outs)}

    def __call__(self, *inputs: Any, **named: Any) -> np.ndarray | tuple[np.ndarray, ...]:
        """Runs the model on positional inputs; returns the single output, or a
        tuple of outputs in graph order."""
        outs = self._session().outputs(self._arrays(list(inputs) if inputs else None, named))
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _arrays(self, inputs: Any, named: Mapping[str, Any], convert: bool = True) -> list[np.ndarray]:
        if named:
            if inputs is not None:
                raise MLEValueError("pass inputs positionally or by name, not both", 1025, "MLE_ERR_INVALID_VALUE")
            inputs = dict(named)
        if isinstance(inputs, Mapping):
            missing = [s.name for s in self.inputs if s.name not in inputs]
            extra = [k for k in inputs if k not in {s.name for s in self.inputs}]
            if missing or extra:
                raise MLEValueError(f"inputs {sorted(inputs)} do not match the model's {[s.name for s in self.inputs]}",
                                    769, "MLE_ERR_INVALID_NAME")
            seq = [inputs[s.name] for s in self.inputs]
        elif isinstance(inputs, (list, tuple)) and (
                len(self.inputs) > 1 or (len(inputs) == 1 and isinstance(inputs[0], np.ndarray))):
            seq = list(inputs)  # one entry per input (a list of arrays)
        elif inputs is None:
            seq = []
        else:
            seq = [inputs]
        if len(seq) != len(self.inputs):
            raise MLEValueError(f"the model takes {len(self.inputs)} inputs; {len(seq)} given", 1025, "MLE_ERR_INVALID_VALUE")
        if not convert:
            return [np.ascontiguousarray(x) for x in seq]
        return [self._convert(s, x) for s, x in zip(self.inputs, seq)]

    # ------------------------------------------------- scikit-learn methods

    def _features(self, X: Any) -> np.ndarray:
        """Validates X like scikit-learn: 2-D, feature count, names, NaN."""
        names = None if type(X) is np.ndarray else getattr(X, "columns", None)
        if names is not None and self._feature_names is not None:
            got = [str(c) for c in names]
            if got != self._feature_names:
                raise MLEShapeError(
                    f"feature names do not match those seen at fit time: expected {self._feature_names}, got {got}",
                    9, "MLE_ERR_SHAPE")
        spec = self.inputs[0]
        a = self._convert(spec, X)
        if a.ndim != 2:
            raise MLEShapeError(f"expected a 2-D array of shape (n_samples, {spec.shape[-1]}), got shape {a.shape}"
                                + (" (reshape a single sample with X.reshape(1, -1))" if a.ndim == 1 else ""),
                                9, "MLE_ERR_SHAPE")
        if spec.shape[-1] != -1 and a.shape[1] != spec.shape[-1]:
            raise MLEShapeError(f"X has {a.shape[1]} features, but the model expects {spec.shape[-1]}", 9, "MLE_ERR_SHAPE")
        if a.dtype.kind == "f":
            if self._allow_nan:
                bad = bool(np.isinf(a).any())
            else:  # a finite sum proves every value finite; else look closer
                bad = not math.isfinite(a.sum()) and not np.isfinite(a).all()
            if bad:
                what = "NaN or infinity" if not self._allow_nan else "infinity"
                raise MLEValueError(f"Input X contains {what}; this model has no imputer for it", 1025, "MLE_ERR_INVALID_VALUE")
        return a

    def _method(self, name: str, X: Any) -> np.ndarray:
        out = self._methods.get(name)
        if out is None:
            raise AttributeError(f"this model has no {name}(); it supports {sorted(self._methods) or ['run']}")
        y = self._session().outputs([self._features(X)], (self._out_index[out],))[0]
        if name == "predict_log_proba":
            return np.log(y)  # what scikit-learn computes, warnings included
        if name == "predict" and self._classes is not None:
            y = self._classes[y] if self._labels_are_indices else y.astype(self._classes.dtype, copy=False)
        return y

    def predict(self, X: Any) -> np.ndarray:
        """Like the source estimator's predict (labels in their original dtype)."""
        return self._method("predict", X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._method("predict_proba", X)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        return self._method("predict_log_proba", X)

    def decision_function(self, X: Any) -> np.ndarray:
        return self._method("decision_function", X)

    def transform(self, X: Any) -> np.ndarray:
        return self._method("transform", X)

    @property
    def classes_(self) -> np.ndarray | None:
        """Class labels of a classifier, as the source had them."""
        return self._classes

    @property
    def feature_names_in_(self) -> list[str] | None:
        return self._feature_names

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Frees the model now (sessions of other threads keep it alive)."""
        if self._h is not None and self._h.value and os.getpid() == self._pid:
            self._lib.mle_model_free(self._h)
        self._h = None
