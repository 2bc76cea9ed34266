"""Tracking every k-th frame of high-rate footage (50/60 fps and up): ``check
--track-rate``.

Why: Face Mesh costs the same per frame whatever the rate, so a 60 s clip at 60 fps takes
2.4x as long to ``check`` as at 25 fps (25.1 s against 7.9 s on 720p), while the mouth's
motion that carries the timing (openings and closures of 60-200 ms) is sampled finely
enough at 25-30 pictures a second for most purposes. The frames kept are fixed by their
index in the file (every k-th from the first), so each process tracking chunks of the
clip keeps the same ones. Every frame is still decoded (the stream needs it), but neither
converted nor tracked. The track's times are those of the frames kept, so everything
downstream reads true times as for variable-rate footage; the frame rate reported stays
the file's.

Not the default, because the precision is that of the lower rate. Measured on five shared
clips made 50 fps by motion interpolation (ffmpeg ``minterpolate``), shifted by -15..+15
frames of 50 fps: tracking every frame followed the shifts within 10.5 ms at worst (the
interpolated frames move the absolute reading: retalking_face2 +47.7 ms against +27.9 at
its own 25 fps), every second frame within 24.6 ms (two of 30 copies beyond one 50 fps
frame, 20 ms), reading what the 25 fps clip reads (+27.9). The 60 s clip made 60 fps by
repeating frames: 25.1 s -> 20.2 s cold (that edit needs every phone source either way),
confidence 0.39 -> 0.88 (the repeats make every-frame velocity a staircase).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def stride_for(times: np.ndarray, max_rate: float | None) -> int:
    """Every how many frames to track a clip with frame times ``times`` so that about
    ``max_rate`` frames a second are tracked (1: every frame; None: no limit). The nearest
    whole stride: 50 fps -> 2 (25), 60 -> 2 (30), 48 -> 2 (24), 40 -> 1, 120 -> 4."""
    from mouthsync.media.decode import rate_of

    rate = rate_of(times) if max_rate else 0.0
    return max(1, int(round(rate / max_rate))) if rate > 0 and max_rate else 1


def keeper(times: np.ndarray, every: int) -> Callable[[float], bool] | None:
    """A test of a decoded frame's time: is it one of every ``every``-th frame of the clip
    whose frame times are ``times`` (counted from the first)? None when every frame is kept."""
    if every <= 1:
        return None
    ft = np.asarray(times, dtype=np.float64)

    def keep(t: float) -> bool:
        i = int(np.searchsorted(ft, t - 1e-6))
        return i % every == 0

    return keep


def kept(n: int, every: int) -> int:
    """How many of ``n`` frames are tracked at stride ``every``."""
    return -(-n // max(1, every))
