"""Frames for the tracker: decoded at their true times, shrunk to the size Face Mesh needs
(deblocking skipped when the shrink hides it), interlaced pictures on their first field,
turned upright when the file says so (phone footage), read ahead in a thread, and each
frame's grey thumbnail for the picture-change measures."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mouthsync.core.errors import BadInput

# Decode without the deblocking filter when the picture is shrunk at least this much.
SKIP_DEBLOCK_FACTOR = 2.0


def decode_range(
    path: str, start: float | None, end: float | None, max_side: int | None, *, lead_in: bool = False,
    crop: tuple[int, int, int, int] | None = None, keep: Callable[[float], bool] | None = None,
) -> Iterator[tuple[float, np.ndarray, int]]:
    """Frames with ``start <= time < end`` (None: open ended), downscaled in the decoder:
    ``(time, RGB picture, turns)``.

    ``lead_in``: the frame just before ``start`` (when there is one) comes first, with its
    own time (< start): the picture change of the range's first frame needs it.
    ``crop``: ``(x0, y0, w, h)`` in source pixels (even): only that part of each picture,
    at the source's resolution (shrunk to ``max_side`` if larger); see ``face.region``.
    ``turns``: quarter turns counterclockwise the picture was given to stand it upright
    (the stream's display rotation; :func:`upright`); :func:`stored_fractions` maps points
    on it back to the stored picture. Pictures with non-square pixels are scaled to square
    ones (a face squeezed by an anamorphic master is not the shape Face Mesh learned).
    ``keep``: frames whose time it rejects are decoded (the stream needs them) but neither
    converted nor given (``face.stride``); the lead-in frame is the last kept one.
    """
    import av

    from mouthsync.media.container import open_input, require_video
    from mouthsync.media.decode import decode_from, display_turn, pixel_aspect

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
        sar = pixel_aspect(vs)
        sw = w * sar  # the width in square pixels
        if max_side and max(sw, h) > max_side:
            s = max_side / max(sw, h)
            size = (max(2, int(round(sw * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2))
        elif sar != 1.0:
            size = (max(2, int(round(sw / 2)) * 2), h)
        if max_side and max(w, h) >= SKIP_DEBLOCK_FACTOR * max_side:
            # Skipping the deblocking filter saves ~0.4 CPU-ms per 720p frame (1.85 -> 1.47,
            # ~5 % of tracking). At native size it moved the aperture by up to 0.02 on the
            # 224 px wild clips (correlation 0.94), but when the picture is area-averaged
            # down by >= 2x the block edges average out: correlation 0.998 with the
            # deblocked decode on 720p talking heads, same frames tracked.
            vs.codec_context.options = {"skip_loop_filter": "all"}
        frames: Iterator[Any] = c.decode(vs)
        if start is not None and start > 0:
            # with lead_in, land before a keyframe that starts the range (an edit's cut often
            # is one), so that the frame before it is decoded too
            frames = decode_from(c, vs, start - 1e-3 if lead_in else start)
        last_t: float | None = None
        step = 0.04
        got = 0
        held: tuple[float, Any] | None = None
        field_order = getattr(vs.codec_context, "field_order", None)
        try:
            for frame in frames:
                t = frame.time
                if t is None:
                    t = (last_t + step) if last_t is not None else (start or 0.0)
                elif last_t is not None and t > last_t:
                    step = t - last_t
                last_t = t
                if keep is not None and not keep(float(t)):
                    if end is not None and t >= end - 1e-9:
                        break
                    continue
                if start is not None and t < start - 1e-9:
                    if lead_in:
                        held = (float(t), frame)  # converted only if it is the last one
                    continue
                if held is not None:
                    turns = display_turn(held[1]) // 90
                    yield held[0], upright(to_rgb(held[1], size, crop, first_field(held[1], field_order)), turns), turns
                    held = None
                if end is not None and t >= end - 1e-9:
                    break
                turns = display_turn(frame) // 90
                img = upright(to_rgb(frame, size, crop, first_field(frame, field_order)), turns)
                got += 1
                yield float(t), img, turns
        except av.FFmpegError as exc:
            if got == 0 and not start:
                raise BadInput(f"{path}: video stream cannot be decoded ({exc})") from None


def upright(img: np.ndarray, turns: int) -> np.ndarray:
    """``img`` turned ``turns`` quarter turns counterclockwise (0: as it is).

    Why: phones store the sensor's picture as it was held (sideways for portrait, upside
    down for landscape held the other way) and flag how a player must turn it. Face Mesh
    finds and fits upright faces: retalking_face3 stored upside down (``rotate=180``) read
    no face on the keyframes, a mesh on every frame with the lips mistaken, and a delay of
    +773 ms at confidence 0 (upright: +29.7 ms at 0.45).
    """
    return np.ascontiguousarray(np.rot90(img, turns)) if turns % 4 else img


def rotation_of(turns: np.ndarray) -> int:
    """The display rotation in degrees of a track whose frames were given ``turns``
    quarter turns each (:func:`decode_range`): the most common one (0 with no frames)."""
    t = np.asarray(turns, dtype=np.intp)
    return int(np.bincount(t % 4, minlength=4).argmax()) * 90 if t.size else 0


def stored_fractions(u: np.ndarray, v: np.ndarray, turns: int) -> tuple[np.ndarray, np.ndarray]:
    """Points given as fractions ``(u, v)`` of the width and height of a picture turned by
    :func:`upright`, as fractions of the stored picture's width and height."""
    k = turns % 4
    if k == 1:  # turned counterclockwise: the stored picture's right edge is at the top
        return 1.0 - v, u
    if k == 2:
        return 1.0 - u, 1.0 - v
    if k == 3:
        return v, 1.0 - u
    return u, v


