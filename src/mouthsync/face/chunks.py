"""Long clips tracked in fixed chunks that processes claim as they go (work sharing).

Why: ``check`` tracks a long clip in two processes beside its speech worker. A fixed split
(half the frames each) left one process idle for 1-2 s while the other finished: the
calling process also counts faces and analyses, the worker runs at a lower priority, and
the speech worker takes a share of the cores that varies with the audio. Here the clip is
cut into chunks of about ``CHUNK_SECONDS`` at fixed frames (from the clip alone); each
process tracks chunk after chunk forward, claiming each before it starts it, and when
the next one is taken it seeks to the middle of the largest stretch nobody has claimed.
Both end within about a chunk of each other, whatever the load.

Chunks start at keyframes (a seek there decodes nothing it does not show), and tracking
starts afresh at every chunk (``mesh_frames``' ``resets``), whether the chunk follows on
in the same decoder or after a seek: the landmarks depend on the clip, not on which
process took which chunk, how many cores there are, or what else ran (~12 ms per chunk
for the mesh to find the face again). Clips shorter than ``PARALLEL_MIN_SECONDS`` are one
chunk, tracked as before.

Claims are files created exclusively in a folder shared by the processes (``O_EXCL``: one
process wins each chunk, with no lock and no messages between them).
"""

from __future__ import annotations

import bisect
import itertools
import os
from typing import Any

import numpy as np

from mouthsync.face.frames import centred, picture_change
from mouthsync.face.identities import all_faces, primary_face
from mouthsync.face.mesh import mesh_frames
from mouthsync.face.stride import keeper

# Chunk length: short enough that the processes end close together (the last chunk is
# ~0.5 s of one process's work), long enough that finding the face again at every start
# (~12 ms) stays ~2 % of the chunk's ~0.75 CPU-s.
CHUNK_SECONDS = 5.0
# Below this duration one process is faster than paying two MediaPipe start-ups (~1.5 s).
PARALLEL_MIN_SECONDS = 12.0


def chunk_starts(ft: np.ndarray, keys: np.ndarray) -> list[float]:
    """The first frame time of each chunk of a clip with frame times ``ft`` and the times
    of its shown keyframes ``keys`` (``media.decode.keyframe_times``): the first frame, then at every ``CHUNK_SECONDS`` the keyframe nearest
    to it (within half a chunk); the first frame alone for a short clip.

    At a keyframe, a process that seeks there starts decoding at once; elsewhere it would
    decode from the keyframe before (up to a group of pictures, 10 s with x264's defaults).
    A file with keyframes rarer than the chunks gets longer chunks, one with no keyframe
    after the first is one chunk."""
    if len(ft) == 0:
        return [0.0]
    t0, end = float(ft[0]), float(ft[-1])
    starts = [t0]
    if end - t0 < PARALLEL_MIN_SECONDS:
        return starts
    keys = np.sort(keys)
    half = CHUNK_SECONDS / 2
    g = t0 + CHUNK_SECONDS
    while g < end - half and len(keys):
        k = float(keys[np.argmin(np.abs(keys - g))])
        # (not a sliver beside the last start or the end)
        if abs(k - g) <= half and k - starts[-1] >= half and end - k >= half:
            starts.append(k)
        g += CHUNK_SECONDS
    return starts


def fill_changes(parts: list[dict[str, np.ndarray]]) -> None:
    """The picture change of each chunk's first frame (NaN from ``mesh_frames``: tracking
    started afresh there), from the thumbnail of the frame before it, which ends the chunk
    before; in place. ``parts`` are consecutive chunks in time order."""
    for before, part in zip(parts[:-1], parts[1:], strict=True):
        if len(before["thumbs"]) and len(part["thumbs"]) and np.isnan(part["change"][0]):
            part["change"][0] = picture_change(centred(before["thumbs"][-1]), centred(part["thumbs"][0]))


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

    def next_start(self) -> int | None:
        """Where to go on when the next chunk is taken: the middle of the longest run of
        unclaimed chunks (its second half, so that the process working towards it keeps
        the first), or None when every chunk is taken."""
        taken = set(self._mine)
        if self._folder is not None:  # (one listing, not a look-up per chunk)
            taken |= {int(f[5:]) for f in os.listdir(self._folder) if f.startswith("chunk")}
        best: tuple[int, int] | None = None  # (length, first)
        first = None
        for k in range(self.n + 1):
            if k < self.n and k not in taken:
                first = k if first is None else first
            elif first is not None:
                if best is None or k - first > best[0]:
                    best = (k - first, first)
                first = None
        return None if best is None else best[1] + best[0] // 2


def track_chunks(
    path: str,
    starts: list[float],
    first: int,
    claims: Claims,
    args: tuple[Any, ...],
    report: Any = None,
    crop: tuple[int, int, int, int] | None = None,
    sar: float = 1.0,
    every_face: bool = False,
    every: int = 1,
) -> dict[int, dict[str, np.ndarray]]:
    """Track the chunks this process can claim, starting at chunk ``first``: the primary
    face of each (``identities.primary_face``), or with ``every_face`` all its faces
    (``identities.all_faces``), by chunk index. ``args``: ``(max_side, max_faces, width,
    height)`` for :func:`mesh_frames`. ``every``: track every that many frames
    (``face.stride``; chunks start at frames in any case)."""
    parts: dict[int, dict[str, np.ndarray]] = {}
    max_faces = args[1]
    keep = None
    if every > 1:
        from mouthsync.media.decode import frame_times

        keep = keeper(frame_times(path), every)

    def reduce(run: Any) -> dict[str, np.ndarray]:
        return all_faces(run, max_faces) if every_face else primary_face(run)

    k: int | None = first
    while k is not None:
        if not claims.claim(k):  # (taken meanwhile by another process: look again)
            k = claims.next_start()
            continue
        at = k

        def go_on(j: int, at: int = at) -> bool:
            return claims.claim(at + 1 + j)

        frames = mesh_frames(path, None if at == 0 else starts[at], None, *args, report=report, crop=crop,
                             sar=sar, resets=starts[at + 1:], go_on=go_on, lead_in=False, keep=keep)
        # (the frames of one run come in time order; each chunk's are grouped by its index)
        for c, run in itertools.groupby(frames, key=lambda f: bisect.bisect_right(starts, f[0] + 1e-9) - 1):
            parts[c] = reduce(run)
        k = claims.next_start()
    return parts
