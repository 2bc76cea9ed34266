"""Critical path first: lower the CPU priority of work that can wait.

Why: ``check`` runs face tracking (chunks shared by the calling process and a worker
process, ``face.chunks``) and up to three speech timelines (worker processes) at once on
a machine with few cores. A speech timeline is one thread that nothing can share out:
the aligned machine transcript is the longest single job (about 8 CPU-s per minute of
audio) and everything else waits for it; with all jobs at equal priority it got less than
half a core until the others were done, and a core sat idle at the end. Giving the other
workers a higher nice value lets the transcript have most of a core while they share the
rest: the same CPU work ends sooner (docs/sync.md, "Speed"). Where ``check`` starts one
speech worker alone (long clear audio, batch allphone first), that worker is the one at
nice 0 and the tracking worker yields to it; the chunks of the track go to whichever
tracking process is free, so neither waits for the other (session 17).

Only our own worker processes are lowered, never the caller's process or threads: an
unprivileged process can raise its nice value but not lower it back. (Tracking in a
lowered thread of the caller's process was tried: as fast, but an interrupt then had to
wait for a starved thread to leave MediaPipe before the process could exit; under load
that took 11 s.)
"""

from __future__ import annotations

import contextlib
import os
import threading

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
