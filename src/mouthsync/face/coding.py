"""How coarsely the encoder coded the lips: the H.264 quantiser over the mouth, judged
against the face's size.

Why here, apart from ``facecheck``'s frame-by-frame pass: ``check`` needs the same answer
(a mouth whose detail the encoder threw away measures noise, and the sync reading on it
can be confidently wrong: the shared clips coded again at CRF 51 read 16 of 126 shifted
copies more than a frame off at confidence 0.67, ``bench/compression.py``), but a decode
of every frame would cost it its speed. A picture coded at one rate factor keeps its
quantiser within a few steps from second to second, so a few one-second stretches from
keyframes (where decoding can start) tell it: 3 x 1 s of a 60 s 720p clip decode in
about 0.2 s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from mouthsync.face.mouth import MOUTH_REGION, landmark_box
from mouthsync.media.quantiser import EXPORT_OPTIONS, QUANTISER_THREADS, region_qp

# The lips' H.264 quantiser at and above which their fine detail is gone for lip reading,
# for a face 200 px wide (:func:`heavy_qp` scales it by the face's size), and whatever the
# size. Measured on the shared clips coded again at CRF 23-51 (``bench/compression.py``):
# there the copy's lip aperture stops following the original's (Pearson r 0.16-0.85 at
# CRF 45 against 0.93-0.99 at CRF 35) and ``check`` follows fewer whole-frame shifts.
HEAVY_QP_200 = 45.0
HEAVY_QP_MAX = 48.0
# H.264's quantiser step doubles every 6 QP.
QP_PER_DOUBLING = 6.0
#: Stretches ``mouth_coding`` decodes, and how long each is.
STRETCHES = 3
STRETCH_S = 1.0
# Fewer lips than this read in the stretches: no answer (a face seen in a few frames).
_MIN_FRAMES = 8
# At most this many frames decoded for one stretch: a container that seeks badly (no
# index) may land far before the keyframe asked for, and the sample must stay cheap.
_MAX_DECODED = 600


def heavy_qp(face_px: np.ndarray | float) -> np.ndarray:
    """The H.264 quantiser over the lips from which their detail is lost for lip reading,
    for a face ``face_px`` wide (stored pixels): a small face has fewer pixels of lip to
    lose, so it suffers at a finer quantiser (6 QP halve the step, as halving the size
    doubles the detail each pixel carries). See :data:`HEAVY_QP_200`."""
    w = np.maximum(np.asarray(face_px, dtype=np.float64), 1.0)
    return np.minimum(HEAVY_QP_MAX, HEAVY_QP_200 + QP_PER_DOUBLING * np.log2(w / 200.0))


def lips_box(lm: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The lips' landmark box (:func:`~mouthsync.face.mouth.landmark_box`, no margin)."""
    return landmark_box(lm, MOUTH_REGION, 0.0, width, height)


@dataclass(frozen=True)
class MouthCoding:
    """The lips' median H.264 quantiser over the sampled frames, and the line
    (:func:`heavy_qp`) it is judged against for the face's median width."""

    qp: float
    face_px: float
    frames: int

    @property
    def heavy(self) -> float:
        """The quantiser from which this face's lip detail is lost."""
        return float(heavy_qp(self.face_px))

    @property
    def over(self) -> float:
        """How far the lips' quantiser is above :attr:`heavy` (negative: below it)."""
        return self.qp - self.heavy

    @property
    def steps_over(self) -> float:
        """:attr:`over` in doublings of the quantiser step (6 QP each)."""
        return self.over / QP_PER_DOUBLING

    def to_dict(self) -> dict[str, Any]:
        return {"mouth_qp": round(self.qp, 1), "heavy_qp": round(self.heavy, 1),
                "face_px": round(self.face_px), "frames": self.frames}


def stretch_starts(keys: np.ndarray, t0: float, t1: float, n: int) -> list[float]:
    """Up to ``n`` keyframe times spread over [t0, t1], each at least a stretch apart."""
    inside = keys[(keys >= t0 - 1e-6) & (keys <= t1)]
    if inside.size == 0:
        inside = keys[keys <= t0][-1:] if (keys <= t0).any() else keys[:1]
    picks: list[float] = []
    for f in (np.arange(n) + 0.5) / n:
        k = float(inside[int(np.argmin(np.abs(inside - (t0 + f * (t1 - t0)))))])
        if all(abs(k - p) >= STRETCH_S for p in picks):
            picks.append(k)
    return sorted(picks)


def _stretch(c: Any, vs: Any, start: float) -> Iterator[tuple[float, Any]]:
    """(time, frame) for the :data:`STRETCH_S` of decoded pictures from the keyframe at
    ``start`` (``media.decode.decode_from``: a demuxer without an index, MPEG-TS, lands
    after the time asked for and is sought again further back); at most
    :data:`_MAX_DECODED` frames decoded."""
    from mouthsync.media.decode import decode_from

    for n, frame in enumerate(decode_from(c, vs, start, skip_to_key=True)):
        t = frame.time
        if n >= _MAX_DECODED or (t is not None and t >= start + STRETCH_S):
            return
        if t is not None and t >= start - 1e-6:
            yield float(t), frame


def _lips_qp(tr: Any, t: float, frame: Any) -> float | None:
    """The quantiser over ``tr``'s lips in the decoded ``frame`` shown at ``t``; None for a
    frame the track skipped (a stride) or holds no face in."""
    i = int(np.searchsorted(tr.times, t))
    near = [j for j in (i - 1, i) if 0 <= j < len(tr)]
    if not near:
        return None
    j = min(near, key=lambda j: abs(tr.times[j] - t))
    if abs(tr.times[j] - t) > 1e-3 or not tr.valid[j]:
        return None
    box = lips_box(tr.landmarks[j], frame.width, frame.height)
    return region_qp(frame, box) if box is not None else None


def mouth_coding(path: str | os.PathLike[str], tracks: list[Any]) -> list[MouthCoding | None]:
    """The lips' quantiser of each face track of ``path`` (tracks of its picture),
    read on :data:`STRETCHES` stretches of :data:`STRETCH_S` from keyframes spread over the
    first track's span; None for a face whose lips were seen in too few of those frames,
    and for every face when the picture is not H.264 (no other decoder exports a quantiser
    on H.264's scale) or does not decode there."""
    import av

    from mouthsync.media.container import open_input, require_video
    from mouthsync.media.decode import keyframe_times

    src = str(path)
    none: list[MouthCoding | None] = [None] * len(tracks)
    if not tracks or len(tracks[0]) == 0:
        return none
    qps: list[list[float]] = [[] for _ in tracks]
    with open_input(src) as c:
        vs = require_video(c, src)
        if vs.codec_context.name != "h264":
            return none
        vs.thread_type = QUANTISER_THREADS  # see media.quantiser: frame threads export empty tables
        vs.codec_context.options = dict(EXPORT_OPTIONS)
        starts = stretch_starts(keyframe_times(src), float(tracks[0].times[0]), float(tracks[0].times[-1]), STRETCHES)
        for start in starts:
            try:
                for t, frame in _stretch(c, vs, start):
                    for tr, got in zip(tracks, qps, strict=True):
                        q = _lips_qp(tr, t, frame)
                        if q is not None:
                            got.append(q)
            except av.FFmpegError:
                continue  # a damaged stretch: the others still tell
    out: list[MouthCoding | None] = []
    for tr, got in zip(tracks, qps, strict=True):
        if len(got) < _MIN_FRAMES:
            out.append(None)
            continue
        out.append(MouthCoding(qp=float(np.median(got)), face_px=tr.face_px or 0.0, frames=len(got)))
    return out
