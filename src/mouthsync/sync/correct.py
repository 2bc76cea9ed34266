"""Correcting sync: turn a measured (or typed) delay and drift into a re-timed audio track.

Semantics, chosen so that ``check``'s figure can be pasted straight into ``fix``:

* ``delay`` is **the audio delay to remove**, with check's sign: ``+40ms`` means "the
  sound is 40 ms late (after the picture); move it 40 ms earlier". ``-2f`` means the sound
  is two frames early; it is moved two frames later. ``auto`` measures it with
  :func:`mouthsync.sync.delay.check_sync`. Frames are converted with the file's measured
  frame rate (frame count over the span of real timestamps, so VFR footage is honoured).
* ``drift`` is **the growth of that delay in ms per minute** (check's
  ``drift_ms_per_min``): ``+60`` means the sound falls 60 ms further behind every minute
  (audio clock 1000/1001 slow). It is removed by resampling the audio (played faster by
  ``1 + drift/60000``), never by dropping frames. ``auto`` uses check's figure, snapped to
  the exact ratio of a known clock mismatch (1001/1000, 25/24, 48/44.1) when within 10 %.
* ``delay="shots"`` (an edit whose shots are off by different amounts): each shot
  between picture cuts that check reads confidently more than a frame away from the
  whole file is moved by its own reading, every other shot by the whole file's, with a
  short cross-fade at the cuts (:func:`mouthsync.media.remux.map_pieces`); the audio is
  re-encoded. It does not combine with drift.
* ``delay="steps"`` (a take whose delay changes at a point, with no picture cut there: a
  recorder or stream that dropped or inserted sound, an audio edit): each part between
  the steps check located (:mod:`mouthsync.sync.steps`) is moved by its own reading,
  switching in the pause nearest each step when there is one; re-encoded, no drift.
* ``delay="turns"`` (a meeting whose speakers take turns at their own delays,
  :mod:`mouthsync.sync.turns`): each speaker's run of turns is moved by that speaker's
  reading, switching in the middle of the pause between two speakers; re-encoded, no
  drift.
* With drift, the delay line is ``d(t) = d_ref + k (t - t_ref)``; an explicit delay is the
  delay at the middle of the picture (what a whole-file measurement sees), an automatic one
  comes from a robust fit through check's windows. The output sound at picture time ``t``
  is the input sound at ``t + d(t)``.

The picture is never re-encoded: :func:`mouthsync.media.remux.retime_audio` copies every
non-audio packet bit for bit. A sidecar ``OUT.fix.json`` records what was done.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mouthsync import __version__
from mouthsync.core.atomic import check_output_path, write_text_atomic
from mouthsync.core.cache import file_digest
from mouthsync.core.errors import BadInput
from mouthsync.core.findings import Finding, Severity
from mouthsync.core.jsonsafe import dumps
from mouthsync.media.clocks import nearest_mismatch
from mouthsync.media.container import check_input_path, open_input, require_audio, require_video
from mouthsync.media.decode import frame_times, hidden_frames, rate_of
from mouthsync.media.remux import RemuxResult, replace_audio, retime_audio
from mouthsync.sync.steps import inside_takes
from mouthsync.sync.verdict import LOW_CONFIDENCE

ALGORITHM = "fix-1"  # bump when the meaning of a correction changes

# A measured drift is snapped to the nearest known clock mismatch (``media.clocks.KNOWN_MISMATCHES``)
# within 10 % of it, and either within 12 ms/min or moving the delay by at most 20 ms over
# the file: 25/24 and 25/23.976 lie 63 ms/min apart, which 10 % of 2.5 s/min cannot tell
# (over an hour 3.8 s); a 66 s 25-vs-24 clip measures within 3 ms/min, a 33 s one 15.
_SNAP_TOLERANCE = 0.10
_SNAP_CAP_MS_PER_MIN = 12.0
_SNAP_CAP_MS = 20.0
_DELAY_RE = re.compile(
    r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(f|fr|frame|frames|ms|s|sec)?\s*$", re.I
)
# check's drift-fit kinds that must not be resampled away, and why
_DRIFT_KINDS_NOT_FIXED = {
    "steps": "the window delays change in steps, not along a line (an edit or a cut?)",
    "insufficient": "too few confident windows to fit a drift line",
    "none": "check found no significant drift",
}
# Drift smaller than this fraction of a frame over the whole file is not worth resampling.
_MIN_DRIFT_FRAMES = 0.25


def parse_delay(text: str | float, fps: float | None) -> float | None:
    """``"auto"`` -> ``None``; ``"40ms"``, ``"0.04s"``, ``"-2f"`` -> seconds of audio delay.

    A bare number without unit is refused: ``2`` could be frames, ms or seconds, and a
    wrong guess moves the sound by orders of magnitude.
    """
    if isinstance(text, int | float):
        return float(text)
    t = str(text).strip().lower()
    if t == "auto":
        return None
    m = _DELAY_RE.match(t)
    if not m:
        raise BadInput(f"--delay {text!r}: use auto, or a number with a unit: 40ms, 0.04s, -2f")
    value = float(m.group(1))
    unit = (m.group(2) or "").lower()
    if not unit:
        if value == 0:
            return 0.0
        raise BadInput(
            f"--delay {text!r}: give a unit (ms, s or f for frames), e.g. {text}ms or {text}f"
        )
    if unit.startswith("f"):
        if not fps or not math.isfinite(fps) or fps <= 0:
            raise BadInput(f"--delay {text!r}: frame rate unknown, give the delay in ms instead")
        return value / fps
    if unit == "ms":
        return value / 1000.0
    return value


# A move must leave at least this much sound over the picture.
MIN_OVERLAP_S = 0.1
# A move that leaves more than this share of the picture without sound gets a warning.
LOST_SHARE = 0.25

# --delay shots / steps / turns / channels: each part of the sound moves by its own reading
PER_PART = {"shots": "shot", "steps": "part", "turns": "speaker's turn", "channels": "channel"}


def per_part(delay: str | float) -> str | None:
    """``"shots"``, ``"steps"``, ``"turns"`` or ``"channels"`` when ``delay`` asks for each
    part of the sound to move by its own reading; None for one delay (``auto`` or a figure)."""
    t = delay.strip().lower() if isinstance(delay, str) else ""
    return t if t in PER_PART else None


def parse_drift(text: str | float | None) -> float | str | None:
    """``"none"`` -> ``None``, ``"auto"`` -> ``"auto"``, ``"60"`` / ``"60ms/min"`` -> 60.0."""
    if text is None:
        return None
    if isinstance(text, int | float):
        return float(text)
    t = str(text).strip().lower()
    if t in ("none", "off", "0", ""):
        return None
    if t == "auto":
        return "auto"
    t = t.replace("ms/min", "").replace("ms per min", "").strip()
    try:
        value = float(t)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise BadInput(f"--drift {text!r}: use none, auto, or ms per minute such as 60 or -3.6")
    return value


def snap_drift(ms_per_min: float, minutes: float = 0.0) -> tuple[float, str]:
    """Speed (input seconds per output second) for a drift measured over ``minutes`` of
    media, snapped to a known clock ratio."""
    cap = max(_SNAP_CAP_MS_PER_MIN, _SNAP_CAP_MS / minutes if minutes > 0 else 0.0)
    m = nearest_mismatch(ms_per_min, _SNAP_TOLERANCE, cap)
    return (1.0 + ms_per_min / 60000.0, "") if m is None else (m.ratio, m.short)


def measured_fps(path: str | os.PathLike[str]) -> float:
    """The frame rate a frame nudge (``--delay 2f``) counts in, from real timestamps
    (:func:`mouthsync.media.decode.rate_of`: a constant-rate file with a frame missing still
    counts 40 ms frames)."""
    fps = rate_of(frame_times(path))
    if fps <= 0:
        raise BadInput(f"{path}: too few video frames to measure a frame rate")
    return fps


@dataclass
class FixPlan:
    """The correction as numbers, before anything is written."""

    delay_ms: float  # the delay removed (at t_ref when drifting), check's sign
    delay_frames: float
    delay_source: str  # "auto" or the user's text
    drift_ms_per_min: float  # 0.0 when not corrected
    drift_source: str  # "none", "auto" or the user's text
    drift_note: str
    speed: float  # input seconds of sound per output second
    shift_s: float  # the remux shift: output(t) = input(speed * t - shift_s)
    t_ref_s: float
    fps: float
    measured: dict[str, Any] | None = None  # check's summary when auto was used
    findings: list[Finding] = field(default_factory=list)
    audio_stream: int | None = None  # the only audio stream moved; None: all of them
    # --delay shots: [{start_s, end_s, delay_ms, from}] in time order, one per run of shots
    # moved by the same amount ("shot": its own reading, "file": the whole file's)
    pieces: list[dict[str, Any]] | None = None
    # --audio: the sound file that replaces the video's, where its first sample goes before
    # the correction (lined up with the camera's sound, else its own start), and the line-up
    sound: str | None = None
    sound_start_s: float = 0.0
    sound_speed: float = 1.0  # its clock against the camera's (seconds of it per picture second)
    lineup: dict[str, Any] | None = None
    placed_by: str = ""  # "sound", "timecode" or "" (at its own start)
    # --delay channels: [{channel, name, delay_ms, from}] per channel ("channel": its own
    # reading, "file": the file's, for a channel whose reading is not confident)
    channels: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["findings"] = [f.to_dict() for f in self.findings]
        return d


@dataclass
class FixResult:
    """What ``fix`` did: the plan, what the remux wrote, and where."""

    source: Path
    out: Path
    sidecar: Path
    plan: FixPlan
    remux: RemuxResult
    source_sha256: str
    out_sha256: str
    findings: list[Finding] = field(default_factory=list)
    after: dict[str, Any] | None = None  # check on the output, with --verify

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": "mouthsync",
            "version": __version__,
            "algorithm": ALGORITHM,
            "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "source": {"path": str(self.source), "sha256": self.source_sha256},
            "output": {"path": str(self.out), "sha256": self.out_sha256},
            "sidecar": str(self.sidecar),
            "audio_delay_removed_ms": self.plan.delay_ms,
            "audio_delay_removed_frames": self.plan.delay_frames,
            "delay_source": self.plan.delay_source,
            "drift_removed_ms_per_min": self.plan.drift_ms_per_min,
            "drift_source": self.plan.drift_source,
            "drift_note": self.plan.drift_note,
            "audio_speed": self.plan.speed,
            "delay_reference_s": self.plan.t_ref_s,
            "fps": self.plan.fps,
            "audio_stream": "all" if self.plan.audio_stream is None else self.plan.audio_stream,
            "pieces": self.plan.pieces,
            "channels": self.plan.channels,
            "audio_mode": self.remux.audio_mode,
            "audio_shift_applied_ms": self.remux.shift_s * 1000.0,
            "audio_shift_samples": self.remux.shift_samples,
            "sample_rate": self.remux.sample_rate,
            "audio_codec": self.remux.audio_codec,
            "video_packets_copied": self.remux.video_packets,
            "streams": [asdict(s) for s in self.remux.streams],
            "sound": None if self.plan.sound is None else {
                "path": self.plan.sound, "sha256": file_digest(self.plan.sound),
                "placed_at_s": self.plan.sound_start_s, "clock_speed": self.plan.sound_speed,
                "placed_by": self.plan.placed_by or "its own start",
                "lineup": self.plan.lineup},
            "measured": self.plan.measured,
            "verified": self.after,
            "findings": [f.to_dict() for f in self.findings],
        }


def _report_summary(report: Any) -> dict[str, Any]:
    d = report.to_dict() if hasattr(report, "to_dict") else dict(report)
    keep = (
        "audio_delay_ms",
        "audio_delay_frames",
        "fps",
        "confidence",
        "drift_ms_per_min",
        "verdict",
    )
    out = {k: d.get(k) for k in keep}
    out["windows"] = d.get("windows", [])
    out["shots"] = d.get("shots", [])
    out["steps"] = d.get("steps", [])
    faces = (d.get("details") or {}).get("faces")
    if faces:  # several faces: each one's own reading (``--delay turns`` moves them apart)
        out["faces"] = faces
    return out


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _verdict_text(report: Any) -> str:
    v = _get(report, "verdict")
    if isinstance(v, dict):
        return str(v.get("reason") or v.get("status") or "no verdict")
    return str(v or "no verdict")


def _windows(report: Any) -> list[tuple[float, float, float]]:
    """(centre s, delay s, confidence) of the report's certain windows with a finite delay."""
    rows = []
    for w in _get(report, "windows", []) or []:
        if _get(w, "uncertain", False):
            continue
        d = _get(w, "audio_delay_ms")
        s, e = _get(w, "start_s"), _get(w, "end_s")
        c = _get(w, "confidence", 1.0)
        if d is None or s is None or e is None or not math.isfinite(float(d)):
            continue
        rows.append(
            (0.5 * (float(s) + float(e)), float(d) / 1000.0, float(c if c is not None else 1.0))
        )
    return rows


