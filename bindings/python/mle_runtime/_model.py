"""A loaded model: open, inspect, run; scikit-learn-style methods."""

from __future__ import annotations

import ctypes
import json
import math
import numbers
import operator
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence, TypeVar, cast

import numpy as np

from . import _estimator, _interrupt, _lib, _metadata, _tables_gen, _trust
from ._builder import (BF16_BITS, DTYPE_NAMES, DTYPE_STRING, DTYPES, PUBLIC_DTYPES, STRING, bfloat16_bits, dtype_id,
                       float32_from_bfloat16, is_bfloat16)
from ._strings import Lookup, Packed, pack, unpack
from ._errors import (FORK_GUIDANCE, MLEDTypeError, MLEError, MLEFileNotFoundError, MLEForkError, MLEFormatError, MLEIOError,
                      MLEPermissionError, MLESecurityError, MLEShapeError, MLETimeoutError, MLEUnsupportedError,
                      MLEValueError)

_F = TypeVar("_F", bound=Callable[..., Any])


def _only_if(check: Callable[[Any], bool] | None) -> Callable[[_F], _F]:
    """Marks a method that exists only on models where check holds
    (_estimator.available_if); typed as the method itself."""
    def mark(fn: _F) -> _F:
        return cast(_F, _estimator.available_if(check, fn))
    return mark


def _if_method(fn: _F) -> _F:
    """A scikit-learn method present only when the model's file offers it."""
    return _only_if(None)(fn)

_DEVICES = {"cpu": 0, "cuda": 1}
# The first buffer Model offers mle_model_metadata: larger than the metadata
# of most models, so that one call reads it.
_METADATA_BUFFER = 4096
# Its type, made once: `c_char * n` makes a new type object whenever none of
# that size is alive (create_string_buffer too), a cycle for the garbage
# collector to find at every load.
_MetadataBuffer = ctypes.c_char * _METADATA_BUFFER
_IO_INFO_SIZE = ctypes.sizeof(_lib.IoInfo)


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


