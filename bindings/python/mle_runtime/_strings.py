"""String tensors: numpy arrays of text <-> libmle's packed form.

libmle takes and returns strings packed (docs/FORMAT.md section 7.1): n+1
little-endian uint64 offsets, then the UTF-8 bytes. Python sees numpy
object arrays of str; str (``<U``) arrays are accepted as input too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._errors import MLEDTypeError, MLEValueError

# MLE_MAX_STRING_BYTES: the longest element libmle accepts.
MAX_STRING_BYTES = 1 << 20
_INVALID_STRING = 1 | 6 << 8  # MLE_ERR_INVALID_STRING


class Packed(np.ndarray):
    """Packed strings in a uint8 array; ``str_shape`` is the tensor's shape."""

    str_shape: tuple[int, ...]


def is_text(a: np.ndarray) -> bool:
    """Whether an array holds text: str arrays, or object arrays (checked
    element by element when packed)."""
    return a.dtype.kind in "UO"


def _missing(v: Any) -> str | None:
    if v is None:
        return "None"
    if isinstance(v, float) and v != v:
        return "NaN"
    return "NA" if type(v).__name__ == "NAType" else None


def pack(x: Any, name: str, missing: dict[str, str] | None = None) -> Packed:
    """Packs an array of str; anything else in it is refused, naming the input.
    missing maps "None", "NaN" and "NA" (pandas) to the strings that stand
    for those missing values (the model's mle.missing_text)."""
    a = x if isinstance(x, np.ndarray) else np.asarray(x, dtype=object)
    if a.dtype.kind not in "UO":
        raise MLEDTypeError(f"input {name!r}: got {a.dtype}, the model takes strings (str or object arrays of str)",
                            10, "MLE_ERR_DTYPE")
    items = a.ravel().tolist()
    try:
        joined = "".join(items)
    except TypeError:
        if missing is not None:
            items = [missing.get(_missing(v), v) if _missing(v) else v for v in items]
            if all(isinstance(v, str) for v in items):
                return pack(np.asarray(items, dtype=object).reshape(a.shape), name)
        bad = next(v for v in items if not isinstance(v, str))
        raise MLEDTypeError(f"input {name!r}: holds {type(bad).__name__} {bad!r}; the model takes str elements",
                            10, "MLE_ERR_DTYPE") from None
    if joined.isascii():  # the common case: one encode, lengths in characters are lengths in bytes
        text = joined.encode("ascii")
        lengths = np.fromiter(map(len, items), dtype=np.uint64, count=len(items))
    else:
        try:
            parts = [s.encode("utf-8") for s in items]
        except UnicodeEncodeError as e:  # lone surrogates
            raise MLEValueError(f"input {name!r}: a string is not valid Unicode text ({e.reason})",
                                _INVALID_STRING, "MLE_ERR_INVALID_STRING") from None
        text = b"".join(parts)
        lengths = np.fromiter(map(len, parts), dtype=np.uint64, count=len(parts))
    if lengths.size and int(lengths.max()) > MAX_STRING_BYTES:
        i = int(lengths.argmax())
        raise MLEValueError(f"input {name!r}: string {i} is {int(lengths[i])} bytes of UTF-8; the limit is "
                            f"{MAX_STRING_BYTES}", _INVALID_STRING, "MLE_ERR_INVALID_STRING")
    offsets = np.zeros(len(items) + 1, dtype="<u8")
    np.cumsum(lengths, out=offsets[1:])
    buf = np.empty(offsets.nbytes + len(text), dtype=np.uint8)
    buf[:offsets.nbytes] = offsets.view(np.uint8)
    buf[offsets.nbytes:] = np.frombuffer(text, dtype=np.uint8)
    p = buf.view(Packed)
    p.str_shape = a.shape
    return p


def unpack(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of str from packed bytes libmle wrote."""
    n = int(np.prod(shape, dtype=np.int64))
    head = 8 * (n + 1)
    offsets = np.frombuffer(data, dtype="<u8", count=n + 1).tolist()
    text = data[head:]
    out = np.empty(n, dtype=object)
    out[:] = [text[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]
    return out.reshape(shape)