def _stream_span(stream: Any) -> tuple[float, float] | None:
    """An audio stream's start and end on the presentation timeline (s), from its header;
    None when the header does not say."""
    tb = stream.time_base
    if tb is None or stream.start_time is None or not stream.duration:
        return None
    start = float(stream.start_time * tb)
    return start, start + float(stream.duration * tb)


def plan_fix(
    path: str | os.PathLike[str],
    *,
    delay: str | float = "auto",
    drift: str | float | None = None,
    report: Any = None,
    min_confidence: float = LOW_CONFIDENCE,
    audio_stream: int | None = None,
    sound: str | os.PathLike[str] | None = None,
    line_up: str = "auto",
    transcript: str | None = "auto",
    track_rate: float | None = None,
) -> FixPlan:
    """Work out the correction for ``path`` (measuring with ``check_sync`` when asked).

    ``sound``: a separate sound file (a recorder's, a dub) that will replace the video's
    sound: it is lined up with the camera's own sound when they match
    (:mod:`mouthsync.sync.lineup`), and the delay is measured and removed from there;
    ``audio_stream`` then names its stream. ``line_up``: as in ``check_sync`` (auto: by
    the camera's sound only beyond the lip-sync search). ``transcript``: what is said, as
    for ``check_sync`` (the words from a subtitle file measure as ``check`` did with them),
    and ``track_rate`` likewise (``check --track-rate``).

    ``report`` may be passed to reuse a check that was already run (a ``SyncReport`` or
    its ``to_dict()``). ``audio_stream``: the audio stream measured (and the only one the
    fix will move); None measures the first. Raises :class:`BadInput` when an automatic measurement is not
    trustworthy enough (confidence under ``min_confidence``): fixing by a wrong amount is
    worse than not fixing.
    """
    if not (math.isfinite(min_confidence) and 0.0 <= min_confidence <= 1.0):
        raise BadInput(f"--min-confidence must be between 0 and 1, not {min_confidence:g}")
    path = check_input_path(path)
    sound_span: tuple[float, float] | None = None  # the sound stream's own start and end (s)
    with open_input(path) as c:
        require_video(c, path)
        if sound is None:
            sound_span = _stream_span(require_audio(c, path, audio_stream or 0))
    times = frame_times(path)
    if sound is not None:
        from mouthsync.sync.lineup import applies

        sound = check_input_path(sound)
        applies(None, line_up, 0.0)  # a bad mode fails before any work
    fps = measured_fps(path)
    t_mid = 0.5 * (float(times[0]) + float(times[-1]))
    span = float(times[-1] - times[0])
    findings: list[Finding] = []
    by = per_part(delay)
    by_shot, by_step, by_channel, by_turn = by == "shots", by == "steps", by == "channels", by == "turns"
    delay_s = None if by else parse_delay(delay, fps)
    drift_v = parse_drift(drift)
    if by and drift_v is not None:
        raise BadInput(f"--delay {by} moves each {PER_PART[by]} by its own amount: it does not combine with --drift")
    need_check = delay_s is None or drift_v == "auto"
    file_trusted = True  # the whole file's measured delay may move the shots not sure of their own
    if need_check and report is None:
        try:
            from mouthsync.sync.delay import check_sync
        except ModuleNotFoundError:
            raise BadInput(
                "automatic measurement (check) is not available in this build; give --delay and --drift explicitly"
            ) from None
        report = check_sync(path, audio_path=sound, audio_stream=audio_stream or 0, line_up=line_up,
                            transcript=transcript, track_rate=track_rate)
    measured = _report_summary(report) if report is not None else None
    sound_start, sound_speed, lineup, placed_by = 0.0, 1.0, None, ""
    if sound is not None:
        sound_start, sound_speed, lineup, placed_by = _sound_placement(path, sound, report, audio_stream, line_up)

    if need_check:
        est = _get(report, "audio_delay_ms")
        conf = _get(report, "confidence")
        if est is None or not math.isfinite(float(est)):
            raise BadInput(
                f"{path}: check could not measure a delay ({_verdict_text(report)}); nothing written, give --delay explicitly"
            )
        file_trusted = conf is not None and math.isfinite(float(conf)) and float(conf) >= min_confidence
        # an edit whose shots disagree reads low as a whole: check then advises --delay shots,
        # and the shots it is sure of are what that moves (the others stay put)
        sure_shots = by_shot and any(_confident_shot(sh, min_confidence) for sh in _get(report, "shots") or [])
        if not file_trusted and not sure_shots:
            raise BadInput(
                f"{path}: the measured delay ({float(est):+.0f} ms) has confidence {float(conf or 0):.2f} "
                f"< {min_confidence:g} ({_verdict_text(report)}); nothing written, "
                "give --delay explicitly if you trust it"
            )
        unmeasured = [f for f in _get(report, "findings") or [] if _get(f, "check") == "sync.faces"]
        if unmeasured:
            # the face measured may not be the speaker (a gallery of more faces than check
            # measures): a 3x2 gallery read +302 ms at 0.33 on a silent face
            n = int(float(_get(unmeasured[0], "value") or 0))
            raise BadInput(f"{path}: {_get(unmeasured[0], 'message')}; nothing written: measure every face "
                           f"(mouthsync check FILE --faces {n} --json > R.json, then fix --report R.json) "
                           "or give --delay explicitly")
        # a take whose sound steps: one shift leaves the parts on the other side of a step off
        inside = inside_takes(_get(report, "steps"))
        if inside and not by_step:
            findings.append(Finding(
                "fix.steps", Severity.WARNING,
                "check found the delay stepping inside the take at "
                + ", ".join(f"{float(_get(sp, 'at_s')):.2f} s ({float(_get(sp, 'before_ms')):+.0f} -> "
                            f"{float(_get(sp, 'after_ms')):+.0f} ms)" for sp in inside[:4])
                + ": one shift leaves the other side of each step off",
                advice="--delay steps moves each part by its own reading"))
        # an edit whose parts read differently: one shift for the file leaves them off
        verdict = _get(report, "verdict")
        secs = (verdict.get("sections") or []) if isinstance(verdict, dict) else []
        if secs and not (by_shot or by_step or by_turn) and _get(_get(report, "drift"), "kind") != "drift":
            where = ", ".join(f"{x['start_s']:.1f}-{x['end_s']:.1f} s ({x['audio_delay_ms']:+.0f} ms)" for x in secs[:4])
            findings.append(Finding(
                "fix.sections", Severity.WARNING,
                f"{len(secs)} section(s) read differently from the whole file and stay off after one shift: {where}",
                advice="--delay shots moves each shot between picture cuts by its own reading"
                if len(_get(report, "shots") or []) > 1
                else "--delay steps moves each part between the steps check found by its own reading"
                if _get(report, "steps")
                else "--delay turns moves each speaker's turns by their own reading"
                if (_get(report, "details") or {}).get("turns")
                else "no picture cut was found: cut at the edits and fix each part (--delay auto)"))

    # drift
    drift_note = ""
    drift_source = "none" if drift_v is None else str(drift)
    speed = 1.0
    if drift_v == "auto":
        raw = _get(report, "drift_ms_per_min")
        rows = _windows(report)
        kind = _get(_get(report, "drift"), "kind")
        if kind in _DRIFT_KINDS_NOT_FIXED:
            drift_note = f"not corrected: {_DRIFT_KINDS_NOT_FIXED[kind]}"
            severity = Severity.WARNING if kind == "steps" else Severity.INFO
            advice = ""
            if kind == "steps" and raw is not None and math.isfinite(float(raw)):
                advice = (
                    f"if the audio clock is known to be off, give --drift {float(raw):.1f} "
                    "(check's slope); else cut at the edits and fix each part"
                )
            findings.append(Finding("fix.drift", severity, drift_note, advice=advice))
        elif raw is None or not math.isfinite(float(raw)) or len(rows) < 3:
            drift_note = "not corrected: check found no drift line (too few windows)"
            findings.append(Finding("fix.drift", Severity.INFO, drift_note))
        elif abs(float(raw)) / 60000.0 * span * fps < _MIN_DRIFT_FRAMES:
            drift_note = f"not corrected: {float(raw):+.1f} ms/min moves less than {_MIN_DRIFT_FRAMES:g} frame over the file"
            findings.append(
                Finding("fix.drift", Severity.INFO, drift_note, value=float(raw), unit="ms/min")
            )
        else:
            speed, name = snap_drift(float(raw), span / 60.0)
            drift_note = f"measured {float(raw):+.1f} ms/min" + (
                f", snapped to {name}" if name else ""
            )
    elif isinstance(drift_v, float):
        # an explicit figure is honoured exactly; only a measurement is snapped
        speed = 1.0 + drift_v / 60000.0
        drift_note = f"given {drift_v:+.2f} ms/min"
    k = speed - 1.0

    # delay at t_ref
    if delay_s is None:
        rows = _windows(report)
        if k != 0.0 and rows:
            c = np.array([r[0] for r in rows])
            d = np.array([r[1] for r in rows])
            w = np.array([max(r[2], 1e-3) for r in rows])
            t_ref = float(np.average(c, weights=w))
            d_ref = float(np.median(d - k * (c - t_ref)))
        else:
            t_ref, d_ref = t_mid, float(_get(report, "audio_delay_ms")) / 1000.0
        delay_source = by or "auto"
    else:
        t_ref, d_ref = t_mid, delay_s
        delay_source = str(delay)
    if not file_trusted:
        d_ref = 0.0  # only the shots sure of their own reading move
    shift_s = k * t_ref - d_ref
    pieces = (_shot_pieces(path, report, d_ref, fps, min_confidence, findings, file_trusted=file_trusted) if by_shot
              else _step_pieces(path, report, times, findings) if by_step
              else _turn_pieces(path, report, times, min_confidence, findings) if by_turn else None)
    channels = _channel_delays(path, report, d_ref, min_confidence, findings) if by_channel else None
    if not math.isfinite(d_ref) or abs(d_ref) > 10.0:
        raise BadInput(
            f"--delay {d_ref * 1000:+.0f} ms is more than 10 s: that is an edit, not a sync error"
        )
    picture_s = span + 1.0 / fps
    v0, v1 = float(times[0]), float(times[0]) + picture_s
    # where the sound lies once moved: its own stream's extent (a stream that starts seconds
    # after the picture is moved onto it), else taken to span the picture
    a0, a1 = sound_span if sound_span is not None else (v0, v1)
    a0, a1 = a0 - d_ref, a1 - d_ref
    if min(v1, a1) - max(v0, a0) < MIN_OVERLAP_S:
        raise BadInput(
            f"--delay {d_ref * 1000:+.0f} ms moves the sound off the picture ({picture_s:.2f} s long): "
            "nothing would be heard with it; nothing written")
    silent = max(0.0, a0 - v0) + max(0.0, v1 - a1)  # picture without sound
    outside = max(0.0, v0 - a0) + max(0.0, a1 - v1)  # sound beyond the picture
    if silent > LOST_SHARE * picture_s:
        where = "at its start" if a0 - v0 >= v1 - a1 else "at its end"
        findings.append(Finding(
            "fix.delay", Severity.WARNING,
            f"--delay {d_ref * 1000:+.0f} ms leaves {silent:.2f} s of the {picture_s:.2f} s picture without "
            f"sound ({where})" + (f" and puts {outside:.2f} s of sound beyond it" if outside >= 0.05 else ""),
            value=silent, unit="s"))
    if abs(k) > 0.1:
        raise BadInput(f"drift {k * 60000:+.0f} ms/min is beyond a clock mismatch (10 %)")
    return FixPlan(
        delay_ms=d_ref * 1000.0,
        delay_frames=d_ref * fps,
        delay_source=delay_source,
        drift_ms_per_min=k * 60000.0,
        drift_source=drift_source,
        drift_note=drift_note,
        speed=speed,
        shift_s=shift_s,
        t_ref_s=t_ref,
        fps=fps,
        measured=measured,
        findings=findings,
        audio_stream=audio_stream,
        pieces=pieces,
        sound=None if sound is None else str(sound),
        sound_start_s=sound_start,
        sound_speed=sound_speed,
        lineup=lineup,
        placed_by=placed_by,
        channels=channels,
    )


