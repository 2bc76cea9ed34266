"""Speech heard over a mouth that does not move: a voice-over, an off-screen speaker, a
listener in a reaction shot, a covered mouth or a freeze frame.

Why: an edit often lays dialogue over pictures of a face that is not saying it. An
interviewer's question over the guest listening, narration over a still, a shot held on
a freeze frame while the line runs on. Those seconds carry no evidence about sync: the
mouth they show is not the one speaking. Scored with the rest, they only dilute the
agreement. ``check`` then called the whole file uncertain ("several delays fit about
equally well"), or a window "weak", without saying why.

They are easy to recognise. A speaking mouth opens and closes several times a second.
On the shared clips, the spread of the inner-lip aperture over any second of speech
(its 10th to 90th percentile) is at least 0.0098 face widths, and 0.035 or more on all
but one clip. A mouth at rest or a frozen picture stays within 0.001-0.003, which is
the tracker's jitter. Where that stillness lasts :data:`MIN_STILL_S` while speech is
heard through most of it, the frames are left out of the measurement. ``check`` names
the span, so the editor knows which seconds were not judged.

The spans are measured on the picture's clock against speech activity on the sound's
clock. A delay moves the speech by at most the search range (0.8 s). So a real pause of
the speaker (mouth at rest) lined up against speech late by up to 0.8 s overlaps it by
less than :data:`MIN_SPEECH_SHARE` of a span of :data:`MIN_STILL_S`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mouthsync.core.findings import Finding, Severity
from mouthsync.core.runs import true_runs
from mouthsync.media.decode import frame_step

# Spread (10th-90th percentile) of the aperture, in face-scale units, over a second below
# which the mouth is still. Speaking mouths measured 0.0098-0.26 over every second of
# speech on the shared clips (p5 of each clip >= 0.0166); at rest or frozen 0.0003-0.002.
STILL_SPREAD = 0.004
# The spread is taken over this long a stretch, centred on each frame.
SPREAD_WINDOW_S = 1.0
# Shortest still stretch that counts (a mouth rests in a pause; speech that ends a
# little late, or a delay up to the search range, overlaps a short rest).
MIN_STILL_S = 1.5
# Still stretches closer than this are one span (a blink of motion inside a held frame).
MERGE_GAP_S = 0.3
# Share of a span's length that speech must cover for the span to count.
MIN_SPEECH_SHARE = 0.6
# A span whose picture change (face.shots) stays below this, in 8-bit grey levels, at its
# 90th percentile is a still picture, not a live face holding still (live talking-head
# footage: median 0.2-2.7 levels; a held frame: 0.00).
STILL_PICTURE_CHANGE = 0.1


@dataclass
class StillSpan:
    """Seconds (picture clock) where speech is heard over a still mouth."""

    start_s: float
    end_s: float
    speech_s: float
    still_picture: bool | None  # the whole picture is frozen (None: picture change unknown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "speech_s": round(self.speech_s, 2),
            "still_picture": self.still_picture,
            "what": self.what,
        }

    @property
    def what(self) -> str:
        """What the span most likely is, in words for the report."""
        if self.still_picture:
            return "a held or still picture"
        return "a voice-over, an off-screen speaker, a listener or a covered mouth"


def aperture_spread(times: np.ndarray, aperture: np.ndarray, valid: np.ndarray,
                    window_s: float = SPREAD_WINDOW_S) -> np.ndarray:
    """Per frame: the 10th-90th percentile spread of the aperture over ``window_s`` around
    it (NaN where fewer than 60 % of those frames hold a face)."""
    n = times.size
    out = np.full(n, np.nan)
    if n < 3:
        return out
    span = float(times[-1] - times[0])
    fps = (n - 1) / span if span > 0 else 25.0
    k = max(3, int(round(window_s * fps)) | 1)
    h = k // 2
    a = np.where(valid, aperture, np.nan).astype(np.float64)
    padded = np.concatenate([np.full(h, np.nan), a, np.full(h, np.nan)])
    w = sliding_window_view(padded, k)
    count = np.isfinite(w).sum(axis=1)
    enough = count >= 0.6 * k
    if not enough.any():
        return out
    # each row sorted (NaN last) and its percentiles read among its finite values, as
    # np.nanpercentile's linear method does, ~50x faster on 10 minutes (0.96 -> 0.02 s)
    rows = np.sort(w[enough], axis=1)
    c = count[enough]
    idx = np.arange(rows.shape[0])

    def pct(p: float) -> np.ndarray:
        pos = (c - 1) * (p / 100.0)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, c - 1)
        return rows[idx, lo] + (pos - lo) * (rows[idx, hi] - rows[idx, lo])

    out[enough] = pct(90.0) - pct(10.0)
    return out


def _overlap(spans: list[tuple[float, float]], t0: float, t1: float) -> float:
    return float(sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in spans))


def still_spans(
    times: np.ndarray,
    aperture: np.ndarray,
    valid: np.ndarray,
    speech: list[tuple[float, float]],
    picture_change: np.ndarray | None = None,
) -> list[StillSpan]:
    """Where speech is heard over a still mouth (see the module's docstring)."""
    times = np.asarray(times, dtype=np.float64)
    if times.size < 3 or not speech:
        return []
    spread = aperture_spread(times, np.asarray(aperture, dtype=np.float64), np.asarray(valid, dtype=bool))
    still = np.isfinite(spread) & (spread < STILL_SPREAD)
    frame = frame_step(times)
    merged: list[list[int]] = []
    for a, b in true_runs(still).tolist():
        if merged and times[a] - times[merged[-1][1] - 1] <= MERGE_GAP_S + frame:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    ap = np.where(valid, np.asarray(aperture, dtype=np.float64), np.nan)
    half = max(1, int(round(SPREAD_WINDOW_S / 2 / frame))) if frame > 0 else 1
    out: list[StillSpan] = []
    for a, b in merged:
        a, b = _grow(ap, a, b, half)
        t0, t1 = float(times[a]), float(times[b - 1]) + frame
        if t1 - t0 < MIN_STILL_S:
            continue
        heard = _overlap(speech, t0, t1)
        if heard < MIN_SPEECH_SHARE * (t1 - t0):
            continue
        frozen: bool | None = None
        if picture_change is not None and len(picture_change) == times.size:
            ch = np.asarray(picture_change[a:b], dtype=np.float64)
            ch = ch[np.isfinite(ch)]
            frozen = bool(ch.size and np.percentile(ch, 90) < STILL_PICTURE_CHANGE)
        out.append(StillSpan(t0, t1, heard, frozen))
    return out


def _grow(ap: np.ndarray, a: int, b: int, reach: int) -> tuple[int, int]:
    """Widen the still run ``[a, b)`` by up to ``reach`` frames each way over frames whose
    aperture stays within the run's own band: the spread is taken over a second around
    each frame, so a run found by it starts and ends half a second inside the stillness
    (a held frame from 5.0 to 11.0 s read 5.40-10.68 s)."""
    core = ap[a:b][np.isfinite(ap[a:b])]
    if core.size == 0:
        return a, b
    lo, hi = float(core.min()) - STILL_SPREAD / 2, float(core.max()) + STILL_SPREAD / 2

    def inside(i: int) -> bool:
        return bool(np.isfinite(ap[i]) and lo <= ap[i] <= hi)

    first, end = a, b
    while first > 0 and a - first < reach and inside(first - 1):
        first -= 1
    while end < ap.size and end - b < reach and inside(end):
        end += 1
    return first, end


def still_mask(times: np.ndarray, spans: list[StillSpan]) -> np.ndarray:
    """Frames inside the spans (left out of the measurement)."""
    m = np.zeros(np.asarray(times).size, dtype=bool)
    for s in spans:
        m |= (times >= s.start_s) & (times < s.end_s)
    return m


def common_still(a: list[StillSpan], b: list[StillSpan], speech: list[tuple[float, float]]) -> list[StillSpan]:
    """Where two faces are both still under speech (a dialogue is judged everywhere but
    there); overlaps shorter than :data:`MIN_STILL_S` are dropped."""
    out = []
    for x in a:
        for y in b:
            t0, t1 = max(x.start_s, y.start_s), min(x.end_s, y.end_s)
            if t1 - t0 >= MIN_STILL_S:
                pic = None if x.still_picture is None or y.still_picture is None else x.still_picture and y.still_picture
                out.append(StillSpan(t0, t1, _overlap(speech, t0, t1), pic))
    return out


# Above this share of the file's speech heard over a still mouth, the finding is a warning:
# the voice may not be this face's at all.
MOSTLY_STILL = 0.5


def still_findings(spans: list[StillSpan], speech_total_s: float) -> list[Finding]:
    """One finding per span; a warning when most of the speech is heard over a still mouth."""
    if not spans:
        return []
    share = sum(s.speech_s for s in spans) / speech_total_s if speech_total_s > 0 else 1.0
    severity = Severity.WARNING if share > MOSTLY_STILL else Severity.INFO
    out = []
    for s in spans:
        out.append(Finding(
            "sync.still_mouth", severity,
            f"speech is heard for {s.speech_s:.1f} s while the mouth does not move ({s.what}): "
            "those frames are left out of the measurement",
            advice="check these seconds by eye: if this face should be speaking here, the sound does not belong to it"
            if share > MOSTLY_STILL else "",
            value=round(s.speech_s, 2), unit="s", start_s=round(s.start_s, 3), end_s=round(s.end_s, 3),
            extra={"still_picture": s.still_picture},
        ))
    return out
