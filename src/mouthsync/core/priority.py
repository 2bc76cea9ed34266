"""Critical path first: lower the CPU priority of work that can wait.

Why: ``check`` runs face tracking (two ranges, one of them in the calling process) and
three speech timelines (worker processes) at once on a machine with few cores. The
aligned machine transcript is the longest single job (about 8 CPU-s per minute of audio,
one thread) and everything else waits for it; with all jobs at equal priority it got
less than half a core until the others were done, and a core sat idle at the end. Giving
the other jobs a higher nice value lets the transcript have a core to itself while they
share the rest: the same CPU work ends sooner (docs/sync.md, "Speed").

Only our own workers and a thread we start are lowered, never the caller's threads: an
unprivileged process can raise its nice value but not lower it back.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

# Nice value for work off the critical path (0 = normal, 19 = lowest).
BACKGROUND_NICE = 10


def lower_this_thread(nice: int = BACKGROUND_NICE) -> None:
    """Raise the calling thread's nice value by ``nice`` (Linux: per thread; threads and
    processes it starts afterwards inherit it). Silently does nothing where unsupported."""
    if nice <= 0:
        return
    with contextlib.suppress(AttributeError, OSError, PermissionError):
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))


_LOCAL = threading.local()


class Stopped(KeyboardInterrupt):
    """Raised inside background work whose caller was interrupted."""


def raise_if_stopped() -> None:
    """A check point for long loops: raises :class:`Stopped` when this thread runs work
    started by :func:`run_in_background` whose caller has been interrupted. Cheap (one
    attribute read); a no-op everywhere else."""
    stop = getattr(_LOCAL, "stop", None)
    if stop is not None and stop.is_set():
        raise Stopped()


class Work(Future[T]):
    """The future of background work, with the event that asks it to stop."""

    def __init__(self) -> None:
        super().__init__()
        self.stop = threading.Event()


def in_background(fn: Callable[..., T], *args: Any, nice: int = BACKGROUND_NICE, **kwargs: Any) -> Work[T]:
    """Run ``fn(*args, **kwargs)`` in a new daemon thread at lower CPU priority.

    A daemon thread (not a pool's) so that an interrupted caller is never held at exit by
    a pool join; the result or the exception arrives in the future. Prefer
    :func:`run_in_background`, which also stops the work cleanly on an interrupt.
    """
    done: Work[T] = Work()

    def run() -> None:
        _LOCAL.stop = done.stop
        lower_this_thread(nice)
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered to whoever waits on the future
            done.set_exception(exc)

    threading.Thread(target=run, daemon=True, name=f"mouthsync-{getattr(fn, '__name__', 'work')}").start()
    return done


# How long an interrupted caller waits for its background work to reach a check point.
STOP_WAIT_S = 5.0


def run_in_background(fn: Callable[..., T], *args: Any, nice: int = BACKGROUND_NICE, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` run at lower CPU priority in a thread, waited for here.

    On an interrupt while waiting, the work is asked to stop (its loops call
    :func:`raise_if_stopped`) and given :data:`STOP_WAIT_S` to unwind, so native resources
    it holds (a MediaPipe graph) are closed in order: a daemon thread still inside
    MediaPipe when the interpreter exits aborts the process ("terminate called without an
    active exception") instead of exiting with the interrupt's code.
    """
    fut = in_background(fn, *args, nice=nice, **kwargs)
    try:
        return fut.result()
    except KeyboardInterrupt:
        fut.stop.set()
        with contextlib.suppress(BaseException):
            fut.exception(timeout=STOP_WAIT_S)
        raise
