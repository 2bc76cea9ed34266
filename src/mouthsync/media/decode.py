"""Decoding with true presentation timestamps.

Video frames carry the time at which they are shown (``pts * time_base``), never
``index / nominal_fps``, so variable-frame-rate footage keeps its real timing. Audio is
decoded to float32 at a chosen rate together with the time of its first sample, so the
two streams can be placed on one timeline (container start times and edit lists are
applied by FFmpeg's demuxer before we see the timestamps).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from mouthsync.core.errors import BadInput
from mouthsync.media.container import open_input, require_audio, require_video
from mouthsync.media.samplebuffer import SampleBuffer


@dataclass(frozen=True)
class Frame:
    """One decoded picture: its presentation time in seconds and its pixels (H x W x 3).

    ``rotation``: degrees counterclockwise a player turns the picture to show it (phone
    footage stores the sensor's sideways picture with such a flag); the pixels are as
    stored, so landmarks measured on them match. ``np.rot90(image, rotation // 90)`` shows
    it upright. Only :func:`frames_at` fills it in.
    """

    index: int
    time: float
    image: np.ndarray
    rotation: int = 0


@dataclass(frozen=True)
class Audio:
    """Decoded audio: float32 samples in [-1, 1], shape (n,) for mono or (channels, n).

    ``start`` is the presentation time of the first sample in seconds, on the same
    timeline as video frame times.
    """

    samples: np.ndarray
    rate: int
    start: float
    # which channel the samples are, when one was picked from several (``decode_audio``'s
    # ``dialogue``: "FC", the centre of a 3.0 / 5.1 / 7.1 layout); "" for a mix or the source as is
    channel: str = ""
    # how the stream was coded: FFmpeg's codec name and the bits per second its packets
    # hold (all channels); "" / None for sound that did not come from a file
    codec: str = ""
    coded_bps: float | None = None

    @property
    def duration(self) -> float:
        return self.samples.shape[-1] / float(self.rate)

    @property
    def mono(self) -> np.ndarray:
        return self.samples if self.samples.ndim == 1 else self.samples.mean(axis=0)


@dataclass(frozen=True)
class VideoMeta:
    """What decoding needs to know about the picture before reading it."""

    width: int
    height: int
    time_base: float
    declared_fps: float
    frame_count: int | None
    duration: float | None
    # sample (pixel) aspect ratio: a stored pixel is this many times as wide as it is high
    # (anamorphic masters: 1440x1080 HD and 720x576 / 720x480 SD); 1.0 when square or unset
    sar: float = 1.0


def video_meta(path: str | os.PathLike[str]) -> VideoMeta:
    """Size, declared rate and frame count of the first video stream (no decoding)."""
    with open_input(path) as c:
        vs = require_video(c, path)
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        dur = float(vs.duration * vs.time_base) if vs.duration else (c.duration / 1e6 if c.duration else None)
        return VideoMeta(
            width=vs.codec_context.width,
            height=vs.codec_context.height,
            time_base=float(vs.time_base),
            declared_fps=float(vs.base_rate or rate or 0),
            frame_count=vs.frames or None,
            duration=dur,
            sar=pixel_aspect(vs),
        )


def pixel_aspect(vs: Any) -> float:
    """The stream's sample aspect ratio as a float (exactly 1.0 when square within 0.1 %,
    unset or absurd)."""
    sar = vs.sample_aspect_ratio or vs.codec_context.sample_aspect_ratio
    value = float(sar) if sar else 1.0
    return value if 0.2 <= value <= 5.0 and abs(value - 1.0) >= 1e-3 else 1.0


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int] | None:
    if not max_side or max(width, height) <= max_side:
        return None
    s = max_side / max(width, height)
    return (max(2, int(round(width * s / 2)) * 2), max(2, int(round(height * s / 2)) * 2))


def iter_frames(
    path: str | os.PathLike[str],
    *,
    pixel_format: str = "rgb24",
    max_side: int | None = None,
    threads: bool = True,
) -> Iterator[Frame]:
    """Yield every frame of the first video stream with its presentation time.

    ``max_side`` downscales in the decoder's scaler (cheaper than resizing afterwards).
    Frames without a timestamp (rare, broken muxers) get the previous time plus the
    median spacing so far, never an invented nominal rate.
    """
    with open_input(path) as c:
        vs = require_video(c, path)
        if threads:
            vs.thread_type = "AUTO"
        size = _scaled_size(vs.codec_context.width, vs.codec_context.height, max_side)
        last_t: float | None = None
        step = 0.04
        index = 0
        try:
            for frame in c.decode(vs):
                t = frame.time
                if t is None:
                    t = (last_t + step) if last_t is not None else 0.0
                elif last_t is not None and t > last_t:
                    step = t - last_t
                if size:
                    img = frame.to_ndarray(format=pixel_format, width=size[0], height=size[1])
                else:
                    img = frame.to_ndarray(format=pixel_format)
                yield Frame(index=index, time=float(t), image=img)
                last_t = t
                index += 1
        except av.FFmpegError as exc:
            if index == 0:
                raise BadInput(f"{path}: video stream cannot be decoded ({exc})") from None
            # A truncated tail: keep what decoded, the caller sees fewer frames.
        if index == 0:
            raise BadInput(f"{path}: video stream has no decodable frames")


def frames_at(path: str | os.PathLike[str], times: list[float], *, max_side: int | None = None) -> list[Frame]:
    """The frame shown at each of ``times`` (the last one whose time is <= it), in the order
    asked; times before the first frame get the first frame.

    For a handful of pictures (report thumbnails): the targets are visited in time order,
    and the decoder seeks to the keyframe before a target only when it is more than
    ``_SEEK_AHEAD_S`` ahead, so nearby targets share one run of decoding and far ones do not
    decode the whole file.
    """
    if not times:
        return []
    order = sorted(range(len(times)), key=lambda i: times[i])
    found: dict[int, Frame] = {}
    with open_input(path) as c:
        vs = require_video(c, path)
        size = _scaled_size(vs.codec_context.width, vs.codec_context.height, max_side)

        def picture(frame: av.VideoFrame) -> np.ndarray:
            if size:
                return frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
            return frame.to_ndarray(format="rgb24")

        it: Iterator[av.VideoFrame] | None = None
        held: av.VideoFrame | None = None  # the latest decoded frame not after the target
        ahead: av.VideoFrame | None = None  # a frame decoded past an earlier target
        index = 0
        try:
            for k in order:
                target = times[k]
                last = held.time if held is not None and held.time is not None else None
                if it is None or last is None or target < last or target - last > _SEEK_AHEAD_S:
                    it, held, ahead = decode_from(c, vs, target), None, None
                while True:
                    frame = ahead if ahead is not None else next(it, None)
                    ahead = None
                    if frame is None:
                        break
                    if frame.time is not None and frame.time > target + 1e-6 and held is not None:
                        ahead = frame
                        break
                    held = frame
                if held is None:
                    raise BadInput(f"{path}: no frame decodes near {target:.2f} s")
                found[k] = Frame(index=index, time=float(held.time or 0.0), image=picture(held),
                                 rotation=display_turn(held))
                index += 1
        except av.FFmpegError as exc:
            raise BadInput(f"{path}: video stream cannot be decoded ({exc})") from None
    return [found[i] for i in range(len(times))]


def _from_keyframe(c: Any, vs: Any) -> Iterator[av.VideoFrame]:
    """Frames of ``vs`` decoded from the first keyframe packet demuxed on (the packets
    before it are not decoded)."""
    started = False
    for pkt in c.demux(vs):
        started = started or pkt.is_keyframe
        if started:
            yield from pkt.decode()


def decode_from(c: Any, vs: Any, target: float, *, skip_to_key: bool = False) -> Iterator[av.VideoFrame]:
    """Frames of video stream ``vs`` of open container ``c``, decoded from the keyframe at
    or before ``target`` seconds (frames before the target included: the caller skips
    what it does not want).

    ``skip_to_key``: packets a seek lands among before a keyframe are not decoded at all
    (a quantiser sample decoded 3 CPU-s of them on a minute of 720p MPEG-TS, 0.3 without);
    off for tracking, where a stream refreshed without keyframes (intra refresh) must
    still give its frames.

    Why not one seek: a demuxer without an index (MPEG-TS, MPEG-PS) guesses where a time
    lies from the byte rate and can land after it. A 30 s TS file split at 15 s for two
    tracking processes lost 1.6 s of frames that way, silently. When the first frame
    comes after ``target``, this seeks again 1, 2, 4, ... s further back, at worst to the
    start of the file. Landing past the last frame (a TS seek to the last keyframe's time
    gave nothing) counts as landing after it.
    """
    tb = float(vs.time_base)
    back = 0.0
    while True:
        at = target - back
        c.seek(max(0, int(at / tb)), stream=vs, backward=True, any_frame=False)
        frames = _from_keyframe(c, vs) if skip_to_key else iter(c.decode(vs))
        first = next(frames, None)
        if at <= 0 or (first is not None and (first.time is None or first.time <= target + 1e-6)):
            break
        back = 1.0 if back == 0 else 2 * back
    if first is None:
        return  # (``yield from`` an exhausted PyAV decode generator raises RuntimeError)
    yield first
    yield from frames


def display_turn(frame: Any) -> int:
    """Degrees (0, 90, 180 or 270) counterclockwise that a player turns ``frame`` to show it:
    its display rotation, rounded to quarter turns (phone footage is stored as the sensor
    saw it, sideways or upside down, with a flag)."""
    return int(round(float(getattr(frame, "rotation", 0) or 0) / 90.0)) * 90 % 360


# frames_at seeks rather than decodes through when the next target is this far ahead
_SEEK_AHEAD_S = 3.0


def check_frame_count(
    stream: av.stream.Stream, found: int, path: str | os.PathLike[str], found_s: float | None = None,
    *, span_s: float | None = None, end_s: float | None = None,
) -> None:
    """Raise :class:`BadInput` when a file holds fewer packets than its index promises.

    A truncated MP4 whose index (moov) sits at the front still opens and demuxes; it just
    runs out of data. Working on the part that is left would silently produce a shorter,
    wrong result, so truncation is refused like any other damaged input. A tolerance of
    2 % (and one packet) allows for muxers whose counts are slightly off. For audio, pass
    the seconds decoded (``found_s``): they are compared with the stream's declared
    duration instead, because QuickTime counts PCM audio in samples, not packets (a MOV
    with 24-bit PCM promises 221 184 "frames" and holds 216 packets of 1024 samples).
    For video, ``span_s`` (the time the frames found cover) settles a short count when the
    header counts in time-base ticks rather than frames: an AVI of H.264 with a 1/50 time
    base promises 250 "frames" for 125 frames at 25 fps, which cover 250 ticks.
    ``end_s``: where what was found ends on the stream's clock, against Matroska's
    ``DURATION`` tag (the stream's end time; Matroska counts no frames).
    """
    if found_s is not None and stream.time_base:
        # the declared duration; without one, the frame count read as samples (an AVI's
        # PCM header counts samples, an MP4's packets: the latter then promises almost
        # nothing in seconds and is not judged)
        declared = float((stream.duration or stream.frames or 0) * stream.time_base)
        if not declared:
            _check_tagged_end(stream, end_s, path)
        if declared and found_s < 0.98 * declared - 0.05:
            raise BadInput(
                f"{path}: file is truncated: the header promises {declared:.2f} s of {stream.type}, "
                f"only {found_s:.2f} s are present"
            )
        return
    promised = stream.frames or 0
    if promised and found < 0.98 * promised - 1:
        if span_s is not None and stream.time_base:
            # the count read as ticks must match the time the frames cover (a cut AVI's
            # demuxer shrinks its duration to what is left, so the header's count is used)
            ticks_s = float(promised * stream.time_base)
            if abs(span_s - ticks_s) <= 0.02 * ticks_s + 0.05:
                return
        kind = stream.type
        raise BadInput(
            f"{path}: file is truncated: the header promises {promised} {kind} frames, "
            f"only {found} are present"
        )
    if not promised:
        _check_tagged_end(stream, end_s, path)


def _check_tagged_end(stream: av.stream.Stream, end_s: float | None, path: str | os.PathLike[str]) -> None:
    """Matroska counts no frames, but its muxer tags each stream's end time (``DURATION``):
    a file cut short ends well before it (half an MKV read as a 2.2 s clip). The wide margin
    leaves room for a last frame held long (a screen recording)."""
    tagged = _tagged_duration(stream)
    if tagged and end_s is not None and end_s < 0.9 * tagged - 0.5:
        raise BadInput(
            f"{path}: file is truncated: the header says its {stream.type} runs to {tagged:.2f} s, "
            f"it ends at {end_s:.2f} s"
        )


def _tagged_duration(stream: av.stream.Stream) -> float | None:
    """A stream's ``DURATION`` tag (Matroska, ``HH:MM:SS.nnnnnnnnn``) in seconds."""
    tag = next((v for k, v in (stream.metadata or {}).items() if k.lower() == "duration"), None)
    if not tag:
        return None
    try:
        h, m, sec = str(tag).strip().split(":")
        value = int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None
    return value if value > 0 else None


def frame_step(times: np.ndarray, default: float = 0.04) -> float:
    """The usual interval between frames at ``times`` (s, sorted): the median one, so a
    dropped frame or a VFR hiccup does not move it; ``default`` with fewer than two frames.
    What spans that end "one frame after the last frame" add."""
    t = np.asarray(times, dtype=np.float64)
    return float(np.median(np.diff(t))) if t.size > 1 else default


def rate_of(times: np.ndarray) -> float:
    """The frame rate frames at ``times`` (s, sorted) count in; 0.0 for fewer than two.

    Constant-rate footage (nearly every interval equal) gets the rate of that interval, so
    a file with one frame missing (a dropped frame, an AVI's empty placeholder packet)
    still counts 40 ms frames at 25 fps, not 24.56. Variable-rate footage gets its
    average, (frames - 1) / span.
    """
    t = np.asarray(times, dtype=np.float64)
    if t.size < 2 or t[-1] <= t[0]:
        return 0.0
    d = np.diff(t)
    step = float(np.median(d))
    if step > 0 and np.mean(np.abs(d - step) <= 0.01 * step) >= 0.95:
        return 1.0 / step
    return float((t.size - 1) / (t[-1] - t[0]))


def check_video_frames(stream: av.stream.Stream, pts: list[int], tb: float, path: str | os.PathLike[str]) -> None:
    """:func:`check_frame_count` for the video packets stored at ``pts`` (every packet, the
    ones an edit list hides too): what they cover and where they end settle a short count
    (``span_s``, ``end_s``)."""
    first, end = frame_bounds(pts, tb)
    check_frame_count(stream, len(pts), path, span_s=end - first, end_s=end)


def frame_bounds(pts: list[int], tb: float) -> tuple[float, float]:
    """Where frames at these timestamps start and end: the first one, and the last one plus
    one typical frame (what they cover is the difference)."""
    if not pts:
        return 0.0, 0.0
    t = np.sort(np.asarray(pts, dtype=np.float64)) * tb
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    return float(t[0]), float(t[-1] + step)


def frame_times(path: str | os.PathLike[str]) -> np.ndarray:
    """Presentation times of all video frames, from packets only (no picture decoding).

    Packets arrive in decode order, so times are sorted; packets without pts are skipped.
    Raises :class:`BadInput` for a truncated file (see :func:`check_frame_count`).
    """
    return _scan_video(path)[1].copy()


def video_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of the picture alone: the video stream's codec setup and every packet's
    bytes, timestamps and keyframe flag, in file order.

    Why not the file's hash: whatever is computed from the picture (the face track) holds
    for every file that carries the same picture. ``fix`` copies the video packets bit for
    bit and rewrites only the audio, so a check of its output (``fix --verify``, or the
    user's own check after a fix) finds the picture's track in the cache instead of
    tracking the same frames again. A changed frame, timestamp or container timing gives
    another digest. Reads the packets without decoding them.
    """
    return _scan_video(path)[0]


# (path, size, modification time) -> (digest, frame times, hidden frames, keyframe times):
# one pass over the packets serves them all, and a check asks for each more than once (the
# track, the face count, fix's plan)
_SCANS: dict[tuple[str, int, int], tuple[str, np.ndarray, int, np.ndarray]] = {}


def keyframe_times(path: str | os.PathLike[str]) -> np.ndarray:
    """Presentation times of the shown keyframes (decoding can start at any of them), from
    the same pass over the packets as :func:`frame_times`."""
    return _scan_video(path)[3].copy()


def hidden_frames(path: str | os.PathLike[str]) -> int:
    """How many stored frames an MP4 edit list hides (decoded for reference, never shown).
    A container without edit lists shows them when the packets are copied into it."""
    return _scan_video(path)[2]


def _scan_video(path: str | os.PathLike[str]) -> tuple[str, np.ndarray, int, np.ndarray]:
    import hashlib

    try:
        st = os.stat(path)
        key: tuple[str, int, int] | None = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _SCANS:
        return _SCANS[key]
    h = hashlib.sha256()
    pts: list[int] = []  # frames that are shown
    every: list[int] = []  # and those an edit list hides (decoded for reference, never shown)
    keys: list[int] = []  # shown keyframes
    with open_input(path) as c:
        vs = require_video(c, path)
        cc = vs.codec_context
        # how the picture is shown is part of it: the track of a copy flagged to turn a
        # quarter, or with non-square pixels, is not the track of the same packets shown
        # as stored (the cache handed one for the other)
        head = (cc.name, cc.width, cc.height, str(cc.format.name if cc.format else ""),
                str(vs.time_base), vs.start_time, first_turn(path), pixel_aspect(vs))
        h.update(repr(head).encode())
        if cc.extradata:
            h.update(bytes(cc.extradata))
        tb = float(vs.time_base)
        try:
            for pkt in c.demux(vs):
                if pkt.size == 0:
                    continue
                h.update(f"{pkt.pts},{pkt.dts},{int(pkt.is_keyframe)},{pkt.size};".encode())
                h.update(memoryview(pkt))
                if pkt.pts is not None:
                    every.append(pkt.pts)
                    # an MP4 edit list that starts the picture after a keyframe (ffmpeg -ss
                    # with -c copy) keeps the frames before it, flagged discard: counted as
                    # shown, they put every later frame 8 frames early (prep read +377 ms)
                    if not getattr(pkt, "is_discard", False):
                        pts.append(pkt.pts)
                        if pkt.is_keyframe:
                            keys.append(pkt.pts)
        except av.FFmpegError as exc:
            raise BadInput(f"{path}: video packets cannot be read ({exc}); the file is damaged") from None
        check_video_frames(vs, every, tb, path)
    if not pts:
        raise BadInput(f"{path}: video stream has no frames")
    result = (h.hexdigest(), np.sort(np.asarray(pts, dtype=np.float64) * tb), len(every) - len(pts),
              np.sort(np.asarray(keys, dtype=np.float64) * tb))
    if key is not None:
        _SCANS[key] = result
    return result


def first_turn(path: str | os.PathLike[str]) -> int:
    """The display rotation of the first picture (:func:`display_turn`), decoded alone: the
    flag travels as side data of the decoded frames, so it cannot be read from the
    container; 0 when the first picture does not decode."""
    with open_input(path) as c:
        vs = require_video(c, path)
        try:
            for frame in c.decode(vs):
                return display_turn(frame)
        except av.FFmpegError:
            return 0
    return 0


#: Encoder delay of AAC-LC in samples (ISO/IEC 14496-3; FFmpeg's and most encoders'
#: priming). MP4 files normally hide it with an edit list or skip-samples side data.
AAC_PRIMING = 1024


def _unhidden_priming(first_packet: av.Packet | None, first_frame_pts: int | None, stream) -> int:
    """Priming samples (at the stream's rate) that the container failed to hide, else 0.

    When an AAC stream is stream-copied to a new start time (``ffmpeg -itsoffset``,
    packet shifting), the muxer drops the priming edit: the decoder then returns the
    encoder's 1024 warm-up samples as if they were content, and the stream appears to
    start 23 ms (at 44.1 kHz) before its sound really does. Detect that case: AAC-LC, no
    skip-samples side data on the first packet, and a first frame at the first packet's
    time (nothing was skipped).
    """
    cc = stream.codec_context
    if cc.name != "aac" or (cc.profile or "LC") != "LC" or first_packet is None:
        return 0
    if first_packet.pts is None or first_frame_pts is None or first_frame_pts != first_packet.pts:
        return 0
    if first_packet.has_sidedata("skip_samples"):
        return 0
    return AAC_PRIMING


#: Timestamp gaps in an audio stream shorter than this are jitter, not missing sound.
GAP_TOLERANCE_S = 0.0005


def _gap_before(frame: av.AudioFrame, next_time: float | None) -> int:
    """Samples of silence missing before ``frame`` (0 when contiguous or unknown).

    Concatenated or badly cut files have holes in the audio timeline (the concat demuxer
    leaves 16 ms per join on the shared clips). Decoders just return the next samples, so
    joining them would pull all later sound earlier; the hole is filled with silence
    instead, as FFmpeg's ``aresample=async`` would.
    """
    if next_time is None or frame.time is None:
        return 0
    gap = float(frame.time) - next_time
    # Timestamps are rounded to the stream's time base (1 ms in Matroska): within 1.5
    # ticks a frame is contiguous.
    tick = float(frame.time_base) if frame.time_base else 0.0
    return int(round(gap * frame.sample_rate)) if gap > max(GAP_TOLERANCE_S, 1.5 * tick) else 0


def _silence_like(frame: av.AudioFrame, samples: int) -> av.AudioFrame:
    """A frame of ``samples`` zeros in ``frame``'s format, layout and rate."""
    fmt = frame.format
    channels = len(frame.layout.channels)
    shape = (channels, samples) if fmt.is_planar else (1, samples * channels)
    silent = av.AudioFrame.from_ndarray(
        np.zeros(shape, dtype=_NUMPY_OF_FORMAT[fmt.name]), format=fmt.name, layout=frame.layout.name
    )
    silent.sample_rate = frame.sample_rate
    silent.pts = None
    return silent


_NUMPY_OF_FORMAT = {
    "u8": np.uint8, "u8p": np.uint8, "s16": np.int16, "s16p": np.int16, "s32": np.int32,
    "s32p": np.int32, "flt": np.float32, "fltp": np.float32, "dbl": np.float64, "dblp": np.float64,
    "s64": np.int64, "s64p": np.int64,
}


def stereo_head(
    path: str | os.PathLike[str], *, audio_stream: int = 0, seconds: float = 30.0, rate: int = 8000
) -> np.ndarray | None:
    """The first ``seconds`` of a two-channel stream at ``rate``, shape (2, samples); None
    for any other channel count or nothing decodable. What tells split microphones and
    channels of opposite polarity from ordinary stereo, before the speech is analysed."""
    with open_input(path) as c:
        stream = require_audio(c, path, audio_stream)
        if stream.codec_context.channels != 2:
            return None
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout.name, rate=rate)
        chunks: list[np.ndarray] = []
        got = 0
        try:
            for frame in c.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray())
                    got += out.samples
                if got >= seconds * rate:
                    break
        except av.FFmpegError:
            pass
    if not chunks:
        return None
    return np.concatenate(chunks, axis=1).astype(np.float64)


def envelopes_of(x: np.ndarray | None, rate: int = 8000) -> np.ndarray | None:
    """Per-channel loudness (dB, 20 ms frames) of ``stereo_head``'s samples, shape (2,
    frames); None for None or under 10 frames. Cheap next to a full decode: with
    ``stereo_head`` it tells split microphones (one voice per channel) from ordinary stereo
    before the speech is analysed."""
    if x is None:
        return None
    hop = rate // 50
    n = x.shape[1] // hop
    if n < 10:
        return None
    energy = (x[:, : n * hop].reshape(2, n, hop) ** 2).mean(axis=2)
    return 10.0 * np.log10(energy + 1e-10)


def dialogue_channel(layout: Any) -> str | None:
    """The channel that carries the dialogue by convention, when the layout has one: the
    front centre (``FC``) of a layout with at least three channels (3.0, 5.1, 7.1...).

    Why: in a broadcast or cinema master the speech sits in the centre and music and
    effects around it. Mixed down to mono, a loud bed buries the speech: a 5.0 copy of a
    shared clip with its voice in the centre and pink noise in the other four channels
    read +678 ms at confidence 0 mixed, the clean clip's delay from the centre alone.
    """
    names = [ch.name for ch in getattr(layout, "channels", ())]
    return "FC" if len(names) >= 3 and "FC" in names else None


def declared_samples(container: Any, stream: Any, rate: int) -> int:
    """How many samples at ``rate`` the stream's (else the container's) declared duration
    holds, plus half a second; 0 when neither is declared. A size to decode into."""
    seconds = 0.0
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / 1e6
    return int((seconds + 0.5) * rate) if seconds > 0 else 0


def decode_audio(
    path: str | os.PathLike[str], *, rate: int = 16000, mono: bool = True, audio_stream: int = 0,
    dialogue: bool = False, channel: int | None = None, difference: bool = False,
) -> Audio:
    """Decode audio stream ``audio_stream`` (0: the first) to float32 at ``rate`` Hz.

    ``dialogue`` (with ``mono``): take the dialogue channel alone where the layout has one
    (:func:`dialogue_channel`; ``Audio.channel`` says so), else mix to mono as usual.
    ``channel`` (with ``mono``): take that channel alone (counted from 0), whatever the
    layout (split microphones: one voice per channel).
    ``difference`` (with ``mono``, two channels): half the first channel less the second
    (``Audio.channel`` "L-R"): the voice of a stereo pair wired in opposite polarity,
    which the ordinary mix cancels (``sync.channels.opposite_polarity``).

    Resampling happens in FFmpeg's resampler (``swr``), which keeps sample timing exact.
    AAC encoder priming that the container failed to hide is removed and ``start`` moved
    to the first real sample (see :func:`_unhidden_priming`); holes in the stream's
    timeline are filled with silence so every sample stays at its own time
    (see :func:`_gap_before`).
    """
    with open_input(path) as c:
        stream = require_audio(c, path, audio_stream)
        stream.thread_type = "AUTO"
        src_rate = stream.codec_context.sample_rate or rate
        codec = stream.codec_context.name
        layout = "mono" if mono else ("stereo" if stream.codec_context.channels >= 2 else "mono")
        names = [ch.name for ch in stream.codec_context.layout.channels]
        pick = dialogue_channel(stream.codec_context.layout) if (mono and dialogue) else None
        pick_row = 0
        if mono and channel is not None:
            if not 0 <= channel < len(names):
                raise BadInput(f"{path}: audio stream {audio_stream} has {len(names)} channel(s), not a channel {channel}")
            pick_row = channel
            pick = names[channel] if names[channel] not in ("", "NONE") else f"channel {channel}"
        elif pick is not None:
            pick_row = names.index(pick)
        difference = difference and mono and pick is None and len(names) == 2
        if pick is not None or difference:  # every channel as it is, then the chosen row alone
            layout = stream.codec_context.layout.name
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        chunks = SampleBuffer(declared_samples(c, stream, rate))
        start: float | None = None
        first_packet: av.Packet | None = None
        first_frame_pts: int | None = None
        n_packets = 0
        n_bytes = 0
        n_samples = 0
        next_time: float | None = None  # where the next frame should start if contiguous
        gaps_filled = 0
        try:
            for packet in c.demux(stream):
                n_packets += packet.size > 0
                n_bytes += packet.size
                if first_packet is None and packet.pts is not None and packet.size > 0:
                    first_packet = packet
                for frame in packet.decode():
                    n_samples += frame.samples
                    if start is None and frame.time is not None:
                        start = float(frame.time)
                        first_frame_pts = frame.pts
                    gap = _gap_before(frame, next_time)
                    if gap > 0:
                        gaps_filled += gap
                        for out in resampler.resample(_silence_like(frame, gap)):
                            chunks.append(out.to_ndarray())
                    if frame.time is not None:
                        next_time = float(frame.time) + frame.samples / frame.sample_rate
                    elif next_time is not None:
                        next_time += frame.samples / frame.sample_rate
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray())
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except av.FFmpegError as exc:
            if not chunks:
                raise BadInput(f"{path}: audio stream cannot be decoded ({exc})") from None
        check_frame_count(stream, n_packets, path, found_s=n_samples / src_rate,
                          end_s=(start or 0.0) + n_samples / src_rate)
        priming = _unhidden_priming(first_packet, first_frame_pts, stream)
        declared_end = None
        if stream.duration and stream.start_time is not None:
            declared_end = float((stream.start_time + stream.duration) * stream.time_base)
    if not chunks:
        raise BadInput(f"{path}: audio stream has no decodable samples")
    samples = chunks.samples()
    start = start or 0.0
    if priming:
        drop = int(round(priming * rate / src_rate))
        samples = samples[:, drop:]
        start += priming / src_rate
    if declared_end is not None:
        # The last AAC frame is padded to 1024 samples; the container's duration (edit
        # list) says where the sound really ends. Trim only that padding, never content.
        excess = start + samples.shape[1] / rate - declared_end
        if 0 < excess <= 2 * AAC_PRIMING / src_rate:
            samples = samples[:, : samples.shape[1] - int(round(excess * rate))]
    if difference:
        samples = np.ascontiguousarray(0.5 * (samples[0] - samples[1]))
        pick = "L-R"
    elif mono:
        samples = np.ascontiguousarray(samples[pick_row])
    coded = n_bytes * 8.0 / (n_samples / src_rate) if n_samples else None
    return Audio(samples=samples, rate=rate, start=start, channel=pick or "", codec=codec, coded_bps=coded)
