"""Re-timing the sound of a file without touching its picture.

A sync correction must never cost picture quality, so every non-audio packet (video,
subtitles, data) is copied bit for bit with its original timestamps, and only the audio
moves. Two ways to move it:

* **copy** - the compressed audio packets are copied too and only their timestamps change.
  This is lossless and exact to one sample when the audio time base is ``1/sample_rate``.
  It is used when the container can express the result: MP4/MOV write an edit list for
  audio that now starts before zero (the same mechanism that hides AAC encoder priming),
  and any container can carry audio that starts later if the stream has no priming
  packets. An AAC stream moved *later* in MP4 cannot be copied exactly: its priming
  packet would land at a positive time and be played as 23 ms of noise, and FFmpeg's
  muxer has no way to say "empty edit, then skip 1024 samples".
* **encode** - the audio is decoded, its samples are trimmed/padded (a pure integer
  sample shift, exact) or resampled for clock drift (spline interpolation at the exact
  fractional positions), and encoded again with the same codec, rate and layout.

The output audio keeps the input audio's start time and length in encode mode, so a
player sees the same file duration; the picture decides the timeline.
"""

from __future__ import annotations

import contextlib
import heapq
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from mouthsync.core.errors import BadInput, BadOutput
from mouthsync.media.container import open_input, picture_stream, require_audio
from mouthsync.media.decode import declared_samples, decode_audio
from mouthsync.media.retext import SubtitleRecoder, holds_text, is_text
from mouthsync.media.samplebuffer import SampleBuffer
from mouthsync.media.write import (
    copy_chapters,
    copy_meta,
    copy_stream,
    keeps_codec_tags,
    open_output,
)

# Muxers that accept negative timestamps and express them with an edit list, so a copied
# audio stream may start before zero without shifting the other streams.
_NEGATIVE_TS_OK = {"mp4", "mov", "ipod", "3gp", "3g2", "psp", "ismv", "f4v"}
_FORMAT_BY_SUFFIX = {
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mov",
    ".mkv": "matroska",
    ".webm": "webm",
    ".m4a": "ipod",
    ".3gp": "3gp",
    ".ts": "mpegts",
    ".avi": "avi",
    ".nut": "nut",
    ".mxf": "mxf",
}
# Muxers that write audio packets one after another and ignore their timestamps (AVI's
# interleaved chunks, MXF's edit units): a copied stream with moved timestamps plays
# exactly where it was (measured: the shift vanished), so the samples themselves move.
_POSITIONAL_AUDIO = {"avi", "mxf"}
# The sound codecs MPEG-TS gives a stream type of their own. Anything else (PCM from a MOV
# or MKV master) the muxer accepts and writes as a private data stream that no player
# decodes: a "fixed" file without sound.
_TS_AUDIO = {"aac", "aac_latm", "mp2", "mp3", "ac3", "eac3", "dts", "truehd", "opus", "s302m"}


# PCM whose every value float32 holds exactly (decoded to float32, encoded back: the same)
_PCM_THROUGH_FLOAT = {f"pcm_{k}{e}" for k in ("s16", "s24", "f32") for e in ("le", "be")} | {"pcm_u8", "pcm_s8"}


def _carries(fmt: str, codec: str) -> bool:
    """Whether the ``fmt`` muxer carries ``codec`` (a codec name, not a decoder's) as sound."""
    return codec in _TS_AUDIO if fmt == "mpegts" else True


@dataclass
class StreamAction:
    """What happened to one input stream."""

    index: int
    kind: str
    codec: str
    action: str  # "copied", "audio-retimed", "audio-reencoded", "converted" (text subtitles), "dropped"
    note: str = ""


@dataclass
class RemuxResult:
    """The written file and exactly what was done to its audio."""

    out: Path
    audio_mode: str  # "copy" or "encode"
    shift_s: float  # the audio moved by this much (> 0: later), as applied (sample-rounded)
    shift_samples: int
    speed: float  # input seconds of sound per output second (1.0: no drift correction)
    audio_codec: str  # of the written audio (the input's own when the packets were copied)
    sample_rate: int
    streams: list[StreamAction] = field(default_factory=list)
    video_packets: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["out"] = str(self.out)
        return d


def _format_for(out: Path) -> str | None:
    return _FORMAT_BY_SUFFIX.get(out.suffix.lower())


def _output_format(out: Path) -> str:
    """The muxer for ``out``'s suffix, or :class:`BadOutput` naming the ones there are."""
    fmt = _format_for(out)
    if fmt is None:
        raise BadOutput(
            f"cannot write {out}: unknown container suffix {out.suffix!r} "
            f"(use one of {', '.join(sorted(_FORMAT_BY_SUFFIX))})"
        )
    return fmt


def _remux_failure(src: Path, out: Path, fmt: str, ic: Any, exc: av.FFmpegError) -> Exception:
    """One line for an FFmpeg failure while writing: a damaged source when the source itself
    does not read to its end, else the output container refusing these streams (FFmpeg's own
    words named the temp file and "Invalid data found when processing input"). Judged by
    reading, not by the names: a MOV file named .mp4 reads as MP4 and still fails there."""
    said = getattr(exc, "strerror", None) or str(exc)
    if not _reads_to_end(src):
        return BadInput(f"{src}: cannot remux ({said})")
    streams = ", ".join(f"{s.type} {_codec_name(s)}" for s in ic.streams if s.type in ("video", "audio"))
    own = ".mov" if str(ic.metadata.get("major_brand", "")).strip() == "qt" else src.suffix
    return BadOutput(f"cannot write {out}: {fmt} does not take this file's streams ({streams}; FFmpeg: {said}); "
                     f"write a {own} file, as the source is")