def _sound_placement(
    path: Path, sound: str | os.PathLike[str], report: Any, audio_stream: int | None, mode: str
) -> tuple[float, float, dict[str, Any] | None, str]:
    """Start, clock speed, line-up and "by" of the sound file that replaces the video's:
    the placement check measured the delay at (its report says), else decided here alone."""
    details = _get(report, "details") or {}
    done = details.get("placement")
    if done is not None:
        return float(done["start_s"]), float(done["speed"]), details.get("lineup"), str(done["by"])
    from mouthsync.media.decode import decode_audio
    from mouthsync.sync.delay import DEFAULT_MAX_DELAY_S
    from mouthsync.sync.lineup import placement_for

    audio = decode_audio(sound, rate=16000, mono=True, audio_stream=audio_stream or 0, dialogue=True)
    where, lu, _ = placement_for(path, audio, sound, mode, DEFAULT_MAX_DELAY_S)
    lineup = None if lu is None else {**lu.to_dict(), "applied": where.by == "sound"}
    return where.start_s, where.speed, lineup, where.by


def _channel_delays(
    path: Path, report: Any, file_delay_s: float, min_confidence: float, findings: list[Finding]
) -> list[dict[str, Any]]:
    """Each channel's delay to remove, for ``--delay channels`` (split microphones): its own
    reading when confident, else the file's (the measured channel's)."""
    rows = (_get(report, "details") or {}).get("channels")
    if not rows:
        raise BadInput(
            f"{path}: --delay channels needs one voice per channel (split microphones); check found "
            "the channels carry one mix: use --delay auto")
    out = []
    for r in rows:
        own = r.get("audio_delay_ms")
        mine = own is not None and (r.get("confidence") or 0.0) >= min_confidence
        out.append({"channel": r["channel"], "name": r.get("name", f"channel {r['channel']}"),
                    "delay_ms": float(own) if mine else file_delay_s * 1000.0, "from": "channel" if mine else "file"})
        if not mine:
            findings.append(Finding(
                "fix.channels", Severity.INFO,
                f"{out[-1]['name']}: its own reading is not confident ({r.get('confidence') or 0:.2f}); "
                "it moves by the file's delay"))
    return out


