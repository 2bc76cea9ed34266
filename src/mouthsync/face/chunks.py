"""Long clips tracked in fixed chunks that processes claim as they go (work sharing).

Why: ``check`` tracks a long clip in two processes beside its speech worker. A fixed split
(half the frames each) left one process idle for 1-2 s while the other finished: the
calling process also counts faces and analyses, the worker runs at a lower priority, and
the speech worker takes a share of the cores that varies with the audio. Here the clip is
cut into chunks of ``CHUNK_SECONDS`` at fixed frame times (from the clip alone); each
process tracks chunk after chunk forward, claiming each before it starts it, and when
the next one is taken it seeks to the middle of the largest stretch nobody has claimed.
Both end within about a chunk of each other, whatever the load.

Tracking starts afresh at every chunk (``mesh_frames``' ``resets``), whether the chunk
follows on in the same decoder or after a seek: the landmarks depend on the clip, not on
which process took which chunk, how many cores there are, or what else ran (~12 ms per
chunk for the mesh to find the face again). Clips shorter than ``PARALLEL_MIN_SECONDS``
are one chunk, tracked as before.

Claims are files created exclusively in a folder shared by the processes (``O_EXCL``: one
process wins each chunk, with no lock and no messages between them).
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from mouthsync.face.identities import primary_face
from mouthsync.face.mesh import mesh_frames

# Chunk length: short enough that the processes end close together (the last chunk is
# ~0.5 s of one process's work), long enough that finding the face again at every start
# (~12 ms) stays ~2 % of the chunk's ~0.75 CPU-s.
CHUNK_SECONDS = 5.0
# Below this duration one process is faster than paying two MediaPipe start-ups (~1.5 s).
PARALLEL_MIN_SECONDS = 12.0


def chunk_starts(ft: np.ndarray) -> list[float]:
    """The first frame time of each chunk of a clip with frame times ``ft``: every
    ``CHUNK_SECONDS`` from the first frame, or the first frame alone for a short clip."""
    if len(ft) == 0:
        return [0.0]
    t0 = float(ft[0])
    if float(ft[-1]) - t0 < PARALLEL_MIN_SECONDS:
        return [t0]
    starts = [t0]
    k = 1
    while True:
        i = int(np.searchsorted(ft, t0 + k * CHUNK_SECONDS - 1e-9))
        if i >= len(ft):
            break
        if float(ft[i]) > starts[-1]:
            starts.append(float(ft[i]))
        k += 1
    return starts


class Claims:
    """Which chunks some process has taken. ``folder``: shared with other processes (one
    file per claimed chunk); None: this process alone."""

    def __init__(self, n: int, folder: str | None = None) -> None:
        self.n = n
        self._folder = folder
        self._mine: set[int] = set()

    def claim(self, k: int) -> bool:
        """Take chunk ``k``; False when another process (or this one) already has."""
        if k in self._mine or not 0 <= k < self.n:
            return False
        if self._folder is not None:
            try:
                os.close(os.open(os.path.join(self._folder, f"chunk{k}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                return False
        self._mine.add(k)
        return True

    def taken(self, k: int) -> bool:
        if k in self._mine:
            return True
        return self._folder is not None and os.path.exists(os.path.join(self._folder, f"chunk{k}"))

    def next_start(self) -> int | None:
        """Where to go on when the next chunk is taken: the middle of the longest run of
        unclaimed chunks (its second half, so that the process working towards it keeps
        the first), or None when every chunk is taken."""
        best: tuple[int, int] | None = None  # (length, first)
        k = 0
        while k < self.n:
            if self.taken(k):
                k += 1
                continue
            j = k
            while j < self.n and not self.taken(j):
                j += 1
            if best is None or j - k > best[0]:
                best = (j - k, k)
            k = j
        if best is None:
            return None
        length, first = best
        return first + length // 2


def track_chunks(
    path: str,
    starts: list[float],
    first: int,
    claims: Claims,
    args: tuple[Any, ...],
    report: Any = None,
    crop: tuple[int, int, int, int] | None = None,
    sar: float = 1.0,
    on_chunk: Callable[[int, dict[str, np.ndarray]], None] | None = None,
) -> dict[int, dict[str, np.ndarray]]:
    """Track the chunks this process can claim, starting at chunk ``first``: the primary
    face of each (``identities.primary_face``) by chunk index. ``args``: ``(max_side,
    max_faces, width, height)`` for :func:`mesh_frames`. ``on_chunk`` sees each chunk as
    it is done."""
    parts: dict[int, dict[str, np.ndarray]] = {}
    k: int | None = first
    while k is not None:
        if not claims.claim(k):  # (taken meanwhile by another process: look again)
            k = claims.next_start()
            continue
        at = k

        def go_on(j: int, at: int = at) -> bool:
            return claims.claim(at + 1 + j)

        frames = mesh_frames(path, None if at == 0 else starts[at], None, *args, report=report, crop=crop,
                             sar=sar, resets=starts[at + 1:], go_on=go_on)
        # (the frames of one run come in time order; each chunk's are grouped by its index)
        for c, run in itertools.groupby(frames, key=lambda f: bisect.bisect_right(starts, f[0] + 1e-9) - 1):
            parts[c] = primary_face(run)
            if on_chunk is not None:
                on_chunk(c, parts[c])
        k = claims.next_start()
    return parts
