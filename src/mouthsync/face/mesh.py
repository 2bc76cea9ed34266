"""MediaPipe Face Mesh over a range of frames: imported without its plotting baggage, fed
frame by frame straight into its graph, restarted at picture cuts, every face's
landmarks in source pixels."""

from __future__ import annotations

import collections
import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from mouthsync.core.quiet import native_stderr_silenced
from mouthsync.face.facetrack import N_LANDMARKS
from mouthsync.face.frames import (
    centred,
    decode_range,
    picture_change,
    prefetch,
    stored_fractions,
    thumbnail,
)

_PB_COLS = np.array([3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16])
_PB_HEAD = np.array([0x0A, 0x0F, 0x0D], np.uint8)


def landmark_array(lms: Any) -> np.ndarray:
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


class MeshCall:
    """One frame through a Face Mesh solution: the landmark lists, serialised.

    Why not ``FaceMesh.process``: per frame it builds a new ``namedtuple`` class (which
    also feeds the garbage collector) and parses every landmark list into Python messages
    that ``landmark_array`` serialises again. Feeding the solution's graph directly and
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


def to_source_pixels(a: np.ndarray, turns: int, width: int, height: int, sar: float = 1.0) -> None:
    """Landmarks ``a`` (n, 3), fractions of the picture Face Mesh saw (pixels made square,
    then turned upright by ``turns`` quarter turns), in place to pixels of the stored
    ``width`` x ``height`` picture, whose pixels are ``sar`` times as wide as high: every
    later stage (mouth crops, picture measures) reads the stored frames. Face Mesh gives
    ``z`` in units of the seen picture's width; it comes out in the stored rows' pixels."""
    z_width = width * sar if turns % 2 == 0 else height
    if turns % 4 == 0:
        a *= np.array([width, height, z_width], dtype=np.float32)
        return
    u, v = stored_fractions(a[:, 0].copy(), a[:, 1].copy(), turns)
    a[:, 0] = u * width
    a[:, 1] = v * height
    a[:, 2] *= z_width


# The tracker judges a possible cut against the median change of this many frames before.
RESET_MEDIAN_FRAMES = 250


def mesh_frames(
    path: str,
    start: float | None,
    end: float | None,
    max_side: int | None,
    max_faces: int,
    width: int,
    height: int,
    report: Any = None,
    crop: tuple[int, int, int, int] | None = None,
    sar: float = 1.0,
    resets: Sequence[float] = (),
    go_on: Callable[[int], bool] | None = None,
    lead_in: bool = True,
    keep: Callable[[float], bool] | None = None,
) -> Iterator[tuple[float, list[np.ndarray], float, np.ndarray, int]]:
    """Every frame in ``[start, end)`` with the landmarks (source px) of each face found,
    the picture change from the previous frame (NaN for the first frame of the file), the
    frame's thumbnail (:func:`thumbnail`) and the quarter turns that stood it upright
    (its display rotation, ``frames.decode_range``).
    ``crop``: track only that part of the picture (``face.region``); landmarks are still
    in the source's pixels. ``sar``: the stream's pixel aspect (``VideoMeta.sar``).

    ``resets``: ascending frame times after ``start`` where tracking starts afresh, exactly
    as a range starting there without ``lead_in`` would (``face.chunks``): the mesh looks
    for the face anew, the cut detector forgets what came before and the frame's picture
    change is NaN (not known without the frame before), so a stretch tracked on from the
    frame before and one tracked after a seek come out the same. Before crossing
    ``resets[j]``, ``go_on(j)`` says whether to (False ends the frames there). ``lead_in``:
    decode the frame before ``start`` for its picture change (a seek to a keyframe does
    not need to go back a whole group of pictures for it when the change is filled in
    later, ``face.chunks.fill_changes``). ``keep``: only the frames whose time it accepts
    are tracked (``face.stride``); the picture change is then from the last kept frame."""
    mp = import_mediapipe()

    # landmarks come as fractions of the picture Face Mesh saw (the crop, turned upright)
    sw, sh = (crop[2], crop[3]) if crop is not None else (width, height)
    offset = np.array([crop[0], crop[1], 0.0], dtype=np.float32) if crop is not None else None
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
    next_reset = 0
    with quiet, mesh_cm as mesh:
        faces_of = MeshCall(mesh)

        def restart() -> None:
            # The graph restarted logs natively again: quiet for its first frames too.
            nonlocal quiet_frames
            if not quiet_frames:
                quiet.enter_context(native_stderr_silenced())
            quiet_frames = 3
            mesh.reset()

        for t, img, turns in prefetch(decode_range(path, start, end, max_side, lead_in=lead_in, crop=crop, keep=keep)):
            thumb = thumbnail(img)
            level = centred(thumb)
            change = picture_change(prev, level)
            prev = level
            if start is not None and t < start - 1e-9:
                continue  # the frame before the range: only its picture, for the change
            fresh = stop = False
            while next_reset < len(resets) and t >= resets[next_reset] - 1e-9:
                if go_on is not None and not go_on(next_reset):
                    stop = True
                    break
                next_reset += 1
                fresh = True
            if stop:
                break
            if fresh:  # as a range starting here: no history of changes, the face found anew
                changes.clear()
                change = float("nan")
                restart()
            before = changes[-1] if changes else 0.0
            if np.isfinite(change):
                changes.append(change)
            # (the level first: the median is only worth taking on a big change)
            if change >= CUT_LEVEL and cut_so_far(change, before, float(np.median(changes))):
                # A picture cut: the mesh would look for the face where it was in the last
                # shot (the first one or two frames after a cut came out between the two
                # faces). Restarting makes it detect the face on this frame (~17 ms).
                restart()
            found = faces_of(img)
            # (counted on frames with a face: the landmark calculators first run, and log,
            # on the first face, which may come long after the graph started)
            if quiet_frames and found:
                quiet_frames -= 1
                if not quiet_frames:
                    quiet.close()
            cands = []
            for f in found:
                a = landmark_array(f)
                if a.shape[0] == N_LANDMARKS:
                    to_source_pixels(a, turns, sw, sh, sar)
                    if offset is not None:
                        a += offset
                    cands.append(a)
            yield t, cands, change, thumb, turns
            pending += 1
            if pending >= 16:
                if report is not None:
                    report(pending)
                pending = 0
    if pending and report is not None:
        report(pending)

