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


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point fd 2 at /dev/null for the duration of the block (no-op if that fails)."""
    if os.environ.get("MOUTHSYNC_NATIVE_LOGS"):  # debugging: keep the native chatter
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        with contextlib.suppress(OSError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