def _option_int32(name: str, value: Any) -> int:
    """A serving option as the C int32 it becomes; libmle checks its range."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or None, got bool")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int or None, got {type(value).__name__}") from None
    if not -(1 << 31) <= n < 1 << 31:  # ctypes would wrap it silently
        raise MLEValueError(f"{name} {n} does not fit a 32-bit int", _OPTIONS, "MLE_ERR_INVALID_OPTIONS")
    return n


def _address_slow(a: np.ndarray) -> int:
    return a.ctypes.data


def _data_offset() -> int | None:
    """Where an ndarray object keeps its data pointer: numpy's PyArrayObject
    starts with PyObject_HEAD and then ``char *data`` (ndarraytypes.h), and
    CPython's id() is the object's address. Reading it costs a fifth of
    ``a.ctypes.data``. Checked here on a few arrays; None (the slow, portable
    way) if anything disagrees."""
    if sys.implementation.name != "cpython":
        return None
    off = object.__basicsize__
    base = np.arange(64, dtype=np.float64)
    for a in (base, base[3:], base.reshape(8, 8)[2:], np.empty(0), np.zeros((2, 3), np.int32)):
        if ctypes.c_void_p.from_address(id(a) + off).value != a.ctypes.data:
            return None
    return off


_DATA_OFFSET = _data_offset()
_LITTLE = sys.byteorder == "little"
_read_pointer = ctypes.c_void_p.from_address


def _address(a: np.ndarray) -> int | None:
    """The data address of an ndarray, read from the array object."""
    return _read_pointer(id(a) + _DATA_OFFSET).value


if _DATA_OFFSET is None:
    _address = _address_slow  # noqa: F811


def _storage_dtype(mle_id: int, name: bytes | str | None) -> np.dtype:
    dt = DTYPES.get(mle_id)
    if dt is None:
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        raise MLEUnsupportedError(f"tensor {name!r} has dtype id {mle_id}, which this mle_runtime does not know",
                                  8 | 3 << 8, "MLE_ERR_UNSUPPORTED_FEATURE")
    return dt


class _Layout:
    """The outputs of one set of input shapes (and outputs asked for), known
    after its first run: each run then allocates them with numpy and libmle
    writes into them directly. dtypes are the elements as libmle writes
    them (BF16_BITS for bfloat16)."""

    __slots__ = ("outs", "nbytes", "bf16", "single")

    def __init__(self, outs: list[tuple[np.dtype, tuple[int, ...]]]) -> None:
        self.outs = outs
        self.nbytes = [int(np.prod(shape, dtype=np.int64)) * dt.itemsize for dt, shape in outs]
        self.bf16 = any(dt is BF16_BITS for dt, _ in outs)
        self.single = outs[0][1] if len(outs) == 1 else None  # the shape of the only output


class _Scratch:
    """One thread's ctypes structs for mle_model_run. The model and its
    session pool are shared, but every run rewrites these structs, so each
    thread has its own (libmle keeps no pointer into them after a call).
    They stay set up for the last input shapes, so a run with the same
    shapes only stores the data pointers."""

    __slots__ = ("ins", "outs", "in_t", "out_t", "in0", "out0", "err", "err_ref", "opts", "opts_ref", "cancel", "key",
                 "layout", "n_out")

    def __init__(self, lib: ctypes.CDLL, n_in: int, n_out: int) -> None:
        self.ins = (_lib.Tensor * max(n_in, 1))()
        self.outs = (_lib.Tensor * max(n_out, 1))()
        # Element views, made once: indexing a ctypes array builds a new object.
        self.in_t = [self.ins[i] for i in range(n_in)]
        self.out_t = [self.outs[i] for i in range(n_out)]
        self.in0, self.out0 = self.ins[0], self.outs[0]
        self.err = ctypes.c_void_p()
        self.err_ref = ctypes.byref(self.err)
        self.opts = lib.mle_default_run_options()
        self.opts_ref = ctypes.byref(self.opts)
        # This thread's runs carry the main thread's cancel flag if it is the
        # main thread and the SIGINT watcher is installed (Ctrl-C).
        on_main = threading.current_thread() is threading.main_thread() and _interrupt.install()
        self.cancel = _interrupt.main_flag if on_main else None
        if on_main:
            self.opts.cancel = ctypes.pointer(_interrupt.main_flag)
        self.key: tuple | None = None
        self.layout: _Layout | None = None
        self.n_out = ctypes.c_size_t(0)


class Model(_lib.Closeable):
    """A model opened from an .mle file (memory-mapped, validated).

    Thread-safe: runs from any number of threads share the model's bounded
    session pool in libmle (mle_model_run; see set_options) and release the
    GIL. A child forked from a process that has loaded libmle cannot use it
    (MLEForkError): start workers with spawn/forkserver, or use mle_runtime only
    in the workers (see docs/python.md).

    key, trusted_keys, require_signature: as mle_runtime.load takes them
    (the file, or data, is then opened with mle_model_open_with).
    """

    def __init__(self, path: str | os.PathLike | None = None, *, data: bytes | bytearray | memoryview | None = None,
                 verify: bool = False, device: str = "cpu", threads: int = 0, read_all: bool = False,
                 max_memory: int | None = None, max_sessions: int | None = None,
                 spin_us: int | None = None, key: Any = None, trusted_keys: Any = None,
                 require_signature: bool = False) -> None:
        self._uri = None
        self._path_param = path  # as given: get_params returns it (scikit-learn's clone checks identity)
        if isinstance(path, str) and path.startswith("registry://"):
            from . import _registry

            # The file the URI names, its SHA-256 checked against its record.
            self._uri = path
            path, record = _registry.resolve(path, verify=True)
            self._sha256 = record["sha256"]
        # What a pickle carries to reopen the model elsewhere (by reference).
        self._reopen_options = {"verify": verify, "device": device, "threads": threads, "read_all": read_all,
                                "max_memory": max_memory, "max_sessions": max_sessions, "spin_us": spin_us,
                                "trusted_keys": trusted_keys, "require_signature": require_signature}
        self._has_key = key is not None
        self._sha256: str | None = None
        max_arena = _max_arena_bytes(max_memory)
        serve = (None if max_sessions is None else _option_int32("max_sessions", max_sessions),
                 None if spin_us is None else _option_int32("spin_us", spin_us))
        self._h = None  # close() works whatever fails below
        lib = _lib.get()
        self._lib, self._pid, self._generation = lib, os.getpid(), _fork_generation
        if device not in _DEVICES:
            raise MLEValueError(f"unknown device {device!r}; want 'cpu' or 'cuda'", 513, "MLE_ERR_INVALID_OPTIONS")
        opts = lib.mle_default_open_options()
        opts.verify, opts.read_all, opts.threads, opts.device = int(verify), int(read_all), int(threads), _DEVICES[device]
        opts.max_arena_bytes = max_arena
        h, err = ctypes.c_void_p(), ctypes.c_void_p()
        if _trust.wants_trust(key, trusted_keys, require_signature):
            # Keys: the _with calls (kept off the usual path: the copies and wiping cost).
            with _trust.Secrets() as sec:
                trust = _trust.trust_options(lib, sec, key, trusted_keys, require_signature)
                if data is not None:
                    raw = np.frombuffer(data, dtype=np.uint8)
                    status = lib.mle_model_open_memory_with(raw.ctypes.data, raw.size, ctypes.byref(opts),
                                                            ctypes.byref(trust), ctypes.byref(h), ctypes.byref(err))
                else:
                    status = lib.mle_model_open_with(os.fsencode(os.fspath(path)), ctypes.byref(opts),
                                                     ctypes.byref(trust), ctypes.byref(h), ctypes.byref(err))
        elif data is not None:
            # libmle copies the bytes; any contiguous bytes-like object is read in place.
            raw = np.frombuffer(data, dtype=np.uint8)
            status = lib.mle_model_open_memory(raw.ctypes.data, raw.size, ctypes.byref(opts), ctypes.byref(h),
                                               ctypes.byref(err))
        else:
            status = lib.mle_model_open(os.fsencode(os.fspath(path)), ctypes.byref(opts), ctypes.byref(h),
                                        ctypes.byref(err))
        if status != _lib.MLE_OK:
            e = _lib.error(status, err)
            raise (_os_error(e, os.fspath(path)) if path is not None and data is None else e) from None
        self._h = h
        self.path = None if path is None else os.fspath(path)
        self._serve = (0, 0)  # max_sessions, spin_us as last set (0: libmle's defaults)
        self._serve_lock = threading.Lock()
        try:
            if serve != (None, None):
                self.set_options(max_sessions=serve[0], spin_us=serve[1])
            self.metadata, text = self._read_metadata()
            self.inputs = self._signature(text, "input")
            self.outputs = self._signature(text, "output")
            props = _metadata.read(self.metadata, self.inputs, self.outputs)
        except BaseException:
            self.close()
            raise
        self._out_index = {s.name: i for i, s in enumerate(self.outputs)}
        # What each input is converted to: the public dtype, or BF16_BITS.
        self._targets = [(s.name, BF16_BITS if s.mle_dtype == "bfloat16" else s.dtype) for s in self.inputs]
        self._methods = props.methods
        self._task = (self.metadata.get("properties") or {}).get("mle.task") if isinstance(self.metadata, dict) else None
        self._classes = props.classes
        self._labels_are_indices = props.labels_are_indices
        self._feature_names = props.feature_names
        self._allow_nan = props.allow_nan
        self._columns, self._nan_columns, self._missing_text = props.columns, props.nan_columns, props.missing_text
        # Run state: per-thread ctypes structs, and output layouts shared by
        # all threads (immutable; a race only computes one twice).
        self._local = threading.local()
        self._layouts: dict[tuple, _Layout] = {}
        self._n_in, self._n_out = len(self.inputs), len(self.outputs)
        self._n_in_c = ctypes.c_size_t(self._n_in)
        self._n_out_c = [ctypes.c_size_t(n) for n in range(self._n_out + 1)]
        self._out_names = [spec.name.encode() for spec in self.outputs]
        # Strings: inputs are packed anew each run (their size varies), and
        # outputs of strings are allocated by libmle each run (their size is
        # known only once computed), so no layout is kept for them.
        self._str_in = any(s.dtype is STRING for s in self.inputs)
        self._str_out = frozenset(i for i, s in enumerate(self.outputs) if s.dtype is STRING)
        # The estimator methods' fast path: the output each one reads, the
        # feature count and the checks of _features, known once.
        self._which = {m: tuple(self._out_index[o] for o in out) if isinstance(out, tuple) else (self._out_index[out],)
                       for m, out in self._methods.items()}
        # Text models (vectorizers) take one 1-D string input: a list of documents.
        self._documents = len(self.inputs) == 1 and self.inputs[0].mle_dtype == "string" and \
            len(self.inputs[0].shape) == 1
        if self._methods and not self._columns and not self._documents:
            self._x_target = self._targets[0][1]
            self._x_width = self.inputs[0].shape[-1]
            self._x_float = self._x_target.kind == "f"
        label = self.outputs[self._out_index[self._methods["predict"]]] if "predict" in self._methods else None
        self._label_name = label.name.encode() if label is not None else None
        self._label_lookup: Lookup | None = None  # the classes hashed, made at the first unpack that needs it
        self._string_classes = label is not None and label.mle_dtype == "string" and self._classes is not None \
            and all(isinstance(c, str) for c in self._classes.tolist())
        # predict's label output -> labels: None (as they are), "cast" or "index".
        self._labels = None
        if label is not None and self._classes is not None:
            if self._labels_are_indices:
                self._labels = "index"
            elif label.dtype != self._classes.dtype:
                self._labels = "cast"

    # ---------------------------------------------------------------- info

    def _read_metadata(self) -> tuple[dict, bytes]:
        """The metadata, parsed, and its JSON text."""
        # One call into a buffer that holds the usual metadata (a few hundred
        # bytes); only larger metadata (many feature names) takes a second
        # call, into a buffer of the size the first one reported.
        fn, n, err = self._lib.mle_model_metadata, ctypes.c_size_t(), ctypes.c_void_p()
        buf = _MetadataBuffer()
        if fn(self._h, buf, _METADATA_BUFFER, ctypes.byref(n), None) != _lib.MLE_OK:
            if n.value >= _METADATA_BUFFER:
                buf = ctypes.create_string_buffer(n.value + 1)
            _lib.check(fn(self._h, buf, len(buf), ctypes.byref(n), ctypes.byref(err)), err)
        text = ctypes.string_at(buf, n.value)
        try:
            return json.loads(text.decode("utf-8")), text
        except (ValueError, RecursionError) as e:  # libmle checked it: this would be a bug, said as such
            raise MLEFormatError(f"metadata: not the JSON libmle validated ({type(e).__name__}: {e})",
                                 7 | 5 << 8, "MLE_ERR_METADATA_FIELD") from None

    def _signature(self, text: bytes, kind: str) -> list[TensorSpec]:
        """The graph's inputs (or outputs). libmle refuses a file whose
        metadata lists them otherwise than its graph (name, dtype and every
        dim), so the metadata already read gives them without calls into
        libmle; where this binding might read the metadata differently from
        libmle (\\u escapes: lone surrogates; dtype spellings it does not
        know), libmle is asked (_specs)."""
        if b"\\u" not in text and type(self.metadata) is dict:
            specs = _specs_from_metadata(self.metadata.get(kind + "s"))
            if specs is not None:
                return specs
        return self._specs(kind)

    def _specs(self, kind: str) -> list[TensorSpec]:
        lib, h = self._lib, self._h
        if kind == "input":
            count_fn, info_fn = lib.mle_model_input_count, lib.mle_model_input_info
        else:
            count_fn, info_fn = lib.mle_model_output_count, lib.mle_model_output_info
        count = ctypes.c_size_t()
        _lib.check(count_fn(h, ctypes.byref(count)))
        # One struct for every call: libmle rewrites all of it each time.
        info, err = _lib.IoInfo(), ctypes.c_void_p()
        info.struct_size = _IO_INFO_SIZE
        info_ref, err_ref = ctypes.byref(info), ctypes.byref(err)
        specs = []
        for i in range(count.value):
            _lib.check(info_fn(h, i, info_ref, err_ref), err)
            dt = info.dtype
            if dt not in PUBLIC_DTYPES:
                _storage_dtype(dt, info.name)  # refuses ids this binding does not know
            specs.append(TensorSpec(info.name.decode(), PUBLIC_DTYPES[dt], tuple(info.shape[:info.rank]),
                                    DTYPE_NAMES[dt]))
        return specs

    def __repr__(self) -> str:
        name = self.metadata.get("name") or self.path or "model"
        sig = ", ".join(f"{s.name}: {s.mle_dtype}{list(s.shape)}" for s in self.inputs)
        return f"<mle_runtime.Model {name} ({sig})>"

    # -------------------------------------------------------------- serving

    def set_options(self, *, max_sessions: int | None = None, spin_us: int | None = None) -> None:
        """Changes how libmle serves this model; runs that start afterwards
        use it. None leaves a setting as it is; 0 restores libmle's default.

        max_sessions: the most runs (threads) that execute at once, each on a
        session of the model's pool; more wait for one (within their
        timeout). Default: one per CPU; at most 65536.
        spin_us: how long libmle's idle worker threads spin, in microseconds,
        before sleeping: back-to-back parallel runs then start without a
        wake-up, at the price of CPU time. Default 1000; -1 never spins; at
        most 100000.
        Bad values raise MLEValueError (MLE_ERR_INVALID_OPTIONS), non-ints
        TypeError."""
        ms = None if max_sessions is None else _option_int32("max_sessions", max_sessions)
        sp = None if spin_us is None else _option_int32("spin_us", spin_us)
        h = self._handle()
        with self._serve_lock:  # the unchanged setting must be the current one
            serve = (self._serve[0] if ms is None else ms, self._serve[1] if sp is None else sp)
            opts = self._lib.mle_default_model_options()
            opts.max_sessions, opts.spin_us = serve
            err = ctypes.c_void_p()
            _lib.check(self._lib.mle_model_set_options(h, ctypes.byref(opts), ctypes.byref(err)), err)
            self._serve = serve

    # ----------------------------------------------------------------- run

    def _handle(self) -> ctypes.c_void_p:
        _check_not_forked(self._generation)
        h = self._h
        if h is None:
            raise MLEValueError("the model is closed", 2, "MLE_ERR_BAD_HANDLE")
        return h

    def _outputs(self, arrays: Sequence[np.ndarray], which: tuple[int, ...] | None,
                 timeout: float | None = None, deadline: float | None = None) -> list[np.ndarray]:
        """Runs on libmle's session pool (mle_model_run); returns all outputs,
        or those at the indices in which. arrays: C-contiguous, little-endian.

        The first run with given input shapes and outputs lets libmle allocate
        the outputs and records their shapes (a _Layout); later runs with those
        shapes allocate them with numpy and libmle writes into them."""
        h = self._h
        if h is None or self._generation != _fork_generation:
            h = self._handle()  # raises the right error
        try:
            r = self._local.r
        except AttributeError:
            r = self._local.r = _Scratch(self._lib, self._n_in, self._n_out)
        if self._str_in:
            key = (tuple([(_shape(a), a.dtype) for a in arrays]), which)
            if key != r.key:
                self._prepare(r, key, arrays, which)
            for t, a in zip(r.in_t, arrays):
                t.data, t.nbytes = _address(a), a.nbytes
        elif self._n_in == 1:
            a = arrays[0]
            key = (a.shape, a.dtype, which)
            if key != r.key:
                self._prepare(r, key, arrays, which)
            r.in0.data = _address(a)
        else:
            key = (tuple([(a.shape, a.dtype) for a in arrays]), which)
            if key != r.key:
                self._prepare(r, key, arrays, which)
            for t, a in zip(r.in_t, arrays):
                t.data = _address(a)
        layout = r.layout
        if layout is None:
            for t in r.out_t[:r.n_out.value]:
                t.data, t.nbytes = None, 0
        elif layout.single is not None:
            outs = [np.empty(layout.single, layout.outs[0][0])]
            r.out0.data = _address(outs[0])
        else:
            outs = [np.empty(shape, dt) for dt, shape in layout.outs]
            for t, o in zip(r.out_t, outs):
                t.data = _address(o)
        if r.cancel is not None:  # runs on the main thread: a SIGINT from before this run does not cancel it
            r.cancel.value = 0
        if timeout is None:
            status = _lib.model_run_raw(h, r.ins, self._n_in_c, r.outs, r.n_out, r.opts_ref, r.err_ref)
        else:
            if deadline is None:
                deadline = time.monotonic() + timeout
            r.opts.timeout_us = _timeout_us(timeout)
            try:
                status = _lib.model_run_raw(h, r.ins, self._n_in_c, r.outs, r.n_out, r.opts_ref, r.err_ref)
            finally:
                r.opts.timeout_us = 0
        if status:
            self._failed(r, status)
            # The signal handler returned: start over, as Python retries a
            # blocking call whose handler did not raise (PEP 475). The handler
            # may have run this model itself: set the structs up again.
            r.key = None
            if deadline is not None:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    raise MLETimeoutError("the run took longer than its timeout (restarted after a signal)",
                                          16 | 1 << 8, "MLE_ERR_CANCELLED_DEADLINE")
            return self._outputs(arrays, which, timeout, deadline)
        if layout is None:
            return self._fresh(r, key)
        if layout.bf16:
            return [float32_from_bfloat16(o) if dt is BF16_BITS else o for o, (dt, _) in zip(outs, layout.outs)]
        return outs

    def _prepare(self, r: _Scratch, key: tuple, arrays: Sequence[np.ndarray], which: tuple[int, ...] | None) -> None:
        """Writes what stays the same between runs with this key."""
        r.key = None  # until every field is written: an error half-way leaves nothing stale
        for t, a in zip(r.in_t, arrays):
            shape = _shape(a)
            t.dtype = DTYPE_STRING if type(a) is Packed else dtype_id(a.dtype)
            t.rank = len(shape)  # libmle refuses a rank above MLE_MAX_RANK; the dims it would read are kept to 8
            for d, n in enumerate(shape[:_lib.MAX_RANK]):
                t.shape[d] = n
            t.nbytes = a.nbytes
        n = self._n_out if which is None else len(which)
        for i in range(n):
            r.out_t[i].name = None if which is None else self._out_names[which[i]]
        layout = self._layouts.get(key)
        if layout is not None:
            for t, nb in zip(r.out_t, layout.nbytes):
                t.nbytes = nb
        r.layout, r.n_out, r.key = layout, self._n_out_c[n], key

    def _fresh(self, r: _Scratch, key: tuple) -> list[np.ndarray]:
        """The outputs libmle allocated (first run with this key), copied
        into numpy; records their layout for the next runs."""
        n_out = r.n_out.value
        results, shapes = [], []
        try:
            for t in r.out_t[:n_out]:
                shape = tuple(t.shape[d] for d in range(t.rank))
                if t.dtype == DTYPE_STRING:
                    # The label output's strings are among the classes: taken from them directly.
                    like = self._labels_lookup() if t.name == self._label_name else None
                    results.append(unpack(ctypes.string_at(t.data, t.nbytes), shape, like))
                    shapes.append(None)
                    continue
                dt = _storage_dtype(t.dtype, t.name)
                out = np.frombuffer(ctypes.string_at(t.data, t.nbytes), dtype=dt).reshape(shape)
                results.append(float32_from_bfloat16(out) if dt is BF16_BITS else out.copy())
                shapes.append((dt, shape))
        finally:
            for t in r.out_t[:n_out]:
                self._lib.mle_free(t.data)
                t.data = None
        if None in shapes:  # strings: libmle allocates them on every run
            for t in r.out_t[:n_out]:
                t.nbytes = 0
            return results
        if len(self._layouts) > 64:
            self._layouts.clear()
        layout = _Layout(shapes)
        self._layouts[key] = layout
        for t, nb in zip(r.out_t, layout.nbytes):
            t.nbytes = nb
        r.layout = layout
        return results

    def _labels_lookup(self) -> Lookup | None:
        """The string classes, hashed once (a race only hashes them twice)."""
        if self._label_lookup is None and self._string_classes:
            self._label_lookup = Lookup(self._classes)
        return self._label_lookup

    @staticmethod
    def _failed(r: _Scratch, status: int) -> None:
        """Raises a failed run's error; after Ctrl-C the signal handler's
        exception, or returns if the handler returned (the caller retries)."""
        if status != _lib.MLE_ERR_CANCELLED or r.cancel is None:
            raise _lib.error(status, r.err)
        # Only the SIGINT watcher sets this flag: run the pending handler now
        # (a KeyboardInterrupt propagates from here).
        _lib.error(status, r.err)
        _interrupt.check_signals()

    def _convert(self, target: tuple[str, np.dtype], x: Any) -> np.ndarray:
        name, dtype = target
        if type(x) is np.ndarray and x.dtype == dtype and x.flags.c_contiguous and dtype is not STRING:
            return x  # the common case, checked cheaply
        if dtype is STRING:
            return x if type(x) is Packed else pack(x, name)
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
        outs = self._outputs(self._arrays(inputs, named, convert), None, timeout)
        return {s.name: o for s, o in zip(self.outputs, outs)}

    def __call__(self, *inputs: Any, timeout: float | None = None, **named: Any) -> np.ndarray | tuple[np.ndarray, ...]:
        """Runs the model on positional inputs; returns the single output, or a
        tuple of outputs in graph order."""
        if timeout is not None:
            _timeout_us(timeout)
        outs = self._outputs(self._arrays(list(inputs) if inputs else None, named), None, timeout)
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
            return [_as_given(x, s.name) for x, s in zip(seq, self.inputs)]
        return [self._convert(t, x) for t, x in zip(self._targets, seq)]

    # ------------------------------------------------- scikit-learn methods

    def _features(self, X: Any) -> np.ndarray:
        """Validates X like scikit-learn: 2-D, feature count, names, NaN.
        What libmle checks again (dtype, shapes) is checked here only for
        scikit-learn's messages, at the cost of a few attribute reads."""
        if type(X) is np.ndarray and X.dtype == self._x_target and X.flags.c_contiguous:
            a = X  # the common case: no conversion, no feature names
        else:
            names = None if type(X) is np.ndarray else getattr(X, "columns", None)
            if names is not None and self._feature_names is not None:
                got = [str(c) for c in names]
                if got != self._feature_names:
                    raise MLEShapeError(
                        f"feature names do not match those seen at fit time: expected {self._feature_names}, "
                        f"got {got}", 9, "MLE_ERR_SHAPE")
            a = self._convert(self._targets[0], _estimator.dense(X, self._x_target))
        shape = a.shape
        if len(shape) != 2 or (shape[1] != self._x_width and self._x_width != -1):
            self._bad_shape(shape)
        if self._x_float and _maybe_not_finite(a):
            if self._allow_nan:
                bad = bool(np.isinf(a).any())
            else:
                bad = not np.isfinite(a).all()
            if bad:
                what = "NaN or infinity" if not self._allow_nan else "infinity"
                raise MLEValueError(f"Input X contains {what}; this model has no imputer for it", 1025,
                                    "MLE_ERR_INVALID_VALUE")
        return a

    def _bad_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 2:
            raise MLEShapeError(f"expected a 2-D array of shape (n_samples, {self._x_width}), got shape {shape}"
                                + (" (reshape a single sample with X.reshape(1, -1))" if len(shape) == 1 else ""),
                                9, "MLE_ERR_SHAPE")
        raise MLEShapeError(f"X has {shape[1]} features, but the model expects {self._x_width}", 9, "MLE_ERR_SHAPE")

    def _no_method(self, name: str) -> AttributeError:
        return AttributeError(f"this model has no {name}(); it supports {sorted(self._methods) or ['run']}")

    def _method(self, name: str, X: Any, timeout: float | None) -> np.ndarray:
        which = self._which.get(name)
        if which is None:
            raise self._no_method(name)
        if timeout is not None:
            _timeout_us(timeout)
        if self._columns:
            arrays = self._table(X)
        elif self._documents:
            arrays = [self._docs(X)]
        else:
            arrays = [self._features(X)]
        outs = self._outputs(arrays, which, timeout)
        return outs[0] if len(which) == 1 else outs  # several: one array per target, as scikit-learn returns

    def _docs(self, X: Any) -> np.ndarray:
        """A text model's input: an iterable of str documents, as scikit-learn's vectorizers take."""
        if isinstance(X, str):
            raise MLEValueError("expected an iterable of documents, got one string (wrap it in a list)", 1025,
                                "MLE_ERR_INVALID_VALUE")
        a = X if isinstance(X, np.ndarray) else np.asarray(list(X) if not hasattr(X, "__len__") else X, dtype=object)
        if a.ndim != 1:
            raise MLEShapeError(f"expected a 1-D sequence of documents, got shape {a.shape}", 9, "MLE_ERR_SHAPE")
        return pack(a, self.inputs[0].name)

    def _table(self, X: Any) -> list[np.ndarray]:
        """The inputs of a model of columns, from a DataFrame, a dict of
        columns, or a 2-D array with the fitted columns in order. Columns
        are checked as scikit-learn checks feature names, but by name: one
        missing, or one not seen at fit time, raises MLEShapeError naming it;
        text where numbers are expected (or the reverse) MLEDTypeError."""
        fitted = self._feature_names or [s.name for s in self.inputs]
        if hasattr(X, "columns") and hasattr(X, "__getitem__"):
            given = [str(c) for c in X.columns]
            lookup = {str(c): c for c in X.columns}

            def get(name: str) -> Any:
                return X[lookup[name]]
        elif isinstance(X, Mapping):
            given = [str(c) for c in X]
            lookup = {str(c): c for c in X}

            def get(name: str) -> Any:
                return X[lookup[name]]
        else:
            a = np.asarray(X, dtype=object) if not isinstance(X, np.ndarray) else X
            if a.ndim != 2 or a.shape[1] != len(fitted):
                raise MLEShapeError(f"expected a DataFrame, a dict of columns or a 2-D array of {len(fitted)} "
                                    f"columns ({', '.join(fitted)}), got shape {a.shape}", 9, "MLE_ERR_SHAPE")
            given, at = fitted, {n: j for j, n in enumerate(fitted)}

            def get(name: str) -> Any:
                return a[:, at[name]]
        known = set(fitted)
        extra = [c for c in given if c not in known]
        if extra:
            raise MLEShapeError(f"column(s) {extra} were not seen at fit time; the model was fitted on {fitted}",
                                9, "MLE_ERR_SHAPE")
        missing = [s.name for s in self.inputs if s.name not in lookup] if given is not fitted else []
        if missing:
            raise MLEShapeError(f"column(s) {missing} are missing; the model was fitted on {fitted}", 9,
                                "MLE_ERR_SHAPE")
        out = []
        for spec, (_, target) in zip(self.inputs, self._targets):
            col = _estimator.column(get(spec.name), None if target is STRING else target)
            if target is STRING:
                out.append(pack(np.asarray(col, dtype=object), spec.name, self._missing_text))
                continue
            try:
                v = np.asarray(col, dtype=target)
            except (TypeError, ValueError):
                sample = next((c for c in np.asarray(col, dtype=object).ravel().tolist()
                               if not isinstance(c, (int, float, np.number))), None)
                raise MLEDTypeError(f"column {spec.name!r} holds {type(sample).__name__} {sample!r}; the model takes "
                                    f"{target} there", 10, "MLE_ERR_DTYPE") from None
            if v.ndim != 1:
                raise MLEShapeError(f"column {spec.name!r} has shape {v.shape}; a column is 1-D", 9, "MLE_ERR_SHAPE")
            if spec.name not in self._nan_columns and np.isnan(v).any():
                raise MLEValueError(f"column {spec.name!r} contains NaN, which this model does not handle there "
                                    "(scikit-learn would raise too)", 1025, "MLE_ERR_INVALID_VALUE")
            out.append(np.ascontiguousarray(v))
        return out

    # predict is a plain method, not _if_method: it is the one-row hot path,
    # where the descriptor cost about 1.5 µs of 13. A model without it (a
    # transformer) raises AttributeError when it is called.
    def predict(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        """Like the source estimator's predict (labels in their original dtype).
        timeout: seconds, or None (MLETimeoutError past it)."""
        y = self._method("predict", X, timeout)
        labels = self._labels
        if labels is None:
            return y
        if labels == "cast":
            return y.astype(self._classes.dtype, copy=False)
        _check_indices(y, len(self._classes))
        return self._classes[y]

    @_if_method
    def predict_proba(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        return self._method("predict_proba", X, timeout)

    @_if_method
    def predict_log_proba(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        y = self._method("predict_log_proba", X, timeout)
        if self._methods.get("predict_log_proba") != self._methods.get("predict_proba"):
            return y  # the graph computes scikit-learn's log-probabilities itself
        if isinstance(y, list):
            return [np.log(p) for p in y]
        return np.log(y)  # scikit-learn's log(predict_proba), warnings included

    @_if_method
    def predict_joint_log_proba(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        return self._method("predict_joint_log_proba", X, timeout)

    @_if_method
    def decision_function(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        return self._method("decision_function", X, timeout)

    @_if_method
    def score_samples(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        return self._method("score_samples", X, timeout)

    @_if_method
    def transform(self, X: Any, *, timeout: float | None = None) -> np.ndarray:
        return self._method("transform", X, timeout)

    @property
    def classes_(self) -> np.ndarray | None:
        """Class labels of a classifier, as the source had them."""
        return self._classes

    @property
    def feature_names_in_(self) -> list[str] | None:
        return self._feature_names

    # ------------------------------------------ the scikit-learn protocol

    @property
    def n_features_in_(self) -> int:
        """The number of features the model takes (AttributeError where
        the source estimator has none: text vectorizers, torch modules)."""
        if self._columns:
            return len(self._feature_names or self.inputs)
        if self._methods and not self._documents and self._x_width >= 0:
            return int(self._x_width)
        raise AttributeError("this model has no n_features_in_: it does not take a feature matrix")

    @property
    def _estimator_type(self) -> str | None:
        return _estimator.ESTIMATOR_TYPES.get(self._task or "")

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags, from the source estimator's kind: is_classifier,
        scorers and meta-estimators read them."""
        return _estimator.tags(self)

    def __sklearn_is_fitted__(self) -> bool:
        return True  # a file holds a fitted model

    def fit(self, *args: Any, **kwargs: Any) -> Model:
        """Refused: a loaded model is trained in its source framework.
        Meta-estimators that fit their steps (cross_val_predict, stacking)
        take it wrapped in sklearn.frozen.FrozenEstimator, whose fit does
        nothing."""
        raise MLEUnsupportedError("a loaded .mle model cannot be fitted: train the source estimator and dump it "
                                  "again; to use it where scikit-learn calls fit, wrap it in "
                                  "sklearn.frozen.FrozenEstimator(model)", 8 | 3 << 8, "MLE_ERR_UNSUPPORTED_FEATURE")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The path (or URI) and the open options: scikit-learn's clone()
        reopens the file with them (a key is never returned)."""
        return {"path": self._path_param, **self._reopen_options}

    def set_params(self, **params: Any) -> Model:
        """Accepts only the parameters the model already has: change the
        file or options by loading it again."""
        current = self.get_params()
        changed = sorted(k for k, v in params.items() if k not in current or current[k] is not v)
        if changed:
            raise MLEValueError(f"a loaded model's parameters are fixed ({', '.join(changed)}): load it again with "
                                "the options wanted", 513, "MLE_ERR_INVALID_OPTIONS")
        return self

    @_only_if(lambda m: m._estimator_type in ("classifier", "regressor") and "predict" in m._which)
    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The source estimator's default score: accuracy for classifiers
        (subset accuracy for several outputs), R² for regressors (the mean
        over outputs), as scikit-learn computes them."""
        pred = self.predict(X)
        if self._estimator_type == "classifier":
            return _estimator.accuracy(y, pred, sample_weight)
        return _estimator.r2(y, pred, sample_weight)

    def __copy__(self) -> Model:
        """A new handle on the same file and options: closing or collecting
        either model leaves the other working."""
        return self._reopened_here()

    def __deepcopy__(self, memo: dict[int, Any]) -> Model:
        return self._reopened_here()

    def _reopened_here(self) -> Model:
        if self.path is None:
            raise TypeError("a model opened from bytes cannot be copied: open the bytes again with "
                            "mle_runtime.load_bytes, or save them to a file")
        if self._has_key:
            raise TypeError("an encrypted model cannot be copied (its key is not kept): load it again with key=...")
        m = Model(self._path_param, **self._reopen_options)
        m._sha256 = self._sha256
        return m

    # ------------------------------------------------------------ pickling

    @property
    def sha256(self) -> str:
        """The SHA-256 of the model's file (hex), computed once."""
        if self._sha256 is None:
            if self.path is None:
                raise MLEValueError("a model opened from bytes has no file to hash", 1025, "MLE_ERR_INVALID_VALUE")
            self._sha256 = _file_sha256(self.path)
        return self._sha256

    def __reduce__(self):
        """Pickles by reference: (the path or registry URI, the file's SHA-256,
        the open options), never the weights. Unpickling reopens the file —
        once per process, whatever the number of pickles — and refuses it
        when its SHA-256 differs (MLE_ERR_DIGEST_MISMATCH). The file must be
        visible at the same path where it is unpickled (a shared filesystem,
        or the same image)."""
        if self.path is None:
            raise TypeError("a model opened from bytes does not pickle: save it to a file every process can read, "
                            "or pickle the bytes")
        if self._has_key:
            raise TypeError("an encrypted model does not pickle: its key would travel with it; open it with "
                            "load(path, key=...) in the process that uses it")
        ref = self._uri or os.path.abspath(self.path)
        return (_reopen, (ref, self.sha256, self._reopen_options))

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Frees the model now. Runs in progress on other threads finish;
        later calls raise MLEValueError."""
        h = getattr(self, "_h", None)
        if h is not None and h.value and os.getpid() == self._pid:
            self._lib.mle_model_free(h)
        self._h = None


def _os_error(e: MLEError, path: str) -> MLEError:
    """A failed open's error as Python reports a missing or unreadable file:
    a FileNotFoundError or PermissionError subclass with errno, strerror and
    filename, found by asking the OS about the path. Other errors, and files
    the OS can stat, keep libmle's error (with filename set for I/O ones)."""
    if not isinstance(e, MLEIOError):
        return e
    try:
        os.stat(path)
    except OSError as oe:
        cls = {FileNotFoundError: MLEFileNotFoundError, PermissionError: MLEPermissionError}.get(type(oe))
        if cls is not None:
            e = cls(e.args[0] if e.args else "", e.status, e.status_name)
        e.errno, e.strerror = oe.errno, oe.strerror
    e.filename = path
    return e


def _file_sha256(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# Models reopened from pickles, one per (file digest, options) in this
# process: a worker that unpickles the same model for every task opens it
# once. Keyed by the fork generation too: a child never reuses its parent's.
_reopened: dict[tuple, Model] = {}
_reopened_lock = threading.Lock()


def _reopen(ref: str, sha256: str, options: dict) -> Model:
    key = (_fork_generation, sha256, ref, repr(sorted(options.items())))
    with _reopened_lock:
        m = _reopened.get(key)
        if m is not None and m._h is not None:
            return m
        path = ref
        if ref.startswith("registry://"):
            from . import _registry

            path, record = _registry.resolve(ref)
            if record["sha256"] != sha256:
                raise MLESecurityError(f"{ref} now names a file with SHA-256 {record['sha256']}, but the pickled model "
                                       f"was {sha256}", _tables_gen.MLE_ERR_DIGEST_MISMATCH, "MLE_ERR_DIGEST_MISMATCH")
        try:
            got = _file_sha256(path)
        except OSError as e:
            raise MLEIOError(f"cannot reopen the pickled model {ref} here: {e} (models travel by path: the file must "
                             "be visible to every worker at the same path)", _tables_gen.MLE_ERR_IO_OPEN, "MLE_ERR_IO_OPEN") from None
        if got != sha256:
            raise MLESecurityError(f"{path} has SHA-256 {got}, but the pickled model was {sha256}: the file changed",
                                   _tables_gen.MLE_ERR_DIGEST_MISMATCH, "MLE_ERR_DIGEST_MISMATCH")
        m = Model(path, **options)
        m._sha256, m._uri = sha256, ref if ref.startswith("registry://") else None
        _reopened[key] = m
        return m


# Full dtype names (as the writer spells them in metadata) -> MLE dtype id.
_DTYPE_BY_NAME = {name: mle_id for mle_id, name in DTYPE_NAMES.items() if mle_id in PUBLIC_DTYPES}


def _specs_from_metadata(entries: Any) -> list[TensorSpec] | None:
    """TensorSpecs from a metadata "inputs" or "outputs" list, or None if
    any entry is not plainly a name, a dtype this binding knows by its full
    name and a shape of at most MAX_RANK ints."""
    if type(entries) is not list:
        return None
    specs = []
    for e in entries:
        if type(e) is not dict:
            return None
        name, dt_name, shape = e.get("name"), e.get("dtype"), e.get("shape")
        if type(name) is not str or type(dt_name) is not str or type(shape) is not list or len(shape) > _lib.MAX_RANK:
            return None
        dt = _DTYPE_BY_NAME.get(dt_name)
        if dt is None:
            return None
        for d in shape:
            if type(d) is not int or d < -1:
                return None
        specs.append(TensorSpec(name, PUBLIC_DTYPES[dt], tuple(shape), DTYPE_NAMES[dt]))
    return specs


def _shape(a: np.ndarray) -> tuple[int, ...]:
    """An input's tensor shape (packed strings keep theirs aside)."""
    return a.str_shape if type(a) is Packed else a.shape


def _maybe_not_finite(a: np.ndarray) -> bool:
    """False proves every value of a float array finite; True means look
    closer. A float64 (float32) is NaN or infinite only if its exponent bits
    are all ones, so its top byte (little-endian: the last) is 0x7F or 0xFF:
    for a few rows, two byte searches cost a third of a numpy reduction.
    Larger arrays: a finite sum proves every value finite."""
    size = a.itemsize
    if a.size <= 512 and size in (4, 8) and _LITTLE:
        top = a.tobytes()[size - 1::size]
        return 0x7F in top or 0xFF in top
    return not math.isfinite(np.add.reduce(a, axis=None))


def _as_given(x: Any, name: str) -> np.ndarray:
    """An input for convert=False: its own dtype, C order, little-endian."""
    a = np.ascontiguousarray(x)
    if a.dtype.kind in "UO":
        return pack(a, name)
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