def _confident_shot(sh: Any, min_confidence: float) -> bool:
    """A shot ``--delay shots`` may move by its own reading."""
    d = _get(sh, "audio_delay_ms")
    return (d is not None and math.isfinite(float(d)) and not _get(sh, "uncertain", False)
            and float(_get(sh, "confidence") or 0.0) >= min_confidence)


def _shot_pieces(
    path: Path, report: Any, file_delay_s: float, fps: float, min_confidence: float, findings: list[Finding],
    file_trusted: bool = True,
) -> list[dict[str, Any]] | None:
    """Runs of shots to move by one amount each, for ``--delay shots``; None when every
    shot takes the file's delay (one shift does it).

    A shot keeps its own reading only when it is confident and more than a frame away
    from the whole file: a shot within a frame gets the file's figure (moving every cut by
    its own +-1 frame reading would add a jump at each cut for nothing), and an uncertain
    one too (said in a finding: a wrong move is worse than none). When the whole file's
    reading is not confident itself (``file_trusted`` False; ``file_delay_s`` is then 0),
    the uncertain shots are left where they are.
    """
    shots = _get(report, "shots") or []
    if len(shots) < 2:
        raise BadInput(f"{path}: check found no picture cut (one shot): use --delay auto")
    frame_ms = 1000.0 / fps
    d_file = file_delay_s * 1000.0
    runs: list[dict[str, Any]] = []
    unsure: list[str] = []
    for sh in shots:
        d = _get(sh, "audio_delay_ms")
        a, b = float(_get(sh, "start_s")), float(_get(sh, "end_s"))
        own = _confident_shot(sh, min_confidence)
        if not own:
            unsure.append(f"{a:.1f}-{b:.1f} s")
        use, src = (float(d), "shot") if own and abs(float(d) - d_file) > frame_ms else (d_file, "file")
        if runs and runs[-1]["from"] == src == "file":
            runs[-1]["end_s"] = round(b, 3)
        else:  # ms to 3 decimals: the move stays exact to the sample
            runs.append({"start_s": round(a, 3), "end_s": round(b, 3), "delay_ms": round(use, 3), "from": src})
    if unsure:
        given = ("given the whole file's delay" if file_trusted
                 else "left as they are (the whole file's reading is not confident either)")
        findings.append(Finding(
            "fix.shots", Severity.INFO if file_trusted else Severity.WARNING,
            f"{len(unsure)} shot(s) too uncertain to move on their own, {given}: "
            + ", ".join(unsure[:6]) + (" ..." if len(unsure) > 6 else "")))
    if all(r["from"] == "file" for r in runs):
        findings.append(Finding("fix.shots", Severity.INFO,
                                "every shot reads within a frame of the whole file: one shift for all"))
        return None
    return runs