def _reads_to_end(src: Path) -> bool:
    """Whether every packet of ``src`` can be read (no decoding: a damaged file fails here)."""
    try:
        with open_input(src) as c:
            for _ in c.demux():
                pass
    except (av.FFmpegError, BadInput):
        return False
    return True


def _first_audio_pts(path: str | os.PathLike[str], index: int) -> int | None:
    with open_input(path) as c:
        for p in c.demux(c.streams[index]):
            if p.pts is not None:
                return int(p.pts)
    return None


def plan_mode(
    src: str | os.PathLike[str], out: str | os.PathLike[str], *, shift_s: float, speed: float,
    audio_stream: int | None = None,
) -> tuple[str, str]:
    """Choose ``copy`` or ``encode`` for this file and correction, with the reason why
    (judged on audio stream ``audio_stream``, or the first when all of them move)."""
    if abs(speed - 1.0) > 1e-12:
        return "encode", "clock-drift correction needs resampling"
    fmt = _format_for(Path(out))
    if fmt in _POSITIONAL_AUDIO:
        return "encode", f"the {fmt} muxer lays audio out by position and ignores moved timestamps"
    with open_input(src) as c:
        a = require_audio(c, src, audio_stream or 0)
        rate = a.codec_context.sample_rate
        tb = a.time_base
        index = a.index
        in_formats = set(c.format.name.split(","))
        codecs = {_codec_name(s) for s in c.streams.audio}
    if fmt is not None and not all(_carries(fmt, k) for k in codecs):
        return "encode", f"the {fmt} muxer does not carry {', '.join(sorted(k for k in codecs if not _carries(fmt, k)))} sound"
    if _codec_name(a) in _PCM_THROUGH_FLOAT:
        # rewritten sample for sample, PCM up to 24 bits is as lossless as a copy (float32
        # holds every value), and exact where a copy is not: FFmpeg's MOV reader placed a
        # PCM file moved 728 ms earlier by its edit list 150 samples off
        return "encode", "PCM is rewritten sample for sample (lossless and exact)"
    if tb is None or Fraction(tb) != Fraction(1, rate):
        step = Fraction(tb) if tb is not None else None
        exact = step is not None and (Fraction(round(shift_s * rate), rate) / step).denominator == 1
        if not exact:
            return "encode", f"audio time base {tb} cannot express a shift of whole samples"
    if fmt not in _NEGATIVE_TS_OK and fmt not in in_formats:
        # e.g. MP4 -> Matroska: the new container re-rounds every timestamp (to 1 ms)
        return "encode", f"changing the container to {fmt} re-rounds audio timestamps"
    first = _first_audio_pts(src, index)
    has_priming = first is not None and first < 0
    if shift_s < 0:
        if fmt in _NEGATIVE_TS_OK:
            return "copy", "timestamps moved earlier; the container's edit list trims the head"
        return "encode", f"container {fmt or Path(out).suffix} cannot start audio before zero"
    if has_priming and shift_s > 0:
        return "encode", "the audio has encoder priming that would play if moved later"
    return "copy", "timestamps moved later"


