"""ctypes bindings to libmle, loaded lazily on first use.

Loading at first use, not at import, is what makes "import in the parent,
fork workers, use in the workers" work: the Go runtime inside libmle does not
survive fork(), so a process must load the library itself. A child forked
after the library was loaded cannot use it at all: every call answers
MLE_ERR_FORKED (MLEForkError).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

import ctypes
import os
import threading
from pathlib import Path

from ._errors import MLEError, error_for
from ._tables_gen import ABI_VERSION, MLE_ERR_CANCELLED, MLE_OK  # noqa: F401 (_lib.MLE_ERR_CANCELLED is read elsewhere)

MAX_RANK = 8


class OpenOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("verify", ctypes.c_int32),
        ("read_all", ctypes.c_int32),
        ("threads", ctypes.c_int32),
        ("device", ctypes.c_int32),
        ("max_arena_bytes", ctypes.c_int64),
    ]


class IoInfo(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_int32),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.c_int64 * MAX_RANK),
    ]


class Tensor(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_int32),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.c_int64 * MAX_RANK),
        ("data", ctypes.c_void_p),
        ("nbytes", ctypes.c_size_t),
    ]


class RunOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("timeout_us", ctypes.c_int64),
        ("cancel", ctypes.POINTER(ctypes.c_int32)),
    ]


class ModelOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("max_sessions", ctypes.c_int32),
        ("spin_us", ctypes.c_int32),
    ]


class SessionOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("max_arena_bytes", ctypes.c_int64),
        ("max_cached_plans", ctypes.c_int32),
    ]


class TrustOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("key", ctypes.c_void_p),
        ("key_len", ctypes.c_size_t),
        ("trusted_keys", ctypes.POINTER(ctypes.c_void_p)),
        ("trusted_key_lens", ctypes.POINTER(ctypes.c_size_t)),
        ("n_trusted_keys", ctypes.c_size_t),
        ("require_signature", ctypes.c_int32),
    ]


class WriteOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("compress", ctypes.c_char_p),
        ("level", ctypes.c_int32),
        ("quantize", ctypes.c_char_p),
        ("properties_json", ctypes.c_char_p),
        ("sign_key", ctypes.c_void_p),
        ("sign_key_len", ctypes.c_size_t),
        ("encrypt_key", ctypes.c_void_p),
        ("encrypt_key_len", ctypes.c_size_t),
        ("flags", ctypes.c_uint32),
    ]


_c = ctypes
_P = ctypes.c_void_p
_ERR = ctypes.POINTER(ctypes.c_void_p)  # mle_error**

# name -> (restype, argtypes)
_SIGNATURES = {
    "mle_abi_version": (_c.c_uint32, []),
    "mle_version": (_c.c_char_p, []),
    "mle_status_string": (_c.c_char_p, [_c.c_uint32]),
    "mle_error_status": (_c.c_uint32, [_P]),
    "mle_error_message": (_c.c_char_p, [_P]),
    "mle_error_free": (None, [_P]),
    "mle_free": (None, [_P]),
    "mle_default_open_options": (OpenOptions, []),
    "mle_model_open": (_c.c_uint32, [_c.c_char_p, _c.POINTER(OpenOptions), _c.POINTER(_P), _ERR]),
    "mle_model_open_memory": (_c.c_uint32, [_P, _c.c_size_t, _c.POINTER(OpenOptions), _c.POINTER(_P), _ERR]),
    "mle_model_free": (_c.c_uint32, [_P]),
    "mle_model_metadata": (_c.c_uint32, [_P, _c.c_char_p, _c.c_size_t, _c.POINTER(_c.c_size_t), _ERR]),
    "mle_model_input_count": (_c.c_uint32, [_P, _c.POINTER(_c.c_size_t)]),
    "mle_model_output_count": (_c.c_uint32, [_P, _c.POINTER(_c.c_size_t)]),
    "mle_model_input_info": (_c.c_uint32, [_P, _c.c_size_t, _c.POINTER(IoInfo), _ERR]),
    "mle_model_output_info": (_c.c_uint32, [_P, _c.c_size_t, _c.POINTER(IoInfo), _ERR]),
    "mle_session_new": (_c.c_uint32, [_P, _c.POINTER(_P), _ERR]),
    "mle_session_free": (_c.c_uint32, [_P]),
    "mle_session_run": (_c.c_uint32, [_P, _c.POINTER(Tensor), _c.c_size_t, _c.POINTER(Tensor), _c.c_size_t, _ERR]),
    "mle_default_run_options": (RunOptions, []),
    "mle_session_run_opts": (_c.c_uint32, [_P, _c.POINTER(Tensor), _c.c_size_t, _c.POINTER(Tensor), _c.c_size_t,
                                           _c.POINTER(RunOptions), _ERR]),
    "mle_default_model_options": (ModelOptions, []),
    "mle_model_set_options": (_c.c_uint32, [_P, _c.POINTER(ModelOptions), _ERR]),
    "mle_model_run": (_c.c_uint32, [_P, _c.POINTER(Tensor), _c.c_size_t, _c.POINTER(Tensor), _c.c_size_t,
                                    _c.POINTER(RunOptions), _ERR]),
    "mle_default_session_options": (SessionOptions, []),
    "mle_session_new_opts": (_c.c_uint32, [_P, _c.POINTER(SessionOptions), _c.POINTER(_P), _ERR]),
    "mle_builder_new": (_c.c_uint32, [_c.POINTER(_P), _ERR]),
    "mle_builder_free": (_c.c_uint32, [_P]),
    "mle_builder_set_metadata_json": (_c.c_uint32, [_P, _c.c_char_p, _ERR]),
    "mle_builder_add_input": (_c.c_uint32, [_P, _c.c_char_p, _c.c_int32, _c.POINTER(_c.c_int64), _c.c_int32, _ERR]),
    "mle_builder_add_output": (_c.c_uint32, [_P, _c.c_char_p, _ERR]),
    "mle_builder_add_tensor": (_c.c_uint32, [_P, _c.c_char_p, _c.c_int32, _c.POINTER(_c.c_int64), _c.c_int32, _P, _c.c_size_t, _ERR]),
    "mle_builder_add_node": (_c.c_uint32, [_P, _c.c_char_p, _c.c_char_p, _c.POINTER(_c.c_char_p), _c.c_size_t,
                                           _c.POINTER(_c.c_char_p), _c.c_size_t, _c.POINTER(_c.c_size_t), _ERR]),
    "mle_builder_set_attr_int": (_c.c_uint32, [_P, _c.c_size_t, _c.c_char_p, _c.c_int64, _ERR]),
    "mle_builder_set_attr_float": (_c.c_uint32, [_P, _c.c_size_t, _c.c_char_p, _c.c_double, _ERR]),
    "mle_builder_set_attr_string": (_c.c_uint32, [_P, _c.c_size_t, _c.c_char_p, _c.c_char_p, _ERR]),
    "mle_builder_set_attr_ints": (_c.c_uint32, [_P, _c.c_size_t, _c.c_char_p, _c.POINTER(_c.c_int64), _c.c_size_t, _ERR]),
    "mle_builder_set_attr_floats": (_c.c_uint32, [_P, _c.c_size_t, _c.c_char_p, _c.POINTER(_c.c_double), _c.c_size_t, _ERR]),
    "mle_builder_save": (_c.c_uint32, [_P, _c.c_char_p, _c.POINTER(_c.c_uint64), _ERR]),
    "mle_builder_save_flags": (_c.c_uint32, [_P, _c.c_char_p, _c.c_uint32, _c.POINTER(_c.c_uint64), _ERR]),
    "mle_builder_serialize": (_c.c_uint32, [_P, _c.POINTER(_P), _c.POINTER(_c.c_size_t), _ERR]),
    # trust: signing, encryption, compression
    "mle_default_trust_options": (TrustOptions, []),
    "mle_model_open_with": (_c.c_uint32, [_c.c_char_p, _c.POINTER(OpenOptions), _c.POINTER(TrustOptions),
                                          _c.POINTER(_P), _ERR]),
    "mle_model_open_memory_with": (_c.c_uint32, [_P, _c.c_size_t, _c.POINTER(OpenOptions), _c.POINTER(TrustOptions),
                                                 _c.POINTER(_P), _ERR]),
    "mle_default_write_options": (WriteOptions, []),
    "mle_builder_save_with": (_c.c_uint32, [_P, _c.c_char_p, _c.POINTER(WriteOptions), _c.POINTER(_c.c_uint64),
                                            _ERR]),
    "mle_convert_memory": (_c.c_uint32, [_P, _c.c_size_t, _c.POINTER(TrustOptions), _c.POINTER(WriteOptions),
                                         _c.POINTER(_P), _c.POINTER(_c.c_size_t), _ERR]),
    "mle_convert_file": (_c.c_uint32, [_c.c_char_p, _c.c_char_p, _c.POINTER(TrustOptions), _c.POINTER(WriteOptions),
                                       _ERR]),
    "mle_sign_file": (_c.c_uint32, [_c.c_char_p, _c.c_char_p, _P, _c.c_size_t, _ERR]),
    "mle_encrypt_file": (_c.c_uint32, [_c.c_char_p, _c.c_char_p, _P, _c.c_size_t, _ERR]),
    "mle_decrypt_file": (_c.c_uint32, [_c.c_char_p, _c.c_char_p, _P, _c.c_size_t, _ERR]),
    "mle_keygen": (_c.c_uint32, [_c.c_char_p, _ERR]),
    "mle_registry": (_c.c_uint32, [_c.c_char_p, _c.POINTER(_c.c_char_p), _ERR]),
}

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_loaded_pid: int | None = None

# mle_model_run without argtypes, for the run path: ctypes then passes the
# prepared ctypes objects as they are instead of converting each argument
# (about 1 us less per call). Callers pass only ctypes objects: c_void_p
# handles, c_size_t counts, Tensor arrays, byref() options and errors.
model_run_raw = None


def library_path() -> Path:
    """Where libmle is loaded from: $MLE_LIBRARY, else the copy inside this
    package (built by `pip install`), else the repository's build/ (development)."""
    env = os.environ.get("MLE_LIBRARY")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "libmle.so", here.parents[2] / "build" / "libmle.so"):
        if candidate.exists():
            return candidate
    raise MLEError(
        "libmle.so not found: install the package with `pip install ./bindings/python` (it builds libmle with Go), "
        "or set MLE_LIBRARY to its path"
    )


