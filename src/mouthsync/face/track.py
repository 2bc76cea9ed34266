"""Face tracking: MediaPipe Face Mesh over every frame, one primary face, true timestamps.

Why it is shaped this way:

* Frames are streamed (decoded, tracked, dropped); only the 478 landmarks per frame are
  kept, so memory grows by ~6 kB per frame, never by a picture.
* Frames are downscaled in the decoder to ``max_side`` (640 px by default): Face Mesh crops
  the face to 192/256 px internally, so a larger input costs decode time and no accuracy
  (``bench/track.py`` measures the aperture agreement against full resolution).
* The mesh runs in tracking mode (``static_image_mode=False``): the face detector only runs
  when the track is lost, the landmark model follows the face from its previous position.
* Decoding runs in a thread beside inference, and long clips are cut into chunks that the
  calling process and worker processes claim as they go (:mod:`mouthsync.face.chunks`;
  each seeks where it starts and owns its Face Mesh), then concatenated: both cores are
  used to the end.
* Landmarks are stored in source pixels (x, y) with z on the same pixel scale, so the
  track does not depend on the decode size. Frames without a usable face are marked
  invalid and hold NaN, never interpolated numbers.

This module runs the tracking and caches it; the parts are :mod:`mouthsync.face.frames`
(decoding), :mod:`mouthsync.face.mesh` (Face Mesh over a range), :mod:`mouthsync.face.identities`
(which face is which), :mod:`mouthsync.face.chunks` (who tracks what),
:mod:`mouthsync.face.workers` (the other processes) and
:mod:`mouthsync.face.facetrack` (the result).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from mouthsync.core.atomic import atomic_path
from mouthsync.core.cache import cache_key, cache_path
from mouthsync.core.errors import BadInput, NoFace
from mouthsync.core.progress import progress
from mouthsync.face.chunks import Claims, chunk_starts, fill_changes, track_chunks
from mouthsync.face.facetrack import N_LANDMARKS, FaceTrack, build_track
from mouthsync.face.frames import rotation_of
from mouthsync.face.identities import MIN_FACE_FRACTION, follow_identities, replay
from mouthsync.face.stride import kept, stride_for
from mouthsync.face.workers import TrackWorkers

# Part of the cache key: bump when tracking or measures change so old tracks are not reused.
ALGORITHM = "facemesh-0.10.21-refined/track-15"
DEFAULT_MAX_SIDE = 640


def _assemble(
    parts: list[dict[str, np.ndarray]], width: int, height: int, source: str, settings: dict[str, Any],
    sar: float = 1.0,
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
    rotation = rotation_of(np.concatenate([p["turns"] for p in parts]))
    return build_track(times, valid, lm, width, height, source, settings, picture_change=change, thumbs=thumbs,
                       rotation=rotation, sar=sar)


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
    max_rate: float | None = None,
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
    speech transcript go first, :mod:`mouthsync.core.priority`). ``max_rate``: track only
    about that many frames a second (every k-th frame, ``face.stride``; ``check
    --track-rate``); None tracks every frame.
    Raises :class:`NoFace` when no frame has a usable face.
    """
    if smooth is not None and not (smooth >= 0 and np.isfinite(smooth)):
        raise BadInput(f"--smooth must be 0 or a positive strength, not {smooth}")
    if crop == "auto":
        crop = auto_crop(path, max_side, use_cache=use_cache) if max_faces == 1 else None
    elif isinstance(crop, str):
        raise ValueError(f"crop must be 'auto', a box or None, not {crop!r}")
    with start_track_face(path, use_cache=use_cache, max_side=max_side, max_faces=max_faces,
                          workers=workers, worker_nice=worker_nice, crop=crop, max_rate=max_rate) as job:
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
    max_rate: float | None = None,
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
    _set_stride(src, settings, max_rate)
    meta, digest, cpath = _source_and_cache(src, "facetrack", settings, use_cache)
    cached: FaceTrack | None = None
    if cpath is not None and cpath.exists():
        with contextlib.suppress(BadInput, KeyError, ValueError, OSError):
            old = FaceTrack.load(cpath)
            # measures are cheap: recompute them so a change to them never needs re-tracking
            cached = build_track(old.times, old.valid, old.landmarks, old.width, old.height, src, old.settings,
                                 picture_change=old.picture_change, thumbs=old.thumbs, rotation=old.rotation,
                                 sar=old.sar)
    if cached is not None:
        from mouthsync.core import spares

        spares.drop(spares.TRACK_WORKER)  # nothing to track: free the core at once
    return PendingTrack(src, meta, digest, cpath, settings, cached, max_side, max_faces, workers, worker_nice, crop)