def retime_audio(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    shift_s: float = 0.0,
    speed: float = 1.0,
    mode: str = "auto",
    bit_rate: int | None = None,
    audio_stream: int | None = None,
    pieces: list[tuple[float, float]] | None = None,
    channel_shifts: list[float] | None = None,
) -> RemuxResult:
    """Write ``out``: ``src`` with its audio moved by ``shift_s`` and played at ``speed``.

    ``channel_shifts``: one shift per channel (split microphones, each out of time by its
    own amount): every moved stream with that many channels moves each channel by its own
    whole samples; ``shift_s`` moves the others; re-encoded, at ``speed`` 1 only.

    ``pieces``: ``[(from_s, shift_s), ...]`` moves each stretch of the output by its own
    amount (an edit whose shots are off by different amounts), each from its time until the
    next piece's; ``shift_s`` and ``speed`` are then ignored and the audio is re-encoded
    (see :func:`map_pieces`).

    The output audio at time ``t`` is the input audio at time ``speed * t - shift_s``;
    ``shift_s > 0`` moves the sound later, ``speed > 1`` makes it shorter (for audio whose
    clock ran slow). All non-audio streams are copied bit for bit with their timestamps,
    container and stream metadata are kept. ``mode`` is ``auto``, ``copy`` or ``encode``;
    ``copy`` raises :class:`BadOutput` when the container cannot express the result
    exactly. ``audio_stream``: move only that audio stream (counted from 0; a dub track
    against a picture whose other tracks are right) and copy the others untouched; None
    (default) moves every audio stream, which share one clock in a normal master.
    Written atomically; ``src`` is never overwritten.
    """
    if not (0.5 < speed < 2.0):
        raise BadInput(f"audio speed {speed:g} is not a clock-drift correction (allowed 0.5..2)")
    src = Path(src)
    out = Path(out)
    fmt = _output_format(out)
    if channel_shifts is not None and (pieces is not None or abs(speed - 1.0) > 1e-12):
        raise ValueError("channel_shifts go alone: no pieces, no speed change")
    if pieces is not None:
        if not pieces:
            raise ValueError("pieces must not be empty")
        pieces = sorted((float(a), float(b)) for a, b in pieces)
        shift_s, speed = pieces[0][1], 1.0
        auto_mode, reason = "encode", "each piece moves by its own amount"
    elif channel_shifts is not None:
        auto_mode, reason = "encode", "each channel moves by its own amount"
    else:
        auto_mode, reason = plan_mode(src, out, shift_s=shift_s, speed=speed, audio_stream=audio_stream)
    if mode == "auto":
        mode = auto_mode
    elif mode == "copy" and auto_mode != "copy":
        raise BadOutput(f"cannot copy the audio of {src} into {out}: {reason}")
    elif mode not in ("copy", "encode"):
        raise ValueError(f"unknown mode {mode!r}")
    with open_input(src) as ic:
        options = None
        if mode == "copy" and fmt in _START_AT_ZERO:
            # the edit list that starts moved sound later counts in the movie's time scale,
            # 1/1000 s by default: a shift of 41.3 ms played at 41.0. In samples it is exact.
            rate = require_audio(ic, src, audio_stream or 0).codec_context.sample_rate
            options = {"movie_timescale": str(rate)} if rate else None
        with open_output(out, [src], format=fmt, options=options) as oc:
            oc.metadata.update(dict(ic.metadata))
            copy_chapters(ic, oc)
            try:
                if mode == "copy":
                    result = _remux_copy(src, ic, oc, shift_s, audio_stream)
                else:
                    result = _remux_encode(src, ic, oc, fmt, shift_s, speed, bit_rate, audio_stream, pieces,
                                           channel_shifts)
            except BadOutput as exc:
                raise BadOutput(f"cannot write {out}: {exc}") from None
            except av.FFmpegError as exc:
                raise _remux_failure(src, out, fmt, ic, exc) from None
    result.out = out
    return result


def _is_timecode_track(s: Any) -> bool:
    """A QuickTime/MP4 timecode track (``tmcd``): a data stream whose metadata holds its
    start timecode (FFmpeg's MOV demuxer sets it)."""
    return s.type == "data" and "timecode" in s.metadata


def _is_cover(s: Any) -> bool:
    """Cover art (an attached picture): one packet without timestamps, not the picture."""
    return bool(s.disposition & av.stream.Disposition.attached_pic)


def _copyable(p: Any, mapping: dict[int, Any]) -> bool:
    """A packet to copy: it has data, a stream in the output, and a time (cover art has
    none; skipping it used to leave its stream empty, and the muxer left the cover out)."""
    if p.size == 0 or p.stream.index not in mapping:
        return False
    return p.dts is not None or p.pts is not None or _is_cover(p.stream)


@dataclass
class _Streams:
    """The output streams by input index, what happens to each input stream, and the
    text subtitle streams written in another codec (``media.retext``), by input index."""

    mapping: dict[int, Any]
    actions: list[StreamAction]
    recoded: dict[int, SubtitleRecoder]

    def mux(self, oc: Any, p: Any) -> None:
        """Mux the input packet ``p`` into its output stream (recoded where it must be)."""
        rec = self.recoded.get(p.stream.index)
        if rec is not None:
            q = rec.packet(p)
            if q is not None:
                oc.mux(q)
            return
        p.stream = self.mapping[p.stream.index]
        oc.mux(p)

    def noted(self) -> list[StreamAction]:
        """The actions, the recoded streams' with what was carried."""
        for act in self.actions:
            if act.index in self.recoded:
                act.note = self.recoded[act.index].note()
        return self.actions


