"""Where to look for a small face: a crop of the picture for Face Mesh.

Face Mesh runs on the picture shrunk to 640 px (``track.DEFAULT_MAX_SIDE``), and in
tracking mode it finds the face with MediaPipe's short-range detector, made for faces that
fill much of the picture. In a medium or wide shot the face is small: a 1080p frame with a
head-and-shoulders tile 320 px wide (a face box of 40 px at 640) gave "no face in any of 125
frames", while the full-range detector of :mod:`mouthsync.face.count` finds that face on
the keyframes. Tracking a crop around where those keyframes put it, decoded at the source's
resolution, gives Face Mesh a face as large as in a close-up.

Measured (face box width of the full-range detector at the tracker's 640 px scale): 64 px
tracked, 40 and 35 px found nothing; the shared clips are 133-254 px. Below
:data:`MIN_FACE_PX` the crop is used.
"""

from __future__ import annotations

import numpy as np

from mouthsync.face.identities import covered_share

MIN_FACE_PX = 80.0
#: The crop is used when this percentile of the keyframes' face widths is under
#: MIN_FACE_PX. The median let a 60 s two-shot (1280x360, the speed benchmark's clip
#: beside itself) whose faces measure 60-98 px at 640 px lose a third of its frames:
#: every one of the shots where they measured 60.
SMALL_SHARE = 25.0
# Margins around the union of the face boxes, in face widths: room for the head to move
# and for the chin (Face Mesh's own crop reaches below the detector's box).
MARGIN_SIDE = 1.0
MARGIN_ABOVE = 0.8
MARGIN_BELOW = 1.3


def _small(b: np.ndarray, width: int, height: int, max_side: int | None) -> bool:
    """Whether one face's keyframe boxes ``b`` (n, 4; source px) are too small for Face Mesh
    on the whole picture shrunk to ``max_side``: judged on the smaller faces (a zoom, an
    edit between a close and a wider shot), as the whole picture loses every frame where
    the face is under what Face Mesh can track."""
    scale = min(1.0, (max_side or max(width, height)) / max(width, height))
    return float(np.percentile(b[:, 2] - b[:, 0], SMALL_SHARE)) * scale < MIN_FACE_PX


def _crop_for(b: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """The crop around one face's keyframe boxes ``b`` (n, 4; source px), or None when it
    would be most of the picture (no gain)."""
    face_w = float(np.median(b[:, 2] - b[:, 0]))
    if face_w <= 0:
        return None
    x0 = b[:, 0].min() - MARGIN_SIDE * face_w
    x1 = b[:, 2].max() + MARGIN_SIDE * face_w
    y0 = b[:, 1].min() - MARGIN_ABOVE * face_w
    y1 = b[:, 3].max() + MARGIN_BELOW * face_w
    x0, y0 = max(0, int(np.floor(x0 / 2)) * 2), max(0, int(np.floor(y0 / 2)) * 2)
    x1, y1 = min(width // 2 * 2, int(np.ceil(x1 / 2)) * 2), min(height // 2 * 2, int(np.ceil(y1 / 2)) * 2)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    if (x1 - x0) * (y1 - y0) >= 0.6 * width * height:
        return None  # the crop would be most of the picture: no gain
    return x0, y0, x1 - x0, y1 - y0


def face_regions(
    boxes: list[list[list[float]]], width: int, height: int, max_side: int | None, n: int
) -> list[tuple[int, int, int, int]] | None:
    """One crop ``(x0, y0, w, h)`` per face (source pixels, even numbers, inside the
    picture) for ``n`` faces of which at least one is small (one face in a medium shot; a
    wide two-shot or a video call's gallery, each person tracked in a crop of their own),
    or None when the whole picture should be tracked (every face large enough, another
    number of faces, none found).

    ``boxes``: per sampled keyframe, the face boxes as fractions of the picture
    (:func:`mouthsync.face.count.face_boxes`).

    The faces are told apart by their left-to-right order on the keyframes that show all
    ``n`` (people in an interview keep their side); crops that overlap much are refused.
    """
    if n < 1 or width < 2 or height < 2:
        return None
    frames = [sorted(f, key=lambda r: r[0]) for f in boxes if len(f) == n]
    if not frames or len(frames) < 0.5 * len(boxes):
        return None
    faces = [np.asarray([f[k] for f in frames], dtype=np.float64) * np.array([width, height, width, height])
             for k in range(n)]
    # one small face among larger ones (a video call's gallery: the tiles' faces differ in
    # size) puts every face in a crop: on the whole picture Face Mesh would measure the
    # larger ones and never find it
    if not any(_small(b, width, height, max_side) for b in faces):
        return None
    crops = []
    for b in faces:
        crop = _crop_for(b, width, height)
        if crop is None:
            return None
        crops.append(crop)
    for i in range(n):
        for j in range(i + 1, n):
            (ax, ay, aw, ah), (bx, by, bw, bh) = crops[i], crops[j]
            if covered_share((ax, ay, ax + aw, ay + ah), (bx, by, bx + bw, by + bh)) > 0.5:
                return None  # the faces are close together: one picture holds them both
    return crops