def _step_pieces(path: Path, report: Any, times: np.ndarray, findings: list[Finding]) -> list[dict[str, Any]]:
    """The parts between the steps check located, each with its own delay, for
    ``--delay steps`` (:mod:`mouthsync.sync.steps`); the switch is each step's cut."""
    steps = _get(report, "steps") or []
    if not steps:
        kind = _get(_get(report, "drift"), "kind")
        why = "its windows read one delay" if kind in ("none", "drift") else "no two runs of confident windows differ"
        raise BadInput(f"{path}: check found no step in the delay ({why}): use --delay auto")
    edges = [float(times[0]), *[float(_get(sp, "cut_s")) for sp in steps], float(times[-1])]
    delays = [float(_get(steps[0], "before_ms")), *[float(_get(sp, "after_ms")) for sp in steps]]
    pieces = [{"start_s": round(a, 3), "end_s": round(b, 3), "delay_ms": round(d, 3), "from": "step"}
              for a, b, d in zip(edges[:-1], edges[1:], delays, strict=True)]
    inside = [sp for sp in steps if not _get(sp, "in_pause")]
    if inside:
        findings.append(Finding(
            "fix.steps", Severity.INFO,
            f"{len(inside)} switch(es) fall inside speech, with no pause near the step: "
            + ", ".join(f"{float(_get(sp, 'cut_s')):.2f} s" for sp in inside)
            + " (cross-faded; listen there)"))
    return pieces


