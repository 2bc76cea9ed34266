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
import itertools
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mouthsync.core.atomic import write_text_atomic
from mouthsync.core.cache import cache_key, cache_path
from mouthsync.core.quiet import native_stderr_silenced
from mouthsync.face.frames import stored_fractions, upright
from mouthsync.face.identities import covered_share

MAX_SAMPLES = 12
_MAX_SIDE = 640  # the detector works on 192 px internally: a bigger picture only costs time
# Where the whole picture shows no face, it is looked at again in tiles of these sizes
# (px, overlapping by a quarter; the smaller only when the larger find nothing) of the
# picture at up to TILE_MAX_SIDE (4K: halved), see _tiled.
TILE_SIDES = (640, 360)
TILE_STEP = 0.75
TILE_MAX_SIDE = 1920
# Tiles cost ~0.3 s a 1080p keyframe: after this many keyframes where they found nothing
# either (no face at all: a screen recording, B-roll), and none where they found one,
# the rest are not looked at in tiles.
TILE_GIVE_UP = 4
# A face must be this confident; posters and photos in the background are faces too, but
# measuring one more face is only slower, never wrong (the speaker is chosen by agreement).
MIN_CONFIDENCE = 0.6
# ``check --faces auto`` measures at most this many faces: a video call's 2x2 gallery
# whole (with three, one of its people was never measured and another face was reported
# as the speaker, at +328 ms and confidence 0.53).
MAX_MEASURED = 4


