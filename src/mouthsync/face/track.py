"""Face tracking: MediaPipe Face Mesh over every frame, one primary face, true timestamps.

Why it is shaped this way:

* Frames are streamed (decoded, tracked, dropped); only the 478 landmarks per frame are
  kept, so memory grows by ~6 kB per frame, never by a picture.
* Frames are downscaled in the decoder to ``max_side`` (640 px by default): Face Mesh crops
  the face to 192/256 px internally, so a larger input costs decode time and no accuracy
  (``bench/track.py`` measures the aperture agreement against full resolution).
* The mesh runs in tracking mode (``static_image_mode=False``): the face detector only runs
  when the track is lost, the landmark model follows the face from its previous position.
* Decoding runs in a thread beside inference, and long clips are split into time ranges
  tracked by worker processes (each seeks to its start and owns its Face Mesh), then
  concatenated: both cores are used.
* Landmarks are stored in source pixels (x, y) with z on the same pixel scale, so the
  track does not depend on the decode size. Frames without a usable face are marked
  invalid and hold NaN, never interpolated numbers.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mouthsync.core.atomic import atomic_path
from mouthsync.core.cache import cache_key, cache_path
from mouthsync.core.errors import BadInput, NoFace
from mouthsync.core.progress import progress
from mouthsync.core.quiet import native_stderr_silenced
from mouthsync.face.mouth import head_pose, mouth_measures
from mouthsync.media.decode import rate_of

SCHEMA_VERSION = 1
# Part of the cache key: bump when tracking or measures change so old tracks are not reused.
ALGORITHM = "facemesh-0.10.21-refined/track-10"
N_LANDMARKS = 478
DEFAULT_MAX_SIDE = 640
# Below this duration one process is faster than paying two MediaPipe start-ups (~1.5 s).
PARALLEL_MIN_SECONDS = 12.0
# Decode without the deblocking filter when the picture is shrunk at least this much.
SKIP_DEBLOCK_FACTOR = 2.0


@dataclass
class FaceTrack:
    """Per-frame face track of one primary face.

    ``times`` are true presentation times in seconds; ``valid`` marks frames with a usable
    face; ``boxes`` (x0, y0, x1, y1), ``landmarks`` (x, y px; z on the same pixel scale,
    relative to the face centre) and ``pose`` (yaw, pitch, roll degrees) are NaN where not
    valid. ``mouth`` maps measure names to per-frame arrays (see ``docs/face.md``).
    """

    times: np.ndarray
    valid: np.ndarray
    boxes: np.ndarray
    landmarks: np.ndarray
    pose: np.ndarray
    mouth: dict[str, np.ndarray]
    width: int
    height: int
    fps: float
    source: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    # mean absolute change of the whole picture from the previous frame (8-bit grey levels
    # of a 32x18 thumbnail; NaN for the first frame): picture cuts, face.shots
    picture_change: np.ndarray | None = None
    # each frame's grey 32x18 thumbnail (uint8, n x 18 x 32): gradual transitions
    # (dissolves), which no change between two frames shows, face.shots
    thumbs: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.times)

    @property
    def coverage(self) -> float:
        """Fraction of frames with a usable face."""
        return float(self.valid.mean()) if len(self.valid) else 0.0

    def save(self, path: str | os.PathLike[str], inputs: tuple[str | os.PathLike[str], ...] = ()) -> Path:
        """Write the track as ``.npz`` atomically (loads with plain NumPy, no mouthsync)."""
        import json

        arrays: dict[str, Any] = {
            "schema_version": np.array(SCHEMA_VERSION),
            "times": self.times.astype(np.float64),
            "valid": self.valid.astype(bool),
            "boxes": self.boxes.astype(np.float32),
            "landmarks": self.landmarks.astype(np.float32),
            "pose": self.pose.astype(np.float32),
            "width": np.array(self.width),
            "height": np.array(self.height),
            "fps": np.array(self.fps),
            "source": np.array(self.source),
            "settings_json": np.array(json.dumps(self.settings, sort_keys=True)),
        }
        for k, v in self.mouth.items():
            arrays[f"mouth_{k}"] = np.asarray(v, dtype=np.float32)
        if self.picture_change is not None:
            arrays["picture_change"] = np.asarray(self.picture_change, dtype=np.float32)
        if self.thumbs is not None:
            arrays["thumbs"] = np.asarray(self.thumbs, dtype=np.uint8)
        out = Path(path)
        # Not compressed: float landmarks hardly compress (7.9 against 8.6 MB for 60 s at
        # 25 fps) and deflating them took 0.35 s, spent at the end of every fresh check
        # while the other core waited.
        with atomic_path(out, inputs) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FaceTrack:
        """Read a track written by :meth:`save`; refuses other schema versions clearly."""
        import json

        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BadInput(f"{path}: not a mouthsync track file ({exc})") from None
        with z:
            if "schema_version" not in z.files:
                raise BadInput(f"{path}: not a mouthsync track file (no schema_version)")
            ver = int(z["schema_version"])
            if ver != SCHEMA_VERSION:
                raise BadInput(f"{path}: track schema {ver} is not supported (expected {SCHEMA_VERSION}); track again")
            mouth = {k[len("mouth_"):]: z[k] for k in z.files if k.startswith("mouth_")}
            return cls(
                times=z["times"],
                valid=z["valid"],
                boxes=z["boxes"],
                landmarks=z["landmarks"],
                pose=z["pose"],
                mouth=mouth,
                width=int(z["width"]),
                height=int(z["height"]),
                fps=float(z["fps"]),
                source=str(z["source"]),
                settings=json.loads(str(z["settings_json"])),
                picture_change=z["picture_change"] if "picture_change" in z.files else None,
                thumbs=z["thumbs"] if "thumbs" in z.files else None,
            )

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (no per-frame arrays)."""
        ap = self.mouth.get("aperture", np.array([]))
        ok = np.isfinite(ap)
        return {
            "source": self.source,
            "frames": len(self),
            "valid_frames": int(self.valid.sum()),
            "coverage": self.coverage,
            "start_s": float(self.times[0]) if len(self) else None,
            "end_s": float(self.times[-1]) if len(self) else None,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "aperture_mean": float(ap[ok].mean()) if ok.any() else None,
            "aperture_p95": float(np.percentile(ap[ok], 95)) if ok.any() else None,
            "closure_frames": int(np.nansum(self.mouth.get("closure", np.array([])))),
            "yaw_abs_median": float(np.nanmedian(np.abs(self.pose[:, 0]))) if self.valid.any() else None,
            "settings": self.settings,
        }