# A pause between two speakers' turns longer than this may hold someone else's speech
# (``_turn_pieces``), as a turn takes at least ``sync.turns.MIN_TURN_S`` of talking; the
# switch into or out of it lies this far inside it.
_TURN_GAP_S = 1.0
_SWITCH_INTO_S = 0.1


def _turn_pieces(path: Path, report: Any, times: np.ndarray, min_confidence: float,
                 findings: list[Finding]) -> list[dict[str, Any]]:
    """One part per run of one speaker's turns (``details["turns"]``,
    :mod:`mouthsync.sync.turns`), each moved by that speaker's reading, for ``--delay
    turns``.

    A long pause before, between or after the turns (over :data:`_TURN_GAP_S`) may hold
    speech check read to no speaker (a face too unsure of its own reading to count), and
    a speaker read below ``min_confidence`` is not sure of their own: both are left where
    they are (each speaker has their own delay, so another's would be a guess, and a
    wrong move is worse than none).

    Where the parts meet: the output sound at picture time ``s`` comes from the input at
    ``s + d``, so both parts' sources must fall in the pause between the turns ``[p0,
    p1]`` (the end of one speaker's sound and the start of the next's: a talk span's ends
    lie on either clock, so each speaker's sound is taken to reach their delay beyond
    it): ``s + d1`` and ``s + d2`` in it, else the end of one word is cut or heard
    twice. The switch is the middle of what allows that, ``(p0 + p1 - d1 - d2) / 2``; a
    pause shorter than the two delays differ (people talking over each other) is said
    in a finding. Beside a left pause of unknown speech, the switch is a tenth of a
    second into it from the speaker's side.
    """
    turns = (_get(report, "details") or {}).get("turns") or []
    talks = sorted((float(a), float(b), t) for t in turns for a, b in t.get("talks") or [])
    if len({t["face"] for _, _, t in talks}) < 2:
        raise BadInput(f"{path}: check found no speakers taking turns at different delays: use --delay auto")
    runs: list[list[Any]] = []  # [start, end, turn]
    for a, b, t in talks:
        if runs and runs[-1][2]["face"] == t["face"]:
            runs[-1][1] = max(runs[-1][1], b)
        else:
            runs.append([a, b, t])
    # the parts to move: (talk start, talk end, removed delay s, source: a face, or "left" as it is)
    parts: list[tuple[float, float, float, str]] = []
    unsure, gaps = [], []
    last = float(times[0])
    for t0, t1, t in runs:
        if t0 - last > _TURN_GAP_S:
            if parts:
                gaps.append(f"{last:.1f}-{t0:.1f} s")
            parts.append((last, t0, 0.0, "left"))
        own = t.get("audio_delay_ms") is not None and float(t.get("confidence") or 0.0) >= min_confidence
        if not own:
            unsure.append(f"face {t['face']} ({t0:.1f}-{t1:.1f} s)")
        parts.append((t0, t1, float(t["audio_delay_ms"]) / 1000.0 if own else 0.0, f"face {t['face']}" if own else "left"))
        last = t1
    if float(times[-1]) - last > _TURN_GAP_S:
        parts.append((last, float(times[-1]), 0.0, "left"))
    switches, tight = [], []
    for (_, b1, d1, src1), (a2, _, d2, src2) in zip(parts, parts[1:], strict=False):
        # a talk span is where the speech is heard over the moving mouth: its ends lie on the
        # picture's clock or the sound's, so each speaker's sound is taken to reach d beyond
        p0, p1 = b1 + max(0.0, d1), a2 + min(0.0, d2)
        if src1 == "left" and src2 != "left":  # out of a pause of unknown speech into a turn
            s = p1 - max(d1, d2) - _SWITCH_INTO_S
        elif src2 == "left" and src1 != "left":  # out of a turn into such a pause
            s = p0 - min(d1, d2) + _SWITCH_INTO_S
        else:
            s = 0.5 * (p0 + p1 - d1 - d2)
            if p1 - p0 < abs(d1 - d2):
                tight.append(f"{s:.2f} s")
        switches.append(s)
    edges = [float(times[0]), *switches, float(times[-1])]
    pieces = [{"start_s": round(a, 3), "end_s": round(b, 3), "delay_ms": round(d * 1000.0, 3), "from": src}
              for a, b, (_, _, d, src) in zip(edges[:-1], edges[1:], parts, strict=True)]
    if gaps:
        findings.append(Finding("fix.turns", Severity.INFO,
                                f"{len(gaps)} pause(s) of over {_TURN_GAP_S:g} s between speakers' turns (silence, "
                                "or speech no face was read to) left where they are: " + ", ".join(gaps[:6])))
    if unsure:
        findings.append(Finding("fix.turns", Severity.INFO,
                                f"{len(unsure)} turn(s) too uncertain to move by their speaker's reading, left where "
                                "they are: " + ", ".join(unsure[:6])))
    if tight:
        findings.append(Finding("fix.turns", Severity.INFO,
                                "speakers talk over each other (or barely pause) at " + ", ".join(tight)
                                + ": the switch falls inside speech (cross-faded; listen there)"))
    return pieces


