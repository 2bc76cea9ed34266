"""Which detected face is which from frame to frame: the primary face of a one-face track
(the one overlapping the last, else the largest) and the identities of several faces."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from mouthsync.face.facetrack import N_LANDMARKS
from mouthsync.face.frames import THUMB_SIZE


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes: 0 apart, 1 the same."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / ua) if ua > 0 else 0.0


def covered_share(a: Sequence[float], b: Sequence[float]) -> float:
    """The share of the smaller of two (x0, y0, x1, y1) boxes that the other covers: 1 when
    one lies inside the other, however different their sizes (IoU would not say so)."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(iw * ih / small) if small > 0 else 0.0


def box_of(marks: np.ndarray) -> np.ndarray:
    """The (x0, y0, x1, y1) box around one face's landmarks."""
    return np.array([marks[:, 0].min(), marks[:, 1].min(), marks[:, 0].max(), marks[:, 1].max()])


def box_area(box: np.ndarray) -> float:
    """Area of an (x0, y0, x1, y1) box: the largest face is taken for the speaker."""
    return float((box[2] - box[0]) * (box[3] - box[1]))


def primary_face(frames: Iterator[tuple[float, list[np.ndarray], float, np.ndarray, int]]) -> dict[str, np.ndarray]:
    """One face per frame from ``mesh_frames``: the one overlapping the previous frame's
    face, else the largest; returns times, valid, landmarks (source px), picture change,
    thumbnails and each frame's quarter turns (display rotation)."""
    times: list[float] = []
    change: list[float] = []
    thumbs: list[np.ndarray] = []
    turns: list[int] = []
    valid: list[bool] = []
    marks: list[np.ndarray] = []
    nan_frame = np.full((N_LANDMARKS, 3), np.nan, dtype=np.float32)
    prev_box: np.ndarray | None = None
    for t, cands, ch, th, k_turn in frames:
        change.append(ch)
        thumbs.append(th)
        turns.append(k_turn)
        chosen: np.ndarray | None = None
        if cands:
            boxes = [box_of(c) for c in cands]
            if len(cands) == 1:
                k = 0
            elif prev_box is not None and max(box_iou(prev_box, b) for b in boxes) > 0.2:
                k = int(np.argmax([box_iou(prev_box, b) for b in boxes]))
            else:  # the speaker: the largest face
                k = int(np.argmax([box_area(b) for b in boxes]))
            chosen = cands[k]
            prev_box = boxes[k]
        times.append(t)
        valid.append(chosen is not None)
        marks.append(chosen if chosen is not None else nan_frame)
    return {
        "times": np.asarray(times, dtype=np.float64),
        "valid": np.asarray(valid, dtype=bool),
        "landmarks": np.stack(marks).astype(np.float32) if marks else np.zeros((0, N_LANDMARKS, 3), np.float32),
        "change": np.asarray(change, dtype=np.float32),
        "thumbs": stack_thumbs(thumbs),
        "turns": np.asarray(turns, dtype=np.uint8),
    }


def all_faces(frames: Iterator[tuple[float, list[np.ndarray], float, np.ndarray, int]], max_faces: int) -> dict[str, np.ndarray]:
    """Every face of every frame from ``mesh_frames``, as arrays a worker process can hand
    back: ``faces`` (frames, ``max_faces``, landmarks, 3; NaN beyond each frame's
    ``count``), with the times, picture change, thumbnails and quarter turns as
    :func:`primary_face` gives them. :func:`replay` turns them back into frames for
    :func:`follow_identities`, which needs the whole clip in order (identities run across
    chunks)."""
    times: list[float] = []
    change: list[float] = []
    thumbs: list[np.ndarray] = []
    turns: list[int] = []
    count: list[int] = []
    faces: list[np.ndarray] = []
    for t, cands, ch, th, k_turn in frames:
        row = np.full((max_faces, N_LANDMARKS, 3), np.nan, dtype=np.float32)
        for j, c in enumerate(cands[:max_faces]):
            row[j] = c
        times.append(t)
        change.append(ch)
        thumbs.append(th)
        turns.append(k_turn)
        count.append(min(len(cands), max_faces))
        faces.append(row)
    return {
        "times": np.asarray(times, dtype=np.float64),
        "faces": np.stack(faces) if faces else np.zeros((0, max_faces, N_LANDMARKS, 3), np.float32),
        "count": np.asarray(count, dtype=np.uint8),
        "change": np.asarray(change, dtype=np.float32),
        "thumbs": stack_thumbs(thumbs),
        "turns": np.asarray(turns, dtype=np.uint8),
    }