# ----------------------------------------------------------------------------- decoding


def _decode_range(
    path: str, start: float | None, end: float | None, max_side: int | None, *, lead_in: bool = False,
    crop: tuple[int, int, int, int] | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Frames with ``start <= time < end`` (None: open ended), downscaled in the decoder.

    ``lead_in``: the frame just before ``start`` (when there is one) comes first, with its
    own time (< start): the picture change of the range's first frame needs it.
    ``crop``: ``(x0, y0, w, h)`` in source pixels (even): only that part of each picture,
    at the source's resolution (shrunk to ``max_side`` if larger); see ``face.region``.
    """
    import av

    from mouthsync.media.container import open_input, require_video

    with open_input(path) as c:
        vs = require_video(c, path)
        # No codec frame threads: decoding already runs beside inference (prefetch thread)
        # and beside the other range's process; frame threads only add ~10 % CPU
        # (2.21 vs 1.98 CPU-ms per 720p frame; FRAME threads 2.34 vs 2.07 measured again,
        # SLICE threads no change: x264 writes one slice per picture).
        w, h = vs.codec_context.width, vs.codec_context.height
        if crop is not None:
            w, h = crop[2], crop[3]
        size = None
        if max_side and max(w, h) > max_side:
            s = max_side / max(w, h)
            size = (max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2))
        if max_side and max(w, h) >= SKIP_DEBLOCK_FACTOR * max_side:
            # Skipping the deblocking filter saves ~0.4 CPU-ms per 720p frame (1.85 -> 1.47,
            # ~5 % of tracking). At native size it moved the aperture by up to 0.02 on the
            # 224 px wild clips (correlation 0.94), but when the picture is area-averaged
            # down by >= 2x the block edges average out: correlation 0.998 with the
            # deblocked decode on 720p talking heads, same frames tracked.
            vs.codec_context.options = {"skip_loop_filter": "all"}
        if start is not None and start > 0:
            # with lead_in, land before a keyframe that starts the range (an edit's cut often
            # is one), so that the frame before it is decoded too
            target = start - 1e-3 if lead_in else start
            c.seek(int(target / float(vs.time_base)), stream=vs, backward=True, any_frame=False)
        last_t: float | None = None
        step = 0.04
        got = 0
        held: tuple[float, Any] | None = None
        field_order = getattr(vs.codec_context, "field_order", None)
        try:
            for frame in c.decode(vs):
                t = frame.time
                if t is None:
                    t = (last_t + step) if last_t is not None else (start or 0.0)
                elif last_t is not None and t > last_t:
                    step = t - last_t
                last_t = t
                if start is not None and t < start - 1e-9:
                    if lead_in:
                        held = (float(t), frame)  # converted only if it is the last one
                    continue
                if held is not None:
                    yield held[0], _to_rgb(held[1], size, crop, first_field(held[1], field_order))
                    held = None
                if end is not None and t >= end - 1e-9:
                    break
                img = _to_rgb(frame, size, crop, first_field(frame, field_order))
                got += 1
                yield float(t), img
        except av.FFmpegError as exc:
            if got == 0 and not start:
                raise BadInput(f"{path}: video stream cannot be decoded ({exc})") from None


def first_field(frame: Any, field_order: int | None) -> int | None:
    """Which field of an interlaced picture is shown first (0 top, 1 bottom); None for a
    progressive one.

    Why: an interlaced frame holds two instants 20 ms apart (at 50 fields/s), and the
    mouth moves between them. Scaled as one picture the two fields blend, and on real
    footage made interlaced (``retalking_face2``/``face4``, 50p motion in 25i) check read
    +8 and +14 ms away from the progressive copy. The field shown first is the one at the
    frame's timestamp; taking it alone costs nothing (half the rows to scale).
    """
    if not getattr(frame, "interlaced_frame", False):
        return None
    # FFmpeg's AVFieldOrder: 3 BB and 4 TB show the bottom field first; TT, BT, unknown: top
    return 1 if field_order in (3, 4) else 0


def _to_rgb(frame: Any, size: tuple[int, int] | None, crop: tuple[int, int, int, int] | None = None,
            field: int | None = None) -> np.ndarray:
    """RGB pixels at ``size`` (of ``crop`` when given): 4:2:0 planes are cropped and resized
    by OpenCV before colour conversion.

    Resizing the Y, U and V planes first and converting the small picture is about twice as
    fast as FFmpeg's swscale rgb24 path through PyAV (measured 376 vs 183 fps at 720p), and
    decoding stays the only per-pixel cost at full resolution.

    ``field`` (0 top, 1 bottom; see :func:`first_field`): only that field's rows are used,
    scaled back to the picture's shape.
    """
    w, h = frame.width, frame.height
    x0, y0, cw, ch = crop if crop is not None else (0, 0, w, h)
    f = 1 if field is None else 2
    if frame.format.name in ("yuv420p", "yuvj420p") and w % 2 == 0 and h % 2 == 0 and x0 % 2 == 0 and y0 % 2 == 0:
        import cv2

        tw, th = size or (cw, ch)
        planes = []
        for i, (pw, ph, ow, oh) in enumerate(((w, h, tw, th), (w // 2, h // 2, tw // 2, th // 2),
                                               (w // 2, h // 2, tw // 2, th // 2))):
            pl = frame.planes[i]
            a = np.frombuffer(pl, np.uint8).reshape(ph, pl.line_size)[:, :pw]
            if field is not None:
                a = a[field::2]
            if crop is not None or field is not None:
                d = (1 if i == 0 else 2) * f
                a = a[y0 // d : (y0 + ch) // d, x0 // (d // f) : (x0 + cw) // (d // f)]
            resize = size is not None or a.shape != (oh, ow)
            planes.append(cv2.resize(a, (ow, oh), interpolation=cv2.INTER_AREA) if resize else np.ascontiguousarray(a))
        i420 = np.concatenate([planes[0].reshape(-1), planes[1].reshape(-1), planes[2].reshape(-1)])
        code = cv2.COLOR_YUV2RGB_I420
        return cv2.cvtColor(i420.reshape(th * 3 // 2, tw), code)
    if crop is not None or field is not None:
        import cv2

        img = frame.to_ndarray(format="rgb24")
        if field is not None:
            img = img[field::2]
        img = img[y0 // f : (y0 + ch) // f, x0 : x0 + cw]
        out = size or (cw, ch)
        return cv2.resize(img, out, interpolation=cv2.INTER_AREA) if img.shape[:2] != out[::-1] else np.ascontiguousarray(img)
    if size:
        return frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
    return frame.to_ndarray(format="rgb24")


def _prefetch(it: Iterator[Any], depth: int = 6) -> Iterator[Any]:
    """Run ``it`` in a thread, ``depth`` items ahead: decoding overlaps inference."""
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()
    err: list[BaseException] = []

    def run() -> None:
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:  # handed to the consumer
            err.append(exc)
        finally:
            with contextlib.suppress(queue.Full):
                q.put(done, timeout=1.0)

    th = threading.Thread(target=run, daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            yield item
        if err:
            raise err[0]
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                q.get_nowait()
        th.join(timeout=5.0)


# ----------------------------------------------------------------------------- tracking

def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / ua) if ua > 0 else 0.0


_PB_COLS = np.array([3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16])
_PB_HEAD = np.array([0x0A, 0x0F, 0x0D], np.uint8)


def _landmark_array(lms: Any) -> np.ndarray:
    """(478, 3) float32 from a NormalizedLandmarkList (a message or its serialised bytes),
    without 1 434 Python attribute reads.

    Each landmark serialises to 17 bytes when only x, y, z are set: ``0a 0f`` (field 1,
    length 15), then ``0d``+x, ``15``+y, ``1d``+z as little-endian float32. That layout is
    checked and the slow path is used whenever it does not hold. Saves ~0.6 ms per frame.
    """
    data = lms if isinstance(lms, bytes) else lms.SerializeToString()
    raw = np.frombuffer(data, np.uint8)
    n = raw.size // 17
    if raw.size == n * 17 and n:
        rec = raw.reshape(n, 17)
        if (rec[:, :3] == _PB_HEAD).all() and (rec[:, 7] == 0x15).all() and (rec[:, 12] == 0x1D).all():
            return np.ascontiguousarray(rec[:, _PB_COLS]).view("<f4").reshape(n, 3).astype(np.float32)
    if isinstance(lms, bytes):
        from mediapipe.framework.formats import landmark_pb2

        lms = landmark_pb2.NormalizedLandmarkList.FromString(lms)
    return np.array([(p.x, p.y, p.z) for p in lms.landmark], dtype=np.float32)


class _MeshCall:
    """One frame through a Face Mesh solution: the landmark lists, serialised.

    Why not ``FaceMesh.process``: per frame it builds a new ``namedtuple`` class (which
    also feeds the garbage collector) and parses every landmark list into Python messages
    that ``_landmark_array`` serialises again. Feeding the solution's graph directly and
    taking the serialised lists from its output packet costs 0.41 instead of 0.88-0.93
    CPU-ms of the calling thread per frame (0.3-0.5 ms of the whole frame's ~5 ms), with
    the same landmarks. It relies on ``SolutionBase``'s private members (MediaPipe is
    pinned to 0.10.21); when they are not there, ``process`` is used as it is.
    """

    def __init__(self, mesh: Any) -> None:
        self._mesh = mesh
        self._direct = False
        try:
            from mediapipe.python import packet_creator
            from mediapipe.python._framework_bindings import _packet_getter, image_frame

            self._direct = (
                hasattr(mesh, "_graph") and isinstance(getattr(mesh, "_graph_outputs", None), dict)
                and isinstance(getattr(mesh, "_simulated_timestamp", None), int)
                and set(getattr(mesh, "_input_stream_type_info", None) or ()) == {"image"}
                and hasattr(_packet_getter, "_get_serialized_proto_list")
            )
            self._image = packet_creator.create_image_frame
            self._srgb = image_frame.ImageFormat.SRGB
            self._lists = _packet_getter._get_serialized_proto_list
        except (ImportError, AttributeError):
            self._direct = False

    def __call__(self, img: np.ndarray) -> list[Any]:
        m = self._mesh
        if not self._direct:
            return list(m.process(img).multi_face_landmarks or [])
        m._graph_outputs.clear()
        m._simulated_timestamp += 33333  # as process() does: a 30 fps clock for the graph
        m._graph.add_packet_to_input_stream(
            stream="image", packet=self._image(img, image_format=self._srgb).at(m._simulated_timestamp))
        m._graph.wait_until_idle()
        out = m._graph_outputs.get("multi_face_landmarks")
        if out is None or out.is_empty():
            return []
        return list(self._lists(out))


def import_mediapipe() -> Any:
    """``import mediapipe`` without paying for ``matplotlib.pyplot`` (~0.4-0.5 s CPU).

    ``mediapipe/__init__`` imports every solution, and its ``drawing_utils`` imports
    ``matplotlib.pyplot`` at module level only for ``plot_landmarks``, which mouthsync never
    calls. That import was about half of MediaPipe's start-up, paid by every tracking
    process (the CLI and each ``_worker``). When matplotlib is not loaded yet, empty
    stand-ins are placed in ``sys.modules`` for the import and removed right after, so a
    later ``import matplotlib.pyplot`` anywhere in the process gets the real module.
    """
    import sys
    import types

    os.environ.setdefault("GLOG_minloglevel", "2")
    if "mediapipe" in sys.modules or "matplotlib" in sys.modules:
        import mediapipe

        return mediapipe
    stubs: dict[str, Any] = {name: types.ModuleType(name) for name in ("matplotlib", "matplotlib.pyplot")}
    stubs["matplotlib"].pyplot = stubs["matplotlib.pyplot"]
    stubs["matplotlib"].__path__ = []  # a package, so the submodule import resolves
    if "sounddevice" not in sys.modules:
        # MediaPipe's audio-task module tries ``sounddevice`` (microphone input), which looks
        # for PortAudio with ``ctypes.util.find_library``: gcc and ldconfig run in
        # subprocesses (~0.06 s), and a worker terminated meanwhile left their temp file
        # behind. None in ``sys.modules`` makes that import fail at once, which MediaPipe
        # expects (it catches ImportError).
        stubs["sounddevice"] = None
    sys.modules.update(stubs)
    try:
        import mediapipe
    finally:
        for name, mod in stubs.items():
            if sys.modules.get(name) is mod:
                del sys.modules[name]
    return mediapipe


# Picture change between frames (for cuts, ``face.shots``): mean absolute difference of
# 32x18 grey thumbnails, each less its own mean, in 8-bit levels. Less the mean, a change
# of exposure is not a change of picture: a +0.25 brightness step read 73 levels (a cut,
# which then hid the exposure change from facecheck), 3.6 without; cuts between the
# shared clips read 32-77 either way. ~0.08 ms per 640x360 frame: a bilinear step to
# 160x90 first, because OpenCV's area averaging straight from 640x360 took 0.3 ms (the
# change it measures differed by < 0.2 levels on every shared clip and edit).
THUMB_SIZE = (32, 18)
_THUMB_STEP = (160, 90)


# The tracker judges a possible cut against the median change of this many frames before.
RESET_MEDIAN_FRAMES = 250


def _thumb(img: np.ndarray) -> np.ndarray:
    """The frame's grey thumbnail (uint8, ``THUMB_SIZE``)."""
    import cv2

    small = cv2.resize(img, _THUMB_STEP, interpolation=cv2.INTER_LINEAR)
    grey = small[:, :, 1] if small.ndim == 3 else small  # green: most of the luma
    return cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA)


