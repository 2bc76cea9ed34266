"""Mouth measurements and head pose from MediaPipe Face Mesh landmarks.

All measures are divided by a face-size scale (the 3-D distance between the outer eye
corners) so that they compare across shots, zooms and resolutions. Distances are taken in
3-D (x, y in pixels, z in the same pixel scale) so that turning the head shrinks them far
less than 2-D distances would. Landmark indices refer to the 478-point refined mesh; every
index used here is listed in ``docs/face.md``.
"""

from __future__ import annotations

import numpy as np

# Outer eye corners: the face-size scale (inter-ocular distance).
EYE_OUTER_R = 33  # subject's right eye, image left
EYE_OUTER_L = 263
# Inner lip contour, vertical pairs from the subject's right corner to the left one
# (upper, lower). Several pairs, not one, so a single jittering point cannot fake speech.
INNER_LIP_PAIRS: tuple[tuple[int, int], ...] = (
    (80, 88),
    (81, 178),
    (82, 87),
    (13, 14),
    (312, 317),
    (311, 402),
    (310, 318),
)
# Outer mouth corners (lip commissures).
MOUTH_CORNER_R = 61
MOUTH_CORNER_L = 291
# Lower lip: inner (wet line) and outer (vermilion border) centre points.
LOWER_LIP_INNER = 14
LOWER_LIP_OUTER = 17
UPPER_LIP_INNER = 13
UPPER_LIP_OUTER = 0
# The base of the nose, above the upper lip's centre: the fixed point the lower lip drops from.
NOSE_BASE = 2
# Pose axes.
NOSE_TIP = 1
FOREHEAD = 10
CHIN = 152

MOUTH_REGION = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
)

# A face narrower than this (stored px, its landmarks' box) leaves its lips a few pixels
# tall: too few to time the mouth's movements. The shared clips' pictures scaled into a
# 1080p frame read sync at confidence 0.00 on 5 of the 7 faces of 29-31 px, 2 of 6 of
# 38-41 px, and as the clip itself from 66 px (docs/face.md, "Smaller faces").
SMALL_FACE_PX = 40.0

# Lips are "touching" when the mean inner aperture is below this fraction of the
# inter-ocular distance. Checked by eye on mouth crops of retalking_face1/face2 and
# voxceleb_00473: closed lips measure 0.001-0.024, a visible slit with teeth showing
# 0.018-0.026, any open vowel > 0.05. 0.02 splits the overlap.
CLOSURE_THRESHOLD = 0.02


def landmark_box(
    lm: np.ndarray, idx: tuple[int, ...] | list[int], pad: float, width: int, height: int
) -> tuple[int, int, int, int] | None:
    """The box (x0, y0, x1, y1, pixels, end exclusive) around the landmarks ``idx`` of one
    frame's ``lm``, grown by ``pad`` of its size on each side and kept within a ``width`` x
    ``height`` picture; None when a point is missing or the box is under 6 px."""
    p = lm[list(idx), :2]
    if not np.isfinite(p).all():
        return None
    x0, y0 = p.min(0)
    x1, y1 = p.max(0)
    px, py = (x1 - x0) * pad, (y1 - y0) * pad
    a, b = int(max(0, x0 - px)), int(max(0, y0 - py))
    c, d = int(min(width, x1 + px + 1)), int(min(height, y1 + py + 1))
    if c - a < 6 or d - b < 6:
        return None
    return a, b, c, d


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64), axis=-1)


def _pt(landmarks: np.ndarray, idx: int) -> np.ndarray:
    """One landmark over all frames as float64 (never a float64 copy of the whole mesh:
    a 10-minute track holds 15 000 x 478 x 3 values)."""
    return np.asarray(landmarks[:, idx], dtype=np.float64)


def face_scale(landmarks: np.ndarray) -> np.ndarray:
    """Inter-ocular distance per frame (3-D, pixels): the unit every measure is divided by."""
    return _dist(landmarks[:, EYE_OUTER_R], landmarks[:, EYE_OUTER_L])


def head_axes(landmarks: np.ndarray) -> np.ndarray:
    """Rotation matrices (n, 3, 3) whose rows are the head's right, down and forward axes.

    Built from the eye line (x) and the forehead-to-chin line (y), orthonormalised, so it
    needs no camera intrinsics: the mesh's own 3-D coordinates already carry the pose.
    """
    x = _pt(landmarks, EYE_OUTER_L) - _pt(landmarks, EYE_OUTER_R)
    y = _pt(landmarks, CHIN) - _pt(landmarks, FOREHEAD)
    x = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-9)
    y = y - (y * x).sum(-1, keepdims=True) * x
    y = y / np.maximum(np.linalg.norm(y, axis=-1, keepdims=True), 1e-9)
    z = np.cross(x, y)
    return np.stack([x, y, z], axis=1)


def head_pose(landmarks: np.ndarray) -> np.ndarray:
    """Yaw, pitch, roll in degrees per frame (n, 3); 0,0,0 is a frontal, upright face.

    Yaw > 0: the face turns towards image right; pitch > 0: chin up; roll > 0: head tilted
    clockwise in the image. The face plane's forehead-chin line leans back by about 10° on a
    frontal face in the mesh, so pitch is offset by that canonical angle.
    """
    r = head_axes(landmarks)
    fwd = r[:, 2]  # forward axis, pointing into the screen for a frontal face (z grows away)
    yaw = np.degrees(np.arctan2(fwd[:, 0], fwd[:, 2]))
    pitch = np.degrees(np.arctan2(-fwd[:, 1], np.hypot(fwd[:, 0], fwd[:, 2])))
    right = r[:, 0]
    roll = np.degrees(np.arctan2(right[:, 1], right[:, 0]))
    return np.stack([yaw, pitch, roll], axis=1).astype(np.float32)


