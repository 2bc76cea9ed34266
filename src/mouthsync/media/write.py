"""Writing media: atomic containers, audio from numpy arrays, stream-copy of packets.

Every writer here goes through :func:`open_output`, which muxes into a temporary file beside
the target and renames it only when the container was closed cleanly, so a crash, a full
disk or Ctrl-C leaves nothing at the output path, and an input is never overwritten.

The helpers are shared: ``prep`` re-times the picture and re-encodes audio with them, and
``fix`` (``media/remux.py``) uses :func:`remux` to move the audio against an untouched,
stream-copied picture. Times are seconds on the presentation timeline; an ``offset`` moves
a stream later (positive) or earlier (negative) on that timeline.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from mouthsync.core.atomic import atomic_path
from mouthsync.core.errors import BadInput, BadOutput
from mouthsync.media.container import open_input, picture_stream
from mouthsync.media.decode import Audio

#: Containers that hold uncompressed PCM comfortably; everything else gets AAC.
_PCM_SUFFIXES = {".wav", ".mkv", ".mov", ".aif", ".aiff"}
_AUDIO_CHUNK = 4096


def default_audio_codec(out: str | os.PathLike[str]) -> str:
    """The audio codec to use for a container chosen by file suffix.

    MP4 players expect AAC; WAV/MKV/MOV take 16-bit PCM, which is lossless and has no
    encoder priming delay, so it is the better choice when the container allows it.
    """
    return "pcm_s16le" if Path(out).suffix.lower() in _PCM_SUFFIXES else "aac"


@contextlib.contextmanager
def open_output(
    out: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]] = (),
    *,
    format: str | None = None,
    options: dict[str, str] | None = None,
) -> Iterator[av.container.OutputContainer]:
    """Open an output container that appears at ``out`` only if the block succeeds.

    The container is written under a temporary name in the target folder (same suffix, so
    the muxer is chosen by extension) and renamed onto ``out`` after the trailer is
    written. ``inputs`` are refused as outputs (:class:`BadOutput`). ``options``: the
    muxer's own (``movie_timescale`` for MOV/MP4).
    """
    with atomic_path(out, inputs) as tmp:
        try:
            container = av.open(str(tmp), mode="w", format=format, options=options or {})
        except (av.FFmpegError, ValueError) as exc:
            raise BadOutput(f"cannot write {out}: {exc}") from None
        ok = False
        try:
            yield container
            ok = True
        finally:
            try:
                container.close()
            except av.FFmpegError as exc:
                if ok:
                    raise BadOutput(f"cannot finish writing {out}: {exc}") from None


def add_audio_stream(
    container: av.container.OutputContainer,
    *,
    rate: int,
    channels: int,
    codec: str = "aac",
    bit_rate: int = 192_000,
) -> av.audio.stream.AudioStream:
    """Add an audio stream for ``channels`` (1 or 2) at ``rate`` Hz with ``codec``."""
    layout = "mono" if channels == 1 else "stereo"
    stream = container.add_stream(codec, rate=rate, layout=layout)
    if codec != "pcm_s16le":
        stream.bit_rate = bit_rate
    stream.time_base = Fraction(1, rate)
    return stream


def _as_planar(samples: np.ndarray) -> np.ndarray:
    """(n,) or (channels, n) float -> contiguous float32 (channels, n) clipped to [-1, 1]."""
    arr = np.asarray(samples, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] not in (1, 2):
        raise ValueError(f"audio must be shaped (n,) or (1|2, n), got {arr.shape}")
    return np.ascontiguousarray(np.clip(arr, -1.0, 1.0))


def encode_audio_array(
    container: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    samples: np.ndarray,
    *,
    start: float = 0.0,
) -> int:
    """Encode float samples into ``stream`` of an open ``container``; return samples written.

    ``samples`` is (n,) or (channels, n) float in [-1, 1] at the stream's rate; the first
    sample is placed at ``start`` seconds (rounded to a whole sample): a positive start is
    written as leading digital silence so the stream itself starts at zero (sample-exact
    with AAC priming), samples that would fall before zero are dropped. The encoder is
    flushed at the end, so call this once per stream with the whole signal.
    """
    planar = _as_planar(samples)
    rate = stream.codec_context.sample_rate
    layout = "mono" if planar.shape[0] == 1 else "stereo"
    first = int(round(start * rate))
    if first < 0:  # samples before zero cannot be stored; drop them rather than shift
        planar = planar[:, -first:]
    elif first > 0:
        # FFmpeg's MP4 muxer mis-places AAC encoder priming when the first packet is not
        # at zero (measured: 0.65 ms early), so a late start is written as digital silence.
        planar = np.concatenate([np.zeros((planar.shape[0], first), np.float32), planar], axis=1)
    first = 0
    n = planar.shape[1]
    for i in range(0, n, _AUDIO_CHUNK):
        chunk = np.ascontiguousarray(planar[:, i : i + _AUDIO_CHUNK])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = first + i
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
    return n


def write_audio(
    out: str | os.PathLike[str],
    samples: np.ndarray,
    rate: int,
    *,
    codec: str | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> Path:
    """Write an audio-only file (WAV -> PCM, M4A/MP4 -> AAC) atomically; return its path."""
    planar = _as_planar(samples)
    with open_output(out, inputs) as c:
        stream = add_audio_stream(
            c, rate=rate, channels=planar.shape[0], codec=codec or default_audio_codec(out)
        )
        encode_audio_array(c, stream, planar)
    return Path(out)


# The ISO base media family: one table of sample-entry codes (avc1/avc3, hvc1/hev1, the
# ProRes flavours apco..ap4x) shared by the MOV and MP4 muxers.
_ISO_FORMATS = frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "ipod", "psp", "ismv", "f4v"})


def keeps_codec_tags(in_formats: Iterable[str], out_format: str) -> bool:
    """Whether a stream copied from ``in_formats`` into ``out_format`` keeps its codec tag.

    PyAV's ``add_stream_from_template`` clears the tag, and the muxer then writes its own
    default for the codec. That default is not the same thing: HEVC becomes ``hev1``, which
    QuickTime, iOS and Final Cut refuse to play (phone footage is ``hvc1``), and a ProRes
    422 file becomes ``apch``, the fourcc of 422 HQ, in every editor's bin. A tag is kept
    when it comes from the same family of containers, as ``ffmpeg -c copy`` does.
    """
    fmts = set(in_formats)
    return out_format in fmts or (out_format in _ISO_FORMATS and bool(fmts & _ISO_FORMATS))


def copy_chapters(ic: av.container.InputContainer, oc: av.container.OutputContainer) -> int:
    """Give ``oc`` the chapters of ``ic`` (a film's or a podcast's navigation, which
    stream copying alone loses); return how many. The picture's timeline is unchanged, so
    their times are too. Containers without chapters (MPEG-TS) simply do not write them."""
    chapters = ic.chapters()
    if chapters:
        with contextlib.suppress(ValueError, TypeError, av.FFmpegError):
            oc.set_chapters(chapters)
    return len(chapters)


def copy_stream(
    oc: av.container.OutputContainer, ist: av.stream.Stream, *, keep_tag: bool
) -> av.stream.Stream:
    """A stream of ``oc`` that takes ``ist``'s packets unchanged: codec parameters, time base,
    metadata, disposition, codec tag (``keep_tag``, see :func:`keeps_codec_tags`) and, for
    video, the frame rate (muxers read it for timecode tracks and the header's rate).

    Raises ``ValueError`` when the container cannot hold the codec.
    """
    ost = oc.add_stream_from_template(ist)
    if ist.time_base is not None:
        ost.time_base = ist.time_base
    cc, occ = ist.codec_context, ost.codec_context
    if cc is not None and occ is not None:
        # only a picture's tag: it names what the codec id does not (hvc1 against hev1, the
        # ProRes flavour). A sound's tag names the codec itself, and kept into a container
        # that maps it to another codec it fails the file: 24-bit PCM at 96 kHz in MOV
        # ("lpcm") and MP3 from MP4 ("mp4a") into MOV both read "Invalid data" at the header
        if keep_tag and ist.type == "video" and cc.codec_tag and cc.codec_tag.strip("\x00"):
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                occ.codec_tag = cc.codec_tag
        if ist.type == "video":
            rate = ist.average_rate or ist.base_rate
            if rate:
                with contextlib.suppress(ValueError, TypeError, AttributeError, ZeroDivisionError):
                    occ.framerate = rate
    copy_meta(ist, ost)
    return ost


def copy_meta(ist: av.stream.Stream, ost: av.stream.Stream) -> None:
    """``ist``'s stream tags (language, title, handler) and disposition (default,
    forced, ...) onto ``ost``: players pick tracks by them."""
    ost.metadata.update(dict(ist.metadata))
    with contextlib.suppress(AttributeError, TypeError, ValueError):
        ost.disposition = ist.disposition


@dataclass(frozen=True)
class RemuxResult:
    """What :func:`remux` wrote: packet counts and the audio it encoded (if any)."""

    path: Path
    video_packets: int
    audio_packets: int
    audio_encoded_samples: int


def remux(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    keep_video: bool = True,
    keep_audio: bool = True,
    video_offset: float = 0.0,
    audio_offset: float = 0.0,
    audio: Audio | None = None,
    audio_codec: str | None = None,
    extra_inputs: Iterable[str | os.PathLike[str]] = (),
) -> RemuxResult:
    """Copy the first video stream's packets (no re-encoding) into ``out``, atomically.

    Audio is either the source's first audio stream stream-copied (``keep_audio``), moved
    by ``audio_offset`` seconds, or, when ``audio`` is given, that array encoded afresh
    (placed at ``audio.start + audio_offset``; its rate is kept, channels 1 or 2). Offsets
    shift every packet's pts/dts by a whole number of stream time-base ticks; packets that
    would land before zero are dropped (the muxer cannot store negative times in MP4
    without edit lists). Stream-copied AAC loses its priming edit when moved (measured
    error under 1 ms); for sample-exact placement pass the decoded ``audio`` instead.
    """
    extra = [src, *extra_inputs]
    with open_input(src) as ic:
        vin = picture_stream(ic) if keep_video else None
        ain = ic.streams.audio[0] if (keep_audio and audio is None and ic.streams.audio) else None
        if vin is None and ain is None and audio is None:
            raise BadInput(f"{src}: nothing to copy (no video and no audio selected)")
        with open_output(out, extra) as oc:
            copy_chapters(ic, oc)
            keep_tag = keeps_codec_tags(ic.format.name.split(","), oc.format.name)
            mapping: dict[int, tuple[av.stream.Stream, int]] = {}
            try:
                if vin is not None:
                    vout = copy_stream(oc, vin, keep_tag=keep_tag)
                    mapping[vin.index] = (vout, int(round(video_offset / vin.time_base)))
                if ain is not None:
                    aout = copy_stream(oc, ain, keep_tag=keep_tag)
                    mapping[ain.index] = (aout, int(round(audio_offset / ain.time_base)))
            except ValueError as exc:
                raise BadOutput(f"cannot write {out}: {exc}") from None
            enc_stream = None
            if audio is not None:
                channels = 1 if audio.samples.ndim == 1 else audio.samples.shape[0]
                enc_stream = add_audio_stream(
                    oc, rate=audio.rate, channels=min(channels, 2),
                    codec=audio_codec or default_audio_codec(out),
                )
            counts = {"video": 0, "audio": 0}
            streams = [s for s in (vin, ain) if s is not None]
            try:
                for packet in ic.demux(streams):
                    if packet.dts is None and packet.pts is None:
                        continue  # demuxer flush packet
                    ostream, shift = mapping[packet.stream.index]
                    if packet.pts is not None:
                        packet.pts += shift
                    if packet.dts is not None:
                        packet.dts += shift
                    if (packet.pts is not None and packet.pts < 0) or (
                        packet.dts is not None and packet.dts < 0 and packet.stream.type == "audio"
                    ):
                        continue
                    kind = packet.stream.type
                    packet.stream = ostream
                    oc.mux(packet)
                    counts[kind] += 1
            except av.FFmpegError as exc:
                raise BadInput(f"{src}: cannot read packets ({exc})") from None
            encoded = 0
            if enc_stream is not None and audio is not None:
                samples = audio.samples if audio.samples.ndim == 1 else audio.samples[:2]
                encoded = encode_audio_array(oc, enc_stream, samples, start=audio.start + audio_offset)
    return RemuxResult(Path(out), counts["video"], counts["audio"], encoded)