def _mesh_frames(
    path: str,
    start: float | None,
    end: float | None,
    max_side: int | None,
    max_faces: int,
    width: int,
    height: int,
    report: Any = None,
    crop: tuple[int, int, int, int] | None = None,
) -> Iterator[tuple[float, list[np.ndarray], float, np.ndarray]]:
    """Every frame in ``[start, end)`` with the landmarks (source px) of each face found,
    the picture change from the previous frame (NaN for the first frame of the file) and
    the frame's thumbnail (:func:`_thumb`).
    ``crop``: track only that part of the picture (``face.region``); landmarks are still
    in the source's pixels."""
    mp = import_mediapipe()

    if crop is not None:
        scale = np.array([crop[2], crop[3], crop[2]], dtype=np.float32)
        offset = np.array([crop[0], crop[1], 0.0], dtype=np.float32)
    else:
        scale = np.array([width, height, width], dtype=np.float32)
        offset = None
    pending = 0
    # The graph starts its calculators asynchronously and they log natively (TFLite, glog)
    # until the first frames are through: keep fd 2 quiet from construction to frame 3.
    quiet = contextlib.ExitStack()
    quiet.enter_context(native_stderr_silenced())
    quiet_frames = 3
    try:
        mesh_cm = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=False,
            max_num_faces=max_faces,
            refine_landmarks=True,
            min_detection_confidence=0.5,
            min_tracking_confidence=0.5,
        )
    except BaseException:
        quiet.close()
        raise
    from mouthsync.face.shots import CUT_LEVEL, cut_so_far

    prev: np.ndarray | None = None
    changes: collections.deque[float] = collections.deque(maxlen=RESET_MEDIAN_FRAMES)
    with quiet, mesh_cm as mesh:
        faces_of = _MeshCall(mesh)
        for t, img in _prefetch(_decode_range(path, start, end, max_side, lead_in=True, crop=crop)):
            thumb = _thumb(img)
            level = thumb.astype(np.float32)
            level -= level.mean()
            change = float(np.abs(level - prev).mean()) if prev is not None else float("nan")
            prev = level
            before = changes[-1] if changes else 0.0
            if np.isfinite(change):
                changes.append(change)
            if start is not None and t < start - 1e-9:
                continue  # the frame before the range: only its picture, for the change
            # (the level first: the median is only worth taking on a big change)
            if change >= CUT_LEVEL and cut_so_far(change, before, float(np.median(changes))):
                # A picture cut: the mesh would look for the face where it was in the last
                # shot (the first one or two frames after a cut came out between the two
                # faces). Restarting makes it detect the face on this frame (~17 ms). The
                # restarted graph logs natively again: quiet for its first frames too.
                if not quiet_frames:
                    quiet.enter_context(native_stderr_silenced())
                quiet_frames = 3
                mesh.reset()
            found = faces_of(img)
            if quiet_frames:
                quiet_frames -= 1
                if not quiet_frames:
                    quiet.close()
            cands = []
            for f in found:
                a = _landmark_array(f)
                if a.shape[0] == N_LANDMARKS:
                    a *= scale
                    if offset is not None:
                        a += offset
                    cands.append(a)
            yield t, cands, change, thumb
            pending += 1
            if pending >= 16:
                if report is not None:
                    report(pending)
                pending = 0
    if pending and report is not None:
        report(pending)


