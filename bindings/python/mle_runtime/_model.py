"""A loaded model: open, inspect, run; scikit-learn-style methods."""

from __future__ import annotations

import ctypes
import json
import math
import numbers
import operator
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from . import _interrupt, _lib, _metadata
from ._builder import (BF16_BITS, DTYPE_NAMES, DTYPES, PUBLIC_DTYPES, bfloat16_bits, dtype_id,
                       float32_from_bfloat16, is_bfloat16)
from ._errors import (FORK_GUIDANCE, MLEDTypeError, MLEForkError, MLEFormatError, MLEShapeError, MLETimeoutError,
                      MLEUnsupportedError, MLEValueError)

_DEVICES = {"cpu": 0, "cuda": 1}


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: name, numpy dtype, shape (-1 = any size).

    ``dtype`` is what you pass and get back; ``mle_dtype`` is the model's own
    type name (docs/FORMAT.md): they differ only for "bfloat16", which numpy
    lacks and which this binding exchanges as float32."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    mle_dtype: str = ""


# Bumped in every child after fork(): cheaper to compare than os.getpid().
_fork_generation = 0


def _forked() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _check_not_forked(generation: int) -> None:
    if generation != _fork_generation:
        raise MLEForkError("this process was forked from one that had loaded libmle." + FORK_GUIDANCE,
                           12, "MLE_ERR_FORKED")


_OPTIONS = 1 | 2 << 8  # MLE_ERR_INVALID_OPTIONS
_MAX_TIMEOUT_US = 1 << 62  # beyond this (146,000 years), no limit


def _timeout_us(timeout: Any) -> int:
    """Seconds -> microseconds for mle_run_options.timeout_us (0 = no limit)."""
    if not isinstance(timeout, numbers.Real):
        raise TypeError(f"timeout must be a number of seconds or None, got {type(timeout).__name__}")
    t = float(timeout)
    if not t >= 0:  # also NaN
        raise MLEValueError(f"timeout must be >= 0 seconds (or None for no limit), got {timeout!r}",
                            _OPTIONS, "MLE_ERR_INVALID_OPTIONS")
    us = t * 1e6
    if us >= _MAX_TIMEOUT_US:
        return 0
    return max(1, math.ceil(us))  # timeout=0 means "already due", as elsewhere in Python


def _max_arena_bytes(max_memory: Any) -> int:
    if max_memory is None:
        return 0
    if isinstance(max_memory, bool):
        raise TypeError("max_memory must be a number of bytes (an int) or None, got bool")
    try:
        n = operator.index(max_memory)
    except TypeError:
        raise TypeError(f"max_memory must be a number of bytes (an int) or None, got {type(max_memory).__name__}"
                        ) from None
    if not 0 <= n < 1 << 63:
        raise MLEValueError(f"max_memory must be between 0 and 2**63-1 bytes, got {n}", _OPTIONS,
                            "MLE_ERR_INVALID_OPTIONS")
    return n


_ONE_BYTE = ctypes.c_char * 1


def _address(a: np.ndarray) -> int:
    """The data address of a C-contiguous array (the fast way when writable)."""
    if a.flags.writeable and a.nbytes:
        return ctypes.addressof(_ONE_BYTE.from_buffer(a))
    return a.ctypes.data


def _storage_dtype(mle_id: int, name: bytes | str | None) -> np.dtype:
    dt = DTYPES.get(mle_id)
    if dt is None:
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        raise MLEUnsupportedError(f"tensor {name!r} has dtype id {mle_id}, which this mle_runtime does not know",
                                  8 | 3 << 8, "MLE_ERR_UNSUPPORTED_FEATURE")
    return dt


