"""``prep``: the clean intermediate the rest of the workflow can trust.

What comes out:

* the picture at a constant frame rate, re-timed by presentation timestamps: output
  frame ``k`` (at ``k / fps``) shows the source frame whose timestamp is nearest that
  moment (:func:`nearest_frames`). Variable-rate footage is therefore resampled in time,
  never by frame count, and lip sync is preserved on average;
* both streams starting at zero. Output time zero is the source's first picture; the
  audio is padded with silence or trimmed so that every sample keeps its place relative to
  the picture (a sound that was 0.5 s after the picture is still 0.5 s after it) - speech
  is never shifted;
* audio resampled to 48 kHz (FFmpeg's ``swr``), its length matched to the picture;
* with ``trim_silence``, head and tail silence cut (speech activity from WebRTC's VAD)
  keeping ``margin`` seconds, never the pauses inside;
* a sidecar ``OUT.prep.json`` listing every change and the time mapping
  ``source_time = output_time + source_time_at_output_zero``, so the edit can be re-run
  or undone.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from mouthsync import __version__
from mouthsync.core.atomic import check_output_path, write_text_atomic
from mouthsync.core.cache import file_digest
from mouthsync.core.errors import BadInput, BadOutput
from mouthsync.core.findings import Finding, Severity
from mouthsync.core.jsonsafe import dumps
from mouthsync.core.progress import progress
from mouthsync.media.audio_quality import VAD_RATE, speech_segments, vad_flags
from mouthsync.media.container import open_input, require_audio, require_video
from mouthsync.media.decode import decode_audio, first_turn, frame_times
from mouthsync.media.probe import STANDARD_RATES, nearest_standard, probe
from mouthsync.media.resample import resample
from mouthsync.media.retext import SubtitleRecoder, is_text
from mouthsync.media.write import (
    add_audio_stream,
    default_audio_codec,
    encode_audio_array,
    open_output,
)

PREP_VERSION = "prep-1"
AUDIO_RATE = 48000
#: A frame whose timestamp is this close after an output instant still counts as shown.
_PTS_EPS = 1e-4


@dataclass
class PrepResult:
    """What ``prep`` wrote and every change it made (the sidecar's content)."""

    path: Path
    sidecar: Path
    fps: float
    frame_count: int
    video_duration: float
    audio_duration: float
    audio_rate: int
    audio_channels: int
    source_time_at_output_zero: float
    changes: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"], d["sidecar"] = str(self.path), str(self.sidecar)
        d["findings"] = [f.to_dict() for f in self.findings]
        d["version"] = PREP_VERSION
        return d


def sidecar_path(out: str | os.PathLike[str]) -> Path:
    """Where the record of a prep goes: ``OUT.prep.json`` beside the output."""
    out = Path(out)
    return out.with_name(out.name + ".prep.json")


def parse_fps(text: str | float | None) -> Fraction | None:
    """``"25"``, ``"29.97"``, ``"30000/1001"`` -> exact rate; NTSC decimals snap to n*1000/1001."""
    if text is None or text == "":
        return None
    try:
        value = Fraction(str(text)) if "/" in str(text) else Fraction(float(text)).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        raise BadInput(f"--fps {text!r}: give a rate such as 25, 29.97 or 30000/1001") from None
    if not 1 <= value <= 240:
        raise BadInput(f"--fps {text}: must be between 1 and 240 frames per second")
    for rate in STANDARD_RATES:  # 29.97 means 30000/1001, not 2997/100
        exact = Fraction(rate).limit_denominator(1001)
        if abs(float(value) - rate) < 0.006:
            return exact
    return value


def _even(n: int) -> int:
    return max(2, n - n % 2)


# the containers the clean intermediate is written in
PREP_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")


def prep(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    fps: float | str | Fraction | None = None,
    trim_silence: bool = False,
    margin: float = 0.25,
    crf: int = 18,
) -> PrepResult:
    """Write a constant-rate, zero-aligned, 48 kHz copy of ``path`` to ``out`` (atomically).

    ``fps`` defaults to the standard rate nearest the measured average. Raises
    :class:`BadInput` (incl. ``NoAudio``/``NoVideo``) for unusable input and
    :class:`BadOutput` when ``out`` or its sidecar cannot be written or is the input.
    """
    src = Path(path)
    out = Path(out)
    side = sidecar_path(out)
    with open_input(src) as c:
        picture = require_video(c, src)
        require_audio(c, src)
        languages = [st.metadata.get("language") for st in c.streams.audio]
        channels_in = max(st.codec_context.channels for st in c.streams.audio)
        # what the intermediate leaves out, said rather than lost quietly (a timecode track
        # is written again from its tag, chapters are moved: neither is left out)
        # text subtitles are carried (moved onto the output's timeline, _Subtitles)
        texts = [st.index for st in c.streams.subtitles
                 if st.codec_context is not None and is_text(st.codec_context.name)]
        left_out = [f"{st.type} {_stream_name(st)} (stream {st.index})"
                    for st in c.streams
                    if st.type not in ("audio",) and st.index != picture.index
                    and st.index not in texts
                    and not (st.type == "data" and "timecode" in st.metadata)
                    and st.discard != av.stream.Discard.all]
    check_output_path(out, [src])
    check_output_path(side, [src])
    if out.suffix.lower() not in PREP_SUFFIXES:
        # the intermediate is H.264 with AAC or PCM: WebM and WAV cannot hold it, MXF
        # refuses H.264, AVI cannot store the B-frames' presentation times
        raise BadOutput(f"cannot write {out}: prep writes H.264, into {', '.join(PREP_SUFFIXES)}")
    if margin < 0:
        raise BadInput(f"--margin {margin}: must be zero or more seconds")

    info = probe(src, audio_quality=False, pictures=False)
    v = info.video
    assert v is not None
    rate = parse_fps(fps) if fps is not None else parse_fps(nearest_standard(v.measured_fps))
    assert rate is not None
    changes: list[dict[str, Any]] = []
    findings: list[Finding] = []

    audio = decode_audio(src, rate=AUDIO_RATE, mono=False)
    channels = 1 if audio.samples.ndim == 1 else min(2, audio.samples.shape[0])
    samples = np.atleast_2d(audio.samples)[:channels]

    # Output zero is the first picture; [cut0, cut1) is the kept span on that timeline.
    t0 = v.start
    cut0, cut1 = 0.0, v.end - t0
    if trim_silence:
        cut0, cut1, change = _silence_cut(samples, audio.start - t0, cut1, margin)
        if change:
            changes.append(change)
        else:
            findings.append(Finding("prep.trim_silence", Severity.WARNING,
                                    "no speech found: nothing trimmed", "check the audio track"))
    n_frames = max(1, int(round((cut1 - cut0) * rate)))
    duration = n_frames / float(rate)
    origin = t0 + cut0  # source time of output zero

    # Audio: place every source sample at its own time, pad/trim to the picture's span.
    n_out = int(round(duration * AUDIO_RATE))
    placed, offset = _place(samples, audio.start, origin, n_out)
    head_s = offset / AUDIO_RATE
    tail_s = (n_out - (offset + samples.shape[1])) / AUDIO_RATE
    changes += _alignment_changes(head_s, tail_s, trim_silence)
    findings += _cut_speech_findings(samples, offset, n_out, trim_silence)

    if channels_in > 2:
        changes.append({"kind": "audio_downmix", "from_channels": int(channels_in), "to_channels": channels,
                        "method": "FFmpeg swr, the layout's standard stereo downmix (speech kept)"})
    if left_out:
        changes.append({"kind": "streams_left_out", "streams": left_out,
                        "note": "the intermediate holds the picture, the sound and text subtitles only"})
    src_rate = info.audio.sample_rate if info.audio else AUDIO_RATE
    if src_rate != AUDIO_RATE:
        changes.append({"kind": "audio_resample", "from_hz": src_rate, "to_hz": AUDIO_RATE,
                        "method": "FFmpeg swr"})

    times = frame_times(src)
    if v.vfr or abs(v.timestamp_fps / float(rate) - 1) > 1e-6 or cut0 > 0 or t0 != 0:
        changes.append({
            "kind": "video_retime",
            "from": (f"variable, average {v.measured_fps:.3f} fps" if v.vfr
                     else f"constant {v.timestamp_fps:.3f} fps"),
            "to_fps": float(rate), "to_fps_exact": f"{rate.numerator}/{rate.denominator}",
            "method": "each output frame shows the source frame whose timestamp is nearest its time",
            "frames_in": int(len(times)), "frames_out": n_frames,
        })
    # Further audio streams (a master with one per language) go through the same placement
    # on the same timeline, so they stay in sync with the first and with each other.
    tracks = [placed]
    for k in range(1, len(languages)):
        other = decode_audio(src, rate=AUDIO_RATE, mono=False, audio_stream=k)
        tracks.append(_place(np.atleast_2d(other.samples)[:2], other.start, origin, n_out)[0])
    if len(tracks) > 1:
        changes.append({"kind": "audio_streams", "count": len(tracks),
                        "note": "every audio stream placed on the same timeline and resampled alike"})
    geometry = _Geometry.of(src, v.width, v.height)
    changes += geometry.changes()
    timecode = _timecode_moved(src, origin - t0, rate)
    if timecode is not None:
        changes.append(timecode)
    codec = default_audio_codec(out)
    with open_output(out, [src]) as oc:
        chapters = _chapters_moved(src, origin, duration)
        if chapters:
            oc.set_chapters(chapters)
        # Every stream must exist before the first packet is muxed (that writes the header).
        vs = _add_video_stream(oc, *geometry.size, rate, crf)
        if timecode is not None:
            # MOV/MP4 muxers write their timecode track from the picture's tag; Matroska
            # keeps the container's
            vs.metadata["timecode"] = timecode["to"]
            oc.metadata["timecode"] = timecode["to"]
        astreams = []
        for pl, lang in zip(tracks, languages, strict=True):
            st = add_audio_stream(oc, rate=AUDIO_RATE, channels=pl.shape[0], codec=codec)
            if lang:
                st.metadata["language"] = lang
            astreams.append(st)
        with open_input(src) as sc:
            # the cues first: a few small packets, which the muxer holds until the
            # picture's and the sound's reach their times
            subs = _Subtitles(sc, oc, texts)
            carried = subs.write(origin, duration)
        shown = _write_video(oc, vs, src, times, rate, origin, n_frames, geometry)
        for st, pl in zip(astreams, tracks, strict=True):
            encode_audio_array(oc, st, pl if pl.shape[0] > 1 else pl[0])
    if subs.failed:
        changes.append({"kind": "streams_left_out", "streams": subs.failed,
                        "note": "text subtitles whose decoder or encoder would not open"})
    if carried:
        changes.append({"kind": "subtitles", "streams": carried,
                        "note": "cues moved onto the output's timeline (source time - source_time_at_output_zero) "
                                "and cut to its span"})
    used = len(set(shown))
    repeated = n_frames - used
    dropped = int(np.sum((times >= origin - _PTS_EPS) & (times < origin + duration))) - used
    for ch in changes:
        if ch["kind"] == "video_retime":
            ch["frames_repeated"], ch["frames_dropped"] = repeated, max(0, dropped)
    changes.append({"kind": "encode", "video": f"libx264 crf {crf} yuv420p",
                    "audio": f"{codec} {AUDIO_RATE} Hz x{channels}"})

    result = PrepResult(
        path=out, sidecar=side, fps=float(rate), frame_count=n_frames,
        video_duration=duration, audio_duration=n_out / AUDIO_RATE, audio_rate=AUDIO_RATE,
        audio_channels=channels, source_time_at_output_zero=origin, changes=changes,
        findings=findings,
        source={"path": str(src), "sha256": file_digest(src), "video_start": v.start,
                "video_end": v.end, "audio_start": audio.start,
                "audio_end": audio.start + audio.duration, "measured_fps": v.measured_fps,
                "vfr": v.vfr},
    )
    record = {"tool": "mouthsync prep", "mouthsync_version": __version__,
              "settings": {"fps": f"{rate.numerator}/{rate.denominator}",
                           "trim_silence": trim_silence, "margin": margin, "crf": crf},
              "rerun": " ".join(
                  ["mouthsync", "prep", str(src), "-o", str(out), "--fps",
                   f"{rate.numerator}/{rate.denominator}"]
                  + (["--trim-silence", "--margin", f"{margin:g}"] if trim_silence else [])),
              "time_mapping": "source_time = output_time + source_time_at_output_zero",
              **result.to_dict()}
    write_text_atomic(side, dumps(record), [src])
    return result


def _stream_name(st: Any) -> str:
    """What a stream holds, for a person: its codec, or an attachment's file name."""
    if st.codec_context is not None:
        return str(st.codec_context.name)
    return str(st.metadata.get("filename") or st.metadata.get("mimetype") or "?")


class _Subtitles:
    """The source's text subtitle streams, written into the intermediate on its timeline.

    Why: the words of a clip travel with it (``check --transcript subtitles`` reads them;
    a dubbing team's script is one), and prep moves the picture and the sound onto a new
    timeline (output zero is source time ``origin``, the span cut). Each cue moves with
    them and is cut to the span; its codec becomes the one the output container holds
    (``media.retext``: MP4/MOV ``mov_text``, Matroska SubRip). The streams are made with
    the others, before the first packet is muxed (that writes the header).
    """

    def __init__(self, sc: Any, oc: Any, indices: list[int]) -> None:
        self.sc = sc
        self.recoders: dict[int, SubtitleRecoder] = {}
        self.failed: list[str] = []  # said, not lost quietly
        for i in indices:
            rec = SubtitleRecoder.add(oc, sc.streams[i])
            if rec is None:
                self.failed.append(f"subtitle {_stream_name(sc.streams[i])} (stream {i})")
            else:
                self.recoders[i] = rec

    def write(self, origin: float, duration: float) -> list[dict[str, Any]]:
        """Mux every cue that shows within [``origin``, ``origin + duration``) of source
        time, moved by ``-origin`` and cut to the span; what was carried, per stream."""
        if not self.recoders:
            return []
        streams = [self.sc.streams[i] for i in self.recoders]
        kept = dict.fromkeys(self.recoders, 0)
        for p in self.sc.demux(streams):
            rec = self.recoders.get(p.stream.index)
            if rec is None or p.size == 0 or p.pts is None:
                continue
            tb = p.time_base
            start = float(p.pts * tb) - origin
            end = start + float((p.duration or 0) * tb)
            if end <= 0.0 or start >= duration:
                continue  # shown only outside the kept span
            start, end = max(start, 0.0), min(end, duration)
            p.pts = p.dts = int(round(start / tb))
            p.duration = max(1, int(round((end - start) / tb)))
            q = rec.packet(p)
            if q is not None:
                rec.ost.container.mux(q)
                kept[p.stream.index] += 1
        return [{"stream": i, "from": rec.ist.codec_context.name,
                 "to": rec.ost.codec_context.codec.canonical_name, "cues": kept[i]}
                for i, rec in self.recoders.items()]


def _timecode_moved(src: Path, skipped_s: float, rate: Fraction) -> dict[str, Any] | None:
    """The output's first-frame timecode: the source's, moved on by the ``skipped_s`` prep
    cut from its start and counted at the output's ``rate`` (drop-frame kept). Why: an
    editor conforms prep's copy back to the camera original by its timecode; without it
    every intermediate started at 00:00:00:00."""
    from mouthsync.media.timecode import picture_timecode, timecode_label, timecode_seconds

    got = picture_timecode(src)
    if got is None:
        return None
    label, src_rate = got
    try:
        day = timecode_seconds(label, src_rate) + skipped_s
    except BadInput:
        return None  # a label the source's own rate cannot count: not ours to carry
    to = timecode_label(day, rate, drop=any(sep in label for sep in ";,"))
    return {"kind": "timecode", "from": label, "to": to,
            "note": f"first frame's timecode moved by the {skipped_s:.3f} s cut from the start" if skipped_s > 0
            else "first frame's timecode kept"}


def _chapters_moved(src: Path, origin: float, duration: float) -> list[dict[str, Any]]:
    """The source's chapters on the output's timeline (source time - ``origin``), cut to
    its ``duration``; chapters wholly outside it are left out."""
    from fractions import Fraction as F

    with open_input(src) as c:
        chapters = c.chapters()
    out = []
    for ch in chapters:
        tb = F(ch["time_base"])
        start = max(0.0, float(ch["start"] * tb) - origin)
        end = min(duration, float(ch["end"] * tb) - origin)
        if end > start:
            out.append({**ch, "id": len(out), "start": round(start * 1000), "end": round(end * 1000),
                        "time_base": F(1, 1000)})
    return out


def _place(samples: np.ndarray, start: float, origin: float, n_out: int) -> tuple[np.ndarray, int]:
    """``samples`` (channels, n) starting at source time ``start`` on the output timeline
    (source time ``origin`` at output zero, ``n_out`` samples): silence where they have
    none, cut where they run past. Also returns the output index of their first sample."""
    offset = int(round((start - origin) * AUDIO_RATE))
    placed = np.zeros((samples.shape[0], n_out), np.float32)
    lo, hi = max(0, offset), min(n_out, offset + samples.shape[1])
    if hi > lo:
        placed[:, lo:hi] = samples[:, lo - offset : hi - offset]
    return placed, offset


def _silence_cut(
    samples: np.ndarray, audio_offset: float, span: float, margin: float
) -> tuple[float, float, dict[str, Any] | None]:
    """Head/tail cut points on the output timeline, keeping ``margin`` around the speech."""
    segs = speech_segments(vad_flags(resample(samples.mean(axis=0), AUDIO_RATE, VAD_RATE)))
    if not segs:
        return 0.0, span, None
    first = segs[0][0] + audio_offset
    last = segs[-1][1] + audio_offset
    cut0 = min(max(0.0, first - margin), span)
    cut1 = max(min(span, last + margin), cut0)
    return cut0, cut1, {
        "kind": "trim_silence", "head_s": round(cut0, 4), "tail_s": round(span - cut1, 4),
        "margin_s": margin, "first_speech_s": round(first, 4), "last_speech_s": round(last, 4),
        "note": "head and tail only; pauses inside the speech are kept",
    }


def _alignment_changes(head_s: float, tail_s: float, trimmed: bool) -> list[dict[str, Any]]:
    out = []
    if abs(head_s) >= 0.5 / AUDIO_RATE:
        out.append({"kind": "audio_head", "action": "pad" if head_s > 0 else "trim",
                    "seconds": round(abs(head_s), 6),
                    "why": "audio placed at its own time relative to the picture; stream starts at 0"})
    if abs(tail_s) >= 0.5 / AUDIO_RATE:
        out.append({"kind": "audio_tail", "action": "pad" if tail_s > 0 else "trim",
                    "seconds": round(abs(tail_s), 6),
                    "why": "audio length matched to the picture"
                    + (" (after silence trim)" if trimmed else "")})
    return out


def _cut_speech_findings(samples: np.ndarray, offset: int, n_out: int, trimmed: bool) -> list[Finding]:
    """Warn when audio outside the picture's span (and not trimmed on purpose) held speech."""
    if trimmed:
        return []
    out = []
    mono = samples.mean(axis=0)
    parts = [("before the first picture", mono[: max(0, -offset)]),
             ("after the last picture", mono[max(0, n_out - offset):])]
    for where, part in parts:
        if len(part) < int(0.1 * AUDIO_RATE):
            continue
        segs = speech_segments(vad_flags(resample(part, AUDIO_RATE, VAD_RATE)))
        if segs:
            out.append(Finding(
                "prep.cut_speech", Severity.WARNING,
                f"{len(part) / AUDIO_RATE:.2f} s of audio {where} was cut and it holds speech",
                "the picture does not cover it; keep the source if that speech matters"))
    return out


def _add_video_stream(
    oc: av.container.OutputContainer, width: int, height: int, rate: Fraction, crf: int
) -> Any:
    vs = oc.add_stream("libx264", rate=rate)
    vs.width, vs.height, vs.pix_fmt = _even(width), _even(height), "yuv420p"
    vs.time_base = 1 / rate
    vs.options = {"crf": str(crf), "preset": "veryfast"}
    return vs


def nearest_frames(times: np.ndarray, instants: np.ndarray) -> np.ndarray:
    """For each output instant, the source frame whose timestamp is nearest (the earlier on
    a tie, within 0.1 ms).

    Why not the frame on screen then (the latest timestamp not after the instant, as a
    player holds it): every frame then moves later by up to one source interval, on average
    half of one. Variable-rate phone footage (retalking_face1, 22 fps on average, made
    23.976) read -64 ms after prep where the source read -35. The nearest frame moves each
    frame by at most half an interval, either way, and by nothing on average (FFmpeg's
    ``fps`` filter rounds to the nearest too)."""
    t = np.asarray(times, dtype=np.float64)
    j = np.clip(np.searchsorted(t, instants, side="left"), 1, max(1, t.size - 1))
    if t.size == 1:
        return np.zeros(instants.size, dtype=np.intp)
    before, after = t[j - 1], t[j]
    take_after = (after - instants) < (instants - before) - _PTS_EPS
    return np.where(take_after, j, j - 1).astype(np.intp)


@dataclass
class _Geometry:
    """How the source's pictures are shown: a player turns a phone's sideways picture by
    ``rotation`` degrees (counterclockwise) and stretches non-square pixels by ``sar``.
    A re-encoded stream carries neither flag (PyAV writes no display matrix), so prep
    applies both to the pixels: the intermediate is upright with square pixels, as it was
    shown (before, a phone clip came out sideways and a 4:3-pixel source squeezed)."""

    width: int
    height: int
    rotation: int = 0
    sar: Fraction = Fraction(1)

    @classmethod
    def of(cls, src: Path, width: int, height: int) -> _Geometry:
        with open_input(src) as ic:
            vin = require_video(ic, src)
            sar = vin.sample_aspect_ratio or vin.codec_context.sample_aspect_ratio
        rotation = first_turn(src)
        sar = Fraction(sar).limit_denominator(1000) if sar and sar > 0 else Fraction(1)
        return cls(width, height, rotation, sar)

    @property
    def scaled(self) -> tuple[int, int]:
        """Decoded size with square pixels (before turning)."""
        return _even(int(round(self.width * self.sar))), _even(self.height)

    @property
    def size(self) -> tuple[int, int]:
        """The output's width and height."""
        w, h = self.scaled
        return (h, w) if self.rotation in (90, 270) else (w, h)

    def changes(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.sar != 1:
            w, h = self.scaled
            out.append({"kind": "square_pixels", "sar": f"{self.sar.numerator}:{self.sar.denominator}",
                        "from": f"{self.width}x{self.height}", "to": f"{w}x{h}",
                        "why": "pixels scaled to square: the re-encoded stream carries no aspect flag"})
        if self.rotation:
            out.append({"kind": "upright", "rotation_deg": self.rotation,
                        "why": "a re-encoded stream carries no rotation flag, and would play sideways"})
        return out

    def frame(self, frame: Any) -> np.ndarray:
        """``frame`` as packed yuv420p at the output's size, upright."""
        w, h = self.scaled
        yuv = frame.to_ndarray(format="yuv420p", width=w, height=h)
        k = self.rotation // 90
        if not k:
            return yuv
        y = yuv[:h]
        u = yuv[h : h + h // 4].reshape(h // 2, w // 2)
        v = yuv[h + h // 4 :].reshape(h // 2, w // 2)
        planes = [np.rot90(p, k) for p in (y, u, v)]
        ow = planes[0].shape[1]
        return np.concatenate([pl.reshape(-1) for pl in planes]).reshape(-1, ow)


def _write_video(
    oc: av.container.OutputContainer,
    vs: Any,
    src: Path,
    times: np.ndarray,
    rate: Fraction,
    origin: float,
    n_frames: int,
    geometry: _Geometry | None = None,
) -> list[int]:
    """Encode ``n_frames`` at ``rate``; frame k shows the source frame nearest origin + k/rate.

    Returns the index of the source frame used for each output frame.
    """
    with open_input(src) as ic:
        vin = require_video(ic, src)
        vin.thread_type = "AUTO"
        look = geometry or _Geometry(vs.width, vs.height)
        instants = origin + np.arange(n_frames) / float(rate)
        pick = nearest_frames(times, instants)
        k = 0
        current: np.ndarray | None = None
        with progress("Prep", n_frames) as advance:
            try:
                for idx, frame in enumerate(_progressive(ic.decode(vin), vin)):
                    if k >= n_frames:
                        break
                    if pick[k] != idx:
                        continue
                    current = look.frame(frame)
                    while k < n_frames and pick[k] == idx:
                        _encode(oc, vs, current, k)
                        k += 1
                        advance()
            except av.FFmpegError as exc:
                raise BadInput(f"{src}: video cannot be decoded ({exc})") from None
        if k < n_frames:
            if current is None:
                raise BadInput(f"{src}: video stream has no decodable frames")
            while k < n_frames:  # decoder delivered fewer frames than packets: hold the last
                _encode(oc, vs, current, k)
                k += 1
        for packet in vs.encode(None):
            oc.mux(packet)
    return [int(i) for i in pick]


def _progressive(frames: Any, vin: Any) -> Any:
    """``frames`` in order, interlaced ones deinterlaced (yadif, one frame per frame, each
    at its first field's instant): the clean intermediate is encoded progressive, and an
    interlaced picture stored as progressive blends two instants 20 ms apart for good (the
    tracker reads the mouth 8-15 ms early on such blends, docs/face.md)."""
    graph = None
    for frame in frames:
        if graph is None and not frame.interlaced_frame:
            yield frame
            continue
        if graph is None:
            graph = av.filter.Graph()
            buf = graph.add_buffer(template=vin)
            yadif = graph.add("yadif", "mode=send_frame:parity=auto:deint=interlaced")
            sink = graph.add("buffersink")
            buf.link_to(yadif)
            yadif.link_to(sink)
            graph.configure()
        graph.push(frame)
        yield from _drain(graph)
    if graph is not None:
        graph.push(None)
        yield from _drain(graph)


def _drain(graph: Any) -> Any:
    while True:
        try:
            yield graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return


def _encode(oc: av.container.OutputContainer, vs: Any, yuv: np.ndarray, k: int) -> None:
    frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
    frame.pts = k
    for packet in vs.encode(frame):
        try:
            oc.mux(packet)
        except av.FFmpegError as exc:  # the output's fault, not the source's (caught apart)
            raise BadOutput(f"the {oc.format.name} container refused the encoded picture ({exc})") from None
