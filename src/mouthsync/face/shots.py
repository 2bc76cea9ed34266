"""Picture cuts and the shots between them, from the face track's per-frame picture change.

Why: in an edit every shot can carry its own audio offset (a slipped clip, a replaced
take), and an editor corrects shot by shot. Fixed 5 s windows place such a change only to
within a window; the cut itself places it to the frame.

The measure (``FaceTrack.picture_change``) is the mean absolute difference of 32x18 grey
thumbnails of consecutive frames, each less its own mean (an exposure step is not a cut),
taken while tracking decodes them (no extra decoding). Measured on the shared material:
within a shot it stays at or under 13 levels (of 255) even with a moving hand-held camera
(voxceleb_517600055), while cuts between the shared clips read 32-77. A cut is a frame whose change is a spike: at least ``CUT_LEVEL`` levels,
``CUT_OVER_MEDIAN`` times the clip's median change, and ``CUT_OVER_NEIGHBOURS`` times the
larger change of the frames either side (a pan, a fade or a flash changes several frames
in a row and is not a cut). Dissolves and cuts between near-identical framings are missed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CUT_LEVEL = 20.0
CUT_OVER_MEDIAN = 8.0
CUT_OVER_NEIGHBOURS = 3.0
# Shots shorter than this are merged into the shot before (a flash frame, a cutaway blip):
# they carry too little speech to measure alone.
MIN_SHOT_S = 1.0


def cut_so_far(change: Any, before: Any, median: Any) -> Any:
    """Whether a frame looks like a cut from what is known when it arrives: its change,
    the previous frame's and the median so far (the tracker restarts the face search on
    such a frame; :func:`picture_cuts` also asks the next frame). Scalars or arrays."""
    return (change >= CUT_LEVEL) & (change >= CUT_OVER_MEDIAN * median) & (change >= CUT_OVER_NEIGHBOURS * before)


def picture_cuts(track: Any) -> list[float]:
    """Times (s) of the first frame of every new shot; empty without a picture change."""
    ch = getattr(track, "picture_change", None)
    if ch is None or len(ch) < 3:
        return []
    x = np.asarray(ch, dtype=np.float64)
    finite = np.isfinite(x)
    if not finite.any():
        return []
    med = float(np.median(x[finite]))
    y = np.where(finite, x, 0.0)
    before = np.r_[0.0, y[:-1]]
    after = np.r_[y[1:], 0.0]
    cut = finite & cut_so_far(y, before, med) & (y >= CUT_OVER_NEIGHBOURS * after)
    times = np.asarray(track.times, dtype=np.float64)
    return [float(times[i]) for i in np.flatnonzero(cut)]


def shot_spans(track: Any, *, min_s: float = MIN_SHOT_S) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of each shot, end = the next shot's first frame (the last shot
    ends one frame after the last frame). One span for a single take."""
    times = np.asarray(track.times, dtype=np.float64)
    if times.size == 0:
        return []
    step = float(np.median(np.diff(times))) if times.size > 1 else 0.04
    end = float(times[-1]) + step
    starts = [float(times[0])]
    for c in picture_cuts(track):
        if c - starts[-1] >= min_s:
            starts.append(c)
    if len(starts) > 1 and end - starts[-1] < min_s:
        starts.pop()  # a short last shot joins the one before
    return [(a, b) for a, b in zip(starts, [*starts[1:], end], strict=True)]