def _box_of(marks: np.ndarray) -> np.ndarray:
    return np.array([marks[:, 0].min(), marks[:, 1].min(), marks[:, 0].max(), marks[:, 1].max()])


def _area(box: np.ndarray) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))


def _primary_face(frames: Iterator[tuple[float, list[np.ndarray], float, np.ndarray]]) -> dict[str, np.ndarray]:
    """One face per frame from ``_mesh_frames``: the one overlapping the previous frame's
    face, else the largest; returns times, valid, landmarks (source px), picture change
    and thumbnails."""
    times: list[float] = []
    change: list[float] = []
    thumbs: list[np.ndarray] = []
    valid: list[bool] = []
    marks: list[np.ndarray] = []
    nan_frame = np.full((N_LANDMARKS, 3), np.nan, dtype=np.float32)
    prev_box: np.ndarray | None = None
    for t, cands, ch, th in frames:
        change.append(ch)
        thumbs.append(th)
        chosen: np.ndarray | None = None
        if cands:
            boxes = [_box_of(c) for c in cands]
            if len(cands) == 1:
                k = 0
            elif prev_box is not None and max(_box_iou(prev_box, b) for b in boxes) > 0.2:
                k = int(np.argmax([_box_iou(prev_box, b) for b in boxes]))
            else:  # the speaker: the largest face
                k = int(np.argmax([_area(b) for b in boxes]))
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
        "thumbs": _stack_thumbs(thumbs),
    }