def mouth_measures(landmarks: np.ndarray, times: np.ndarray, valid: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame mouth measures (NaN where ``valid`` is false). See ``docs/face.md``.

    Keys: ``aperture``, ``width``, ``closure``, ``lip_teeth``, ``velocity``, ``corner_rx``,
    ``corner_ry``, ``corner_lx``, ``corner_ly``, ``lower_lip``, ``drop``, ``scale``.
    """
    lm = landmarks  # float32; points are cast one at a time
    n = lm.shape[0]
    nan = np.full(n, np.nan)
    if n == 0:
        return {k: nan.copy() for k in ("aperture", "width", "closure", "lip_teeth", "velocity",
                                         "corner_rx", "corner_ry", "corner_lx", "corner_ly",
                                         "lower_lip", "drop", "scale")}
    scale = face_scale(lm)
    ok = valid & (scale > 1e-6)
    s = np.where(ok, scale, np.nan)
    up = np.array([p[0] for p in INNER_LIP_PAIRS])
    lo = np.array([p[1] for p in INNER_LIP_PAIRS])
    aperture = _dist(lm[:, up], lm[:, lo]).mean(axis=1) / s
    width = _dist(lm[:, MOUTH_CORNER_R], lm[:, MOUTH_CORNER_L]) / s
    # Corners in head coordinates (right/down axes), origin between the eyes.
    axes = head_axes(lm)
    origin = (_pt(lm, EYE_OUTER_R) + _pt(lm, EYE_OUTER_L)) / 2.0

    def _corner(idx: int) -> tuple[np.ndarray, np.ndarray]:
        d = _pt(lm, idx) - origin
        return (d * axes[:, 0]).sum(-1) / s, (d * axes[:, 1]).sum(-1) / s

    crx, cry = _corner(MOUTH_CORNER_R)
    clx, cly = _corner(MOUTH_CORNER_L)
    # Visible lower-lip height: shrinks when the lower lip rolls in under the upper teeth (F/V).
    lower_lip = _dist(lm[:, LOWER_LIP_INNER], lm[:, LOWER_LIP_OUTER]) / s
    # How far the lower lip hangs below the nose: the jaw's opening and the lower lip's
    # together. The mesh places the lower lip's outer edge against the chin's skin, a broad
    # edge that survives blur and coarse coding; the inner lip line ``aperture`` is read
    # from does not (a blurred, coarsely coded face's mesh stops parting the lips). In the
    # picture's plane: the mesh's depth is inferred, not seen, and the 3-D distance read
    # the other voice at 10 dB worse (docs/sync.md, "The lower lip's drop").
    drop = _dist(lm[:, NOSE_BASE, :2], lm[:, LOWER_LIP_OUTER, :2]) / s
    closure = np.where(ok, (aperture < CLOSURE_THRESHOLD).astype(np.float64), np.nan)
    # Lower lip to upper teeth: the upper teeth edge sits just behind the upper inner lip
    # (13), which the mesh does track. F/V = the lower lip's top edge near it (small aperture)
    # while the lower lip is tucked (visible height below this clip's typical height).
    # 1.0 = touching and tucked, 0.0 = far.
    typical = np.nanmedian(lower_lip[ok]) if ok.any() else np.nan
    near = np.clip(1.0 - aperture / 0.12, 0.0, 1.0)
    tucked = np.clip(1.0 - lower_lip / typical, 0.0, 0.5) * 2.0 if np.isfinite(typical) else nan
    lip_teeth = np.where(ok, near * (0.5 + 0.5 * tucked), np.nan)
    velocity = _gradient(aperture, times, ok)
    out = {
        "aperture": aperture,
        "width": width,
        "closure": closure,
        "lip_teeth": lip_teeth,
        "velocity": velocity,
        "corner_rx": crx,
        "corner_ry": cry,
        "corner_lx": clx,
        "corner_ly": cly,
        "lower_lip": lower_lip,
        "drop": drop,
        "scale": np.where(ok, scale, np.nan),
    }
    return {k: np.where(ok, v, np.nan).astype(np.float32) for k, v in out.items()}


def _gradient(values: np.ndarray, times: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """d values / dt on true frame times; NaN where a neighbour is missing (never bridged)."""
    n = len(values)
    out = np.full(n, np.nan)
    if n < 2:
        return out
    t = np.asarray(times, dtype=np.float64)
    v = np.where(ok, values, np.nan)
    # central difference where both neighbours are valid, one-sided at gaps/edges
    fwd = np.full(n, np.nan)
    dt = np.diff(t)
    dt[dt <= 0] = np.nan
    fwd[:-1] = np.diff(v) / dt
    bwd = np.full(n, np.nan)
    bwd[1:] = fwd[:-1]
    both = np.isfinite(fwd) & np.isfinite(bwd)
    out[both] = (fwd[both] + bwd[both]) / 2.0
    only_f = np.isfinite(fwd) & ~np.isfinite(bwd)
    out[only_f] = fwd[only_f]
    only_b = ~np.isfinite(fwd) & np.isfinite(bwd)
    out[only_b] = bwd[only_b]
    return out