def get() -> ctypes.CDLL:
    """Returns the loaded library, loading it on first use."""
    global _lib, _loaded_pid, model_run_raw
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            path = library_path()
            try:
                lib = ctypes.CDLL(str(path))
            except OSError as e:
                raise MLEError(f"cannot load {path}: {e}") from e
            for name, (restype, argtypes) in _SIGNATURES.items():
                try:
                    fn = getattr(lib, name)
                except AttributeError:  # an older libmle: say so rather than fail at first use
                    raise MLEError(f"{path} has no {name}: it is older than this mle_runtime; rebuild it") from None
                fn.restype, fn.argtypes = restype, argtypes
            abi = lib.mle_abi_version()
            if abi != ABI_VERSION:
                raise MLEError(f"{path} has ABI version {abi}; this mle_runtime needs {ABI_VERSION}")
            model_run_raw = lib._FuncPtr(("mle_model_run", lib))
            model_run_raw.restype = ctypes.c_uint32
            _loaded_pid = os.getpid()
            _lib = lib
    return _lib


def loaded_in_this_process() -> bool:
    """False in a child forked after the library was loaded."""
    return _lib is not None and _loaded_pid == os.getpid()


class Closeable:
    """Context-manager and finalizer plumbing for objects owning a handle:
    subclasses implement close(), which must be idempotent."""

    def close(self) -> None:
        raise NotImplementedError

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass  # finalizers must not raise (interpreter shutdown, a fork child)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check(status: int, err: ctypes.c_void_p | None = None) -> None:
    """Raises the exception for a failed call, freeing its mle_error."""
    if status != MLE_OK:
        raise error(status, err)


def error(status: int, err: ctypes.c_void_p | None = None) -> MLEError:
    """The exception for a failed call; frees its mle_error."""
    lib = get()
    message = ""
    if err is not None and err.value:
        message = lib.mle_error_message(err).decode("utf-8", "replace")
        lib.mle_error_free(err)
        err.value = None
    name = lib.mle_status_string(status).decode()
    return error_for(status, name, message or name)