def _set_stride(src: str, settings: dict[str, Any], max_rate: float | None) -> None:
    """``settings["every"]``: track every that many frames (``face.stride``) when
    ``max_rate`` asks for fewer frames a second than the clip has (absent otherwise, so
    tracks of every frame keep their cache key)."""
    if max_rate:
        from mouthsync.media.decode import frame_times

        every = stride_for(frame_times(src), max_rate)
        if every > 1:
            settings["every"] = every


def _start_workers(
    stack: contextlib.ExitStack, src: str, starts: list[float], workers: int | None, meta: Any, advance: Any, *,
    max_side: int | None, max_faces: int, nice: int = 0, crop: tuple[int, int, int, int] | None = None,
    every_face: bool = False, every: int = 1,
) -> TrackWorkers | None:
    """The worker processes that track chunks beside the caller (entered on ``stack``), or
    None for one process: one per core up to two, never more than chunks (a short clip is
    one), each starting at its share of the clip (the caller takes the start)."""
    n = len(starts)
    procs = min(n, max(1, workers if workers is not None else min(2, os.cpu_count() or 1)))
    if procs <= 1:
        return None
    firsts = [(n * i) // procs for i in range(1, procs)]
    return stack.enter_context(TrackWorkers(src, starts, firsts, max_side, max_faces, meta.width, meta.height,
                                            advance, nice, crop, meta.sar, every_face=every_face, every=every))


def _gather(
    src: str,
    starts: list[float],
    workers: TrackWorkers | None,
    args: tuple[Any, ...],
    advance: Any,
    crop: tuple[int, int, int, int] | None = None,
    sar: float = 1.0,
    every_face: bool = False,
    every: int = 1,
) -> list[dict[str, np.ndarray]]:
    """Track the chunks this process can claim beside ``workers``, take theirs, and return
    every chunk in time order (each chunk's first picture change filled in).

    A worker that failed with chunks claimed leaves them to this process, which tracks
    them with the same result (chunks come out the same whoever tracks them); where this
    process fails too its error is raised. Failing quietly would mean frames without
    landmarks."""
    n = len(starts)
    claims = Claims(n, workers.claims_folder if workers is not None else None)
    parts = track_chunks(src, starts, 0, claims, args, report=advance, crop=crop, sar=sar, every_face=every_face,
                         every=every)
    failures: list[str] = []
    if workers is not None:
        parts.update(workers.results())
        failures = workers.failures
    missing = [k for k in range(n) if k not in parts]
    if missing:
        again = Claims(n)
        for k in parts:
            again.claim(k)
        parts.update(track_chunks(src, starts, missing[0], again, args, report=advance, crop=crop, sar=sar,
                                  every_face=every_face, every=every))
    if len(parts) < n:
        why = f" ({failures[0]})" if failures else ""
        raise BadInput(f"{src}: face tracking lost {n - len(parts)} of {n} chunks{why}")
    ordered = [parts[k] for k in range(n)]
    fill_changes(ordered)
    return ordered


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
        self._width, self._height, self._sar = meta.width, meta.height, meta.sar
        self._max_side, self._max_faces, self._crop = max_side, max_faces, crop
        self._track = cached
        self._stack = contextlib.ExitStack()
        self._workers: TrackWorkers | None = None
        self._starts: list[float] = []
        if cached is not None:
            return
        from mouthsync.media.decode import frame_times, keyframe_times

        ft = frame_times(src)
        self._starts = chunk_starts(ft, keyframe_times(src))
        try:
            self._every = int(settings.get("every", 1))
            self._advance = self._stack.enter_context(progress("Tracking face", kept(len(ft), self._every)))
            self._workers = _start_workers(self._stack, src, self._starts, workers, meta, self._advance,
                                           max_side=max_side, max_faces=max_faces, nice=worker_nice, crop=crop,
                                           every=self._every)
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
            args = (self._max_side, self._max_faces, self._width, self._height)
            try:
                ordered = _gather(self._src, self._starts, self._workers, args, self._advance, self._crop, self._sar,
                                  every=self._every)
            finally:
                self.cancel()
            track = _assemble(ordered, self._width, self._height, self._src, self._settings,
                              self._sar)
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


def track_faces(
    path: str | os.PathLike[str],
    *,
    max_faces: int = 2,
    use_cache: bool = True,
    max_side: int | None = DEFAULT_MAX_SIDE,
    workers: int | None = None,
    worker_nice: int = 0,
    max_rate: float | None = None,
) -> list[FaceTrack]:
    """Track up to ``max_faces`` faces of ``path``, each as its own :class:`FaceTrack`.

    For two-shots and interviews, where the largest face need not be the one speaking: the
    sync stage measures every face and keeps the one whose mouth agrees with the speech.
    Tracks are ordered by frames seen (most first); identities seen in fewer than
    ``MIN_FACE_FRACTION`` of the frames are dropped. Long clips are tracked in chunks by
    several processes as for :func:`track_face` (``workers``, ``worker_nice`` alike); each
    hands back every face of its frames, and the identities are followed through the
    whole clip in this process, so the result does not depend on who tracked what.
    ``max_rate`` as for :func:`track_face`. Cached
    by content and settings like ``track_face``. Raises :class:`NoFace` when no face is
    found.
    """
    import json

    src = str(path)
    if max_faces < 1:
        raise BadInput(f"max_faces must be at least 1, not {max_faces}")
    settings: dict[str, Any] = {"algorithm": ALGORITHM, "max_side": max_side, "max_faces": max_faces, "identities": 3}
    _set_stride(src, settings, max_rate)
    every = int(settings.get("every", 1))
    meta, digest, cpath = _source_and_cache(src, "facetracks", settings, use_cache)
    times: np.ndarray | None = None
    marks: np.ndarray | None = None
    valid: np.ndarray | None = None
    change: np.ndarray | None = None
    thumbs: np.ndarray | None = None
    turns: np.ndarray | None = None
    if cpath is not None and cpath.exists():
        with contextlib.suppress(KeyError, ValueError, OSError), np.load(cpath, allow_pickle=False) as z:
            times, valid, marks, change, thumbs, turns = (z["times"], z["valid"], z["landmarks"],
                                                          z["picture_change"], z["thumbs"], z["turns"])
    if times is None or marks is None or valid is None or change is None or thumbs is None or turns is None:
        from mouthsync.media.decode import frame_times, keyframe_times

        ft = frame_times(src)
        starts = chunk_starts(ft, keyframe_times(src))
        args = (max_side, max_faces, meta.width, meta.height)
        # every face of every frame comes back, and identities are followed over the whole clip here
        with progress("Tracking faces", kept(len(ft), every)) as advance, contextlib.ExitStack() as stack:
            pool = _start_workers(stack, src, starts, workers, meta, advance, max_side=max_side, max_faces=max_faces,
                                  nice=worker_nice, every_face=True, every=every)
            ordered = _gather(src, starts, pool, args, advance, sar=meta.sar, every_face=True, every=every)
        times, ids, change, thumbs, turns = follow_identities(replay(ordered))
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
                         turns=turns, settings_json=np.array(json.dumps(settings, sort_keys=True)))
    if marks.shape[0] == 0:
        raise NoFace(f"{src}: no face found in any of {len(times)} frames (Face Mesh needs a visible, roughly frontal human-like face)")
    full = {**settings, "video_sha256": digest}
    rotation = rotation_of(turns)
    return [build_track(times, valid[k], marks[k], meta.width, meta.height, src, {**full, "face": k},
                        picture_change=change, thumbs=thumbs, rotation=rotation, sar=meta.sar)
            for k in range(marks.shape[0])]