def sidecar_path(out: str | os.PathLike[str]) -> Path:
    """Where the record of a fix goes: ``OUT.fix.json`` beside the output."""
    out = Path(out)
    return out.with_name(out.name + ".fix.json")


def fix_sync(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    delay: str | float = "auto",
    drift: str | float | None = None,
    mode: str = "auto",
    report: Any = None,
    min_confidence: float = LOW_CONFIDENCE,
    verify: bool = False,
    audio_stream: int | None = None,
    sound: str | os.PathLike[str] | None = None,
    line_up: str = "auto",
    transcript: str | None = "auto",
    track_rate: float | None = None,
) -> FixResult:
    """Write ``out``: ``path`` with its audio delay (and optionally drift) removed.

    See the module docstring for the meaning of ``delay`` and ``drift``. The picture is
    copied bit for bit; the audio is moved by timestamps when the container allows it
    losslessly, else re-encoded with samples padded/trimmed (sample-exact) or resampled.
    ``mode`` forces ``copy`` or ``encode``. Writes ``OUT.fix.json`` beside ``out``.
    ``verify`` runs check on the output and records what it reads; a residual delay over
    one frame (with a confident reading) is a warning finding. ``audio_stream``: measure
    and move only that audio stream (counted from 0), copying the others untouched; None
    (default) measures the first and moves them all (one clock in a normal master).
    """
    src = check_input_path(path)
    inputs = [src] if sound is None else [src, check_input_path(sound)]
    check_output_path(out, inputs)
    side = sidecar_path(out)
    check_output_path(side, inputs)
    if sound is not None and mode == "copy":
        raise BadInput("--audio writes the new sound afresh (placed and cut to the picture): --audio-mode copy does not apply")
    if sound is not None and per_part(delay):
        raise BadInput(f"--delay {per_part(delay)} moves the video's own sound: it does not combine with --audio")
    plan = plan_fix(src, delay=delay, drift=drift, report=report, min_confidence=min_confidence,
                    audio_stream=audio_stream, sound=sound, line_up=line_up, transcript=transcript,
                    track_rate=track_rate)
    pieces = None if plan.pieces is None else [(p["start_s"], -p["delay_ms"] / 1000.0) for p in plan.pieces]
    if sound is not None:
        # out(t) = placed(speed * t - shift_s), placed(t) = sound((t - sound_start) * sound_speed)
        remux = replace_audio(src, inputs[1], out, start_s=(plan.shift_s + plan.sound_start_s) / plan.speed,
                              speed=plan.speed * plan.sound_speed, sound_stream=audio_stream or 0)
    else:
        shifts = None if plan.channels is None else [-c["delay_ms"] / 1000.0 for c in plan.channels]
        remux = retime_audio(src, out, shift_s=plan.shift_s, speed=plan.speed, mode=mode, audio_stream=audio_stream,
                             pieces=pieces, channel_shifts=shifts)
    findings = list(plan.findings)
    # (the output is read again only when the source hides frames: a master can be large)
    shown_in = len(frame_times(src))
    shown_out = len(frame_times(out)) if hidden_frames(src) else shown_in
    if shown_out != shown_in:
        # an MP4 edit list that hides the frames before a cut point (ffmpeg -ss -c copy):
        # a container without edit lists shows them (the packets are copied all the same)
        findings.append(Finding(
            "fix.frames", Severity.WARNING,
            f"the output shows {shown_out} frames where the source shows {shown_in}: {Path(out).suffix} cannot "
            "carry the source's edit list, which hides frames before its first",
            advice=f"write a {src.suffix} file, as the source is"))
    elif abs(plan.delay_ms) < 1e-9 and plan.speed == 1.0:
        findings.append(
            Finding("fix.noop", Severity.INFO, "nothing to correct: the output is a copy")
        )
    after = (_verify(out, plan.fps, findings, audio_stream or 0, plan.pieces, transcript, track_rate)
             if verify else None)
    result = FixResult(
        after=after,
        source=src,
        out=Path(out),
        sidecar=side,
        plan=plan,
        remux=remux,
        source_sha256=file_digest(src),
        out_sha256=file_digest(out),
        findings=findings,
    )
    write_text_atomic(side, dumps(result.to_dict()) + "\n", [src])
    return result


