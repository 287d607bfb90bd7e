"""The Go builder (the one writer of .mle) through the C API."""

from __future__ import annotations

import ctypes
import json
import os
from typing import Any, Iterable, Sequence

import numpy as np

from . import _lib
from ._errors import error_for
from ._strings import pack
from ._tables_gen import DTYPE_BFLOAT16, DTYPE_NAMES, DTYPE_STRING, NUMPY_DTYPES  # noqa: F401 (_model reads DTYPE_NAMES here)

# mle_builder_save_flags: skip the fsyncs (include/mle.h MLE_SAVE_NO_SYNC).
_SAVE_NO_SYNC = 1

# bfloat16 bits as numpy holds them: numpy has no bfloat16, so a one-field
# record of uint16 marks them (never confused with a real integer input).
BF16_BITS = np.dtype([("bfloat16", "<u2")])

# numpy dtype -> MLE dtype id (ONNX TensorProto ids). The ids, names
# (DTYPE_NAMES) and numpy types come from cmd/mle-gentables/tables.go.
DTYPE_IDS = {
    **{np.dtype(name): mle_id for mle_id, name in NUMPY_DTYPES.items()},
    BF16_BITS: DTYPE_BFLOAT16,
}
# MLE dtype id -> numpy dtype of its elements in memory.
DTYPES = {v: k for k, v in DTYPE_IDS.items()}
# Strings are object arrays of str in Python (packed for libmle: _strings).
STRING = np.dtype(object)
# MLE dtype id -> the numpy dtype callers see (bfloat16 widens exactly to float32).
PUBLIC_DTYPES = {**DTYPES, DTYPE_BFLOAT16: np.dtype(np.float32), DTYPE_STRING: STRING}


def is_bfloat16(dt: np.dtype) -> bool:
    """Our bit marker, or a bfloat16 from ml_dtypes (as used by JAX and torch interop)."""
    return dt == BF16_BITS or (dt.kind == "V" and dt.itemsize == 2 and dt.name == "bfloat16")


def dtype_id(dt: Any) -> int:
    """The MLE id of a numpy dtype (or of the name "bfloat16")."""
    if isinstance(dt, str) and dt == "bfloat16":
        return 16
    try:
        d = np.dtype(dt)
        if d.kind in "UO":
            return DTYPE_STRING
        return DTYPE_IDS[d]
    except (KeyError, TypeError):
        if isinstance(dt, np.dtype) and is_bfloat16(dt):
            return 16
        raise error_for(8 | 3 << 8, "MLE_ERR_UNSUPPORTED_FEATURE", f"dtype {dt} has no MLE equivalent") from None


def bfloat16_bits(x: np.ndarray) -> np.ndarray:
    """Rounds numbers to bfloat16 (nearest, ties to even); returns C-contiguous
    BF16_BITS. Each value is rounded once, also from float64 and integers."""
    if is_bfloat16(x.dtype):
        return np.ascontiguousarray(x).view(BF16_BITS)
    with np.errstate(over="ignore", invalid="ignore"):
        f = np.array(x, dtype=np.float32, order="C")  # overflow gives inf, as bfloat16 rounding would
    u = f.view(np.uint32)
    if x.dtype != np.float32 and x.size:
        # float32 rounding then bfloat16 rounding could round twice: where the
        # first landed exactly on a bfloat16 midpoint, nudge it off the
        # midpoint towards the exact value so the second rounding decides right.
        wide = np.asarray(x, dtype=np.float64)
        tie = ((u & 0xFFFF) == 0x8000) & (f != wide) & ~np.isnan(f)
        if tie.any():
            up = np.abs(wide) > np.abs(f)
            u[tie & up] += 1
            u[tie & ~up] -= 1
    bits = ((u + (0x7FFF + ((u >> 16) & 1))) >> 16).astype(np.uint16)
    nan = np.isnan(f)
    if nan.any():  # keep NaN a NaN (rounding could carry its payload into inf): quiet, sign kept
        bits[nan] = (u[nan] >> 16).astype(np.uint16) | 0x0040
    return bits.view(BF16_BITS)


def float32_from_bfloat16(bits: np.ndarray) -> np.ndarray:
    """Widens bfloat16 bits to float32 (exact)."""
    return (bits.view(np.uint16).astype(np.uint32) << 16).view(np.float32)


def _cstr(s: str | None) -> bytes | None:
    return None if s is None else s.encode("utf-8")


