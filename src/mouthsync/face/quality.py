"""Footage quality for lip reading, per frame and per segment (``mouthsync facecheck``).

Why these measures: a sync estimate is only as good as the mouth signal under it. Each
check below names a way real footage breaks that signal, measured where it matters (the
mouth region found by the face track), relative to the clip itself where absolute levels
vary between cameras, and absolute where the physics is fixed (head angle):

* ``no_face``       the mesh found no face (never filled in).
* ``occluded``      the mouth region stops looking like this speaker's mouth (hand, mic,
                    hair, a box): its brightness-normalised patch departs from the clip's
                    typical mouth patch far more than speech ever moves it, or it goes flat
                    (texture below 0.4 of the clip's median: the lip line is hidden); or,
                    judged against the face itself, the lips hold far less structure than
                    the eyes and nose (a cover or a blur there the whole shot long, which
                    the shot's own typical patch cannot show).
* ``head_turned``   |yaw| > 35° or |pitch| > 30°: the lips are foreshortened.
* ``small_face``    the face is under :data:`~mouthsync.face.mouth.SMALL_FACE_PX` wide
                    (1 s median): a speaker in a wide shot, lips a few pixels tall.
* ``blur``          sharpness (variance of the Laplacian, relative to patch contrast) of the
                    eyes-nose-upper-lip block falls far below this clip's sharp frames for
                    ~0.5 s (that block is in the mouth's focus plane and motion, but its
                    content does not change with articulation as the mouth's does).
* ``shake``         the rigid face points (eyes, nose) jump frame to frame (camera shake or
                    jerky head motion): second difference far above the clip's steady level.
* ``fast_motion``   the head turns faster than 160°/s or moves faster than 4 face widths
                    per second (0.2 s mean): talking heads stay below ~95°/s and ~2.2/s.
* ``flicker``       the face's brightness jumps between neighbouring frames (> 3 % second difference).
* ``exposure``      the face's brightness drifts > 30 % from the clip's typical level.
* ``compression``   8x8 block edges on the lips: gradient energy on the codec's block grid
                    well above the energy inside blocks (measured at source resolution);
                    or, for H.264, whose deblocking smears instead, the quantiser over the
                    lips at or above :func:`heavy_qp` for the face's size.

Per-frame flags are merged into segments (gaps below 0.2 s bridged, segments below 0.12 s
dropped), each with a reason, a recommendation and the measured value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mouthsync.core.findings import Finding, Severity
from mouthsync.face.coding import heavy_qp, lips_box
from mouthsync.face.facetrack import FaceTrack
from mouthsync.face.mouth import (
    EYE_OUTER_L,
    EYE_OUTER_R,
    MOUTH_REGION,
    NOSE_TIP,
    SMALL_FACE_PX,
    landmark_box,
)
from mouthsync.face.shots import MIN_SHOT_S, Transitions, span_mask, transitions
from mouthsync.face.track import track_face
from mouthsync.media.decode import frame_step
from mouthsync.media.quantiser import EXPORT_OPTIONS, QUANTISER_THREADS, region_qp

ALGORITHM = "facecheck-2"
RIGID = (33, 133, 263, 362, 168, 6, 1)
OCCLUDED_Z = 12.0
FLAT_TEXTURE = 0.4
# Gradient energy of the lips (their landmark box, 32x16) over that of the eyes and nose
# (48x24), below which nothing mouth-like is there to read. Every frame of the nine shared
# clips, the two silent ones and blurry, dark and re-encoded copies: 0.63 or more (medians
# 0.97-1.92). A flat box over the mouth the whole clip long: 0.00; the mouth blurred out:
# 0.14-0.23. The shot-relative measures above miss both, since the cover is the shot's
# typical mouth (facecheck read "mouth visible"). bench/mouth_cover.py prints the 1 s
# figure the flag reads: clips 0.78 or more, covers 0.00-0.23.
FLAT_MOUTH = 0.35


REASONS: dict[str, tuple[str, str, Severity]] = {
    # reason: (what, recommendation, severity)
    "no_face": ("no usable face", "cut or ignore this span: sync cannot be judged without a face", Severity.ERROR),
    "occluded": ("mouth occluded", "use footage where nothing covers the mouth (hand, microphone, hair)", Severity.ERROR),
    "head_turned": ("head turned too far for lip reading", "prefer spans where the speaker faces the camera (|yaw| < 35°)", Severity.WARNING),
    "small_face": ("face too small to read the lips (value: its width in px)",
                   "use a closer shot or a higher-resolution source: lips a few pixels tall cannot be timed", Severity.WARNING),
    "blur": ("mouth region blurred", "use a faster shutter or a sharper take; judge sync outside this span", Severity.WARNING),
    "shake": ("camera shake or jerky head motion", "stabilise the footage or judge sync on steadier spans", Severity.WARNING),
    "fast_motion": ("fast head motion", "mouth shapes smear while the head turns fast; judge sync on calmer spans", Severity.WARNING),
    "flicker": ("brightness flicker on the face", "fix lighting/shutter flicker (mains frequency) or deflicker", Severity.WARNING),
    "exposure": ("exposure change on the face", "correct exposure; strong changes upset the mouth measures", Severity.INFO),
    "compression": ("heavy compression blocks on the lips", "use a higher-bitrate source; coarse coding hides lip detail", Severity.WARNING),
}
# How much each reason costs the clip score per flagged second-share (0..1).
WEIGHTS = {"no_face": 1.0, "occluded": 1.0, "head_turned": 0.6, "small_face": 0.5, "blur": 0.6, "shake": 0.5,
           "fast_motion": 0.4, "flicker": 0.4, "exposure": 0.2, "compression": 0.5}


@dataclass
class Segment:
    """A span of frames sharing one problem."""

    start_s: float
    end_s: float
    reason: str
    message: str
    recommendation: str
    severity: Severity
    value: float

    def to_dict(self) -> dict[str, Any]:
        return {"start_s": self.start_s, "end_s": self.end_s, "reason": self.reason,
                "message": self.message, "recommendation": self.recommendation,
                "severity": self.severity.name.lower(), "value": self.value}


@dataclass
class FootageReport:
    """Per-frame measures and flags, merged segments, a 0-100 clip score and findings."""

    source: str
    times: np.ndarray
    metrics: dict[str, np.ndarray]
    flags: dict[str, np.ndarray]
    segments: list[Segment]
    score: float
    findings: list[Finding] = field(default_factory=list)
    boxes: np.ndarray | None = None  # face boxes from the track, for the contact sheet
    faces: int = 1  # faces counted on keyframes (several: this report covers the tracked one)

    def worst_frames(self, n: int = 8) -> list[int]:
        """Indices of up to ``n`` bad frames, one per segment first (the worst segments)."""
        badness = np.zeros(len(self.times))
        for k, f in self.flags.items():
            badness += WEIGHTS.get(k, 0.5) * f
        picks: list[int] = []
        segs = sorted(self.segments, key=lambda s: (-int(s.severity), -(s.end_s - s.start_s)))
        for s in segs:
            idx = np.flatnonzero((self.times >= s.start_s) & (self.times <= s.end_s))
            if idx.size:
                mid = int(idx[len(idx) // 2])
                if mid not in picks:
                    picks.append(mid)
            if len(picks) >= n:
                break
        for i in np.argsort(-badness, kind="stable"):
            if len(picks) >= n or badness[i] <= 0:
                break
            if all(abs(int(i) - p) > 5 for p in picks):
                picks.append(int(i))
        return sorted(picks)

    def to_dict(self) -> dict[str, Any]:
        n = len(self.times)
        return {
            "source": self.source,
            "frames": n,
            "score": self.score,
            "faces": self.faces,
            "flagged_share": {k: float(v.mean()) if n else 0.0 for k, v in self.flags.items()},
            "segments": [s.to_dict() for s in self.segments],
            "findings": [f.to_dict() for f in self.findings],
        }


# ----------------------------------------------------------------------------- pixels


def _gray(frame: Any) -> np.ndarray:
    """Luma plane at source resolution (no colour conversion: every measure here is on Y)."""
    if frame.format.name in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p", "nv12"):
        pl = frame.planes[0]
        return np.frombuffer(pl, np.uint8).reshape(frame.height, pl.line_size)[:, : frame.width]
    return frame.to_ndarray(format="gray")


def _blockiness(y: np.ndarray) -> float:
    """Mean |gradient| across the 8-px block grid / mean |gradient| elsewhere (1 = no blocks).

    ``y`` must keep source pixel positions (its origin aligned to the frame's grid).
    """
    g = y.astype(np.float32)
    gx = np.abs(np.diff(g, axis=1))  # gx[:, j] is the edge between columns j and j+1
    gy = np.abs(np.diff(g, axis=0))
    colsel = (np.arange(gx.shape[1]) % 8) == 7
    rowsel = (np.arange(gy.shape[0]) % 8) == 7
    on = gx[:, colsel].mean() + gy[rowsel, :].mean()
    off = gx[:, ~colsel].mean() + gy[~rowsel, :].mean()
    return float(on / max(off, 1e-3))


def _structure(a: np.ndarray, size: tuple[int, int]) -> float:
    """Mean absolute neighbour difference of ``a`` shrunk to ``size`` (w, h): how much
    edge and texture it holds, whatever its size."""
    import cv2

    g = cv2.resize(a, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


def _frame_measures(y: np.ndarray, lm: np.ndarray) -> tuple[float, float, float, float, np.ndarray | None, float]:
    """Face luminance, mouth sharpness, blockiness, upper-face luminance, mouth patch, and
    the lips' structure relative to the eyes' and nose's (:data:`FLAT_MOUTH`)."""
    import cv2

    h, w = y.shape
    face = landmark_box(lm, list(range(0, 468, 3)), 0.0, w, h)
    mouth = landmark_box(lm, MOUTH_REGION, 0.25, w, h)
    upper = landmark_box(lm, (EYE_OUTER_R, EYE_OUTER_L, NOSE_TIP), 0.1, w, h)
    if face is None or mouth is None or upper is None:
        return np.nan, np.nan, np.nan, np.nan, None, np.nan
    lips = lips_box(lm, w, h)
    eyes = _structure(y[upper[1]:upper[3], upper[0]:upper[2]], (48, 24))
    struct = (_structure(y[lips[1]:lips[3], lips[0]:lips[2]], (32, 16)) / max(eyes, 1e-3)
              if lips is not None and eyes > 0.5 else np.nan)
    ref = float(y[upper[1]:upper[3], upper[0]:upper[2]].mean())
    # brightness from the upper face (eyes, nose): an occluder over the mouth does not move it
    lum = ref
    # blockiness on the ROI snapped to the 8-px grid (source positions matter)
    bx0, by0 = mouth[0] - mouth[0] % 8, mouth[1] - mouth[1] % 8
    blk = _blockiness(y[by0:mouth[3], bx0:mouth[2]]) if (mouth[2] - bx0 >= 24 and mouth[3] - by0 >= 16) else np.nan
    m = y[mouth[1]:mouth[3], mouth[0]:mouth[2]]
    # Sharpness at a fixed scale (96 px across) on the eyes-nose-upper-lip block: it blurs
    # with the mouth (same focus, same motion) but its content does not change with the
    # mouth's shape, whereas the mouth's own texture swings with teeth showing or not.
    sb = landmark_box(lm, (EYE_OUTER_R, EYE_OUTER_L, NOSE_TIP, 0), 0.05, w, h)
    sharp = np.nan
    if sb is not None:
        a = y[sb[1]:sb[3], sb[0]:sb[2]]
        g = cv2.resize(a, (96, max(8, int(round(96 * a.shape[0] / a.shape[1])))), interpolation=cv2.INTER_AREA)
        g = g.astype(np.float32)
        sharp = float(cv2.Laplacian(g, cv2.CV_32F).var() / (g.var() + 25.0))
    patch = cv2.resize(m, (32, 16), interpolation=cv2.INTER_AREA).astype(np.float32) / max(ref, 1.0)
    return lum, sharp, blk, ref, patch, struct


def _rolling(x: np.ndarray, k: int, fn: Any = np.nanmedian) -> np.ndarray:
    n = len(x)
    out = np.full(n, np.nan)
    r = k // 2
    for i in range(n):
        w = x[max(0, i - r): i + r + 1]
        if np.isfinite(w).any():
            out[i] = fn(w)
    return out


# ----------------------------------------------------------------------------- analysis


def check_footage(
    path: str | os.PathLike[str], *, track: FaceTrack | None = None, use_cache: bool = True
) -> FootageReport:
    """Judge whether the footage lets anyone read the lips, frame by frame and per segment."""
    import av

    from mouthsync.core.progress import progress
    from mouthsync.media.container import open_input, require_video

    src = str(path)
    tr = track if track is not None else track_face(src, use_cache=use_cache)
    n = len(tr)
    if track is not None:  # frames are matched by index: the track must be of this video
        from mouthsync.core.cache import file_digest
        from mouthsync.core.errors import BadInput
        from mouthsync.media.decode import frame_times, video_digest

        # the picture's digest; tracks saved before it was kept carry the whole file's
        picture, whole = tr.settings.get("video_sha256"), tr.settings.get("source_sha256")
        if (picture and picture != video_digest(src)) or (not picture and whole and whole != file_digest(src)):
            raise BadInput(f"the track was made from another video than {src} (content differs): "
                           "track this video again")
        ft = frame_times(src)
        if len(ft) != n or not np.allclose(ft, tr.times, atol=1e-3):
            raise BadInput(f"the track has {n} frames that do not match the {len(ft)} frames of {src}: "
                           "track this video again")
    lum = np.full(n, np.nan)
    sharp = np.full(n, np.nan)
    blk = np.full(n, np.nan)
    struct = np.full(n, np.nan)
    qp = np.full(n, np.nan)
    patches: list[np.ndarray | None] = [None] * n
    with open_input(src) as c, progress("Checking footage", n) as advance:
        vs = require_video(c, src)
        # the quantisers, for the mouth's: with frame threads FFmpeg's H.264 decoder now and
        # then exported a B-frame's table before filling it (QP 0 everywhere, one frame in
        # 60-300, never the same one): slices only, as the quantisers need
        vs.thread_type = QUANTISER_THREADS
        vs.codec_context.options = dict(EXPORT_OPTIONS)
        i = 0
        try:
            for frame in c.decode(vs):
                if i >= n:
                    break
                if tr.valid[i]:
                    y = _gray(frame)
                    lum[i], sharp[i], blk[i], _, patches[i], struct[i] = _frame_measures(y, tr.landmarks[i])
                    lips = lips_box(tr.landmarks[i], y.shape[1], y.shape[0])
                    q = region_qp(frame, lips) if lips is not None else None
                    qp[i] = np.nan if q is None else q
                i += 1
                advance(1)
        except av.FFmpegError:
            pass  # truncated tail: those frames keep NaN measures
    report = analyse(tr, lum, sharp, blk, patches, struct, src, qp=qp)
    _note_faces(report, src, use_cache)
    return report


def _note_faces(report: FootageReport, src: str, use_cache: bool = True) -> None:
    """Count the faces (keyframes): with several, say which one the report is about.

    A second face is where a dubbing or sync tool can go wrong silently (it drives or
    measures the wrong mouth), so it is a warning, not a footnote.
    """
    from mouthsync.face.count import faces_to_track

    report.faces = faces_to_track(src, use_cache=use_cache)
    if report.faces > 1 and report.boxes is not None and np.isfinite(report.boxes).any():
        box = [round(float(v)) for v in np.nanmedian(report.boxes, axis=0)]
        report.findings.insert(0, Finding(
            check="facecheck.faces", severity=Severity.WARNING,
            message=f"{report.faces} faces in the picture; this report covers the face at {box}",
            advice="check measures every face and reports the speaker; crop to the speaker before dubbing",
            value=float(report.faces),
        ))


def _cut_bounds(tr: FaceTrack, found: Transitions) -> list[int]:
    """0, the frame index of every shot change (a cut, the middle of a dissolve or of a dip
    to black), and the frame count: the pieces judged apart. Every change, even one a shot
    of under a second follows (``shot_spans`` merges those for the sync measurement): no
    frame difference may span a cut."""
    cuts = [int(np.searchsorted(tr.times, c - 1e-6)) for c, _ in found.starts()]
    return [0, *[i for i in cuts if 0 < i < len(tr)], len(tr)]


def _shot_measures(
    tr: FaceTrack, sel: slice, lum: np.ndarray, sharp: np.ndarray, blk: np.ndarray,
    patches: list[np.ndarray | None], win: int,
) -> dict[str, np.ndarray]:
    """The measures of frames ``sel`` (one shot), each relative to that shot alone.

    Why per shot: in an edit the next shot has another face, light and camera. Judged
    against the whole file, a cut looked like shake and fast head motion, a differently
    lit shot like an exposure change, and another person's mouth like an occluded one.
    Frame-to-frame differences never span a cut.
    """
    t = tr.times[sel]
    n = len(t)
    lum, sharp, blk = lum[sel], sharp[sel], blk[sel]
    pats = patches[sel]
    out: dict[str, np.ndarray] = {}
    # occlusion: distance of the mouth patch to this shot's typical mouth patch
    occ = np.full(n, np.nan)
    tex_rel = np.full(n, np.nan)
    have = [i for i, p in enumerate(pats) if p is not None]
    if have:
        stack = np.stack([pats[i] for i in have])
        med = np.median(stack, axis=0)
        d = np.abs(stack - med).mean(axis=(1, 2))
        base = np.median(d)
        spread = np.median(np.abs(d - base)) + 1e-3
        occ[have] = (d - base) / spread
        # texture: a hand, a microphone or a box hides the lip line and the teeth; the patch
        # goes flat. Clean clips never fall below 0.7 of their median; occluders ~0.0-0.15.
        tex = stack.std(axis=(1, 2))
        tex_rel[have] = tex / max(float(np.median(tex)), 1e-6)
    out["occ"], out["tex_rel"] = occ, tex_rel
    # shake: second difference of rigid points in face units
    scale = tr.mouth["scale"][sel].astype(np.float64)
    rig = tr.landmarks[sel][:, list(RIGID), :2].astype(np.float64) / scale[:, None, None]
    acc = np.full(n, np.nan)
    if n >= 3:
        acc[1:-1] = np.linalg.norm(np.diff(rig, n=2, axis=0), axis=-1).mean(axis=1)
    out["acc_s"] = _rolling(acc, 5, np.nanmean) if n else acc
    acc_base = np.nanmedian(acc) if np.isfinite(acc).any() else np.nan
    out["shake_thr"] = np.full(n, max(0.15, 4.0 * acc_base) if np.isfinite(acc_base) else np.inf)
    # fast head motion: angular speed of the pose and speed of the rigid points
    ang = np.full(n, np.nan)
    trans = np.full(n, np.nan)
    if n >= 3:
        pose = np.radians(tr.pose[sel].astype(np.float64))
        okp = np.isfinite(pose).all(axis=1)
        if okp.sum() >= 3:
            pu = pose.copy()
            pu[okp] = np.unwrap(pose[okp], axis=0)
            ang = np.degrees(np.linalg.norm(np.gradient(pu, t, axis=0), axis=1))
            trans = np.linalg.norm(np.gradient(rig.mean(axis=1), t, axis=0), axis=1)
    out["motion"] = (np.maximum(_rolling(ang, 5, np.nanmean) / 160.0, _rolling(trans, 5, np.nanmean) / 4.0)
                     if n else ang)
    # brightness
    lum_med = np.nanmedian(lum) if np.isfinite(lum).any() else np.nan
    # flicker: brightness that jumps one way and straight back (consecutive frame-to-frame
    # changes of opposite sign; the smaller of the two counts). A fade or a single exposure
    # step has no such reversal and is left to the exposure check.
    flick = np.full(n, np.nan)
    if n >= 3:
        d = np.diff(lum) / max(lum_med, 1.0)
        rev = np.sign(d[:-1]) * np.sign(d[1:]) < 0
        flick[1:-1] = np.where(rev, np.minimum(np.abs(d[:-1]), np.abs(d[1:])), 0.0)
        flick[1:-1][~np.isfinite(d[:-1]) | ~np.isfinite(d[1:])] = np.nan
    out["flick_s"] = _rolling(flick, 5, np.nanmean) if n else flick
    out["expo"] = np.abs(_rolling(lum, win) - lum_med) / max(lum_med, 1.0) if n else lum
    # sharpness relative to the shot's sharp frames
    sharp_ref = np.nanpercentile(sharp, 80) if np.isfinite(sharp).any() else np.nan
    # sustained (~0.5 s): a closing mouth or one fast gesture dips briefly; blur persists
    out["sharp_rel"] = _rolling(sharp, max(5, (win // 2) | 1)) / sharp_ref if n else sharp
    # an occluder's straight edges look like block edges: measure only unoccluded frames
    with np.errstate(invalid="ignore"):
        occ_any = ((occ > OCCLUDED_Z) | (tex_rel < FLAT_TEXTURE)).astype(np.float64)
    occ_near = _rolling(occ_any, 5, np.nanmax) > 0 if n else np.zeros(0, bool)
    blk = np.where(occ_near, np.nan, blk)
    out["blk"] = blk
    out["blk_s"] = _rolling(blk, win) if n else blk
    out["blk_clip"] = np.full(n, float(np.nanmedian(blk)) if np.isfinite(blk).any() else np.nan)
    return out


def analyse(
    tr: FaceTrack,
    lum: np.ndarray,
    sharp: np.ndarray,
    blk: np.ndarray,
    patches: list[np.ndarray | None],
    struct: np.ndarray,
    source: str = "",
    qp: np.ndarray | None = None,
) -> FootageReport:
    """Turn per-frame measures into flags, segments, a score and findings.

    Every measure that is judged against the footage's own typical level (mouth patch,
    brightness, sharpness, steadiness, block edges) is judged within its shot
    (:mod:`mouthsync.face.shots`); a single take is one shot. ``struct``: the lips'
    structure against the eyes' and nose's per frame (:data:`FLAT_MOUTH`), judged
    against the face itself, so a cover present all shot long is seen too. ``qp``: the
    H.264 quantiser over the lips per frame (:mod:`mouthsync.media.quantiser`; NaN where
    not known), judged against :func:`heavy_qp` for the face's size.
    """
    n = len(tr)
    t = tr.times
    fps = tr.fps if tr.fps > 0 else 25.0
    win = max(3, int(round(fps)) | 1)  # about one second, odd
    valid = tr.valid.copy()
    # a dissolve's frames mix two shots (their light, motion and mouth are no defect) and
    # a dip to black between shots shows no face by design: neither is judged (a blank
    # second or more, a slug, still reads as no face)
    found = transitions(tr)
    transition = span_mask(tr, found.dissolves + [g for g in found.blanks if g[2] - g[0] < MIN_SHOT_S])
    judged = valid & ~span_mask(tr, found.dissolves + found.blanks)
    bounds = _cut_bounds(tr, found)
    parts = [_shot_measures(tr, slice(a, b), lum, sharp, blk, patches, win)
             for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    m = {k: np.concatenate([p[k] for p in parts]) if parts else np.zeros(0) for k in
         ("occ", "tex_rel", "acc_s", "shake_thr", "motion", "flick_s", "expo", "sharp_rel", "blk", "blk_s", "blk_clip")}
    occ, tex_rel, acc_s, motion, flick_s = m["occ"], m["tex_rel"], m["acc_s"], m["motion"], m["flick_s"]
    expo, sharp_rel, blk, blk_s = m["expo"], m["sharp_rel"], m["blk"], m["blk_s"]
    yaw = np.abs(tr.pose[:, 0])
    pitch = np.abs(tr.pose[:, 1])
    # over about a second: a hand passing, a blink of motion blur is not a cover
    struct_s = _rolling(struct, win)
    qp = np.full(n, np.nan) if qp is None else np.asarray(qp, dtype=np.float64)
    qp_s = _rolling(qp, win) if n else qp
    face_w = _rolling(np.where(valid, (tr.boxes[:, 2] - tr.boxes[:, 0]).astype(np.float64), np.nan), win) if n else np.zeros(0)
    with np.errstate(invalid="ignore"):
        qp_over = qp_s - heavy_qp(face_w if n else qp)

    def flag(x: np.ndarray, thr: float, above: bool = True) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            f = x > thr if above else x < thr
        return np.where(np.isfinite(x), f, False) & judged

    flags = {
        "no_face": ~valid & ~transition,
        "occluded": (flag(occ, OCCLUDED_Z) | flag(tex_rel, FLAT_TEXTURE, above=False)
                     | flag(struct_s, FLAT_MOUTH, above=False)),
        "head_turned": flag(np.maximum(yaw - 35.0, pitch - 30.0), 0.0),
        "small_face": flag(face_w, SMALL_FACE_PX, above=False),
        "blur": flag(sharp_rel, 0.35, above=False),
        "shake": flag(acc_s - m["shake_thr"], 0.0),
        "fast_motion": flag(motion, 1.0),
        "flicker": flag(flick_s, 0.03),
        "exposure": flag(expo, 0.30),
        # a whole clip re-encoded badly (clip median) or a badly coded stretch (1 s median)
        # or the lips quantised so coarsely that their detail is gone (H.264's deblocking
        # leaves no block edges to see)
        "compression": flag(blk_s, 1.3) | (flag(blk, -np.inf) & (m["blk_clip"] > 1.22)) | flag(qp_over, -1e-6),
    }
    # an occluder also removes sharpness and adds edges: report it once, as occlusion
    for k in ("blur", "compression"):
        flags[k] = flags[k] & ~flags["occluded"]
    metrics = {
        "face_luminance": lum, "mouth_sharpness": sharp, "sharpness_rel": sharp_rel,
        "blockiness": blk, "blockiness_1s": blk_s, "mouth_qp": qp, "occlusion_z": occ, "mouth_texture_rel": tex_rel, "mouth_structure": struct_s, "shake": acc_s, "fast_motion": motion, "flicker": flick_s,
        "exposure_dev": expo, "yaw": tr.pose[:, 0].astype(np.float64),
        "pitch": tr.pose[:, 1].astype(np.float64),
    }
    value_of = {"occluded": occ, "head_turned": np.maximum(yaw, pitch), "small_face": face_w, "blur": sharp_rel,
                "shake": acc_s, "fast_motion": motion, "flicker": flick_s, "exposure": expo, "compression": blk_s,
                "no_face": np.ones(n)}
    segments: list[Segment] = []
    for reason, f in flags.items():
        for a, b in _runs(f, t, gap_s=0.2, min_s=0.12):
            sel = slice(a, b + 1)
            v = value_of[reason][sel]
            what, rec, sev = REASONS[reason]
            val = float(np.nanmin(v) if reason in ("blur", "small_face") else np.nanmax(v)) if np.isfinite(v).any() else float("nan")
            flat = struct_s[sel]
            if reason == "occluded" and np.isfinite(flat).any() and np.nanmedian(flat) < FLAT_MOUTH:
                # covered the shot long (the typical patch is the cover): the value that tells
                val = float(np.nanmedian(flat))
                what = "mouth covered or blurred out: no lip detail beside the eyes' and nose's (value: the ratio; a visible mouth reads 0.6 or more)"
            if reason == "compression" and np.isfinite(qp_over[sel]).any() and np.nanmax(qp_over[sel]) >= -1e-6:
                # flagged by the quantiser: its value tells (blocks are what H.264 does not show)
                val = float(np.nanmax(qp_s[sel]))
                lost = float(np.nanmedian(heavy_qp(tr.boxes[sel, 2] - tr.boxes[sel, 0])))
                what = (f"lips heavily compressed (H.264 quantiser {val:.0f} over the mouth; for a face this size "
                        f"fine lip detail goes from about {lost:.0f})")
            end = float(t[b] + (1.0 / fps))
            segments.append(Segment(float(t[a]), end, reason, what, rec, sev, val))
    segments.sort(key=lambda s: s.start_s)
    dur_w = np.diff(np.append(t, t[-1] + 1.0 / fps)) if n else np.zeros(0)
    total = dur_w.sum() if n else 1.0
    any_cost = np.zeros(n)
    for k, f in flags.items():
        any_cost = np.maximum(any_cost, WEIGHTS[k] * f)
    score = float(100.0 * (1.0 - (any_cost * dur_w).sum() / total)) if n else 0.0
    findings = [
        Finding(
            check=f"facecheck.{s.reason}", severity=s.severity, message=s.message,
            advice=s.recommendation, value=s.value, start_s=s.start_s, end_s=s.end_s,
        )
        for s in segments
    ]
    if score < 60:
        findings.append(Finding(
            check="facecheck.score", severity=Severity.WARNING,
            message=f"footage score {score:.0f}/100: lip sync will be hard to judge on this clip",
            advice="see the segments; prefer a cleaner take", value=score, threshold=60.0,
        ))
    return FootageReport(source, t, metrics, flags, segments, score, findings, boxes=tr.boxes)


def _runs(f: np.ndarray, t: np.ndarray, *, gap_s: float, min_s: float) -> list[tuple[int, int]]:
    """Index runs of True in ``f``, bridging gaps shorter than ``gap_s``, dropping short runs."""
    idx = np.flatnonzero(f)
    if idx.size == 0:
        return []
    runs: list[list[int]] = [[int(idx[0]), int(idx[0])]]
    for i in idx[1:]:
        if t[i] - t[runs[-1][1]] <= gap_s + 1e-9:
            runs[-1][1] = int(i)
        else:
            runs.append([int(i), int(i)])
    step = frame_step(t)
    return [(a, b) for a, b in runs if (t[b] - t[a] + step) >= min_s]


# ----------------------------------------------------------------------------- contact sheet


def _face_crop(img: np.ndarray, boxes: np.ndarray | None, i: int) -> np.ndarray:
    """The face with some context (a square 1.8x the face box): lips must be visible on the
    sheet even when the face is small in a wide shot. The whole picture without a face."""
    if boxes is None or i >= len(boxes) or not np.isfinite(boxes[i]).all():
        return img
    x0, y0, x1, y1 = boxes[i]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = 0.9 * max(x1 - x0, y1 - y0)
    h, w = img.shape[:2]
    a, b = int(max(0, cx - half)), int(max(0, cy - half))
    c, d = int(min(w, cx + half)), int(min(h, cy + half))
    return img[b:d, a:c] if (c - a) >= 16 and (d - b) >= 16 else img


def contact_sheet(
    path: str | os.PathLike[str], report: FootageReport, out: str | os.PathLike[str], *, n: int = 8
) -> Path:
    """Write a grid of the worst moments, each labelled with its time and reasons: JPEG when
    ``out`` is named .jpg/.jpeg, else PNG."""
    import cv2

    from mouthsync.core.atomic import atomic_path
    from mouthsync.media.container import open_input, require_video

    picks = report.worst_frames(n)
    if not picks:  # nothing wrong: show evenly spaced frames so the sheet is still useful
        picks = sorted({int(i) for i in np.linspace(0, len(report.times) - 1, min(n, len(report.times)))})
    want = set(picks)
    thumbs: dict[int, np.ndarray] = {}
    tw = 320
    with open_input(path) as c:
        vs = require_video(c, path)
        vs.thread_type = "AUTO"
        for i, frame in enumerate(c.decode(vs)):
            if i > max(want):
                break
            if i in want:
                img = _face_crop(frame.to_ndarray(format="bgr24"), report.boxes, i)
                th = int(round(tw * img.shape[0] / img.shape[1]))
                thumbs[i] = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
    cells = []
    for i in picks:
        if i not in thumbs:
            continue
        img = thumbs[i].copy()
        reasons = [k for k, f in report.flags.items() if f[i]] or ["ok"]
        label = f"{report.times[i]:.2f}s " + ",".join(reasons)
        cv2.rectangle(img, (0, 0), (tw, 22), (0, 0, 0), -1)
        cv2.putText(img, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        cells.append(img)
    if not cells:
        raise ValueError("no frames to draw")
    h = max(c.shape[0] for c in cells)
    cells = [np.pad(c, ((0, h - c.shape[0]), (0, 0), (0, 0))) for c in cells]
    cols = min(4, len(cells))
    while len(cells) % cols:
        cells.append(np.zeros_like(cells[0]))
    rows = [np.concatenate(cells[r * cols:(r + 1) * cols], axis=1) for r in range(len(cells) // cols)]
    sheet = np.concatenate(rows, axis=0)
    # the picture format the name says (a .jpg holding PNG bytes confuses viewers); PNG
    # for any other name
    kind = ".jpg" if Path(out).suffix.lower() in (".jpg", ".jpeg") else ".png"
    with atomic_path(out, [path]) as tmp:
        ok, buf = cv2.imencode(kind, sheet)
        if not ok:
            raise ValueError(f"{kind[1:].upper()} encoding failed")
        tmp.write_bytes(buf.tobytes())
    return Path(out)
