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


class Lookup:
    """Strings an output is expected to hold (a classifier's classes),
    hashed once, as unpack hashes an output's elements."""

    def __init__(self, values: np.ndarray) -> None:
        packed = pack(values, "classes").tobytes()
        m = len(values)
        offsets = np.frombuffer(packed, dtype="<u8", count=m + 1).astype(np.intp)
        self.values, self.lengths = values, np.diff(offsets)
        self.width = max(int(self.lengths.max(initial=0)), 1)
        self.keys, h = _hashed(packed[8 * (m + 1):], offsets[:-1], self.lengths, self.width)
        self.order = np.argsort(h, kind="stable")
        self.hashes = h[self.order]

    def take(self, text: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray | None:
        """values[i] for each element equal to values[i]; None unless all are."""
        keys, h = _hashed(text, starts, lengths, self.width)
        at = self.order[np.minimum(np.searchsorted(self.hashes, h), len(self.order) - 1)]
        if np.array_equal(self.lengths[at], lengths) and np.array_equal(self.keys[at], keys):
            return self.values[at]
        return None


def unpack(data: bytes, shape: tuple[int, ...], like: Lookup | None = None) -> np.ndarray:
    """An object array of str from packed bytes libmle wrote.

    Outputs are mostly labels: a few short strings repeated. Short elements
    are read as 8-byte words (bytes past their end masked off) and hashed
    with their length; with like (a Lookup of the strings expected: a
    classifier's classes) each hash is looked up among like's and the
    result taken from its values, in their dtype; otherwise the distinct hashes are found with
    np.unique and one element of each decoded. Either way equal hashes are
    checked to hold equal bytes, so 10,000 labels cost a few numpy passes,
    not 10,000 Python decodes."""
    n = int(np.prod(shape, dtype=np.int64))
    out = np.empty(n, dtype=object)
    raw = data[8 * (n + 1):]
    if n < _HASHED_MIN:  # a few elements: decoded one by one, before any numpy pass
        out[:] = _decode_each(raw, np.frombuffer(data, dtype="<u8", count=n + 1).tolist())
        return out.reshape(shape)
    offsets = np.frombuffer(data, dtype="<u8", count=n + 1).astype(np.intp)
    starts, lengths = offsets[:-1], np.diff(offsets)
    width = int(lengths.max())
    if like is not None and width <= like.width:
        taken = like.take(raw, starts, lengths)
        if taken is not None:
            return taken.reshape(shape)
    if width <= _HASHED_WIDTH:
        keys, h = _hashed(raw, starts, lengths, width)
        _, first, where = np.unique(h, return_index=True, return_inverse=True)
        where = where.ravel()
        rep = first[where]  # the element decoded for each
        if np.array_equal(lengths[rep], lengths) and np.array_equal(keys[rep], keys):
            decoded = np.empty(len(first), dtype=object)
            decoded[:] = [raw[offsets[i]:offsets[i + 1]].decode("utf-8") for i in first.tolist()]
            return decoded[where].reshape(shape)
    out[:] = _decode_each(raw, offsets.tolist())
    return out.reshape(shape)


def _decode_each(raw: bytes, bounds: list[int]) -> list[str]:
    return [raw[bounds[i]:bounds[i + 1]].decode("utf-8") for i in range(len(bounds) - 1)]


def _hashed(text: bytes, starts: np.ndarray, lengths: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each element's bytes as ceil(width/8) little-endian words (bytes past
    its end zeroed), and a hash of those words and its length."""
    words = -(-max(width, 1) // 8)
    padded = np.frombuffer(text + bytes(8 * words + 8), dtype=np.uint8)
    # A uint64 at every byte offset: one gather reads an element's next 8 bytes.
    at = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    keys = np.empty((len(starts), words), dtype=np.uint64)
    h = lengths.astype(np.uint64)
    for j in range(words):
        left = np.clip(lengths - 8 * j, 0, 8)
        keys[:, j] = at[starts + 8 * j] & _MASKS[left]
        h = h * np.uint64(1099511628211) ^ keys[:, j]
    return keys, h


# _MASKS[k] keeps the low k bytes of a little-endian uint64.
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
# unpack hashes tensors of at least _HASHED_MIN elements of at most
# _HASHED_WIDTH bytes; a few elements are cheaper decoded one by one.
_HASHED_MIN = 64
_HASHED_WIDTH = 64
