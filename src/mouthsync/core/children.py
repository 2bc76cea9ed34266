"""Worker processes never outlive an interrupted caller.

Why: ``check`` starts speech-timeline and tracking workers as plain subprocesses. A
Ctrl-C in a terminal reaches the whole process group, but an interrupt sent to the main
process alone (a job runner, an editor plug-in, ``kill -INT``) left them computing for
seconds to minutes with nobody to read the result. Every worker is adopted here and
terminated when the interpreter exits, however it exits short of being killed.
"""

from __future__ import annotations

import atexit
import contextlib
import subprocess
import threading
import weakref

_LIVE: weakref.WeakSet[subprocess.Popen[str]] = weakref.WeakSet()
_LOCK = threading.Lock()
_CLOSING = threading.Event()  # set once the interpreter has begun to exit


def closing() -> bool:
    """True once exit has begun: a background thread must not start a worker (or make its
    temp folder) then, since nothing would be left to stop or remove it."""
    return _CLOSING.is_set()


def adopt(proc: subprocess.Popen[str]) -> subprocess.Popen[str]:
    """Register ``proc`` to be terminated if it is still running at exit; returns it."""
    with _LOCK:
        _LIVE.add(proc)
    return proc


def reap(timeout_s: float = 1.0) -> int:
    """Terminate adopted processes still running (then kill any that linger); returns how
    many were running."""
    with _LOCK:
        running = [p for p in _LIVE if p.poll() is None]
    for p in running:
        with contextlib.suppress(OSError):
            p.terminate()
    for p in running:
        try:
            p.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                p.kill()
    return len(running)


def _at_exit() -> None:
    _CLOSING.set()
    reap()


atexit.register(_at_exit)


def die_with_parent() -> None:
    """Called first in a worker process: on Linux, have the kernel terminate it when its
    parent dies. ``reap`` cannot run when the parent is killed outright (SIGKILL, the OOM
    killer), and a worker left behind would compute for nobody. Elsewhere nothing happens.

    The kernel follows the parent *thread*, not the process: a worker must be started from
    a thread that outlives it (the main thread, or a thread that waits for it), or it is
    terminated when that thread returns (tests/core/test_children.py shows it)."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