def _verify(
    out: str | os.PathLike[str], fps: float, findings: list[Finding], audio_stream: int = 0,
    pieces: list[dict[str, Any]] | None = None, transcript: str | None = "auto", track_rate: float | None = None,
) -> dict[str, Any]:
    """Check the written file; add a finding when it still reads out of sync (the whole
    file, a shot that ``--delay shots`` moved on its own reading, or a speaker that
    ``--delay turns`` did)."""
    from mouthsync.sync.delay import check_sync

    summary = _report_summary(check_sync(out, audio_stream=audio_stream, transcript=transcript, track_rate=track_rate))
    for sp in inside_takes(summary.get("steps")):
        findings.append(Finding(
            "fix.verify", Severity.WARNING,
            f"the output still steps from {sp['before_ms']:+.0f} to {sp['after_ms']:+.0f} ms at {sp['at_s']:.2f} s",
            advice="look there (--plot): the step may lie elsewhere in its span "
                   f"({sp['between_s'][0]:.1f}-{sp['between_s'][1]:.1f} s); run fix --delay steps on the output",
            value=sp["after_ms"] - sp["before_ms"], unit="ms", start_s=sp["at_s"]))
    moved = [p for p in pieces or [] if p["from"] == "shot"]
    for sh in summary.get("shots") or []:
        d = sh.get("audio_delay_ms")
        if sh.get("uncertain") or d is None or abs(d) <= 1000.0 / fps:
            continue
        if any(p["start_s"] <= sh["start_s"] < p["end_s"] for p in moved):
            findings.append(Finding(
                "fix.verify", Severity.WARNING,
                f"the shot at {sh['start_s']:.1f}-{sh['end_s']:.1f} s still reads {d:+.1f} ms after its own correction",
                advice="look at that shot (--plot), or nudge it on its own",
                value=d, threshold=1000.0 / fps, unit="ms", start_s=sh["start_s"], end_s=sh["end_s"]))
    # a meeting's speakers moved by their own readings (--delay turns): the same video, so
    # the same faces in the same order
    speakers = {p["from"].removeprefix("face ") for p in pieces or [] if p["from"].startswith("face ")}
    for f in summary.get("faces") or []:
        fd = f.get("audio_delay_ms")
        if (str(f.get("face")) in speakers and fd is not None and (f.get("confidence") or 0.0) >= LOW_CONFIDENCE
                and abs(fd) > 1000.0 / fps):
            findings.append(Finding(
                "fix.verify", Severity.WARNING,
                f"face {f['face']} still reads {fd:+.1f} ms after its turns were moved by its own reading",
                advice="check that face's turns (--plot), or run fix --delay turns on the output",
                value=fd, threshold=1000.0 / fps, unit="ms"))
    d, conf = summary.get("audio_delay_ms"), summary.get("confidence") or 0.0
    if d is None or conf < LOW_CONFIDENCE:
        findings.append(
            Finding(
                "fix.verify",
                Severity.INFO,
                f"check on the output is not confident ({conf:.2f})",
                value=d,
                unit="ms",
            )
        )
    elif abs(d) > 1000.0 / fps:
        findings.append(
            Finding(
                "fix.verify",
                Severity.WARNING,
                f"check on the output still reads {d:+.1f} ms ({d * fps / 1000:+.2f} frames)",
                advice="run fix again on the output, or give --delay explicitly",
                value=d,
                threshold=1000.0 / fps,
                unit="ms",
            )
        )
    return summary


