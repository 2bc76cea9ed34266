"""Moments worth looking at: the lip closures of P, B and M, heard and seen.

A closure is the one event both the sound and the picture pin to a frame: the lips are
shut for the stop and the sound has a gap followed by a burst. Put side by side, the
picture at the moment the P is heard and the picture where the measured delay puts the
closure show a person in a few thumbnails what the numbers say: in sync they are the same
frame with the lips shut; out of sync the first shows the mouth still open (or already
open again).

This module only decides *which* moments and *where*; :mod:`mouthsync.sync.html_report`
draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mouthsync.sync.steps import inside_takes

# A closure shorter than this is too brief to trust from the phones (3 of the
# recogniser's 10 ms frames, the shortest phone forced alignment gives).
MIN_CLOSURE_S = 0.03
# Closures from different timelines this close together are the same closure.
SAME_CLOSURE_S = 0.08
DEFAULT_MOMENTS = 6


# The picture's closure is looked for this far either side of where the delay puts it:
# a phone's middle from the recogniser is good to a frame or two, not to the frame.
SEARCH_S = 0.1


@dataclass(frozen=True)
class Moment:
    """One closure: heard at ``heard_s`` (audio time); ``closed_s`` is the frame where the
    lips are most nearly shut within :data:`SEARCH_S` of where the measured delay puts the
    closure (``heard_s`` less ``delay_ms``, the local delay where it changes, see
    :func:`_delay_near`). The apertures are the track's at the two times
    (NaN without a face there)."""

    heard_s: float
    closed_s: float
    phone: str
    delay_ms: float
    delay_from: str  # "step part", "drift line", "shot", "window" or "file"
    aperture_heard: float
    aperture_closed: float

    @property
    def offset_ms(self) -> float:
        """How long after the lips shut the closure is heard (this moment's own delay)."""
        return (self.heard_s - self.closed_s) * 1000.0


def _closure_frame(track: Any, around: float) -> float | None:
    """Time of the frame with the smallest aperture within SEARCH_S of ``around``."""
    times = np.asarray(track.times)
    sel = np.flatnonzero((times >= around - SEARCH_S) & (times <= around + SEARCH_S) & track.valid)
    if sel.size == 0:
        return None
    ap = np.asarray(track.mouth["aperture"])[sel]
    if not np.isfinite(ap).any():
        return None
    return float(times[sel[int(np.nanargmin(ap))]])


def _aperture_at(track: Any, t: float) -> float:
    """The aperture of the frame shown at ``t`` (the last frame not after it)."""
    times = np.asarray(track.times)
    i = int(np.clip(np.searchsorted(times, t + 1e-6, side="right") - 1, 0, len(times) - 1))
    return float(track.mouth["aperture"][i]) if track.valid[i] else float("nan")


def _delay_near(report: Any, t: float) -> tuple[float | None, str]:
    """The delay to place a closure heard at ``t``: where the report found the delay to
    change, the local one (the part between steps, the drift line at ``t``, a confident
    shot holding it); else the most confident confident window holding it; else the whole
    file's.

    Why: a take whose sound jumps by 200 ms at 30 s reads the later delay for the whole
    file, and no window near the jump is confident; placed by the file's delay, every
    closure before the jump was shown "shut 200 ms before" it is heard."""
    inside = inside_takes(report.steps)
    if inside:
        j = sum(1 for s in inside if s.at_s <= t)
        return (inside[0].before_ms if j == 0 else inside[j - 1].after_ms), "step part"
    drift = getattr(report, "drift", None)
    if drift is not None and drift.has_line:
        return float(drift.at(t)), "drift line"
    for sh in getattr(report, "shots", []):
        if sh.start_s <= t < sh.end_s and not sh.uncertain and sh.audio_delay_ms is not None:
            return float(sh.audio_delay_ms), "shot"
    best = None
    for w in report.windows:
        usable = w.start_s <= t <= w.end_s and not w.uncertain and w.audio_delay_ms is not None
        if usable and (best is None or w.confidence > best.confidence):
            best = w
    if best is not None and len(report.windows) > 1:
        return float(best.audio_delay_ms), "window"
    return report.audio_delay_ms, "file"


def closure_moments(report: Any, n: int = DEFAULT_MOMENTS) -> list[Moment]:
    """Up to ``n`` bilabial closures spread over the clip (the longest first, each at least
    1/(2n) of the clip from the others), from the timelines the report's decision used: with
    several, the closures at least two of them place (timed by the first that has it).

    Empty when the report kept no evidence (``check_sync(keep_evidence=True)``), measured
    no delay, or the speech has no closure long enough.
    """
    ev = getattr(report, "evidence", None)
    if ev is None or report.audio_delay_ms is None or not ev.timelines or n <= 0:
        return []
    track = ev.track
    t0, t1 = float(track.times[0]), float(track.times[-1])
    per_source = [[e for e in tl.events if e.kind == "bilabial_closure" and e.duration >= MIN_CLOSURE_S]
                  for tl in ev.timelines]
    closures: list[Any] = []
    for i, events in enumerate(per_source):
        for e in events:
            if any(abs(e.time - c.time) <= SAME_CLOSURE_S for c in closures):
                continue
            # with several recognitions, a closure only one of them hears is as likely a
            # misrecognition as a closure: keep those at least two place
            seen = sum(any(abs(e.time - o.time) <= SAME_CLOSURE_S for o in other)
                       for j, other in enumerate(per_source) if j != i)
            if len(per_source) == 1 or seen >= 1:
                closures.append(e)
    # the longest closures first (the surest), each at least this far from those taken:
    # spread over the clip, and a short clip can still show several
    gap = (t1 - t0) / (2.0 * n)
    taken: list[tuple[Any, float, str, float]] = []
    for e in sorted(closures, key=lambda e: (-e.duration, e.time)):
        if len(taken) == n or not t0 <= e.time <= t1 or any(abs(e.time - x[0].time) < gap for x in taken):
            continue
        d, src = _delay_near(report, e.time)
        closed = _closure_frame(track, e.time - d / 1000.0) if d is not None else None
        if d is None or closed is None or not np.isfinite(_aperture_at(track, e.time)):
            continue
        taken.append((e, float(d), src, closed))
    out = [Moment(heard_s=float(e.time), closed_s=closed, phone=e.phone, delay_ms=d, delay_from=src,
                  aperture_heard=_aperture_at(track, e.time), aperture_closed=_aperture_at(track, closed))
           for e, d, src, closed in sorted(taken, key=lambda x: x[0].time)]
    return out