def _template_streams(
    ic: av.container.InputContainer,
    oc: av.container.OutputContainer,
    audio_factory: Callable[[Any], tuple[Any, StreamAction]] | None = None,
    made: set[int] | None = None,
) -> _Streams:
    """Output streams in the input's order: copied (:func:`~mouthsync.media.write.copy_stream`),
    the audio streams whose index is in ``made`` (default: every one) made by the factory,
    text subtitles the output container cannot hold written in the codec it holds.

    Keeping the order matters: players and editors pick "the first audio stream" and
    language tracks are identified by position as often as by tag.

    A picture that the output container cannot hold is refused (:class:`BadOutput`), never
    dropped. A timecode track is not copied into MOV/MP4 but written again by the muxer
    from the picture's ``timecode`` tag: a copied one fails the whole file at the trailer
    (the muxer needs its frame rate, which PyAV cannot set on a data stream).
    """
    out_fmt = oc.format.name
    keep_tag = keeps_codec_tags(ic.format.name.split(","), out_fmt)
    timecode = next((s.metadata["timecode"] for s in ic.streams if _is_timecode_track(s)), None)
    picture = picture_stream(ic)
    picture_index = picture.index if picture is not None else -1
    rebuild_timecode = timecode is not None and out_fmt in _NEGATIVE_TS_OK and picture is not None
    # elsewhere (Matroska) a copied timecode track fails the file: it becomes a tag of the
    # picture and of the file, as ``prep`` writes it
    tag_timecode = timecode is not None and picture is not None and not rebuild_timecode
    if tag_timecode:
        oc.metadata.setdefault("timecode", timecode)
    mapping: dict[int, Any] = {}
    actions: list[StreamAction] = []
    recoded: dict[int, SubtitleRecoder] = {}
    for s in ic.streams:
        codec = _codec_name(s) if s.codec_context is not None else "?"
        if audio_factory is not None and s.type == "audio" and (made is None or s.index in made):
            ost, act = audio_factory(s)
            if ost is not None:  # None: the factory drops that stream
                mapping[s.index] = ost
            actions.append(act)
            continue
        if s.discard == av.stream.Discard.all:
            # a track the demuxer itself hides: MP4's chapter text track (the chapters are
            # copied as chapters, and the muxer writes its own track for them)
            note = "chapter track, written again from the chapters" if ic.chapters() else "hidden by the demuxer"
            actions.append(StreamAction(s.index, s.type, codec, "rebuilt" if ic.chapters() else "dropped", note))
            continue
        if rebuild_timecode and _is_timecode_track(s):
            actions.append(StreamAction(s.index, s.type, "tmcd", "rebuilt",
                                        f"timecode track {s.metadata['timecode']} written again by the muxer"))
            continue
        if tag_timecode and _is_timecode_track(s):
            actions.append(StreamAction(s.index, s.type, "tmcd", "rebuilt",
                                        f"timecode {s.metadata['timecode']} kept as the picture's timecode tag "
                                        f"({out_fmt} has no timecode track)"))
            continue
        if s.type == "subtitle" and is_text(codec) and not holds_text(out_fmt):
            actions.append(StreamAction(s.index, s.type, codec, "dropped",
                                        f"the {out_fmt} container has no stream type for text subtitles"))
            continue
        try:
            ost = copy_stream(oc, s, keep_tag=keep_tag)
        except (ValueError, av.FFmpegError, TypeError) as exc:
            if s.type == "video":
                raise BadOutput(f"the {out_fmt} container cannot hold this {codec} picture ({exc}); "
                                f"write to the input's own container instead") from None
            rec = SubtitleRecoder.add(oc, s) if s.type == "subtitle" else None
            if rec is not None:
                mapping[s.index] = rec.ost
                recoded[s.index] = rec
                actions.append(StreamAction(s.index, s.type, codec, "converted"))
                continue
            actions.append(
                StreamAction(s.index, s.type, codec, "dropped", f"cannot be copied: {exc}")
            )
            continue
        if (rebuild_timecode or tag_timecode) and s.index == picture_index:
            ost.metadata.setdefault("timecode", timecode)
        mapping[s.index] = ost
        actions.append(StreamAction(s.index, s.type, codec, "copied"))
    return _Streams(mapping, actions, recoded)


def _moved(ic: Any, src: Path, audio_stream: int | None) -> tuple[Any, set[int]]:
    """The audio stream that sets the shift in samples, and the indices of those to move."""
    a0 = require_audio(ic, src, audio_stream or 0)
    return a0, ({s.index for s in ic.streams.audio} if audio_stream is None else {a0.index})


def _codec_name(s: Any) -> str:
    """The codec's own name (``mp3``), not its decoder's (``mp3float``)."""
    try:
        return str(s.codec_context.codec.canonical_name)
    except AttributeError:
        return str(s.codec_context.name)


def _remux_copy(src: Path, ic: Any, oc: Any, shift_s: float, audio_stream: int | None = None) -> RemuxResult:
    """Copy every packet; the moved audio streams' packets get their timestamps moved by
    whole samples."""
    a0, moved = _moved(ic, src, audio_stream)
    rate = a0.codec_context.sample_rate
    shift_samples = int(round(shift_s * rate))
    streams = _template_streams(ic, oc)
    mapping, actions = streams.mapping, streams.actions
    offsets: dict[int, int] = {}
    for s in ic.streams.audio:
        if s.index in mapping and s.index in moved:
            offsets[s.index] = int(
                Fraction(shift_samples, s.codec_context.sample_rate) / Fraction(s.time_base)
            )
    for act in actions:
        if act.kind == "audio" and act.action == "copied" and act.index in moved:
            act.action = "audio-retimed"
            act.note = f"timestamps moved by {shift_samples} samples"
    n_video = 0
    for p in ic.demux():
        if not _copyable(p, mapping):
            continue
        off = offsets.get(p.stream.index)
        if off:
            p.pts = p.pts + off if p.pts is not None else None
            p.dts = p.dts + off if p.dts is not None else None
            # Packets wholly before zero are never heard; keep one frame of
            # pre-roll so the decoder's overlap-add is primed, drop the rest.
            dur = p.duration or 0
            if off < 0 and dur and p.pts is not None and p.pts + 2 * dur <= 0:
                continue
        if p.stream.type == "video" and not _is_cover(p.stream):
            n_video += 1
        streams.mux(oc, p)
    return RemuxResult(
        out=Path(),
        audio_mode="copy",
        shift_s=shift_samples / rate,
        shift_samples=shift_samples,
        speed=1.0,
        audio_codec=_codec_name(a0),
        sample_rate=rate,
        streams=streams.noted(),
        video_packets=n_video,
    )


