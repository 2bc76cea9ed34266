"""Picture cuts, dissolves and dips to black, and the shots between them, from the face
track's per-frame picture change and thumbnails.

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
in a row and is not a cut).

A dissolve (a cross-fade between two shots) changes each frame only a little, so no
change between two frames shows it. It is found from the thumbnails
(``FaceTrack.thumbs``) instead: a frame in the middle of a dissolve is a blend of the
frames some way before and after it, which are two different pictures. Each thumbnail is
taken less its mean and scaled to unit length (so a change of exposure or contrast is no
change), and the middle one is fitted as ``a * before + b * after`` by least squares.
Measured (session 12): in the middle of 0.6 s dissolves (ffmpeg ``xfade``) the part of the
frame the blend leaves unexplained is 0.005-0.010, with both weights well above 0.15; on
every shared clip, the hand-held ones included, and the 60 s edit with 11 hard cuts, no
frame whose neighbours differ (correlation < 0.7) is explained better than 0.10, and at a
hard cut one weight is ~0. A pan over a smooth picture also blends nearly so; a candidate
whose later frame is the earlier one moved a few pixels is taken for motion. Cuts between
near-identical framings are missed, and so is a dissolve between two framings of the same
picture.

A dip to black (fade out, black, fade in) blends each picture with a blank one, so it is
found apart (:func:`blanks`): a run of faceless frames with no pattern between two
different pictures. :func:`transitions` gathers all three kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mouthsync.media.decode import frame_step

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


# A blank picture (black, white, one flat colour) has almost no pattern: the spread of its
# thumbnail is under this many grey levels. The shared clips' frames spread 25-79.
BLANK_SPREAD = 4.0
# The pictures before and after a blank run correlate at least this much: the same shot.
BLANK_SAME_PICTURE = 0.9


def blanks(track: Any) -> list[tuple[float, float, float]]:
    """``(start_s, middle_s, end_s)`` of every run of blank frames between two pictures: a
    dip to black (fade out, fade in) between two shots, which neither the change spike of
    a cut nor the blend of a dissolve shows. Its middle begins the next shot. Runs at the
    start or end of the file (a fade in from black, a fade out) begin nothing, nor do runs
    with the same picture on both sides (a flash, a dropout to black inside a take)."""
    th = getattr(track, "thumbs", None)
    times = np.asarray(track.times, dtype=np.float64)
    n = times.size
    if th is None or len(th) != n or n < 3:
        return []
    from mouthsync.core.runs import true_runs

    spread = np.asarray(th, dtype=np.float32).reshape(n, -1).std(axis=1)
    blank = spread < BLANK_SPREAD
    valid = getattr(track, "valid", None)
    if valid is not None and len(valid) == n:
        blank &= ~np.asarray(valid, dtype=bool)  # a face found is no blank picture
    out = []
    for a, b in true_runs(blank):
        if a == 0 or b == n:
            continue
        # the pictures either side (past the fade's darkest frames): the same picture
        # again is a flash or a dropout inside a take, not a change of shot
        before, after = int(a) - 1, int(b)
        while before > 0 and spread[before] < 2 * BLANK_SPREAD and a - before < 25:
            before -= 1
        while after < n - 1 and spread[after] < 2 * BLANK_SPREAD and after - b < 25:
            after += 1
        pair = _unit_rows(th[[before, after]])
        if float(pair[0] @ pair[1]) >= BLANK_SAME_PICTURE:
            continue
        out.append((float(times[a]), float(times[(a + b - 1) // 2]), float(times[b - 1])))
    return out


# Dissolves: half-widths (s) of the before/after frames around the middle one: a short
# dissolve shows at the smallest, a long one (where frames a few apart differ too little) at
# the largest.
DISSOLVE_HALF_S = (0.16, 0.32, 0.64)
# the frames before and after are different pictures: their thumbnails correlate less
DISSOLVE_ENDS_MAX_CORR = 0.7
# the middle frame is mostly a blend of the two: what the fit leaves (1 - R^2) is below
DISSOLVE_MAX_RESIDUAL = 0.05
# ... with a real share of each (at a hard cut the middle frame is one of them)
DISSOLVE_MIN_SHARE = 0.15
# A dissolve spans the frames that hold this much of each picture or more.
DISSOLVE_EDGE_SHARE = 0.1


def _centred(thumbs: np.ndarray) -> np.ndarray:
    """Thumbnails as float rows, each less its mean (a change of brightness is no change)."""
    x = np.asarray(thumbs, dtype=np.float32).reshape(len(thumbs), -1)
    return x - x.mean(axis=1, keepdims=True)


def _unit_rows(thumbs: np.ndarray) -> np.ndarray:
    """Centred rows scaled to unit length (nor is a change of contrast); a flat picture (black,
    a title card's background) has no pattern to blend and gives a row of zeros."""
    x = _centred(thumbs)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(norm > 1.0, x / np.maximum(norm, 1e-9), 0.0).astype(np.float32)


# frames per block of the blend test (its rows take ~2.3 kB per frame, so long clips go
# block by block)
_BLOCK_FRAMES = 4096


def _blended(th: np.ndarray, k: int) -> np.ndarray:
    """Per frame: whether it is a blend of the frames ``k`` before and after it, which are
    different pictures (the tests of the module's docstring)."""
    n = len(th)
    good = np.zeros(n, dtype=bool)
    for s0 in range(k, n - k, _BLOCK_FRAMES):
        s1 = min(n - k, s0 + _BLOCK_FRAMES)
        z = _unit_rows(th[s0 - k : s1 + k])
        m = s1 - s0
        before, after, mid = z[:m], z[2 * k : 2 * k + m], z[k : k + m]
        c = np.einsum("ij,ij->i", before, after)
        mb = np.einsum("ij,ij->i", mid, before)
        ma = np.einsum("ij,ij->i", mid, after)
        det = 1.0 - c * c
        ok = (det > 1e-6) & (np.einsum("ij,ij->i", mid, mid) > 0.5)
        det = np.where(ok, det, 1.0)
        a = (mb - c * ma) / det  # least squares with unit-length rows: [[1, c], [c, 1]]
        b = (ma - c * mb) / det
        residual = 1.0 - (a * mb + b * ma)
        good[s0:s1] = ok & (c < DISSOLVE_ENDS_MAX_CORR) & (a > DISSOLVE_MIN_SHARE) & (
            b > DISSOLVE_MIN_SHARE) & (residual < DISSOLVE_MAX_RESIDUAL)
    return good


def dissolves(track: Any) -> list[tuple[float, float, float]]:
    """``(start_s, middle_s, end_s)`` of every dissolve found (see the module's docstring);
    empty without thumbnails. ``middle_s`` is the frame closest to an even blend, where
    the shot after it is taken to begin; start and end are where the blend test holds."""
    th = getattr(track, "thumbs", None)
    times = np.asarray(track.times, dtype=np.float64)
    n = times.size
    if th is None or len(th) != n or n < 5:
        return []
    fps = 1.0 / frame_step(times)
    hit = np.zeros(n, dtype=bool)
    for half in DISSOLVE_HALF_S:
        k = max(2, int(round(half * fps)))
        if n > 2 * k:
            hit |= _blended(th, k)
    idx = np.flatnonzero(hit)
    if idx.size == 0:
        return []
    gap = max(2, int(round(max(DISSOLVE_HALF_S) * fps)))
    out: list[tuple[float, float, float]] = []
    for g in np.split(idx, np.flatnonzero(np.diff(idx) > gap) + 1):
        # The even blend is judged against frames outside the dissolve (against frames
        # inside it, some blend of the two is even anywhere: 0.6 s dissolves read 3-4
        # frames early), on centred thumbnails not scaled (scaled, the picture with less
        # contrast counts for more, and the middle moved by 2-3 frames).
        lo, hi = max(0, int(g[0]) - gap), min(n - 1, int(g[-1]) + gap)
        rows = _centred(th[lo : hi + 1])
        coef, *_ = np.linalg.lstsq(rows[[0, -1]].T, rows.T, rcond=None)
        a, b = coef
        share = b / np.where(np.abs(a + b) > 1e-9, a + b, 1e-9)  # of the later picture
        inner = np.arange(int(g[0]), int(g[-1]) + 1) - lo
        m = int(inner[np.argmin(np.abs(share[inner] - 0.5))])
        k = max(2, int(round(min(DISSOLVE_HALF_S) * fps)))
        if _moved(th[max(0, lo + m - k)], th[min(n - 1, lo + m + k)]):
            continue  # a pan over a smooth picture blends like a dissolve
        # where it begins and ends: the frames around the middle that hold 10-90 % of the
        # later picture (the blend test alone holds over the middle two thirds or so)
        mixed = (share > DISSOLVE_EDGE_SHARE) & (share < 1.0 - DISSOLVE_EDGE_SHARE)
        a0 = m
        while a0 > 0 and mixed[a0 - 1]:
            a0 -= 1
        b0 = m
        while b0 < mixed.size - 1 and mixed[b0 + 1]:
            b0 += 1
        first, last = min(lo + a0, int(g[0])), max(lo + b0, int(g[-1]))
        out.append((float(times[first]), float(times[lo + m]), float(times[last])))
    return out


# A pan: the picture some frames later is the earlier one moved by up to this many
# thumbnail pixels (x, y; 1 px is 1/32 of the width), matching it moved at least this
# well, and clearly better than in place (two framings of faces in the middle of the
# picture correlate 0.85 in place, across a dissolve between two people).
_PAN_PX = (4, 2)
_PAN_MIN_CORR = 0.8
_PAN_GAIN = 0.05


def _moved(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether ``after`` is ``before`` moved a few pixels: camera or subject motion, which
    over a smooth picture is nearly a blend of the frames either side of it."""
    h, w = before.shape

    def corr(dx: int, dy: int) -> float:
        a = before[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)].astype(np.float64).ravel()
        b = after[max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)].astype(np.float64).ravel()
        a, b = a - a.mean(), b - b.mean()
        den = float(np.sqrt((a @ a) * (b @ b)))
        return float(a @ b) / den if den > 0 else -1.0

    moved = max(corr(dx, dy) for dy in range(-_PAN_PX[1], _PAN_PX[1] + 1)
                for dx in range(-_PAN_PX[0], _PAN_PX[0] + 1) if dx or dy)
    return moved >= _PAN_MIN_CORR and moved >= corr(0, 0) + _PAN_GAIN


def span_mask(track: Any, spans: list[tuple[float, float, float]]) -> np.ndarray:
    """Per frame: inside one of ``spans`` (``(start_s, middle_s, end_s)``, as from
    :func:`dissolves` or :func:`blanks`)."""
    times = np.asarray(track.times, dtype=np.float64)
    mask = np.zeros(times.size, dtype=bool)
    for a, _, b in spans:
        mask |= (times >= a - 1e-9) & (times <= b + 1e-9)
    return mask


# The kinds of shot change, as reports name them.
CUT, DISSOLVE, DIP = "cut", "dissolve", "dip to black"


@dataclass
class Transitions:
    """Where a track's shots change: hard cuts (times, s), and dissolves and dips to black
    (``(start_s, middle_s, end_s)``; the shot after them begins at the middle). Found once
    per track (:func:`transitions`) and read by ``check`` and ``facecheck``."""

    cuts: list[float] = field(default_factory=list)
    dissolves: list[tuple[float, float, float]] = field(default_factory=list)
    blanks: list[tuple[float, float, float]] = field(default_factory=list)

    def starts(self) -> list[tuple[float, str]]:
        """``(time_s, kind)`` of every shot change, in time order."""
        return sorted([(c, CUT) for c in self.cuts] + [(m, DISSOLVE) for _, m, _ in self.dissolves]
                      + [(m, DIP) for _, m, _ in self.blanks])

    def describe(self, at_s: float) -> dict[str, Any]:
        """The shot change at ``at_s`` for a report: its kind, and the span of a dissolve or
        a dip to black."""
        for kind, spans in ((DISSOLVE, self.dissolves), (DIP, self.blanks)):
            for a, m, b in spans:
                if abs(m - at_s) < 1e-9:
                    return {"at_s": round(at_s, 3), "kind": kind, "start_s": round(a, 3), "end_s": round(b, 3)}
        return {"at_s": round(at_s, 3), "kind": CUT}


def transitions(track: Any) -> Transitions:
    """Every cut, dissolve and dip to black of ``track``. A blank run that hard cuts into and
    out of black already bound is no shot change of its own and is left out."""
    cuts = picture_cuts(track)
    step = frame_step(track.times)
    gaps = [g for g in blanks(track) if not any(g[0] - 1e-6 <= c <= g[2] + step + 1e-6 for c in cuts)]
    return Transitions(cuts, dissolves(track), gaps)


def shot_spans(track: Any, *, min_s: float = MIN_SHOT_S, found: Transitions | None = None) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` of each shot, end = the next shot's first frame (the last shot
    ends one frame after the last frame). One span for a single take. ``found``: the
    track's :func:`transitions`, found when None."""
    times = np.asarray(track.times, dtype=np.float64)
    if times.size == 0:
        return []
    step = frame_step(times)
    end = float(times[-1]) + step
    starts = [float(times[0])]
    for c, _ in (transitions(track) if found is None else found).starts():
        if c - starts[-1] >= min_s:
            starts.append(c)
    if len(starts) > 1 and end - starts[-1] < min_s:
        starts.pop()  # a short last shot joins the one before
    return [(a, b) for a, b in zip(starts, [*starts[1:], end], strict=True)]