def _keyframes(path: str, max_samples: int) -> Iterator[tuple[np.ndarray, int, Callable[[], np.ndarray]]]:
    """RGB pictures of up to ``max_samples`` keyframes spread over the clip, each turned
    upright, with the quarter turns it was given (``face.frames.upright``) and a callable
    that gives the same picture at up to :data:`TILE_MAX_SIDE` for :func:`_tiled` (to be
    called only while the frame is the current one: the generator's next item releases
    it).

    The keyframes are counted from the packet scan that the frame times and the picture's
    digest come from (``media.decode.keyframe_times``, read once per file), then only the
    chosen ones are converted, so memory does not grow with the clip's length.
    """
    import av

    from mouthsync.media.container import open_input, require_video
    from mouthsync.media.decode import display_turn, keyframe_times, pixel_aspect

    n_key = len(keyframe_times(path))
    if n_key == 0:
        return
    picks = set(np.unique(np.linspace(0, n_key - 1, min(max_samples, n_key)).round().astype(int)).tolist())

    def sized(side: int) -> tuple[int, int]:
        s = min(1.0, side / max(sw, h, 1))
        return max(2, int(sw * s) // 2 * 2), max(2, int(h * s) // 2 * 2)

    with open_input(path) as c:
        vs = require_video(c, path)
        vs.codec_context.skip_frame = "NONKEY"
        w, h = vs.codec_context.width, vs.codec_context.height
        sw = w * pixel_aspect(vs)  # square pixels: the detector's faces are not squeezed
        size, big = sized(_MAX_SIDE), sized(TILE_MAX_SIDE)  # (the tiles' picture: only where needed)
        try:
            for i, frame in enumerate(c.decode(vs)):
                if i in picks:
                    turns = display_turn(frame) // 90  # the detector finds upright faces

                    def larger(frame: Any = frame, turns: int = turns) -> np.ndarray:
                        return upright(frame.to_ndarray(format="rgb24", width=big[0], height=big[1]), turns)

                    yield upright(frame.to_ndarray(format="rgb24", width=size[0], height=size[1]), turns), turns, larger
        except av.FFmpegError:
            pass  # a damaged tail: the keyframes before it still count


def _tiled(
    detect: Callable[[np.ndarray], list[tuple[float, list[float]]]], img: np.ndarray, side: int
) -> list[tuple[float, list[float]]]:
    """The faces ``detect`` finds on overlapping tiles ``side`` px square of ``img``: each
    ``(score, [x0, y0, x1, y1])`` as fractions of ``img``, one per face.

    Why: the full-range detector looks at the whole picture through a 192 px input, so a
    face under about 100 px of a 1080p frame (a speaker in a wide shot, a lectern across
    a hall) is a few pixels there and is often not found: retalking_face3 placed 196 px
    wide in a 1920x1080 frame (a face of 79 px) read "no face in any of 125 frames".
    Tiles of 640 px at the source's resolution show that face three times as large, and
    it is found at 0.96; a 224 px VoxCeleb clip placed 112 px wide (a face of about
    60 px) is found only on tiles of 360. Tiles overlap by a quarter, so a face up to a
    quarter of a tile wide lies whole in one of them; one face seen in two tiles is kept
    once (the more confident).
    """
    h, w = img.shape[:2]

    def starts(n: int) -> list[int]:
        if n <= side:
            return [0]
        step = int(side * TILE_STEP)
        return sorted(set(list(range(0, n - side, step)) + [n - side]))

    found: list[tuple[float, list[float]]] = []
    for y in starts(h):
        for x in starts(w):
            tile = np.ascontiguousarray(img[y : y + side, x : x + side])
            th, tw = tile.shape[:2]
            for score, (a, b, c, d) in detect(tile):
                found.append((score, [(x + a * tw) / w, (y + b * th) / h, (x + c * tw) / w, (y + d * th) / h]))
    kept: list[tuple[float, list[float]]] = []
    for score, box in sorted(found, key=lambda f: -f[0]):
        if not any(covered_share(box, k) > 0.5 for _, k in kept):
            kept.append((score, box))
    return kept


def _stored_box(box: list[float], turns: int) -> list[float]:
    """A box ``[x0, y0, x1, y1]`` (fractions) on the upright picture, on the stored one."""
    xs, ys = stored_fractions(np.array([box[0], box[2]]), np.array([box[1], box[3]]), turns)
    return [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]


def face_boxes(path: str | os.PathLike[str], max_samples: int = MAX_SAMPLES, *, use_cache: bool = True,
               tiles: tuple[int, ...] = TILE_SIDES) -> list[list[list[float]]]:
    """The faces detected on each sampled keyframe of ``path``: per keyframe a list of boxes
    ``[x0, y0, x1, y1]`` as fractions of the picture's width and height (empty list when no
    keyframe decodes). ``tiles``: the tile sizes a keyframe whose whole picture shows no
    face is looked at in (:func:`_tiled`; none: the whole picture only).

    Cached by content like the face track: a ``check`` of a clip whose track and speech
    are cached spent half its time here (0.5 of 1.85 s on the 60 s 720p benchmark clip,
    most of it importing MediaPipe for the detector).
    """
    settings = {"kind": "keyframes", "max_samples": max_samples, "max_side": _MAX_SIDE,
                "min_confidence": MIN_CONFIDENCE, "model": "mediapipe-0.10.21/full-range", "boxes": 3,
                "tiles": [*tiles, TILE_STEP, TILE_MAX_SIDE, TILE_GIVE_UP]}
    from mouthsync.media.decode import video_digest  # (PyAV: imported when counting)

    # keyed by the picture alone, as the face track is: fix's output shares the count
    cpath = cache_path(cache_key("facecount", path, settings, digest=video_digest(path)), ".json") if use_cache else None
    if cpath is not None and cpath.exists():
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return [[[float(v) for v in b] for b in frame] for frame in json.loads(cpath.read_text())["boxes"]]
    from mouthsync.face.mesh import import_mediapipe

    boxes: list[list[list[float]]] = []
    pictures = _keyframes(str(path), max_samples)
    first = next(pictures, None)
    if first is None:  # no keyframe decodes: MediaPipe is not worth starting
        return boxes
    mp = import_mediapipe()
    with native_stderr_silenced(), mp.solutions.face_detection.FaceDetection(
        model_selection=1, min_detection_confidence=MIN_CONFIDENCE
    ) as det:

        def detect(img: np.ndarray) -> list[tuple[float, list[float]]]:
            out = []
            for d in det.process(img).detections or []:
                r = d.location_data.relative_bounding_box
                out.append((float(d.score[0]) if d.score else 0.0,
                            [float(r.xmin), float(r.ymin), float(r.xmin + r.width), float(r.ymin + r.height)]))
            return out

        in_vain, small_face = 0, False  # keyframes tiles found nothing on; whether they found a face
        for p, turns, larger in itertools.chain([first], pictures):
            found = detect(p)
            if not found and tiles and (small_face or in_vain < TILE_GIVE_UP):  # a small face in a wide shot?
                big = larger()
                for side in (s for s in tiles if max(big.shape[:2]) > s):
                    found = _tiled(detect, big, side)
                    if found:
                        break
                small_face = small_face or bool(found)
                in_vain += not found
            boxes.append([_stored_box(box, turns) for _, box in found])
    if cpath is not None:
        with contextlib.suppress(OSError):
            write_text_atomic(cpath, json.dumps({"boxes": boxes}))
    return boxes


def count_faces(path: str | os.PathLike[str], max_samples: int = MAX_SAMPLES, *, use_cache: bool = True) -> list[int]:
    """Faces detected on each sampled keyframe of ``path`` (empty when none decodes)."""
    return [len(b) for b in face_boxes(path, max_samples, use_cache=use_cache)]


def faces_to_track(path: str | os.PathLike[str], max_faces: int = MAX_MEASURED, *, use_cache: bool = True) -> int:
    """How many faces ``check --faces auto`` should measure (:func:`faces_in` of the
    keyframes' boxes)."""
    return faces_in(face_boxes(path, use_cache=use_cache), max_faces)


def faces_in(boxes: list[list[list[float]]], max_faces: int | None = MAX_MEASURED) -> int:
    """The number of faces seen on at least a third of the sampled keyframes (at least 1,
    at most ``max_faces``; None: all there are), from :func:`face_boxes`."""
    counts = [len(b) for b in boxes]
    if not counts:
        return 1
    need = max(1, int(np.ceil(len(counts) / 3)))
    for n in range(max(counts) if max_faces is None else max_faces, 1, -1):
        if sum(c >= n for c in counts) >= need:
            return n
    return 1