def upright_points(points: np.ndarray, turns: int, width: int, height: int) -> np.ndarray:
    """Points (..., 2 or 3) in pixels of the stored ``width`` x ``height`` picture, in
    pixels of that picture turned by :func:`upright` (a copy; ``z`` as it is)."""
    out = np.array(points, dtype=np.float32, copy=True)
    x, y = points[..., 0], points[..., 1]
    k = turns % 4
    if k == 1:
        out[..., 0], out[..., 1] = y, width - x
    elif k == 2:
        out[..., 0], out[..., 1] = width - x, height - y
    elif k == 3:
        out[..., 0], out[..., 1] = height - y, x
    return out


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


def to_rgb(frame: Any, size: tuple[int, int] | None, crop: tuple[int, int, int, int] | None = None,
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


def prefetch(it: Iterator[Any], depth: int = 6) -> Iterator[Any]:
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


# Picture change between frames (for cuts, ``face.shots``): mean absolute difference of
# 32x18 grey thumbnails, each less its own mean, in 8-bit levels. Less the mean, a change
# of exposure is not a change of picture: a +0.25 brightness step read 73 levels (a cut,
# which then hid the exposure change from facecheck), 3.6 without; cuts between the
# shared clips read 32-77 either way. ~0.08 ms per 640x360 frame: a bilinear step to
# 160x90 first, because OpenCV's area averaging straight from 640x360 took 0.3 ms (the
# change it measures differed by < 0.2 levels on every shared clip and edit).
THUMB_SIZE = (32, 18)
_THUMB_STEP = (160, 90)


def centred(thumb: np.ndarray) -> np.ndarray:
    """A thumbnail's grey levels less their mean (float32): a change of exposure alone is
    no change of picture."""
    level = thumb.astype(np.float32)
    level -= level.mean()
    return level


def picture_change(before: np.ndarray | None, level: np.ndarray) -> float:
    """Mean absolute difference of two :func:`centred` thumbnails (NaN without ``before``):
    the per-frame picture change that ``face.shots`` finds cuts in."""
    return float(np.abs(level - before).mean()) if before is not None else float("nan")


def thumbnail(img: np.ndarray) -> np.ndarray:
    """The frame's grey thumbnail (uint8, ``THUMB_SIZE``)."""
    import cv2

    small = cv2.resize(img, _THUMB_STEP, interpolation=cv2.INTER_LINEAR)
    grey = small[:, :, 1] if small.ndim == 3 else small  # green: most of the luma
    return cv2.resize(grey, THUMB_SIZE, interpolation=cv2.INTER_AREA)