def _decode_stream(path: Path, index: int, number: int, pad_to: float = 0.0) -> tuple[np.ndarray, int, float, str]:
    """All samples of audio stream ``index`` (``number`` among the audio streams) as
    float32 (channels, n), its rate, start, layout.

    Mono and stereo streams go through :func:`decode_audio`, so the re-timed sound sits on
    exactly the timeline every other stage measures (including its removal of AAC priming
    that a container failed to hide). A sound that starts after ``pad_to`` is padded with
    silence to start there: FFmpeg's MP4 muxer misplaces AAC priming for streams whose
    first packet is not at zero (``pad_to`` 0). In MPEG-TS every stream starts ~1.4 s in
    (the muxer's delay): padding that to zero put 1.48 s of silence before the picture, and
    the muxer then moved every video timestamp by the priming (``pad_to`` is the picture's
    start there).
    """
    x, rate, start, layout = _decode_raw(path, index, number)
    lead = int(round((start - pad_to) * rate))
    if lead > 0:
        x = np.concatenate([np.zeros((x.shape[0], lead), np.float32), x], axis=1)
        start = pad_to
    elif start < 0:  # before zero nothing is heard; drop it
        x = x[:, int(round(-start * rate)):]
        start = 0.0
    return x, rate, start, layout


# Containers whose streams start together at zero (the MP4 family); the others keep the
# picture's own start (MPEG-TS, ~1.4 s).
_START_AT_ZERO = {"mp4", "mov", "ipod", "3gp"}


def _named_layout(name: str, channels: int) -> str:
    """A channel layout an encoder accepts: WAV and some MOV/MKV files declare only a
    count ("2 channels"), which AAC refuses (``avcodec_open2`` returned 22); one and two
    channels are mono and stereo, more keep FFmpeg's default order for that count."""
    if not name.endswith("channels"):
        return name
    if channels <= 2:
        return "mono" if channels == 1 else "stereo"
    with contextlib.suppress(ValueError, TypeError, av.FFmpegError):
        return str(av.AudioLayout(channels).name)
    return name


def _decode_raw(path: Path, index: int, number: int) -> tuple[np.ndarray, int, float, str]:
    """Decode one audio stream at its own rate and layout (see :func:`_decode_stream`)."""
    with open_input(path) as c:
        s = c.streams[index]
        channels = s.codec_context.channels
        native = s.codec_context.sample_rate
        name = _named_layout(s.codec_context.layout.name, channels)
    if channels <= 2:
        a = decode_audio(path, rate=native, mono=channels == 1, audio_stream=number)
        x = a.samples[None, :] if a.samples.ndim == 1 else a.samples
        return x.astype(np.float32, copy=False), native, a.start, name
    with open_input(path) as c:
        s = c.streams[index]
        rate = s.codec_context.sample_rate
        layout = s.codec_context.layout.name
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        chunks = SampleBuffer(declared_samples(c, s, rate))
        start: float | None = None
        try:
            for frame in c.decode(s):
                if start is None and frame.time is not None:
                    start = float(frame.time)
                for o in resampler.resample(frame):
                    chunks.append(o.to_ndarray())
            for o in resampler.resample(None):
                chunks.append(o.to_ndarray())
        except av.FFmpegError as exc:
            if not chunks:
                raise BadInput(f"{path}: audio stream cannot be decoded ({exc})") from None
    if not chunks:
        raise BadInput(f"{path}: audio stream has no decodable samples")
    x = chunks.samples()
    return x, rate, start or 0.0, _named_layout(layout, x.shape[0])


def _moved_block(x: np.ndarray, k: int, lo: int, hi: int, dtype: Any = np.float32) -> np.ndarray:
    """Output samples ``lo .. hi`` of ``x`` (channels, n) moved later by ``k`` whole samples:
    out(j) = in(j - k), silence where the input has nothing. Every exact move (a whole
    shift, one piece of a stepped one, a recording laid in) is a run of these."""
    out = np.zeros((x.shape[0], hi - lo), dtype=dtype)
    a, b = max(lo, k), min(hi, x.shape[-1] + k)
    if b > a:
        out[:, a - lo : b - lo] = x[:, a - k : b - k]
    return out


def _line_block(x: np.ndarray, first: float, step: float, lo: int, hi: int) -> np.ndarray:
    """Output samples ``lo .. hi`` of ``x`` (channels, n) read at the positions
    ``first + step * j`` (:func:`resample_at`): one block of a steady resampling."""
    out = np.zeros((x.shape[0], hi - lo), dtype=np.float32)
    _spline_into(out, 0, x, first + step * np.arange(lo, hi, dtype=np.float64))
    return out