class Builder(_lib.Closeable):
    """Assembles a model graph and writes it as an .mle file.

    Names are strings; tensors are numpy arrays; ops use ONNX names and
    attribute names (see docs/FORMAT.md). Validation happens in save().
    """

    def __init__(self) -> None:
        lib = _lib.get()
        self._lib = lib
        h, err = ctypes.c_void_p(), ctypes.c_void_p()
        _lib.check(lib.mle_builder_new(ctypes.byref(h), ctypes.byref(err)), err)
        self._h = h

    def _call(self, fn: str, *args: Any) -> None:
        err = ctypes.c_void_p()
        _lib.check(getattr(self._lib, fn)(self._h, *args, ctypes.byref(err)), err)

    def set_metadata(self, meta: dict) -> None:
        """Sets name, description, version, created, producer, properties."""
        self._call("mle_builder_set_metadata_json", json.dumps(meta).encode())

    @staticmethod
    def _shape(shape: Sequence[int]) -> tuple[Any, int]:
        arr = (ctypes.c_int64 * max(len(shape), 1))(*[int(d) for d in shape])
        return arr, len(shape)

    def add_input(self, name: str, dtype: Any, shape: Sequence[int]) -> None:
        """Declares an input; -1 in shape marks a dimension sized at run time."""
        arr, rank = self._shape(shape)
        self._call("mle_builder_add_input", _cstr(name), dtype_id(dtype), arr, rank)

    def add_output(self, name: str) -> None:
        """Declares an output; its dtype and shape are inferred."""
        self._call("mle_builder_add_output", _cstr(name))

    def add_tensor(self, name: str, value: np.ndarray) -> None:
        """Stores a constant tensor (copied); a 0-d array stays a scalar."""
        a = np.ascontiguousarray(value) if np.ndim(value) else np.asarray(value)
        if a.dtype.kind in "UO":
            p = pack(a, name)
            arr, rank = self._shape(a.shape)
            self._call("mle_builder_add_tensor", _cstr(name), DTYPE_STRING, arr, rank,
                       ctypes.c_void_p(p.ctypes.data), p.nbytes)
            return
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        arr, rank = self._shape(a.shape)
        self._call("mle_builder_add_tensor", _cstr(name), dtype_id(a.dtype), arr, rank,
                   ctypes.c_void_p(a.ctypes.data), a.nbytes)

    def add_node(self, op: str, inputs: Sequence[str | None], outputs: Sequence[str | None],
                 name: str | None = None, **attrs: Any) -> int:
        """Appends a node; attrs are typed from their Python values (int,
        float, str, or lists of ints/floats). Returns the node's index."""
        ins = (ctypes.c_char_p * max(len(inputs), 1))(*[_cstr(i) for i in inputs])
        outs = (ctypes.c_char_p * max(len(outputs), 1))(*[_cstr(o) for o in outputs])
        index = ctypes.c_size_t()
        self._call("mle_builder_add_node", _cstr(op), _cstr(name), ins, len(inputs), outs, len(outputs),
                   ctypes.byref(index))
        for key, value in attrs.items():
            self.set_attr(index.value, key, value)
        return index.value

    def set_attr(self, node: int, key: str, value: Any) -> None:
        """Sets one attribute of a node."""
        k = _cstr(key)
        if isinstance(value, (bool, int, np.integer)):
            self._call("mle_builder_set_attr_int", node, k, int(value))
        elif isinstance(value, (float, np.floating)):
            self._call("mle_builder_set_attr_float", node, k, float(value))
        elif isinstance(value, str):
            self._call("mle_builder_set_attr_string", node, k, _cstr(value))
        elif isinstance(value, Iterable):
            vals = list(value)
            if all(isinstance(v, (bool, int, np.integer)) for v in vals):
                arr = (ctypes.c_int64 * max(len(vals), 1))(*[int(v) for v in vals])
                self._call("mle_builder_set_attr_ints", node, k, arr, len(vals))
            else:
                arr = (ctypes.c_double * max(len(vals), 1))(*[float(v) for v in vals])
                self._call("mle_builder_set_attr_floats", node, k, arr, len(vals))
        else:
            raise TypeError(f"attribute {key}: unsupported value {value!r}")

    def save(self, path: str | os.PathLike, *, durable: bool = True) -> int:
        """Validates and writes the file atomically; returns its size.
        durable=False skips the fsyncs (the file still appears whole or not
        at all; a power loss soon after may lose it)."""
        n = ctypes.c_uint64()
        p = os.fsencode(os.fspath(path))
        if durable:
            self._call("mle_builder_save", p, ctypes.byref(n))
        else:
            self._call("mle_builder_save_flags", p, _SAVE_NO_SYNC, ctypes.byref(n))
        return n.value

    def serialize(self) -> bytes:
        """Validates and returns the file's bytes."""
        data, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._call("mle_builder_serialize", ctypes.byref(data), ctypes.byref(n))
        try:
            return ctypes.string_at(data, n.value)
        finally:
            self._lib.mle_free(data)

    def close(self) -> None:
        if self._h is not None and self._h.value and _lib.loaded_in_this_process():
            self._lib.mle_builder_free(self._h)
        self._h = None