class _Layout:
    """Where each output lives in one buffer, for one set of input shapes.
    dtypes are the elements as libmle writes them (BF16_BITS for bfloat16)."""

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
        v = np.ndarray(shape, dt, buf, self.offsets[i] + base)
        return float32_from_bfloat16(v) if dt is BF16_BITS else v


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
        # Built once: a run passes them as they are unless it has a timeout.
        self.opts = lib.mle_default_run_options()
        self.opts_ref = ctypes.byref(self.opts)
        # Sessions are per thread, so this says where every run of this one
        # happens. Runs on the main thread carry its cancel flag (Ctrl-C).
        self.on_main = threading.current_thread() is threading.main_thread() and _interrupt.install()
        self.cancel = _interrupt.main_flag
        if self.on_main:
            self.opts.cancel = ctypes.pointer(self.cancel)

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

    def _call(self, n_out: int, timeout: float | None, fresh: bool) -> None:
        """Runs the C structs as set up, with a timeout or none; raises the
        run's error. fresh: libmle allocates the outputs."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if fresh:  # also after a cancelled try: never hand libmle a stale pointer as a buffer
                for i in range(n_out):
                    self.outs[i].data, self.outs[i].nbytes = None, 0
            self.opts.timeout_us = 0 if timeout is None else _timeout_us(timeout)
            try:
                if self.on_main:
                    self.cancel.value = 0
                status = self.lib.mle_session_run_opts(self.h, self.ins, self.n_in, self.outs, n_out, self.opts_ref,
                                                       self.err_ref)
            finally:
                self.opts.timeout_us = 0
            if not status:
                return
            self._failed(status)
            # The signal handler returned: start over, as Python retries a
            # blocking call whose handler did not raise (PEP 475).
            if deadline is not None:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    raise MLETimeoutError("the run took longer than its timeout (restarted after a signal)",
                                          16 | 1 << 8, "MLE_ERR_CANCELLED_DEADLINE")

    def _failed(self, status: int) -> None:
        """Raises a failed run's error; after Ctrl-C the signal handler's
        exception, or returns if the handler returned (the caller retries)."""
        if status != _lib.MLE_ERR_CANCELLED or not self.on_main:
            raise _lib.error(status, self.err)
        # Only the SIGINT watcher sets this flag: run the pending handler now
        # (a KeyboardInterrupt propagates from here).
        _lib.error(status, self.err)
        _interrupt.check_signals()

    def run(self, arrays: Sequence[np.ndarray], which: tuple[int, ...] | None, timeout: float | None = None
            ) -> tuple[_Layout, ctypes.Array | None, int, list[np.ndarray] | None]:
        """Runs; returns the layout and either (buffer, aligned base) for
        views, or the outputs themselves (first run with this key)."""
        # The full dtype, byte order included: equal dtype.num is not equal bytes.
        key = (tuple((a.shape, a.dtype) for a in arrays), which)
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
        else:
            for i in range(n_out):
                self.outs[i].data, self.outs[i].nbytes = None, 0
        if timeout is None:  # the hot path, inline: one flag store more than mle_session_run
            if self.on_main:
                self.cancel.value = 0
            status = self.lib.mle_session_run_opts(self.h, self.ins, self.n_in, self.outs, n_out, self.opts_ref,
                                                   self.err_ref)
            if status:
                self._failed(status)
                self._call(n_out, None, layout is None)  # the signal handler returned: start over
        else:
            self._call(n_out, timeout, layout is None)
        if layout is not None:
            return layout, buf, base, None
        results, shapes = [], []
        try:
            for i in range(n_out):
                t = self.outs[i]
                dt = _storage_dtype(t.dtype, t.name)
                shape = tuple(t.shape[d] for d in range(t.rank))
                out = np.frombuffer(ctypes.string_at(t.data, t.nbytes), dtype=dt).reshape(shape)
                results.append(float32_from_bfloat16(out) if dt is BF16_BITS else out.copy())
                shapes.append((dt, shape))
        finally:
            for i in range(n_out):
                self.lib.mle_free(self.outs[i].data)
        if len(self.layouts) > 64:
            self.layouts.clear()
        layout = _Layout(shapes)
        self.layouts[key] = layout
        self._prepare(key, arrays, which)
        return layout, None, 0, results

    def outputs(self, arrays: Sequence[np.ndarray], which: tuple[int, ...] | None = None,
                timeout: float | None = None) -> list[np.ndarray]:
        """Runs and returns all outputs, or only those at the indices given."""
        layout, buf, base, results = self.run(arrays, which, timeout)
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
    GIL. A child forked from a process that has loaded libmle cannot use it
    (MLEForkError): start workers with spawn/forkserver, or use mle_runtime only
    in the workers (see docs/python.md).
    """

    def __init__(self, path: str | os.PathLike | None = None, *, data: bytes | bytearray | memoryview | None = None,
                 verify: bool = False, device: str = "cpu", threads: int = 0, read_all: bool = False,
                 max_memory: int | None = None) -> None:
        max_arena = _max_arena_bytes(max_memory)
        lib = _lib.get()
        self._lib, self._pid, self._generation = lib, os.getpid(), _fork_generation
        if device not in _DEVICES:
            raise MLEValueError(f"unknown device {device!r}; want 'cpu' or 'cuda'", 513, "MLE_ERR_INVALID_OPTIONS")
        opts = lib.mle_default_open_options()
        opts.verify, opts.read_all, opts.threads, opts.device = int(verify), int(read_all), int(threads), _DEVICES[device]
        opts.max_arena_bytes = max_arena
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
        try:
            self.metadata: dict = self._read_metadata()
            self.inputs = self._specs("input")
            self.outputs = self._specs("output")
            props = _metadata.read(self.metadata, self.inputs, self.outputs)
        except BaseException:
            self.close()
            raise
        self._out_index = {s.name: i for i, s in enumerate(self.outputs)}
        # What each input is converted to: the public dtype, or BF16_BITS.
        self._targets = [(s.name, BF16_BITS if s.mle_dtype == "bfloat16" else s.dtype) for s in self.inputs]
        self._local = threading.local()
        self._methods = props.methods
        self._classes = props.classes
        self._labels_are_indices = props.labels_are_indices
        self._feature_names = props.feature_names
        self._allow_nan = props.allow_nan

    # ---------------------------------------------------------------- info

    def _read_metadata(self) -> dict:
        n, err = ctypes.c_size_t(), ctypes.c_void_p()
        _lib.check(self._lib.mle_model_metadata(self._h, None, 0, ctypes.byref(n), ctypes.byref(err)), err)
        buf = ctypes.create_string_buffer(n.value + 1)
        _lib.check(self._lib.mle_model_metadata(self._h, buf, n.value + 1, ctypes.byref(n), ctypes.byref(err)), err)
        try:
            return json.loads(buf.raw[:n.value].decode("utf-8"))
        except (ValueError, RecursionError) as e:  # libmle checked it: this would be a bug, said as such
            raise MLEFormatError(f"metadata: not the JSON libmle validated ({type(e).__name__}: {e})",
                                 7 | 5 << 8, "MLE_ERR_METADATA_FIELD") from None

    def _specs(self, kind: str) -> list[TensorSpec]:
        count = ctypes.c_size_t()
        _lib.check(getattr(self._lib, f"mle_model_{kind}_count")(self._h, ctypes.byref(count)))
        specs = []
        for i in range(count.value):
            info, err = _lib.IoInfo(), ctypes.c_void_p()
            info.struct_size = ctypes.sizeof(info)
            _lib.check(getattr(self._lib, f"mle_model_{kind}_info")(self._h, i, ctypes.byref(info), ctypes.byref(err)), err)
            _storage_dtype(info.dtype, info.name)  # refuses ids this binding does not know
            specs.append(TensorSpec(info.name.decode(), PUBLIC_DTYPES[info.dtype],
                                    tuple(info.shape[d] for d in range(info.rank)), DTYPE_NAMES[info.dtype]))
        return specs

    def __repr__(self) -> str:
        name = self.metadata.get("name") or self.path or "model"
        sig = ", ".join(f"{s.name}: {s.mle_dtype}{list(s.shape)}" for s in self.inputs)
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

    def _convert(self, target: tuple[str, np.dtype], x: Any) -> np.ndarray:
        name, dtype = target
        if type(x) is np.ndarray and x.dtype == dtype and x.flags.c_contiguous:
            return x  # the common case, checked cheaply
        try:
            a = np.asarray(x)
        except (TypeError, ValueError) as e:
            raise MLEDTypeError(f"input {name!r}: cannot make an array: {e}", 10, "MLE_ERR_DTYPE") from e
        if dtype is BF16_BITS:
            if a.dtype.kind not in "biuf" and not is_bfloat16(a.dtype):
                raise MLEDTypeError(f"input {name!r}: got {a.dtype}, which cannot convert to the model's bfloat16",
                                    10, "MLE_ERR_DTYPE")
            return bfloat16_bits(a)
        if a.dtype != dtype:
            if a.dtype.kind not in "biuf" or (dtype.kind == "b" and a.dtype.kind != "b"):
                raise MLEDTypeError(f"input {name!r}: got {a.dtype}, which cannot convert to the model's {dtype}",
                                    10, "MLE_ERR_DTYPE")
            a = a.astype(dtype)
        if not a.flags.c_contiguous or a.dtype.byteorder == ">":
            a = np.ascontiguousarray(a, dtype=dtype.newbyteorder("<"))
        return a

    def run(self, inputs: Any = None, /, *, convert: bool = True, timeout: float | None = None,
            **named: Any) -> dict[str, np.ndarray]:
        """Runs the model. ``inputs``: one array (single-input models), a list
        in input order, or a dict by name; or pass arrays as keywords.
        convert=False passes arrays with their own dtype, so a mismatch
        raises MLEDTypeError instead of converting (big-endian arrays are
        still byte-swapped: same values). timeout: seconds, or None for no
        limit; a run past it raises MLETimeoutError. Returns {output name: array}."""
        if timeout is not None:
            _timeout_us(timeout)  # refuse a bad value before converting anything
        outs = self._session().outputs(self._arrays(inputs, named, convert), None, timeout)
        return {s.name: o for s, o in zip(self.outputs, outs)}

    def __call__(self, *inputs: Any, timeout: float | None = None, **named: Any) -> np.ndarray | tuple[np.ndarray, ...]:
        """Runs the model on positional inputs; returns the single output, or a
        tuple of outputs in graph order."""
        if timeout is not None:
            _timeout_us(timeout)
        outs = self._session().outputs(self._arrays(list(inputs) if inputs else None, named), None, timeout)
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
            return [_as_given(x) for x in seq]
        return [self._convert(t, x) for t, x in zip(self._targets, seq)]

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
        a = self._convert(self._targets[0], X)
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

    def _method(self, name: str, X: Any, timeout: float | None) -> np.ndarray:
        out = self._methods.get(name)
        if out is None:
            raise AttributeError(f"this model has no {name}(); it supports {sorted(self._methods) or ['run']}")
        if timeout is not None:
            _timeout_us(timeout)
        y = self._session().outputs([self._features(X)], (self._out_index[out],), timeout)[0]
        if name == "predict_log_proba":
            return np.log(y)  # what scikit-learn computes, warnings included
        if name == "predict" and self._classes is not None:
            if not self._labels_are_indices:
                return y.astype(self._classes.dtype, copy=False)
            _check_indices(y, len(self._classes))
            return self._classes[y]
        return y

    def predict(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        """Like the source estimator's predict (labels in their original dtype).
        timeout: seconds, or None (MLETimeoutError past it)."""
        return self._method("predict", X, timeout)

    def predict_proba(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        return self._method("predict_proba", X, timeout)

    def predict_log_proba(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        return self._method("predict_log_proba", X, timeout)

    def decision_function(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        return self._method("decision_function", X, timeout)

    def transform(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        return self._method("transform", X, timeout)

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


def _as_given(x: Any) -> np.ndarray:
    """An input for convert=False: its own dtype, C order, little-endian."""
    a = np.ascontiguousarray(x)
    if a.dtype.byteorder == ">":  # libmle reads little-endian: the same values in the bytes it reads
        a = a.astype(a.dtype.newbyteorder("<"))
    elif a.dtype.kind == "V" and is_bfloat16(a.dtype):
        a = a.view(BF16_BITS)
    return a


def _check_indices(y: np.ndarray, n: int) -> None:
    """Class indices from the label output must index mle.classes (numpy
    would wrap negative ones around silently)."""
    if y.size <= 16:  # cheaper than two reductions for the usual small batch
        vals = y.ravel().tolist()
        bad = bool(vals) and (min(vals) < 0 or max(vals) >= n)
    else:
        bad = bool(y.min() < 0 or y.max() >= n)
    if bad:
        raise MLEFormatError(f"the model's label output holds class indices outside 0..{n - 1}, the range of "
                             "its mle.classes", 7 | 5 << 8, "MLE_ERR_METADATA_FIELD")