def _stack_thumbs(thumbs: list[np.ndarray]) -> np.ndarray:
    return np.stack(thumbs).astype(np.uint8) if thumbs else np.zeros((0, THUMB_SIZE[1], THUMB_SIZE[0]), np.uint8)


def _split_points(ft: np.ndarray, parts: int) -> list[tuple[float | None, float | None]]:
    """Time ranges of about equal frame count, cut at the true frame times ``ft``."""
    if parts <= 1 or len(ft) < parts * 50:
        return [(None, None)]
    cuts = [float(ft[(len(ft) * i) // parts]) for i in range(1, parts)]
    bounds: list[float | None] = [None, *cuts, None]
    return [(bounds[i], bounds[i + 1]) for i in range(parts)]


def _assemble(
    parts: list[dict[str, np.ndarray]], width: int, height: int, source: str, settings: dict[str, Any]
) -> FaceTrack:
    times = np.concatenate([p["times"] for p in parts])
    valid = np.concatenate([p["valid"] for p in parts])
    lm = np.concatenate([p["landmarks"] for p in parts])
    change = np.concatenate([p["change"] for p in parts])
    thumbs = np.concatenate([p["thumbs"] for p in parts])
    if np.any(np.diff(times) < 0):  # copies of the mesh only when really needed
        order = np.argsort(times, kind="stable")
        times, valid, lm, change, thumbs = times[order], valid[order], lm[order], change[order], thumbs[order]
    keep = np.ones(len(times), bool)
    keep[1:] = np.diff(times) > 1e-9  # a frame seen by two ranges counts once
    if not keep.all():
        times, valid, lm, change, thumbs = times[keep], valid[keep], lm[keep], change[keep], thumbs[keep]
    return build_track(times, valid, lm, width, height, source, settings, picture_change=change, thumbs=thumbs)


def build_track(
    times: np.ndarray,
    valid: np.ndarray,
    landmarks: np.ndarray,
    width: int,
    height: int,
    source: str = "",
    settings: dict[str, Any] | None = None,
    picture_change: np.ndarray | None = None,
    thumbs: np.ndarray | None = None,
) -> FaceTrack:
    """Derive boxes, pose and mouth measures from raw landmarks (also used after smoothing).

    ``picture_change`` and ``thumbs``: per-frame change and thumbnail of the whole picture
    (see ``_mesh_frames``), kept as they are; None when not measured (a track from
    elsewhere)."""
    lm = landmarks.astype(np.float32, copy=True)
    lm[~valid] = np.nan
    n = len(times)
    boxes = np.full((n, 4), np.nan, dtype=np.float32)
    pose = np.full((n, 3), np.nan, dtype=np.float32)
    if valid.any():
        # plain reductions: NaN rows (no face) give NaN, valid rows hold no NaN, and no
        # copy of the whole mesh is made (memory stays flat on long clips)
        x, y = lm[:, :, 0], lm[:, :, 1]
        boxes = np.stack([x.min(1), y.min(1), x.max(1), y.max(1)], axis=1).astype(np.float32)
        with np.errstate(invalid="ignore"):
            pose = head_pose(lm)
        boxes[~valid] = np.nan
        pose[~valid] = np.nan
    with np.errstate(invalid="ignore"):
        mouth = mouth_measures(lm, times, valid)
    # check reads delays in these frames: a constant-rate clip with a frame missing still
    # counts at its own rate (it read 24.56 fps for 25)
    fps = rate_of(times)
    return FaceTrack(
        times=times, valid=valid, boxes=boxes, landmarks=lm, pose=pose, mouth=mouth,
        width=width, height=height, fps=fps, source=source, settings=dict(settings or {}),
        picture_change=None if picture_change is None else np.asarray(picture_change, dtype=np.float32),
        thumbs=None if thumbs is None else np.asarray(thumbs, dtype=np.uint8),
    )


def _source_and_cache(src: str, kind: str, settings: dict[str, Any], use_cache: bool) -> tuple[Any, str, Path | None]:
    """The video's metadata, the digest of its picture (read once: it keys the cache and
    ties a track to its video) and the cache file for ``kind`` + ``settings`` (None: no
    cache).

    The digest is of the video stream alone (:func:`mouthsync.media.decode.video_digest`):
    a file whose audio ``fix`` rewrote has the same picture, and so the same track."""
    from mouthsync.media.decode import video_digest, video_meta

    if not Path(src).exists():
        raise BadInput(f"{src}: file not found")
    meta = video_meta(src)
    digest = video_digest(src)
    cpath = cache_path(cache_key(kind, src, settings, digest=digest), ".npz") if use_cache else None
    return meta, digest, cpath


def track_face(
    path: str | os.PathLike[str],
    *,
    smooth: float | None = None,
    use_cache: bool = True,
    max_side: int | None = DEFAULT_MAX_SIDE,
    max_faces: int = 1,
    workers: int | None = None,
    worker_nice: int = 0,
    crop: tuple[int, int, int, int] | str | None = "auto",
) -> FaceTrack:
    """Track the primary face in every frame of ``path``.

    ``crop``: ``"auto"`` tracks a small single face in a crop around it (found on keyframes
    by :func:`mouthsync.face.count.face_boxes`, decided by :func:`mouthsync.face.region.face_regions`),
    a box ``(x0, y0, w, h)`` tracks that part, None the whole picture.

    ``smooth``: One-Euro stabilisation strength (see :mod:`mouthsync.face.smooth`; ``None``
    or 0 = raw landmarks). ``max_faces`` > 1 looks for several faces and keeps the speaker
    (the largest face, then the one overlapping the previous frame's face). ``workers``:
    processes for long clips (default: up to 2 when the clip is long enough to pay off);
    ``worker_nice`` > 0 runs the worker processes at lower CPU priority (``check`` lets its
    speech transcript go first, :mod:`mouthsync.core.priority`).
    Raises :class:`NoFace` when no frame has a usable face.
    """
    if smooth is not None and not (smooth >= 0 and np.isfinite(smooth)):
        raise BadInput(f"--smooth must be 0 or a positive strength, not {smooth}")
    if crop == "auto":
        crop = auto_crop(path, max_side, use_cache=use_cache) if max_faces == 1 else None
    elif isinstance(crop, str):
        raise ValueError(f"crop must be 'auto', a box or None, not {crop!r}")
    with start_track_face(path, use_cache=use_cache, max_side=max_side, max_faces=max_faces,
                          workers=workers, worker_nice=worker_nice, crop=crop) as job:
        track = job.result()
    if smooth:
        from mouthsync.face.smooth import smooth_track

        track = smooth_track(track, strength=smooth)
    return track


def auto_crop(path: str | os.PathLike[str], max_side: int | None = DEFAULT_MAX_SIDE, *,
              use_cache: bool = True) -> tuple[int, int, int, int] | None:
    """The crop to track a small single face in (``face.region.face_regions``), or None."""
    from mouthsync.face.count import face_boxes
    from mouthsync.face.region import face_regions
    from mouthsync.media.decode import video_meta

    meta = video_meta(path)
    crops = face_regions(face_boxes(path, use_cache=use_cache), meta.width, meta.height, max_side, 1)
    return crops[0] if crops else None


def start_track_face(
    path: str | os.PathLike[str],
    *,
    use_cache: bool = True,
    max_side: int | None = DEFAULT_MAX_SIDE,
    max_faces: int = 1,
    workers: int | None = None,
    worker_nice: int = 0,
    crop: tuple[int, int, int, int] | None = None,
) -> PendingTrack:
    """Start tracking the primary face of ``path``: the worker processes start now, the
    calling process tracks its own range when :meth:`PendingTrack.result` is called.

    Why: a worker spends its first ~0.5 s importing MediaPipe. Started before the caller's
    other preparations (``check`` counts the faces first), that start-up runs on a core
    that would otherwise wait. Use it as a context manager: leaving the block without
    ``result()`` (an error, an interrupt, several faces after all) stops the workers.
    Arguments as for :func:`track_face`.
    """
    src = str(path)
    settings: dict[str, Any] = {"algorithm": ALGORITHM, "max_side": max_side, "max_faces": max_faces}
    if crop is not None:  # (absent otherwise: tracks of the whole picture keep their cache key)
        crop = tuple(int(v) for v in crop)  # type: ignore[assignment]
        settings["crop"] = list(crop)  # type: ignore[arg-type]
    meta, digest, cpath = _source_and_cache(src, "facetrack", settings, use_cache)
    cached: FaceTrack | None = None
    if cpath is not None and cpath.exists():
        with contextlib.suppress(BadInput, KeyError, ValueError, OSError):
            old = FaceTrack.load(cpath)
            # measures are cheap: recompute them so a change to them never needs re-tracking
            cached = build_track(old.times, old.valid, old.landmarks, old.width, old.height, src, old.settings,
                                 picture_change=old.picture_change, thumbs=old.thumbs)
    if cached is not None:
        from mouthsync.core import spares

        spares.drop(spares.TRACK_WORKER)  # nothing to track: free the core at once
    return PendingTrack(src, meta, digest, cpath, settings, cached, max_side, max_faces, workers, worker_nice, crop)


class PendingTrack:
    """A face track under way (see :func:`start_track_face`)."""

    def __init__(
        self,
        src: str,
        meta: Any,
        digest: str,
        cpath: Path | None,
        settings: dict[str, Any],
        cached: FaceTrack | None,
        max_side: int | None,
        max_faces: int,
        workers: int | None,
        worker_nice: int,
        crop: tuple[int, int, int, int] | None = None,
    ) -> None:
        self._src, self._digest, self._cpath, self._settings = src, digest, cpath, settings
        self._width, self._height = meta.width, meta.height
        self._max_side, self._max_faces, self._crop = max_side, max_faces, crop
        self._track = cached
        self._stack = contextlib.ExitStack()
        self._workers: _Workers | None = None
        self._ranges: list[tuple[float | None, float | None]] = [(None, None)]
        if cached is not None:
            return
        from mouthsync.media.decode import frame_times

        ft = frame_times(src)
        if workers is None:
            span = float(ft[-1] - ft[0]) if len(ft) > 1 else (meta.duration or 0.0)
            workers = min(2, os.cpu_count() or 1) if span >= PARALLEL_MIN_SECONDS else 1
        self._ranges = _split_points(ft, workers)
        try:
            self._advance = self._stack.enter_context(progress("Tracking face", len(ft)))
            if len(self._ranges) > 1:
                self._workers = self._stack.enter_context(
                    _Workers(src, self._ranges[1:], max_side, max_faces, meta.width, meta.height,
                             self._advance, worker_nice, crop))
        except BaseException:
            self._stack.close()
            raise

    def __enter__(self) -> PendingTrack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()

    def cancel(self) -> None:
        """Stop the workers (if still running) and drop their output; idempotent."""
        self._stack.close()

    def result(self) -> FaceTrack:
        """Track the calling process's range, wait for the workers, assemble and cache.

        Raises :class:`NoFace` when no frame has a usable face.
        """
        if self._track is None:
            a0, b0 = self._ranges[0]
            args = (self._src, a0, b0, self._max_side, self._max_faces, self._width, self._height)
            parts = [_primary_face(_mesh_frames(*args, report=self._advance, crop=self._crop))]
            if self._workers is not None:
                parts += self._workers.results()
            self.cancel()
            track = _assemble(parts, self._width, self._height, self._src, self._settings)
            if self._cpath is not None:
                with contextlib.suppress(OSError):
                    track.save(self._cpath)
            self._track = track
        track = self._track
        # lets a saved track be matched to its video later (``facecheck --track``)
        track.settings = {**track.settings, "video_sha256": self._digest}
        if not track.valid.any():
            raise NoFace(f"{self._src}: no face found in any of {len(track)} frames (Face Mesh needs a visible, roughly frontal human-like face)")
        return track


# ----------------------------------------------------------------------------- several faces

# An identity seen in fewer frames than this is dropped (a passer-by, a false detection).
MIN_FACE_FRACTION = 0.1
# A detection continues the identity whose last box it overlaps at least this much.
_SAME_FACE_IOU = 0.2


def follow_identities(
    frames: Iterator[tuple[float, list[np.ndarray], float, np.ndarray]],
) -> tuple[np.ndarray, list[dict[int, np.ndarray]], np.ndarray, np.ndarray]:
    """Frame times, per identity ``{frame index: landmarks}``, the picture change and the
    thumbnails, from ``_mesh_frames``'s per-frame detections.

    Face Mesh returns the faces of a frame in no stable order, so each detection is given
    to the identity whose last seen box it overlaps most (IoU > 0.2), largest face first;
    a detection overlapping none starts a new identity. Matching against the *last seen*
    box (not the previous frame) lets a face that was lost for a while (turned away,
    occluded) come back as itself when it returns near where it was.
    """
    times: list[float] = []
    change: list[float] = []
    thumbs: list[np.ndarray] = []
    ids: list[dict[int, np.ndarray]] = []
    last_box: list[np.ndarray] = []
    for i, (t, cands, ch, th) in enumerate(frames):
        times.append(float(t))
        change.append(ch)
        thumbs.append(th)
        boxes = [_box_of(c) for c in cands]
        taken: set[int] = set()
        for j in sorted(range(len(cands)), key=lambda j: -_area(boxes[j])):
            best, best_iou = -1, _SAME_FACE_IOU
            for k, b in enumerate(last_box):
                if k not in taken:
                    iou = _box_iou(b, boxes[j])
                    if iou > best_iou:
                        best, best_iou = k, iou
            if best < 0:
                best = len(ids)
                ids.append({})
                last_box.append(boxes[j])
            ids[best][i] = cands[j]
            last_box[best] = boxes[j]
            taken.add(best)
    return np.asarray(times, dtype=np.float64), ids, np.asarray(change, dtype=np.float32), _stack_thumbs(thumbs)


def track_faces(
    path: str | os.PathLike[str],
    *,
    max_faces: int = 2,
    use_cache: bool = True,
    max_side: int | None = DEFAULT_MAX_SIDE,
) -> list[FaceTrack]:
    """Track up to ``max_faces`` faces of ``path``, each as its own :class:`FaceTrack`.

    For two-shots and interviews, where the largest face need not be the one speaking: the
    sync stage measures every face and keeps the one whose mouth agrees with the speech.
    Tracks are ordered by frames seen (most first); identities seen in fewer than
    ``MIN_FACE_FRACTION`` of the frames are dropped. One process: identities must be
    followed through the whole clip (so it is about half as fast as :func:`track_face` on
    long clips, and slower per face). Cached by content and settings like ``track_face``.
    Raises :class:`NoFace` when no face is found.
    """
    import json

    src = str(path)
    if max_faces < 1:
        raise BadInput(f"max_faces must be at least 1, not {max_faces}")
    settings = {"algorithm": ALGORITHM, "max_side": max_side, "max_faces": max_faces, "identities": 1}
    meta, digest, cpath = _source_and_cache(src, "facetracks", settings, use_cache)
    times: np.ndarray | None = None
    marks: np.ndarray | None = None
    valid: np.ndarray | None = None
    change: np.ndarray | None = None
    thumbs: np.ndarray | None = None
    if cpath is not None and cpath.exists():
        with contextlib.suppress(KeyError, ValueError, OSError), np.load(cpath, allow_pickle=False) as z:
            times, valid, marks, change, thumbs = (z["times"], z["valid"], z["landmarks"], z["picture_change"],
                                                   z["thumbs"])
    if times is None or marks is None or valid is None or change is None or thumbs is None:
        from mouthsync.media.decode import frame_times

        total = len(frame_times(src))
        with progress("Tracking faces", total) as advance:
            times, ids, change, thumbs = follow_identities(
                _mesh_frames(src, None, None, max_side, max_faces, meta.width, meta.height, report=advance)
            )
        n = len(times)
        ids = [d for d in ids if len(d) >= max(8, MIN_FACE_FRACTION * n)]
        ids.sort(key=lambda d: -len(d))
        marks = np.full((len(ids), n, N_LANDMARKS, 3), np.nan, dtype=np.float32)
        valid = np.zeros((len(ids), n), dtype=bool)
        for k, d in enumerate(ids):
            for i, a in d.items():
                marks[k, i] = a
                valid[k, i] = True
        if cpath is not None:
            with contextlib.suppress(OSError), atomic_path(cpath) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, times=times, valid=valid, landmarks=marks, picture_change=change, thumbs=thumbs,
                         settings_json=np.array(json.dumps(settings, sort_keys=True)))
    if marks.shape[0] == 0:
        raise NoFace(f"{src}: no face found in any of {len(times)} frames (Face Mesh needs a visible, roughly frontal human-like face)")
    full = {**settings, "video_sha256": digest}
    return [build_track(times, valid[k], marks[k], meta.width, meta.height, src, {**full, "face": k},
                        picture_change=change, thumbs=thumbs)
            for k in range(marks.shape[0])]


class _Workers:
    """``mouthsync.face._worker`` processes, one per time range, with their progress pumped
    into ``advance``; a context manager that stops them when left before :meth:`results`."""

    def __init__(
        self,
        src: str,
        ranges: list[tuple[float | None, float | None]],
        max_side: int | None,
        max_faces: int,
        width: int,
        height: int,
        advance: Any,
        nice: int = 0,
        crop: tuple[int, int, int, int] | None = None,
    ) -> None:
        import json
        import subprocess
        import sys
        import tempfile

        from mouthsync.core import spares
        from mouthsync.core.children import adopt

        self._src = src
        self._tmp = tempfile.TemporaryDirectory(prefix="mouthsync-track-")
        tmp = self._tmp.name
        self._procs: list[subprocess.Popen[str]] = []
        self._spares: list[spares.Spare] = []
        self._outs: list[str] = []
        self._errs: list[str] = [""] * len(ranges)
        # TMPDIR inside our own temp folder: whatever a library leaves there when the
        # worker is stopped half-way goes when the folder does
        env = spares.worker_env(tmp)
        try:
            for i, (a, b) in enumerate(ranges, start=1):
                out = os.path.join(tmp, f"part{i}.npz")
                args = {"path": src, "start": a, "end": b, "max_side": max_side,
                        "max_faces": max_faces, "width": width, "height": height, "nice": nice,
                        "crop": None if crop is None else list(crop)}
                argv = [json.dumps(args), out]
                spare = spares.take(spares.TRACK_WORKER)  # started with the command, imports done
                if spare is not None:
                    self._spares.append(spare)
                    self._procs.append(spare.send(argv))
                else:
                    self._procs.append(adopt(subprocess.Popen(
                        [sys.executable, "-m", spares.TRACK_WORKER, *argv],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                    )))
                self._outs.append(out)
        except BaseException:
            self.close()
            raise

        def pump(i: int, p: subprocess.Popen[str]) -> None:
            assert p.stdout is not None and p.stderr is not None
            drain = threading.Thread(target=lambda: self._errs.__setitem__(i, p.stderr.read()), daemon=True)
            drain.start()
            for line in p.stdout:
                with contextlib.suppress(ValueError):
                    advance(int(line))
            drain.join()

        self._threads = [threading.Thread(target=pump, args=(i, p), daemon=True) for i, p in enumerate(self._procs)]
        for th in self._threads:
            th.start()

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def results(self) -> list[dict[str, np.ndarray]]:
        """Wait for every worker; their parts in range order. ``BadInput`` if one failed."""
        for p in self._procs:
            p.wait()
        for th in self._threads:
            th.join()
        parts = []
        for p, out, err in zip(self._procs, self._outs, self._errs, strict=True):
            if p.returncode != 0 or not os.path.exists(out):
                last = [ln for ln in err.strip().splitlines() if ln.strip()][-1:] or ["no message"]
                raise BadInput(f"{self._src}: face tracking worker failed ({last[0]})")
            with np.load(out) as z:
                parts.append({k: z[k] for k in z.files})
        return parts

    def close(self) -> None:
        """Kill workers still running and remove their folder; idempotent."""
        for p in self._procs:
            if p.poll() is None:
                with contextlib.suppress(OSError):
                    p.kill()
        for p in self._procs:
            with contextlib.suppress(OSError):
                p.wait()
        for th in getattr(self, "_threads", []):
            th.join(timeout=5)
        for spare in self._spares:
            spare.stop()
        self._tmp.cleanup()