def shift_exact(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` (channels, n), or one channel (n,), moved later by ``k`` whole samples (earlier
    if negative), same shape."""
    return _moved_block(x.reshape(-1, x.shape[-1]), k, 0, x.shape[-1], x.dtype).reshape(x.shape)


def _spline_into(out: np.ndarray, lo: int, x: np.ndarray, p: np.ndarray) -> None:
    """Fill ``out[:, lo : lo + p.size]`` with ``x`` read at positions ``p`` (see :func:`resample_at`)."""
    from scipy.ndimage import map_coordinates

    margin = 64
    n = x.shape[-1]
    a = max(0, int(np.floor(p.min())) - margin)
    b = min(n, int(np.ceil(p.max())) + margin + 1)
    if b <= a:
        return  # the whole chunk reads outside the signal: silence
    inside = (p >= -0.5) & (p <= n - 0.5)
    for ch in range(x.shape[0]):
        seg = x[ch, a:b].astype(np.float64)
        v = map_coordinates(seg, [p - a], order=5, mode="constant", cval=0.0)
        out[ch, lo : lo + p.size] = np.where(inside, v, 0.0)


def resample_at(x: np.ndarray, pos: np.ndarray, *, chunk: int = 1 << 16) -> np.ndarray:
    """Values of ``x`` (channels, n) at fractional sample positions ``pos``; silence outside.

    A quintic B-spline (SciPy's prefiltered ``map_coordinates``) is used rather than a
    windowed sinc: on speech-band content at 44.1 kHz its error measured 1.2e-5 RMS against
    the analytic signal (below 16-bit quantisation) at 1/180 of the cost. Drift ratios are
    within a fraction of a per cent of 1, so anti-alias filtering is not needed. Work goes
    in chunks with a margin (the spline prefilter's influence decays by 0.43 per sample, so
    64 samples make chunk edges exact to float precision) so memory stays bounded on long
    files.
    """
    out = np.zeros((x.shape[0], pos.size), dtype=np.float32)
    for lo in range(0, pos.size, chunk):
        _spline_into(out, lo, x, pos[lo : lo + chunk])
    return out


def resample_line(x: np.ndarray, first: float, step: float, n_out: int, *, chunk: int = 1 << 16) -> np.ndarray:
    """:func:`resample_at` at the positions ``first + step * j`` for ``j < n_out``, made a
    chunk at a time: as one float64 array the positions of an hour at 48 kHz are 1.4 GB
    (`bench/long_drift.py` prints the fix's peak)."""
    out = np.zeros((x.shape[0], n_out), dtype=np.float32)
    for lo in range(0, n_out, chunk):
        hi = min(n_out, lo + chunk)
        out[:, lo:hi] = _line_block(x, first, step, lo, hi)
    return out


def sample_blocks(
    x: np.ndarray, rate: int, start: float, shift_s: float, speed: float, *, block: int = 1 << 16
) -> tuple[Iterator[np.ndarray], int]:
    """The output samples over the input's own span, out(t) = in(speed * t - shift_s), as
    consecutive blocks of at most ``block`` samples, made only when asked for.

    Why blocks: the moved sound of a long master is as large as the decoded one (a feature
    film's 5.1 at 48 kHz is 8 GB of float32), and the encoder needs it only a block at a
    time. Returns the block iterator and the integer shift used (meaningful when ``speed ==
    1``, where the blocks are exact copies of the input samples moved by whole samples).
    """
    n = x.shape[-1]
    k = int(round(shift_s * rate))

    # out sample j plays at t = start + j / rate and reads the input at speed * t - shift_s,
    # i.e. input sample (speed * t - shift_s - start) * rate: a line in j
    first = ((speed - 1.0) * start - shift_s) * rate
    exact = abs(speed - 1.0) <= 1e-12
    spans = ((lo, min(n, lo + block)) for lo in range(0, n, block))
    blocks = (_moved_block(x, k, lo, hi) if exact else _line_block(x, first, speed, lo, hi) for lo, hi in spans)
    return blocks, k


# Where the shift changes between pieces the two moved signals are cross-faded over this
# long (raised cosine): a hard switch clicks, a long fade doubles the speech.
PIECE_FADE_S = 0.005


def map_pieces(
    x: np.ndarray, rate: int, start: float, pieces: list[tuple[float, float]], fade_s: float = PIECE_FADE_S
) -> tuple[np.ndarray, list[int]]:
    """Output samples over the input's own span, each stretch moved by whole samples:
    out(t) = in(t - shift_i) from ``from_i`` until the next piece's ``from``.

    The first piece applies from the start whatever its ``from``. Around every later
    ``from`` the two moved signals are cross-faded over ``fade_s``. Returns the samples and
    each piece's shift in samples.
    """
    n = x.shape[-1]
    ks = [int(round(sh * rate)) for _, sh in pieces]
    bounds = [0] + [min(n, max(0, int(round((a - start) * rate)))) for a, _ in pieces[1:]] + [n]
    y = np.zeros_like(x)

    def moved(k: int, lo: int, hi: int) -> np.ndarray:
        return _moved_block(x, k, lo, hi, x.dtype)

    for i, k in enumerate(ks):
        lo, hi = bounds[i], bounds[i + 1]
        if hi > lo:
            y[:, lo:hi] = moved(k, lo, hi)
    half = max(1, int(round(fade_s * rate / 2)))
    for i in range(1, len(ks)):
        b = bounds[i]
        lo, hi = max(0, b - half), min(n, b + half)
        if hi <= lo or ks[i] == ks[i - 1]:
            continue
        ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(lo, hi) - (b - half) + 0.5) / (2 * half))
        y[:, lo:hi] = (1.0 - ramp) * moved(ks[i - 1], lo, hi) + ramp * moved(ks[i], lo, hi)
    return y, ks


def _remux_encode(
    src: Path, ic: Any, oc: Any, fmt: str, shift_s: float, speed: float, bit_rate: int | None,
    audio_stream: int | None = None, pieces: list[tuple[float, float]] | None = None,
    channel_shifts: list[float] | None = None,
) -> RemuxResult:
    """Copy every packet but those of the moved audio streams; decode, re-time and
    re-encode those."""
    a0, moved = _moved(ic, src, audio_stream)
    pad_to = 0.0
    if fmt not in _START_AT_ZERO:
        from mouthsync.media.decode import frame_times

        pad_to = max(0.0, float(frame_times(src)[0]))

    def make_audio(s: Any) -> tuple[Any, StreamAction]:
        cc = s.codec_context
        ost = _add_encoder(oc, cc, fmt, cc.sample_rate, _named_layout(cc.layout.name, cc.channels),
                           bit_rate or max(int(s.bit_rate or 0), 64000 * max(1, cc.channels), 96000))
        copy_meta(s, ost)
        return ost, StreamAction(s.index, "audio", _codec_name(ost), "audio-reencoded")

    streams = _template_streams(ic, oc, audio_factory=make_audio, made=moved)
    mapping, actions = streams.mapping, streams.actions
    by_index = {a.index: a for a in actions}
    streams_out: list[Iterator[tuple[float, Any]]] = []
    shift_samples = 0
    number = {s.index: i for i, s in enumerate(ic.streams.audio)}
    for s in ic.streams.audio:
        if s.index not in moved:
            continue
        x, rate, start, layout = _decode_stream(src, s.index, number[s.index], pad_to)
        blocks: Iterable[np.ndarray]
        if pieces is not None:
            y, ks = map_pieces(x, rate, start, pieces)
            blocks, k = [y], ks[0]
            by_index[s.index].note = "shift " + ", ".join(
                f"{kk} samples from {a:.3f} s" for (a, _), kk in zip(pieces, ks, strict=True))
        elif channel_shifts is not None and len(channel_shifts) == x.shape[0]:
            ks = [int(round(sh * rate)) for sh in channel_shifts]
            blocks = [np.stack([shift_exact(x[c], kc) for c, kc in enumerate(ks)])]
            k = int(round(shift_s * rate))
            by_index[s.index].note = "shift " + ", ".join(f"channel {c}: {kc} samples" for c, kc in enumerate(ks))
        else:
            # made a block at a time while the packets are muxed: the moved sound of a long
            # master is never held whole (10 minutes of 48 kHz stereo fixed with drift: the
            # process's peak 764 -> 537 MiB; decoded into one buffer as well, 317 MiB)
            blocks, k = sample_blocks(x, rate, start, shift_s, speed)
            by_index[s.index].note = f"shift {k} samples" + (
                f", speed {speed:.7f}" if speed != 1.0 else ""
            )
        if s.index == a0.index:
            shift_samples = k
        del x  # held by the blocks' iterator only as long as it needs it
        streams_out.append(_encode(mapping[s.index], blocks, rate, start, layout))
    encoded = heapq.merge(*streams_out, key=lambda e: e[0])
    n_video = _interleave(ic, oc, streams, encoded, skip=moved)
    rate0 = a0.codec_context.sample_rate
    return RemuxResult(
        out=Path(),
        audio_mode="encode",
        shift_s=shift_samples / rate0,
        shift_samples=shift_samples,
        speed=speed,
        audio_codec=by_index[a0.index].codec,
        sample_rate=rate0,
        streams=streams.noted(),
        video_packets=n_video,
    )


def _interleave(
    ic: Any, oc: Any, streams: _Streams, encoded: Iterable[tuple[float, Any]], skip: set[int]
) -> int:
    """Mux the copied packets in file order with ``encoded`` (time, packet), in time order,
    merged in by time; return how many picture packets were copied. ``encoded`` is drawn
    only as far as the copied packets have come, so a lazy encoder runs alongside."""
    it = iter(encoded)
    head = next(it, None)
    n_video = 0
    for p in ic.demux():
        if p.stream.index in skip or not _copyable(p, streams.mapping):
            continue
        stamp = p.dts if p.dts is not None else p.pts
        t = float(stamp * p.time_base) if stamp is not None else 0.0
        while head is not None and head[0] <= t:
            oc.mux(head[1])
            head = next(it, None)
        if p.stream.type == "video" and not _is_cover(p.stream):
            n_video += 1
        streams.mux(oc, p)
    while head is not None:
        oc.mux(head[1])
        head = next(it, None)
    return n_video


def place_sound(x: np.ndarray, rate: int, n_out: int, start_s: float, speed: float = 1.0) -> tuple[np.ndarray, int]:
    """``n_out`` samples from time 0 of a sound ``x`` (channels, n) whose first sample plays
    at ``start_s``, played at ``speed`` (input seconds per output second, about that first
    sample): silence where it has nothing. Returns the samples and the whole-sample start."""
    k = int(round(start_s * rate))
    if abs(speed - 1.0) <= 1e-12:
        return _moved_block(x, k, 0, n_out), k
    return resample_line(x, -start_s * rate * speed, speed, n_out), k


def replace_audio(
    src: str | os.PathLike[str],
    sound: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    start_s: float,
    speed: float = 1.0,
    sound_stream: int = 0,
    bit_rate: int | None = None,
) -> RemuxResult:
    """Write ``out``: ``src`` with its sound replaced by audio stream ``sound_stream`` of
    ``sound`` (a recorder's file, a dub), whose first sample plays at ``start_s`` on the
    picture's timeline, at ``speed`` (clock drift).

    Every non-audio stream of ``src`` is copied as :func:`retime_audio` copies it (picture
    bit for bit, subtitles, timecode, chapters, cover art); its own audio streams are
    dropped. The new sound keeps its rate and channels and spans the picture (from 0 to
    its last frame's end), silent where the recording has nothing; it is encoded with its
    own codec when the container holds it (24-bit PCM stays 24-bit in MOV or MKV), AAC in
    MP4. Written atomically; neither input is overwritten.
    """
    from mouthsync.media.decode import frame_times

    src, sound, out = Path(src), Path(sound), Path(out)
    fmt = _output_format(out)
    if not (0.5 < speed < 2.0):
        raise BadInput(f"audio speed {speed:g} is not a clock-drift correction (allowed 0.5..2)")
    with open_input(sound) as c:
        a = require_audio(c, sound, sound_stream)
        index = a.index
        cc = a.codec_context
        layout = cc.layout.name
    x, rate, _, layout = _decode_raw(sound, index, sound_stream)
    t = frame_times(src)
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.04
    n_out = int(np.ceil((float(t[-1]) + step) * rate))
    y, k = place_sound(x, rate, n_out, start_s, speed)
    with open_input(src) as ic, open_output(out, [src, sound], format=fmt) as oc:
        oc.metadata.update(dict(ic.metadata))
        copy_chapters(ic, oc)
        dropped = {s.index for s in ic.streams.audio}

        def drop(s: Any) -> tuple[Any, StreamAction]:
            return None, StreamAction(s.index, "audio", _codec_name(s), "dropped", f"replaced by {sound.name}")

        try:
            streams = _template_streams(ic, oc, audio_factory=drop, made=dropped)
        except BadOutput as exc:
            raise BadOutput(f"cannot write {out}: {exc}") from None
        ost = _add_encoder(oc, cc, fmt, rate, layout, bit_rate or max(64000 * max(1, y.shape[0]), 96000))
        streams.actions.append(StreamAction(-1, "audio", _codec_name(ost), "audio-reencoded",
                                            f"from {sound.name}, first sample at {k} samples"))
        try:
            encoded = _encode(ost, [y], rate, 0.0, layout)
            n_video = _interleave(ic, oc, streams, encoded, skip=dropped)
        except av.FFmpegError as exc:
            raise _remux_failure(src, out, fmt, ic, exc) from None
    return RemuxResult(
        out=out, audio_mode="encode", shift_s=k / rate, shift_samples=k, speed=speed,
        audio_codec=_codec_name(ost), sample_rate=rate, streams=streams.noted(), video_packets=n_video,
    )


def _add_encoder(oc: Any, cc: Any, fmt: str, rate: int, layout: str, bit_rate: int) -> Any:
    """An audio stream of ``oc`` to encode what ``cc`` decodes: the first of
    :func:`_output_codecs` that the container takes, at ``bit_rate`` unless it is PCM (never
    below the source's rate, and at least 64 kb/s per channel, is the callers' rule)."""
    failure: Exception | None = None
    for codec in _output_codecs(cc, fmt):
        try:
            ost = oc.add_stream(codec, rate=rate, layout=layout)
        except (ValueError, av.FFmpegError) as exc:
            failure = exc
            continue
        if not _codec_name(ost).startswith("pcm_"):
            ost.bit_rate = bit_rate
        ost.time_base = Fraction(1, rate)
        return ost
    raise BadOutput(f"cannot encode {cc.name} audio into {fmt}: {failure}")


def _output_codecs(cc: Any, fmt: str) -> list[str]:
    """Encoders to try for a re-encoded audio stream, best first: the input's own codec
    when this build has a stable encoder for it (found by the codec's name, not the
    decoder's: ``mp3float`` decodes what ``libmp3lame`` encodes), then the container's usual
    codec, then 16-bit PCM."""
    names: list[str] = []
    if fmt in ("mp4", "ipod", "3gp") and cc.codec.canonical_name.startswith("pcm_"):
        names.append("aac")  # PCM in MP4 plays in few players (as for a recording laid in)
    with contextlib.suppress(ValueError, av.FFmpegError, AttributeError):
        enc = av.codec.Codec(cc.codec.canonical_name, "w")
        if not enc.experimental:
            names.append(enc.name)
    names.append("libopus" if fmt == "webm" else "aac")
    names.append("pcm_s16le")
    return [n for n in dict.fromkeys(names) if _carries(fmt, _encoded_codec(n))]


def _encoded_codec(encoder: str) -> str:
    """The codec an encoder writes (``libopus`` writes opus), as FFmpeg names it."""
    try:
        return av.codec.Codec(encoder, "w").canonical_name
    except (ValueError, av.FFmpegError):  # UnknownCodecError is a ValueError
        return encoder


def _encode(
    ost: Any, blocks: Iterable[np.ndarray], rate: int, start: float, layout: str
) -> Iterator[tuple[float, Any]]:
    """Encode consecutive blocks of float samples (channels, n), the first sample at
    ``start``, into timed packets, as they are asked for."""
    first = int(round(start * rate))
    frame_len = 4096
    done = 0
    for y in blocks:
        for lo in range(0, y.shape[-1], frame_len):
            arr = np.ascontiguousarray(y[:, lo : lo + frame_len], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(arr, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = first + done + lo
            frame.time_base = Fraction(1, rate)
            for pk in ost.encode(frame):
                yield (float(pk.dts * pk.time_base) if pk.dts is not None else 0.0, pk)
        done += y.shape[-1]
    for pk in ost.encode(None):
        yield (float(pk.dts * pk.time_base) if pk.dts is not None else 0.0, pk)
