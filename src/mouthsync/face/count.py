"""How many faces the picture holds: a cheap look at keyframes before choosing how to track.

``check`` measures one face by default, and in a two-shot or an interview the face Face
Mesh happens to follow first need not be the one speaking. Tracking every face costs
about twice as much, so it is only worth doing when there *are* several faces. Decoding
only the keyframes (the decoder skips every other frame) and running MediaPipe's
full-range face detector on them costs a few tens of milliseconds per clip, which is what
makes the default ``check --faces auto`` affordable.
"""

from __future__ import annotations

import contextlib
import json
import os

import numpy as np

from mouthsync.core.atomic import write_text_atomic
from mouthsync.core.cache import cache_key, cache_path
from mouthsync.core.quiet import native_stderr_silenced
from mouthsync.face.frames import stored_fractions, upright

MAX_SAMPLES = 12
_MAX_SIDE = 640  # the detector works on 192 px internally: a bigger picture only costs time
# A face must be this confident; posters and photos in the background are faces too, but
# measuring one more face is only slower, never wrong (the speaker is chosen by agreement).
MIN_CONFIDENCE = 0.6


def _keyframes(path: str, max_samples: int) -> list[tuple[np.ndarray, int]]:
    """RGB pictures of up to ``max_samples`` keyframes spread over the clip, each turned
    upright, with the quarter turns it was given (``face.frames.upright``).

    The keyframes are counted from the packet scan that the frame times and the picture's
    digest come from (``media.decode.keyframe_times``, read once per file), then only the
    chosen ones are converted, so memory does not grow with the clip's length.
    """
    import av

    from mouthsync.media.container import open_input, require_video
    from mouthsync.media.decode import display_turn, keyframe_times, pixel_aspect

    n_key = len(keyframe_times(path))
    if n_key == 0:
        return []
    picks = set(np.unique(np.linspace(0, n_key - 1, min(max_samples, n_key)).round().astype(int)).tolist())
    pictures: list[np.ndarray] = []
    with open_input(path) as c:
        vs = require_video(c, path)
        vs.codec_context.skip_frame = "NONKEY"
        w, h = vs.codec_context.width, vs.codec_context.height
        sw = w * pixel_aspect(vs)  # square pixels: the detector's faces are not squeezed
        s = min(1.0, _MAX_SIDE / max(sw, h, 1))
        size = (max(2, int(sw * s) // 2 * 2), max(2, int(h * s) // 2 * 2))
        try:
            for i, frame in enumerate(c.decode(vs)):
                if i in picks:
                    turns = display_turn(frame) // 90  # the detector finds upright faces
                    pictures.append((upright(frame.to_ndarray(format="rgb24", width=size[0], height=size[1]), turns), turns))
        except av.FFmpegError:
            pass  # a damaged tail: the keyframes before it still count
    return pictures


def _stored_box(box: list[float], turns: int) -> list[float]:
    """A box ``[x0, y0, x1, y1]`` (fractions) on the upright picture, on the stored one."""
    xs, ys = stored_fractions(np.array([box[0], box[2]]), np.array([box[1], box[3]]), turns)
    return [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]


def face_boxes(path: str | os.PathLike[str], max_samples: int = MAX_SAMPLES, *, use_cache: bool = True) -> list[list[list[float]]]:
    """The faces detected on each sampled keyframe of ``path``: per keyframe a list of boxes
    ``[x0, y0, x1, y1]`` as fractions of the picture's width and height (empty list when no
    keyframe decodes).

    Cached by content like the face track: a ``check`` of a clip whose track and speech
    are cached spent half its time here (0.5 of 1.85 s on the 60 s 720p benchmark clip,
    most of it importing MediaPipe for the detector).
    """
    settings = {"kind": "keyframes", "max_samples": max_samples, "max_side": _MAX_SIDE,
                "min_confidence": MIN_CONFIDENCE, "model": "mediapipe-0.10.21/full-range", "boxes": 2}
    from mouthsync.media.decode import video_digest  # (PyAV: imported when counting)

    # keyed by the picture alone, as the face track is: fix's output shares the count
    cpath = cache_path(cache_key("facecount", path, settings, digest=video_digest(path)), ".json") if use_cache else None
    if cpath is not None and cpath.exists():
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return [[[float(v) for v in b] for b in frame] for frame in json.loads(cpath.read_text())["boxes"]]
    from mouthsync.face.mesh import import_mediapipe

    pictures = _keyframes(str(path), max_samples)
    boxes: list[list[list[float]]] = []
    if pictures:
        mp = import_mediapipe()
        with native_stderr_silenced(), mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=MIN_CONFIDENCE
        ) as det:
            for p, turns in pictures:
                found = []
                for d in det.process(p).detections or []:
                    r = d.location_data.relative_bounding_box
                    box = [float(r.xmin), float(r.ymin), float(r.xmin + r.width), float(r.ymin + r.height)]
                    found.append(_stored_box(box, turns))
                boxes.append(found)
    if cpath is not None:
        with contextlib.suppress(OSError):
            write_text_atomic(cpath, json.dumps({"boxes": boxes}))
    return boxes


def count_faces(path: str | os.PathLike[str], max_samples: int = MAX_SAMPLES, *, use_cache: bool = True) -> list[int]:
    """Faces detected on each sampled keyframe of ``path`` (empty when none decodes)."""
    return [len(b) for b in face_boxes(path, max_samples, use_cache=use_cache)]


def faces_to_track(path: str | os.PathLike[str], max_faces: int = 3, *, use_cache: bool = True) -> int:
    """How many faces ``check --faces auto`` should measure (:func:`faces_in` of the
    keyframes' boxes)."""
    return faces_in(face_boxes(path, use_cache=use_cache), max_faces)


def faces_in(boxes: list[list[list[float]]], max_faces: int = 3) -> int:
    """The number of faces seen on at least a third of the sampled keyframes (at least 1,
    at most ``max_faces``), from :func:`face_boxes`."""
    counts = [len(b) for b in boxes]
    if not counts:
        return 1
    need = max(1, int(np.ceil(len(counts) / 3)))
    for n in range(max_faces, 1, -1):
        if sum(c >= n for c in counts) >= need:
            return n
    return 1
