"""``probe``: the facts about a media file's time and sound, and what they mean.

Nothing is taken on trust from the header: the frame rate is measured from every
packet's presentation timestamp, the audio start is where its first real sample lands
(after encoder priming), durations come from the streams themselves. Header values are
reported beside the measurements so that disagreements are visible, because a
disagreement between clocks is exactly what ruins lip sync:

* variable frame rate: frames are not evenly spaced, so "frame index / fps" is wrong;
* start offset: the audio stream starts later or earlier than the picture;
* clock drift: the picture's timestamps run at one rate while its bitstream (or the
  audio) was made against another, e.g. 29.97 against 30 fps: 0.1 %, 60 ms a minute,
  1.8 frames a minute at 30 fps, 3.6 s an hour.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from mouthsync.core.atomic import write_text_atomic
from mouthsync.core.cache import cache_key, cache_path
from mouthsync.core.errors import BadInput, BadOutput
from mouthsync.core.findings import Finding, Severity
from mouthsync.core.progress import progress
from mouthsync.media.audio_quality import OPPOSITE_MAX_CORR, AudioQuality, measure
from mouthsync.media.clocks import length_mismatch
from mouthsync.media.container import check_input_path, open_input, picture_stream, require_video
from mouthsync.media.decode import check_video_frames, decode_audio
from mouthsync.media.echo import NAMED_DECAY_S
from mouthsync.media.subtitles import TEXT_SUBTITLE_CODECS

PROBE_VERSION = "probe-8"

#: Frame rates a camera or editor produces; used to name the rate nearest a measurement.
STANDARD_RATES: tuple[float, ...] = (
    24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0,
)
#: Two rates this close (as a ratio) are the same clock.
SAME_CLOCK = 2e-4
#: Bitstream and timestamps differing by more than this ratio are not a clock pair
#: (a 25-vs-24 PAL speed-up is 4.2 %; anything wider is a different kind of mess).
MAX_CLOCK_RATIO = 0.05
#: Mean absolute difference (0..255, 256 px grey thumbnails) under which two consecutive
#: pictures are the same picture repeated. Measured on the shared clips: repeats (the
#: encoder's near-empty P-frames, in a regular cadence) sit under 0.03; the smallest real
#: change between talking-head frames is about 0.06. Duplicates re-encoded at ordinary
#: quality (0.03-0.12) are partly missed: this count is a lower bound.
REPEAT_DIFF = 0.05


@dataclass
class VideoInfo:
    """Facts about the first video stream. Times in seconds on the presentation timeline."""

    codec: str
    profile: str | None
    width: int
    height: int
    pix_fmt: str | None
    bit_rate: int | None
    declared_fps: float | None
    bitstream_fps: float | None
    measured_fps: float
    timestamp_fps: float
    nearest_standard_fps: float
    frame_count: int
    start: float
    end: float
    duration: float
    vfr: bool
    spacing_ms: dict[str, float]
    irregular_gaps: int
    missing_frames: int
    duplicate_timestamps: int
    repeated_pictures: int | None
    picture_fps: float | None
    keyframes: int


@dataclass
class AudioInfo:
    """Facts about the first audio stream, with its measured quality."""

    codec: str
    sample_rate: int
    channels: int
    bit_rate: int | None
    start: float
    end: float
    duration: float
    quality: AudioQuality | None


@dataclass
class TimingInfo:
    """How the two streams sit on one timeline; ``> 0`` means the sound is later."""

    start_offset_ms: float | None
    end_offset_ms: float | None
    duration_mismatch_ms: float | None
    drift_ratio: float | None = None
    drift_ms_per_min: float | None = None
    drift_frames_per_min: float | None = None
    drift_basis: str | None = None


@dataclass
class MediaInfo:
    """Everything ``probe`` found: facts per stream, timing, and judged findings."""

    path: str
    format: str
    size_bytes: int
    duration: float | None
    video: VideoInfo | None
    audio: AudioInfo | None
    timing: TimingInfo
    findings: list[Finding] = field(default_factory=list)
    version: str = PROBE_VERSION
    # audio streams after the first (a master with one per language): what
    # ``--audio-stream N`` of check and fix can pick; facts only, not measured
    other_audio: list[dict[str, Any]] = field(default_factory=list)
    # where the file sits in the day (media.timecode): the picture's first-frame timecode
    # and a broadcast WAV's time reference, as written and in seconds since midnight
    timecode: dict[str, Any] | None = None
    # subtitle streams (facts): a text one holds the words, which ``check --transcript
    # subtitles`` aligns (media.subtitles); picture subtitles hold none
    subtitles: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.audio is not None and self.audio.quality is not None:
            d["audio"]["quality"] = self.audio.quality.to_dict()
        d["findings"] = [f.to_dict() for f in self.findings]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MediaInfo:
        """Rebuild from :meth:`to_dict` output (the probe cache stores that JSON)."""
        video = VideoInfo(**d["video"]) if d.get("video") else None
        audio = None
        if d.get("audio"):
            a = dict(d["audio"])
            q = a.pop("quality", None)
            if q is not None:
                q = dict(q)
                q["speech_segments"] = [tuple(x) for x in q["speech_segments"]]
                q["long_pauses"] = [tuple(x) for x in q["long_pauses"]]
                q = AudioQuality(**q)
            audio = AudioInfo(**a, quality=q)
        findings = [
            Finding(**{**f, "severity": Severity.parse(f["severity"])}) for f in d.get("findings", [])
        ]
        return cls(
            path=d["path"], format=d["format"], size_bytes=d["size_bytes"], duration=d["duration"],
            video=video, audio=audio, timing=TimingInfo(**d["timing"]), findings=findings,
            version=d.get("version", PROBE_VERSION), other_audio=list(d.get("other_audio", [])),
            timecode=d.get("timecode"), subtitles=list(d.get("subtitles", [])),
        )


# --------------------------------------------------------------------------- video


def nearest_standard(fps: float) -> float:
    """The standard frame rate closest to ``fps`` on a log scale (29.97 for 29.95, 25 for
    24.9): what a variable-rate or slightly-off clip was meant to be (``prep`` conforms to it)."""
    return min(STANDARD_RATES, key=lambda r: abs(math.log(r / fps))) if fps > 0 else 0.0


def _rate(value: Any) -> float | None:
    try:
        v = float(value) if value else 0.0
    except (TypeError, ZeroDivisionError):
        return None
    return v if 0 < v < 1000 else None


def _scan_video(c: av.container.InputContainer, path: Path, *, pictures: bool) -> VideoInfo:
    vs = picture_stream(c)
    assert vs is not None
    tb = float(vs.time_base)
    pts: list[int] = []
    stored: list[int] = []  # packets in the file, shown or hidden by an edit list (the header counts them)
    last_duration = 0  # duration of the packet shown last (highest pts)
    keyframes = 0
    try:
        for p in c.demux(vs):
            if p.pts is None or p.size == 0:
                continue
            stored.append(p.pts)
            if getattr(p, "is_discard", False):
                continue  # decoded for reference only: the edit list starts the picture later
            if not pts or p.pts >= max(pts[-8:]):
                last_duration = p.duration or 0
            pts.append(p.pts)
            keyframes += bool(p.is_keyframe)
    except av.FFmpegError as exc:
        raise BadInput(f"{path}: video packets cannot be read ({exc}); the file is damaged") from None
    if not pts:
        raise BadInput(f"{path}: video stream has no frames")
    check_video_frames(vs, stored, tb, path)
    t = np.sort(np.asarray(pts, dtype=np.float64)) * tb
    gaps = np.diff(t)
    n = len(t)
    median = float(np.median(gaps)) if n > 1 else 0.0
    positive = gaps[gaps > 0]
    step = float(np.median(positive)) if positive.size else (last_duration * tb or 1 / 25)
    last = last_duration * tb if last_duration else step
    start, end = float(t[0]), float(t[-1] + last)
    duration = end - start
    measured = n / duration if duration > 0 else 0.0
    # Spacing against the regular step: a gap of k steps (k >= 2) is k-1 empty slots
    # (dropped frames); a gap that is no whole number of steps is off the grid.
    tol = max(0.05 * step, 1.5 * tb)
    slots = np.maximum(np.round(gaps / step), 0) if n > 1 else np.zeros(0)
    on_grid = np.abs(gaps - slots * step) <= tol
    off_grid = int(np.sum(~on_grid & (gaps > tb / 2)))
    multi = on_grid & (slots >= 2)
    missing = int(np.sum(slots[multi] - 1))
    irregular = off_grid + int(multi.sum())
    dup_ts = int(np.sum(gaps <= tb / 2)) if n > 1 else 0
    # Variable rate: timestamps off any regular grid, or so many skipped slots that the
    # grid itself is not the real rate (face1: a third of its gaps are double steps).
    vfr = n > 2 and (off_grid >= max(2, 0.01 * (n - 1)) or multi.sum() > 0.1 * (n - 1))
    # The rate the timestamps tick at: least-squares slope of time against slot number,
    # exact for constant rate, unbiased by dropped frames, immune to one-tick jitter.
    if n > 2:
        slot_index = np.concatenate([[0.0], np.cumsum(np.maximum(slots, 1))])
        slope = float(np.polyfit(slot_index, t, 1)[0])
    else:
        slope = step
    timestamp_fps = 1 / slope if slope > 0 else measured

    repeats = _repeated_pictures(path) if pictures else None
    cc = vs.codec_context
    return VideoInfo(
        codec=cc.name,
        profile=cc.profile,
        width=cc.width,
        height=cc.height,
        pix_fmt=cc.pix_fmt,
        bit_rate=vs.bit_rate or None,
        declared_fps=_rate(vs.base_rate) or _rate(vs.guessed_rate),
        bitstream_fps=_rate(cc.framerate),
        measured_fps=measured,
        timestamp_fps=timestamp_fps,
        nearest_standard_fps=nearest_standard(1 / step if step > 0 else measured),
        frame_count=n,
        start=start,
        end=end,
        duration=duration,
        vfr=bool(vfr),
        spacing_ms={
            "min": float(gaps.min() * 1000) if n > 1 else 0.0,
            "median": median * 1000,
            "mean": float(gaps.mean() * 1000) if n > 1 else 0.0,
            "max": float(gaps.max() * 1000) if n > 1 else 0.0,
            "std": float(gaps.std() * 1000) if n > 1 else 0.0,
        },
        irregular_gaps=irregular,
        missing_frames=missing,
        duplicate_timestamps=dup_ts,
        repeated_pictures=repeats,
        picture_fps=(measured * (1 - repeats / n)) if repeats is not None else None,
        keyframes=keyframes,
    )


def _repeated_pictures(path: Path) -> int | None:
    """Count frames whose picture repeats the previous one (frame-rate conversion by copy).

    Converts to 256 px grey thumbnails in the decoder's scaler (no colour conversion).
    """
    count = 0
    prev: np.ndarray | None = None
    try:
        with open_input(path) as c:
            vs = require_video(c, path)
            vs.thread_type = "AUTO"
            with progress("Probing pictures", vs.frames or None) as advance:
                for frame in c.decode(vs):
                    img = frame.to_ndarray(format="gray", width=256, height=256).astype(np.int16)
                    if prev is not None and float(np.mean(np.abs(img - prev))) < REPEAT_DIFF:
                        count += 1
                    prev = img
                    advance()
    except av.FFmpegError:
        return None if prev is None else count
    return count


# --------------------------------------------------------------------------- audio


def _scan_audio(c: av.container.InputContainer, path: Path, *, quality: bool) -> AudioInfo:
    st = c.streams.audio[0]
    cc = st.codec_context
    rate = cc.sample_rate
    audio = decode_audio(path, rate=rate, mono=False)
    q = measure(audio.samples, rate) if quality else None
    if q is not None:
        # Put VAD times on the media timeline, like every other time we report.
        off = audio.start
        q.speech_segments = [(round(s + off, 3), round(e + off, 3)) for s, e in q.speech_segments]
        q.long_pauses = [(round(s + off, 3), round(e + off, 3)) for s, e in q.long_pauses]
    return AudioInfo(
        codec=cc.name,
        sample_rate=rate,
        channels=cc.channels,
        bit_rate=st.bit_rate or None,
        start=audio.start,
        end=audio.start + audio.duration,
        duration=audio.duration,
        quality=q,
    )


# --------------------------------------------------------------------------- timing


#: Clock pairs that real workflows produce: NTSC pull-down/up and PAL speed-up/down.
KNOWN_RATIOS: tuple[float, ...] = (1001 / 1000, 1000 / 1001, 25 / 24, 24 / 25)


def _snap_ratio(ratio: float) -> float:
    """A measured clock ratio, replaced by a standard pair when within 2e-4 of it.

    Timestamps of joined or re-muxed files carry small offsets at every join, which bias
    the measured rate by a few parts in 10^4; the standard pair is the better estimate.
    """
    best = min(KNOWN_RATIOS, key=lambda k: abs(k - ratio))
    return best if abs(best - ratio) <= SAME_CLOCK else ratio


def _clock_pair(video: VideoInfo, audio: AudioInfo | None) -> tuple[float, str] | None:
    """The ratio between the clock the picture was made with and the one it plays at.

    Evidence used, strongest first: the bitstream's own timing (H.264/HEVC VUI) against
    the container timestamps — a re-stamped 30 fps encode now playing at 29.97 says so
    itself; then, for NTSC-family rates without bitstream timing, whether the audio's
    length fits the integer rate better than the measured one. Returns
    ``(made / plays, basis)`` or ``None`` when the clocks agree or nothing can be told.
    """
    if video.vfr or video.frame_count < 3:
        return None
    plays = video.timestamp_fps
    made = video.bitstream_fps
    if made:
        ratio = made / plays
        if SAME_CLOCK < abs(ratio - 1) <= MAX_CLOCK_RATIO:
            basis = f"the bitstream declares {made:.3f} fps but its timestamps run at {plays:.3f} fps"
            snapped = _snap_ratio(ratio)
            if snapped != ratio:
                basis += f" (ratio {ratio:.5f}, taken as the standard pair {snapped:.5f})"
            return snapped, basis
        # Agreeing bitstream: the picture may have been conformed as a whole (timestamps
        # and VUI rewritten) while the sound was not, so the lengths still get a say.
    if audio is None:
        return None
    for integer in (24.0, 30.0, 60.0):
        ntsc = integer * 1000 / 1001
        if abs(plays / ntsc - 1) <= SAME_CLOCK:
            fits_integer = abs(audio.duration - video.frame_count / integer)
            fits_ntsc = abs(audio.duration - video.frame_count / ntsc)
            # Only trust the lengths when the two readings differ by more than 2 audio frames.
            if abs(fits_integer - fits_ntsc) > 0.046 and fits_integer < fits_ntsc:
                return integer / ntsc, (
                    f"the audio is as long as {video.frame_count} frames at {integer:g} fps, "
                    f"but the pictures are stamped at {ntsc:.3f} fps"
                )
    return None


def _timing(video: VideoInfo | None, audio: AudioInfo | None) -> TimingInfo:
    if video is None or audio is None:
        return TimingInfo(None, None, None)
    timing = TimingInfo(
        start_offset_ms=(audio.start - video.start) * 1000,
        end_offset_ms=(audio.end - video.end) * 1000,
        duration_mismatch_ms=(audio.duration - video.duration) * 1000,
    )
    pair = _clock_pair(video, audio)
    if pair is not None:
        ratio, basis = pair
        # Audio is the master clock: per minute of sound, the picture falls behind by
        # (ratio - 1) minutes when stretched, so the sound comes that much *earlier*.
        drift_s_per_min = (1 - ratio) * 60.0
        timing.drift_ratio = ratio
        timing.drift_ms_per_min = drift_s_per_min * 1000
        timing.drift_frames_per_min = drift_s_per_min * (video.bitstream_fps or video.measured_fps)
        timing.drift_basis = basis
    return timing


# --------------------------------------------------------------------------- findings


def _findings(info: MediaInfo) -> list[Finding]:
    out: list[Finding] = []
    v, a, t = info.video, info.audio, info.timing
    if v is None:
        out.append(Finding("streams", Severity.WARNING, "no video stream: audio-only file",
                           "lip-sync commands need a picture; use this file as --audio"))
    if a is None:
        out.append(Finding("streams", Severity.ERROR, "no audio stream",
                           "lip sync needs sound: mux the dialogue in, or give it with --audio"))
    if v is not None:
        frame_ms = 1000 / v.measured_fps if v.measured_fps else 40.0
        if v.vfr:
            out.append(Finding(
                "video.vfr", Severity.WARNING,
                f"variable frame rate: measured average {v.measured_fps:.2f} fps against "
                f"declared {v.declared_fps or 0:.3g} fps; spacing {v.spacing_ms['min']:.1f}-"
                f"{v.spacing_ms['max']:.1f} ms ({v.irregular_gaps} irregular gaps)",
                "run `mouthsync prep` to re-time to a constant rate by timestamps",
                value=v.measured_fps, threshold=v.declared_fps, unit="fps"))
        elif v.declared_fps and abs(v.timestamp_fps / v.declared_fps - 1) > 0.01:
            out.append(Finding(
                "video.rate", Severity.WARNING,
                f"timestamps run at {v.timestamp_fps:.3f} fps, not the declared {v.declared_fps:.3f} fps",
                "trust the timestamps; `mouthsync prep` writes a clean constant rate",
                value=v.timestamp_fps, threshold=v.declared_fps, unit="fps"))
        if v.missing_frames and not v.vfr:
            out.append(Finding(
                "video.dropped", Severity.WARNING,
                f"{v.missing_frames} frame slot(s) without a frame (timestamp gaps)",
                "dropped frames make the mouth jump; re-capture or accept held frames",
                value=float(v.missing_frames), unit="frames"))
        if v.duplicate_timestamps:
            out.append(Finding(
                "video.duplicate_timestamps", Severity.WARNING,
                f"{v.duplicate_timestamps} frame(s) share a timestamp with the previous one",
                "the muxer lost timing; re-mux or `mouthsync prep`",
                value=float(v.duplicate_timestamps), unit="frames"))
        if v.repeated_pictures and v.repeated_pictures >= max(2, 0.02 * v.frame_count):
            out.append(Finding(
                "video.repeated", Severity.INFO,
                f"{v.repeated_pictures} of {v.frame_count} frames repeat the previous picture: "
                f"new pictures arrive at about {v.picture_fps:.1f} fps (converted by copying?)",
                "mouth motion is quantised to the original rate; expect coarser sync estimates",
                value=float(v.repeated_pictures), unit="frames"))
        if a is not None and t.start_offset_ms is not None:
            off = t.start_offset_ms
            if abs(off) >= 0.5:
                sev = Severity.WARNING if abs(off) >= frame_ms / 2 else Severity.INFO
                where = "after" if off > 0 else "before"
                out.append(Finding(
                    "timing.start_offset", sev,
                    f"audio starts {abs(off):.1f} ms {where} the picture",
                    "players that ignore start times will misplace the sound: "
                    "`mouthsync prep` pads/trims so both start at 0",
                    value=off, threshold=frame_ms / 2, unit="ms"))
            mism = t.duration_mismatch_ms or 0.0
            # lengths in a steep clock ratio, starting together: the sound plays at the wrong
            # speed (check measures the drift; fix resamples it)
            clock = length_mismatch(a.duration, v.duration) if abs(t.start_offset_ms or 0.0) < 500.0 else None
            if abs(mism) > frame_ms:
                out.append(Finding(
                    "timing.duration_mismatch", Severity.INFO if clock is None else Severity.WARNING,
                    f"audio is {abs(mism):.0f} ms {'longer' if mism > 0 else 'shorter'} than the "
                    f"video (ends {abs(t.end_offset_ms or 0):.0f} ms "
                    f"{'after' if (t.end_offset_ms or 0) > 0 else 'before'} it)"
                    + ("" if clock is None else
                       f": {abs(a.duration / v.duration - 1) * 100:.2f} % {'longer' if mism > 0 else 'shorter'}, "
                       f"as from a {clock.short}"),
                    "harmless if the tail is silence; `mouthsync prep` pads or trims it" if clock is None else
                    "`mouthsync check` measures the drift this makes; `mouthsync fix --drift auto` resamples the sound",
                    value=mism, threshold=frame_ms, unit="ms",
                    extra={} if clock is None else {"clock_ratio": clock.ratio, "clock_mismatch": clock.short}))
            if t.drift_ms_per_min is not None:
                out.append(Finding(
                    "timing.drift", Severity.ERROR if abs(t.drift_ms_per_min) >= 20 else Severity.WARNING,
                    f"clocks disagree: {t.drift_basis}; sound drifts {t.drift_ms_per_min:+.1f} ms "
                    f"per minute ({t.drift_frames_per_min:+.2f} frames/min, "
                    f"{t.drift_ms_per_min * 60 / 1000:+.1f} s per hour)",
                    "conform one clock to the other (`mouthsync fix` corrects drift)",
                    value=t.drift_ms_per_min, unit="ms/min"))
    if a is not None and a.quality is not None:
        out.extend(_audio_findings(a))
    return out


def _audio_findings(a: AudioInfo) -> list[Finding]:
    q = a.quality
    assert q is not None
    out: list[Finding] = []
    if q.clipped_runs > 0 or q.clipped_ratio > 1e-4:
        out.append(Finding(
            "audio.clipping", Severity.WARNING if q.clipped_ratio > 1e-3 else Severity.INFO,
            f"{q.clipped_ratio * 100:.3f} % of samples at full scale, {q.clipped_runs} flat-topped runs",
            "clipped speech distorts phone recognition; re-record or declip",
            value=q.clipped_ratio, threshold=1e-4))
    if q.true_peak_dbtp > -1.0:
        out.append(Finding(
            "audio.true_peak", Severity.INFO,
            f"true peak {q.true_peak_dbtp:+.1f} dBTP (above -1 dBTP)",
            "lossy encoding may clip; lower the level before delivery",
            value=q.true_peak_dbtp, threshold=-1.0, unit="dBTP"))
    if q.loudness_lufs is not None and not -30.0 <= q.loudness_lufs <= -10.0:
        out.append(Finding(
            "audio.loudness", Severity.INFO,
            f"integrated loudness {q.loudness_lufs:.1f} LUFS",
            "speech is usually delivered at -23 (broadcast) to -14 LUFS (online)",
            value=q.loudness_lufs, unit="LUFS"))
    if q.channel_correlation is not None and q.channel_correlation < OPPOSITE_MAX_CORR:
        out.append(Finding(
            "audio.polarity", Severity.WARNING,
            f"the two channels carry one signal in opposite polarity (correlation {q.channel_correlation:+.2f}): "
            "mixed to mono (a phone, a mono broadcast) the voice cancels; speech measured on their difference",
            "reverse one channel's polarity (e.g. ffmpeg -af \"pan=stereo|c0=c0|c1=-1*c1\")",
            value=q.channel_correlation, threshold=OPPOSITE_MAX_CORR))
    if q.speech_ratio == 0.0:
        out.append(Finding("audio.no_speech", Severity.ERROR, "no speech detected",
                           "lip sync needs speech: check the track is the dialogue"))
        return out
    if q.snr_db is not None and q.snr_db < 15.0:
        out.append(Finding(
            "audio.noise", Severity.WARNING,
            f"speech only {q.snr_db:.0f} dB above the noise floor ({q.noise_floor_dbfs:.0f} dBFS)",
            "speech timing gets less precise in noise; denoise or use a cleaner take",
            value=q.snr_db, threshold=15.0, unit="dB"))
    if q.echo_decay_s is not None and q.echo_decay_s >= NAMED_DECAY_S:
        out.append(Finding(
            "audio.echo", Severity.WARNING,
            f"reverberant sound: the speech takes about {q.echo_decay_s:.1f} s to die away "
            "(a hall, a bare room, or a microphone far from the mouth)",
            "the room's ringing smears speech timing, so lip-sync readings are less sure; "
            "use a close microphone's track if there is one",
            value=q.echo_decay_s, threshold=NAMED_DECAY_S, unit="s"))
    if q.background == "tonal (music-like)":
        out.append(Finding(
            "audio.background", Severity.WARNING,
            "a tonal (music-like) bed sits under the speech",
            "music confuses speech timing; use the dialogue stem if there is one",
            value=q.background_flatness, threshold=None))
    if q.leading_silence_s > 1.0 or q.trailing_silence_s > 1.0:
        out.append(Finding(
            "audio.silence", Severity.INFO,
            f"{q.leading_silence_s:.2f} s of silence before the first speech, "
            f"{q.trailing_silence_s:.2f} s after the last",
            "`mouthsync prep --trim-silence` trims head and tail (pauses inside are kept)",
            value=max(q.leading_silence_s, q.trailing_silence_s), threshold=1.0, unit="s"))
    for s, e in q.long_pauses:
        out.append(Finding(
            "audio.pause", Severity.INFO, f"pause of {e - s:.2f} s in the speech",
            "no lip motion is expected here; windows over it carry less sync evidence",
            value=e - s, unit="s", start_s=s, end_s=e))
    return out


# --------------------------------------------------------------------------- API


def probe(
    path: str | os.PathLike[str],
    *,
    audio_quality: bool = True,
    pictures: bool = True,
    use_cache: bool = True,
) -> MediaInfo:
    """Measure ``path`` and judge what the measurements mean for lip sync.

    ``audio_quality`` runs loudness/VAD/noise measurement; ``pictures`` decodes small
    thumbnails to count repeated pictures. Both can be switched off for a
    timestamps-only probe (packets only, no decoding of the picture). Full results are
    cached by content hash + settings + :data:`PROBE_VERSION`.
    Raises :class:`BadInput` for anything that is not readable media.
    """
    p = check_input_path(path)
    cached = None
    if use_cache and (audio_quality or pictures):  # the fast probe is cheaper than hashing
        key = cache_key("probe", p, {"version": PROBE_VERSION, "audio_quality": audio_quality,
                                     "pictures": pictures})
        cached = cache_path(key, ".json")
        if cached is not None and cached.exists():
            try:
                info = MediaInfo.from_dict(json.loads(cached.read_text(encoding="utf-8")))
            except (ValueError, TypeError, KeyError):
                info = None  # stale or damaged entry: measure again
            if info is not None:
                info.path = str(p)
                return info
    info = _measure(p, audio_quality=audio_quality, pictures=pictures)
    if cached is not None:
        with contextlib.suppress(OSError, BadOutput):
            write_text_atomic(cached, json.dumps(info.to_dict(), default=str))
    return info


def _timecode(p: Path) -> dict[str, Any] | None:
    from mouthsync.media.timecode import picture_start_of_day, sound_start_of_day

    out: dict[str, Any] = {}
    with contextlib.suppress(BadInput):
        pic = picture_start_of_day(p)
        if pic is not None:
            out["picture_start_of_day_s"] = round(pic, 6)
    snd = sound_start_of_day(p)
    if snd is not None:
        out["sound_start_of_day_s"] = round(snd, 6)
    for key in list(out):
        t = out[key]
        out[key[:-2] + "_clock"] = f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"
    return out or None


def _measure(p: Path, *, audio_quality: bool, pictures: bool) -> MediaInfo:
    with open_input(p) as c:
        fmt = c.format.name
        duration = c.duration / 1e6 if c.duration else None
        video = _scan_video(c, p, pictures=pictures) if picture_stream(c) is not None else None
    audio = None
    others: list[dict[str, Any]] = []
    with open_input(p) as c:
        if c.streams.audio:
            audio = _scan_audio(c, p, quality=audio_quality)
        subs = [{"index": st.index, "codec": st.codec_context.name, "language": st.metadata.get("language"),
                 "text": st.codec_context.name in TEXT_SUBTITLE_CODECS} for st in c.streams.subtitles]
        for n, st in enumerate(c.streams.audio[1:], start=1):
            tb = float(st.time_base) if st.time_base else 0.0
            others.append({
                "audio_stream": n, "index": st.index, "codec": st.codec_context.name,
                "sample_rate": st.codec_context.sample_rate, "channels": st.codec_context.channels,
                "language": st.metadata.get("language"),
                "start": float(st.start_time * tb) if st.start_time is not None else None,
                "duration": float(st.duration * tb) if st.duration else None,
            })
    info = MediaInfo(
        path=str(p),
        format=fmt,
        size_bytes=p.stat().st_size,
        duration=duration,
        video=video,
        audio=audio,
        timing=_timing(video, audio),
        other_audio=others,
        timecode=_timecode(p),
        subtitles=subs,
    )
    info.findings = _findings(info)
    return info
