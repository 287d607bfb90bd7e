"""Exception classes, one per primary MLE status code (see include/mle.h)."""

from __future__ import annotations


class MLEError(Exception):
    """Base class of every MLE error.

    ``status`` is the extended status code (e.g. ``MLE_ERR_FORMAT_TRUNCATED``),
    ``status_name`` its name, and the message says what failed and where.
    """

    def __init__(self, message: str, status: int = 0, status_name: str = ""):
        super().__init__(message)
        self.status = status
        self.status_name = status_name

    def __str__(self) -> str:
        # The message as given: OSError's own str would show errno and
        # strerror instead, once they are set (MLEFileNotFoundError).
        msg = self.args[0] if len(self.args) == 1 and isinstance(self.args[0], str) else super().__str__()
        return f"{self.status_name}: {msg}" if self.status_name else msg


class MLEValueError(MLEError, ValueError):
    """A bad argument or input value (NaN where the model has no imputer, ...)."""


class MLEIOError(MLEError, OSError):
    """The file could not be read or written, or a mapped file was truncated."""


class MLEFileNotFoundError(MLEIOError, FileNotFoundError):
    """The file does not exist: errno is ENOENT and filename names it."""


class MLEPermissionError(MLEIOError, PermissionError):
    """The file cannot be read for lack of permission (errno EACCES or EPERM)."""


class MLEFormatError(MLEError, ValueError):
    """The file is not a valid .mle file (structure, graph or metadata)."""


class MLEChecksumError(MLEFormatError):
    """A CRC does not match: the file is damaged."""


class MLEUnsupportedError(MLEError, NotImplementedError):
    """Valid, but not supported: an estimator, a torch op, an encoding, a device."""


class MLEShapeError(MLEError, ValueError):
    """Input shapes or feature names do not fit the model (says expected vs got)."""


class MLEDTypeError(MLEError, TypeError):
    """An input cannot be converted to the dtype the model takes."""


class MLEForkError(MLEError, RuntimeError):
    """libmle was used in a child forked from a process that had loaded it."""


class MLEBusyError(MLEError, RuntimeError):
    """A session was used from two threads at once."""


class MLEMemoryError(MLEValueError, MemoryError):
    """A run needs more memory than ``max_memory`` allows
    (MLE_ERR_NO_MEMORY_LIMIT), or the operating system refused it
    (MLE_ERR_NO_MEMORY_SYSTEM). Still an MLEValueError, as before it existed."""


class MLECancelledError(MLEError):
    """A run was stopped before it finished (MLE_ERR_CANCELLED) and produced
    no outputs. Ctrl-C raises KeyboardInterrupt instead; see MLETimeoutError."""


class MLETimeoutError(MLECancelledError, TimeoutError):
    """The run took longer than its ``timeout`` (MLE_ERR_CANCELLED_DEADLINE)."""


class MLESecurityError(MLEError, PermissionError):
    """A signature, key, decryption or access-policy check refused the file
    (MLE_ERR_SECURITY and its extended codes: a changed byte, an untrusted or
    missing signature, a wrong key, tampered ciphertext, a policy)."""


class MLEInternalError(MLEError, RuntimeError):
    """A bug in MLE; please report it with the message."""


# The tables below come from cmd/mle-gentables/tables.go (`make gen`). A bad
# handle (MLE_ERR_BAD_HANDLE) is a closed model or session: an MLEValueError.
# BEGIN GENERATED: exception classes (cmd/mle-gentables) - do not edit
# Primary status code -> exception class.
_BY_PRIMARY = {
    1: MLEValueError,        # MLE_ERR_INVALID_ARGUMENT
    2: MLEValueError,        # MLE_ERR_BAD_HANDLE
    3: MLEIOError,           # MLE_ERR_IO
    4: MLEFormatError,       # MLE_ERR_FORMAT
    5: MLEChecksumError,     # MLE_ERR_CHECKSUM
    6: MLEFormatError,       # MLE_ERR_GRAPH
    7: MLEFormatError,       # MLE_ERR_METADATA
    8: MLEUnsupportedError,  # MLE_ERR_UNSUPPORTED
    9: MLEShapeError,        # MLE_ERR_SHAPE
    10: MLEDTypeError,       # MLE_ERR_DTYPE
    11: MLEValueError,       # MLE_ERR_BUFFER_TOO_SMALL
    12: MLEForkError,        # MLE_ERR_FORKED
    13: MLEMemoryError,      # MLE_ERR_NO_MEMORY
    14: MLEInternalError,    # MLE_ERR_INTERNAL
    15: MLEBusyError,        # MLE_ERR_BUSY
    16: MLECancelledError,   # MLE_ERR_CANCELLED
    17: MLESecurityError,    # MLE_ERR_SECURITY
}

# Extended codes whose class is more specific than their primary's.
_BY_STATUS = {
    272: MLETimeoutError,    # MLE_ERR_CANCELLED_DEADLINE
}
# END GENERATED: exception classes

FORK_GUIDANCE = (
    " A child forked from a process that has loaded libmle cannot use it at all: the Go runtime inside does "
    "not survive fork(), and opening the model again in the child does not help. Start workers with the "
    "'spawn' or 'forkserver' start method, or use mle_runtime only in the workers (importing it in the parent "
    "is fine: libmle loads at first use). See docs/python.md."
)


def error_for(status: int, name: str, message: str) -> MLEError:
    """Returns the exception for a status code."""
    cls = _BY_STATUS.get(status) or _BY_PRIMARY.get(status & 0xFF, MLEError)
    if cls is MLEForkError and "docs/python.md" not in message:
        message += " See docs/python.md."  # libmle's own message already says what to do
    return cls(message, status, name)
