"""Silence native libraries that write log lines straight to file descriptor 2.

MediaPipe's C++ core (glog/absl, TensorFlow Lite) prints "INFO: Created TensorFlow Lite
XNNPACK delegate" and ``W0000 ...`` warnings when a graph starts, whatever Python's logging
says. Users of a command-line tool should see one line per real problem, so the short span
where a graph starts runs with fd 2 pointed at /dev/null. Python exceptions still propagate
(they are printed later, by the caller), so nothing that matters is lost.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

_DEPTH = 0  # blocks open in this process: only the outermost redirects


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point fd 2 at /dev/null for the duration of the block (no-op if that fails), while
    Python's own ``sys.stderr`` (the progress bar, warnings) writes to where fd 2 pointed
    before, through a copy of it.

    Why the copy: MediaPipe's landmark calculators log their first warning when the first
    face comes through, which on a clip whose face appears after the first frames (an
    intro, a cutaway) is long after the graph started, so the block may last that long;
    the progress bar must go on showing meanwhile. Blocks nest (only the outermost
    redirects)."""
    global _DEPTH
    if os.environ.get("MOUTHSYNC_NATIVE_LOGS") or _DEPTH:  # debugging, or already silenced
        _DEPTH += 1
        try:
            yield
        finally:
            _DEPTH -= 1
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):
        yield
        return
    python_err = sys.stderr
    copy = None
    try:
        with contextlib.suppress(OSError, ValueError):
            copy = open(os.dup(saved), "w", buffering=1, encoding=getattr(python_err, "encoding", None) or "utf-8",  # noqa: SIM115
                        errors="backslashreplace")
        os.dup2(devnull, 2)
        if copy is not None:
            sys.stderr = copy
        _DEPTH += 1
        yield
    finally:
        _DEPTH = max(0, _DEPTH - 1)
        if copy is not None:
            with contextlib.suppress(OSError, ValueError):
                copy.flush()
            if sys.stderr is copy:
                sys.stderr = python_err
            with contextlib.suppress(OSError):
                copy.close()
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