def replay(parts: list[dict[str, np.ndarray]]) -> Iterator[tuple[float, list[np.ndarray], float, np.ndarray, int]]:
    """The frames of consecutive :func:`all_faces` parts, as ``mesh_frames`` gave them."""
    for p in parts:
        for i in range(len(p["times"])):
            yield (float(p["times"][i]), [p["faces"][i, j] for j in range(int(p["count"][i]))],
                   float(p["change"][i]), p["thumbs"][i], int(p["turns"][i]))


def stack_thumbs(thumbs: list[np.ndarray]) -> np.ndarray:
    """The frames' thumbnails as one (n, height, width) uint8 array (empty with none)."""
    return np.stack(thumbs).astype(np.uint8) if thumbs else np.zeros((0, THUMB_SIZE[1], THUMB_SIZE[0]), np.uint8)


# An identity seen in fewer frames than this is dropped (a passer-by, a false detection).
MIN_FACE_FRACTION = 0.1
# A detection continues the identity whose last box it overlaps at least this much.
_SAME_FACE_IOU = 0.2
# Two detections of one frame overlapping this much are one face meshed twice: asked for
# more faces than a crowded picture holds (a 3x2 gallery, --faces 6), Face Mesh put a
# second mesh on one person, who became two identities with the same mouth. Two people's
# faces never cover each other so much and both stay trackable.
_DUPLICATE_IOU = 0.5


def follow_identities(
    frames: Iterator[tuple[float, list[np.ndarray], float, np.ndarray, int]],
) -> tuple[np.ndarray, list[dict[int, np.ndarray]], np.ndarray, np.ndarray, np.ndarray]:
    """Frame times, per identity ``{frame index: landmarks}``, the picture change, the
    thumbnails and the quarter turns, from ``mesh_frames``'s per-frame detections.

    Face Mesh returns the faces of a frame in no stable order, so each detection is given
    to the identity whose last seen box it overlaps most (IoU > 0.2), largest face first;
    a detection overlapping none starts a new identity, and one overlapping a face already
    placed in the same frame (IoU > 0.5) is a duplicate mesh and is dropped. Matching against the *last seen*
    box (not the previous frame) lets a face that was lost for a while (turned away,
    occluded) come back as itself when it returns near where it was.
    """
    times: list[float] = []
    change: list[float] = []
    thumbs: list[np.ndarray] = []
    turns: list[int] = []
    ids: list[dict[int, np.ndarray]] = []
    last_box: list[np.ndarray] = []
    for i, (t, cands, ch, th, k_turn) in enumerate(frames):
        times.append(float(t))
        change.append(ch)
        thumbs.append(th)
        turns.append(k_turn)
        boxes = [box_of(c) for c in cands]
        taken: set[int] = set()
        placed: list[np.ndarray] = []
        for j in sorted(range(len(cands)), key=lambda j: -box_area(boxes[j])):
            if any(box_iou(b, boxes[j]) > _DUPLICATE_IOU for b in placed):
                continue  # a second mesh on a face already placed in this frame
            placed.append(boxes[j])
            best, best_iou = -1, _SAME_FACE_IOU
            for k, b in enumerate(last_box):
                if k not in taken:
                    iou = box_iou(b, boxes[j])
                    if iou > best_iou:
                        best, best_iou = k, iou
            if best < 0:
                best = len(ids)
                ids.append({})
                last_box.append(boxes[j])
            ids[best][i] = cands[j]
            last_box[best] = boxes[j]
            taken.add(best)
    return (np.asarray(times, dtype=np.float64), ids, np.asarray(change, dtype=np.float32), stack_thumbs(thumbs),
            np.asarray(turns, dtype=np.uint8))

