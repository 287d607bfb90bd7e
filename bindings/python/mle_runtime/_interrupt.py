"""Ctrl-C for runs on the main thread.

A run is one long ctypes call, and Python runs signal handlers only between
bytecodes, so a SIGINT would wait for the run to end. Instead, Python's C
signal handler writes the signal number to the wakeup fd (signal.set_wakeup_fd);
a watcher thread blocked on that pipe sets the cancel flag of the run the main
thread is executing, libmle stops within about a millisecond, and the run path
calls PyErr_CheckSignals so the handler (KeyboardInterrupt) runs at once.

Only installed when no one else owns the wakeup fd (asyncio and others do):
then runs are not interruptible, as before.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading

# The main thread's cancel flag, in the mle_run_options of its runs. Only one
# run executes on a thread at a time, and each run clears the flag as it
# starts, so the watcher can set it whenever a SIGINT arrives: if no run is
# executing, the next one clears it (the handler has run by then; a watcher
# that comes late only makes that run start over, see Model._failed).
main_flag = ctypes.c_int32(0)

_lock = threading.Lock()
_pipe: tuple[int, int] | None = None  # (read end, write end) while installed
_SIGINT = int(signal.SIGINT)


def _watch(fd: int) -> None:
    while True:
        try:
            data = os.read(fd, 512)
        except OSError:
            return  # closed (after fork in a child)
        if not data:
            return
        if _SIGINT in data:
            main_flag.value = 1


def install() -> bool:
    """Installs the wakeup fd and watcher if no one owns the fd; call on the
    main thread. Returns whether runs on the main thread are interruptible."""
    global _pipe
    with _lock:
        if _pipe is not None:  # still ours? asyncio may have taken the fd, or dropped it since
            try:
                previous = signal.set_wakeup_fd(_pipe[1], warn_on_full_buffer=False)
            except (ValueError, OSError):
                return False
            if previous in (-1, _pipe[1]):
                return True
            signal.set_wakeup_fd(previous)
            return False
        r, w = os.pipe()
        os.set_blocking(w, False)  # the C handler must never block
        try:
            previous = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        except (ValueError, OSError):  # not the main thread, or a sub-interpreter
            os.close(r)
            os.close(w)
            return False
        if previous != -1:  # someone else's: give it back and stay out of the way
            signal.set_wakeup_fd(previous)
            os.close(r)
            os.close(w)
            return False
        _pipe = (r, w)
        threading.Thread(target=_watch, args=(r,), name="mle_runtime-sigint", daemon=True).start()
        return True


def _after_fork_in_child() -> None:
    # The watcher thread did not survive the fork: nobody would drain the pipe.
    global _pipe, _lock
    _lock = threading.Lock()  # another thread may have held it at fork time
    if _pipe is None:
        return
    r, w = _pipe
    _pipe = None
    try:
        previous = signal.set_wakeup_fd(-1)
        if previous != w:
            signal.set_wakeup_fd(previous)
    except (ValueError, OSError):
        pass
    os.close(r)
    os.close(w)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

check_signals = ctypes.pythonapi.PyErr_CheckSignals
