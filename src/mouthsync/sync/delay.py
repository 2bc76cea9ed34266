"""Audio delay, confidence, per-window delays and drift: the ``check`` measurement.

Method (see ``docs/sync.md`` for the measurements behind every choice):

1. The face track gives the lip aperture at true frame times; its slow baseline (pose,
   zoom) is removed and its time derivative taken.
2. The speech timelines give phones (by default an aligned machine transcript and phonetic
   recognition, whose expected openings are averaged); the coarticulated *expected opening* is evaluated at
   ``frame_time + d`` for every candidate delay ``d`` on a 2 ms grid (the audio side is
   continuous in time, so sub-frame delays are exact, no frame interpolation).
3. For each ``d`` three agreements are computed on the same frames (fixed support; outside
   the audio the expected mouth is at rest; each a correlation that leaves out the
   worst-agreeing fifth of 12-frame blocks, :data:`TRIM_BLOCK`): correlation of opening
   with expected opening, of opening velocity with expected velocity (onsets and closures
   are sharp, so this pins the delay), and the held-out correlation of a per-clip learned
   mapping from audio band energies to aperture (cross-validated so it cannot fit its own
   lag). Each curve is z-scored and the weighted sum is the agreement curve.
4. The peak (parabolic refinement) is the raw delay; one global constant
   (:data:`CALIBRATION_MS`, the natural lead of the mouth over the sound, measured once on
   the sync-screened VoxCeleb clips) is subtracted.
5. Confidence combines peak prominence against the best rival peak, the correlation
   strength at the peak, and how much speech and valid face the window holds.

The same search runs per window (default 5 s, hop 2.5 s); a Theil-Sen line through the
confident window delays gives drift (:mod:`mouthsync.sync.drift`).

This module puts the measurement together (:func:`analyse`) and runs it on a file
(:func:`check_sync`): the signals compared are :mod:`mouthsync.sync.signals`, the search
over a span of frames :mod:`mouthsync.sync.search`, which speech timelines are used
:mod:`mouthsync.sync.sources`, and the report :mod:`mouthsync.sync.report`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import numpy as np

from mouthsync.core.errors import BadInput, NoFace, Unaligned
from mouthsync.core.findings import Finding, Severity
from mouthsync.core.priority import BACKGROUND_NICE
from mouthsync.face.shots import shot_spans, span_mask, transitions
from mouthsync.media.audio_quality import clipping
from mouthsync.media.decode import Audio, decode_audio, frame_step
from mouthsync.media.echo import echo_decay
from mouthsync.sync.beyond import beyond_search
from mouthsync.sync.drift import DriftFit, fit_drift, interpret
from mouthsync.sync.report import Curve, Evidence, SyncReport, WindowEstimate
from mouthsync.sync.search import (
    DRIFT_MIN_GAIN,
    GRID_STEP_S,
    Estimate,
    clock_scan,
    estimate_window,
    fit_weights,
    global_drift,
    late_fusion,
    source_searches,
    window_spans,
)
from mouthsync.sync.signals import Signals
from mouthsync.sync.sources import (
    AUTO_MODE,
    DEFAULT_TRANSCRIPT,
    LONG_AUDIO_S,
    SETTLED_CONFIDENCE,
    at_search_edge,
    cascade_levels,
    decides_early,
    ensemble_modes,
    given_words,
    measure_in_steps,
)
from mouthsync.sync.standards import get_standard
from mouthsync.sync.steps import (
    delay_runs,
    find_steps,
    note_shot_changes,
    shots_refute_line,
    steps_beat_line,
)
from mouthsync.sync.still import StillSpan, common_still, still_findings, still_mask, still_spans
from mouthsync.sync.turns import in_turns, takes_turns, unsure_speakers
from mouthsync.sync.verdict import (
    LOW_CONFIDENCE,
    clipping_finding,
    coding_finding,
    echo_finding,
    judge_report,
    picture_finding,
    picture_weight,
    small_face_finding,
)

if TYPE_CHECKING:
    from mouthsync.face.coding import MouthCoding
    from mouthsync.sync.lineup import Lineup

ALGORITHM = "sync-delay-7"
# Natural speech: the mouth starts moving slightly before the sound is heard, so a
# perfectly synced clip reads a small positive raw delay. One constant for all clips,
# measured on the sync-screened wild/ clips (bench/sync_accuracy.py; docs/sync.md).
CALIBRATION_MS = 0.0
# Measured on the shift protocol (docs/sync.md, ablation): velocity carries the timing,
# opening settles which of several velocity peaks is right; the learned envelope mapping
# is precise on some clips but picks wrong peaks on others, so it is off by default. The
# mouth width against the expected lip spreading (rounded W/UW/OW against spread IY/EH) is
# a second, independent view of the same phones: it fixes the wrong peaks of the hardest
# clip at large shifts (whole frames 95.7 -> 97.8 %, docs/sync.md "Mouth width").
DEFAULT_WEIGHTS: dict[str, float] = {"opening": 0.2, "velocity": 1.0, "width": 0.3, "envelope": 0.0}
DEFAULT_MAX_DELAY_S = 0.8
# The widest search ``check --max-delay`` allows: the expected curves reach _GRID_PAD_S
# beyond the sound, and a drift search warps up to ~0.5 s more at the ends of a long clip.
MAX_SEARCH_S = 1.5
# The narrowest search ``check --max-delay`` allows (ms): a peak needs candidates around it
# beyond the edge band (``search.SEARCH_EDGE_S``) and a rival to be measured against.
MIN_SEARCH_MS = 100.0
# A long clip's confidence may rise to its confident windows' median only in full where
# at least this share of its measured windows is confident (less: in proportion). Other
# recordings under a 30 s take had 1-2 confident windows of 11 by chance and read up to
# 0.58 on them (0.21 with the share); the take's own sound had 55-74 % of its windows
# confident, under pink noise at 10 dB 43-55 % (docs/sync.md, "Few confident windows").
GOOD_WINDOW_SHARE = 0.5
# Drift from which a window's search undoes it around the window's middle (``along_line``):
# 1000/1001 moves a 5 s window's delay by 5 ms, 25 vs 24 by 208 ms.
_WINDOW_WARP_MS_PER_MIN = 600.0


def analyse(
    track: Any,
    timeline: Any,
    audio: Audio,
    *,
    window_s: float = 5.0,
    hop_s: float = 2.5,
    standard: str = "bt1359",
    max_delay_s: float = DEFAULT_MAX_DELAY_S,
    weights: dict[str, float] | None = None,
    calibration_ms: float = CALIBRATION_MS,
    source: str = "",
    others: tuple[Any, ...] | list[Any] = (),
    centre_s: float = 0.0,
    clock_near: float | None = None,
    picture: MouthCoding | None = None,
) -> SyncReport:
    """Measure delay, confidence, windows and drift from a face track and a speech timeline.

    ``centre_s``: the candidate delays span ``centre_s`` +- ``max_delay_s`` (a sound stream
    that starts far from its picture, :func:`_offset_hypothesis`).

    ``timeline`` is one speech timeline or a list of them (their expected openings are
    averaged; speech activity comes from the first). When the track holds picture cuts
    (:func:`mouthsync.face.shots.shot_spans`), every shot is measured alone as well
    (``SyncReport.shots``), like a window bounded by the edit instead of the clock.

    ``others``: more faces' tracks (of the same picture) measured together with ``track``
    (:meth:`Signals.joined`): the faces of a dialogue, who speak in turn.

    ``clock_near``: the clock ratio an earlier measurement of the same file found
    (``details["clock_ratio"]``): the known-clock scan tries only the ratios near it.

    ``picture``: how coarsely the lips of ``track`` were coded (``face.coding``): past the
    line where their detail goes, every confidence is held down (``verdict.picture_weight``).

    The library core of :func:`check_sync`, separate so the benchmark can feed shifted
    audio in memory without writing files.
    """
    get_standard(standard)  # fail early on a bad key
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    # ``equal`` mixes the phone sources equally (confidence, drift); ``sig`` is weighted by
    # how well each source alone fits the face (the delay search), see ``source_searches``
    first = timeline[0] if isinstance(timeline, (list, tuple)) else timeline
    parts: list[Signals] = []
    still: list[StillSpan] = []
    # frames inside a dissolve show two faces mixed: left out like frames without a face
    # (their mouth read a 0.6 s dissolve's shot 23 ms off the shot's own take)
    found = transitions(track)
    mixed = span_mask(track, found.dissolves)
    if mixed.any():
        track = dataclasses.replace(track, valid=track.valid & ~mixed)
        others = [dataclasses.replace(o, valid=o.valid & ~mixed) for o in others]
    for i, face in enumerate([track, *others]):
        own = still_spans(face.times, face.mouth["aperture"], face.valid, list(first.speech),
                          getattr(face, "picture_change", None))
        mask = still_mask(np.asarray(face.times), own)
        parts.append(Signals(face, timeline, audio, still=mask) if i == 0 else parts[0].for_face(face, mask))
        # with several faces, only where every one of them is still is nothing measured
        still = own if i == 0 else common_still(still, own, list(first.speech))
    equal = parts[0] if len(parts) == 1 else Signals.joined(parts, [(x.start_s, x.end_s) for x in still])
    equal.picture_weight = picture_weight(picture)
    delays = centre_s + np.arange(-max_delay_s, max_delay_s + GRID_STEP_S / 2, GRID_STEP_S)
    every = np.ones(equal.times.size, dtype=bool)
    source_fit, source_curves = source_searches(equal, every, delays, w)
    sig = equal.mixed(fit_weights(source_fit)) if source_fit else equal
    conf_sig = equal if source_fit else None
    glob = estimate_window(sig, every, delays, w, conf_sig, second=late_fusion(source_fit, source_curves))
    spans = window_spans(float(sig.times[0]), float(sig.times[-1]), window_s, hop_s)
    if len(spans) == 1:
        est_list = [(spans[0], glob)]
    else:
        est_list = []
        for a, b in spans:
            sel = (sig.times >= a) & (sig.times <= b)
            # (no late fusion here: per window it moved the window line that starts the
            # drift search, and a 1001/1000 stretch then read 70 ms/min instead of 59)
            est_list.append(((a, b), estimate_window(sig, sel, delays, w, conf_sig)))

    def span_estimate(a: float, b: float, e: Estimate) -> WindowEstimate:
        ms = None if e.delay_s is None else e.delay_s * 1000.0 - calibration_ms
        return WindowEstimate(a, b, ms, e.confidence, e.uncertain, e.note)

    windows = [span_estimate(a, b, e) for (a, b), e in est_list]
    shots = shot_spans(track, found=found)
    shot_estimates = [
        span_estimate(a, b, estimate_window(sig, (sig.times >= a) & (sig.times < b), delays, w, conf_sig))
        for a, b in shots
    ] if len(shots) > 1 else []
    frame_ms = 1000.0 / sig.fps
    note_shot_changes(windows, shot_estimates, frame_ms)
    centers = np.array([(x.start_s + x.end_s) / 2 for x in windows])
    wd = np.array([np.nan if x.audio_delay_ms is None else x.audio_delay_ms for x in windows])
    wc = np.array([x.confidence for x in windows])
    drift = fit_drift(centers, wd, wc, frame_ms=frame_ms, min_confidence=LOW_CONFIDENCE)
    span = float(sig.times[-1] - sig.times[0])
    mid = 0.5 * (float(sig.times[0]) + float(sig.times[-1]))
    clock = _known_clock_drift(sig, glob, delays, w, conf_sig, centre_s, calibration_ms, mid,
                               clock_near) if span >= 20.0 else None
    # the ratio the scan found, before the warp search refines the line's slope
    clock_ratio = None if clock is None else 1.0 + float(clock[0].ms_per_min or 0.0) / 60000.0
    if clock is not None:
        drift, glob = clock
    elif shots_refute_line(shot_estimates, drift, frame_ms):
        drift.kind, drift.interpretation = "steps", None
    steps = []
    runs = delay_runs(windows, frame_ms) if len(windows) >= 4 and clock is None else []
    if runs and (drift.kind in ("steps", "none") or steps_beat_line(runs, drift, frame_ms)):
        # a late stretch of a few windows reads "none" to the robust drift line, or bends it
        # into a slope, but it is a step all the same
        def part_delay(sel: np.ndarray) -> float | None:
            e = estimate_window(sig, sel, delays, w, conf_sig)
            return None if e.delay_s is None or e.uncertain else e.delay_s

        steps = find_steps(sig, runs, w, frame_ms, calibration_ms, part_delay, shots=shot_estimates)
        if steps:
            drift.kind, drift.interpretation = "steps", None
    delay_at_s: float | None = None if clock is None else mid
    drift_gain: float | None = None  # the warp search's agreement at its slope minus at no drift
    if drift.kind in ("drift", "none") and glob.delay_s is not None and span >= 20.0:
        around, center = 0.0, glob.delay_s
        if drift.has_line:
            # start from the window line: a steep drift smears the unwarped whole-clip peak
            # (a clip drifting 280 ms/min read confidence 0 and a drift capped at the edge
            # of a search around zero)
            around = drift.ms_per_min
            center = (drift.at(mid) + calibration_ms) / 1000.0
        # the equal mix: over a long clip every source has enough material, and their mean
        # measured the 1001/1000 stretch within 2-3 % where the fit-weighted mix read 8-10 %
        warp_top = global_drift(equal, center, w, around_ms_per_min=around)
        if warp_top is not None:
            g, gain = warp_top
            drift.ms_per_min = g
            drift_gain = gain
            # a drift moves the delay by half a frame over the file, and the agreement says so
            drift.kind = "drift" if abs(g) / 60.0 * span > 0.5 * frame_ms and gain >= DRIFT_MIN_GAIN else "none"
            drift.interpretation = interpret(g) if drift.kind == "drift" else None
            drift.method = "global warp search" if clock is None else "known clock ratios, then global warp search"
            if drift.kind == "drift":
                # the headline delay of a drifting clip: the delay at its middle, measured
                # with the drift undone (every frame then agrees at one delay), searched
                # around the line's middle when that is far out (half an hour of a
                # 1000/1001 drift puts it +0.9 s out, beyond a search around zero)
                warped = estimate_window(sig, every, recentred(delays, center, centre_s, max_delay_s), w, conf_sig,
                                         warp=g / 60000.0)
                if warped.delay_s is not None:
                    glob = warped
                    delay_at_s = mid
                    # the line through the headline, with the warp search's slope
                    drift.intercept_ms = warped.delay_s * 1000.0 - calibration_ms - g / 60.0 * mid
                    if _leaves_search(drift, sig.times, calibration_ms, centre_s, max_delay_s):
                        # a long drift carries the delay out of the search: the windows and
                        # shots are searched again around the line (they read the edge, or
                        # a wrong peak, beyond it)
                        line = (drift, calibration_ms, centre_s, max_delay_s)
                        windows = [span_estimate(x.start_s, x.end_s, e) for x, e in zip(windows, along_line(
                            sig, [(x.start_s, x.end_s) for x in windows], delays, w, conf_sig, *line), strict=True)]
                        if shot_estimates:
                            shot_estimates = [span_estimate(a, b, e) for (a, b), e in zip(shots, along_line(
                                sig, shots, delays, w, conf_sig, *line, end_inclusive=False), strict=True)]
                        note_shot_changes(windows, shot_estimates, frame_ms, drift)
                        good = [x for x in windows if x.audio_delay_ms is not None and not x.uncertain]
                        drift.measure_spread([0.5 * (x.start_s + x.end_s) for x in good],
                                             [float(x.audio_delay_ms) for x in good])  # type: ignore[arg-type]
    raw_ms = None if glob.delay_s is None else glob.delay_s * 1000.0
    delay_ms = None if raw_ms is None else raw_ms - calibration_ms
    conf = glob.confidence
    if len(windows) > 1:
        # a long clip is as trustworthy as its confident windows agree with the global peak
        good = [x for x in windows if x.audio_delay_ms is not None and not x.uncertain]
        if good and delay_ms is not None and drift.kind != "drift":
            agree = np.mean([abs(x.audio_delay_ms - delay_ms) <= frame_ms for x in good])  # type: ignore[operator]
            # ... and as many of its measured windows are confident: a few chance windows of
            # a wrong sound must not speak for the clip (GOOD_WINDOW_SHARE)
            measured = sum(x.audio_delay_ms is not None for x in windows)
            share = min(1.0, len(good) / (GOOD_WINDOW_SHARE * measured))
            conf = float(np.clip(max(conf, float(np.median([x.confidence for x in good])) * share)
                                 * (0.5 + 0.5 * agree), 0, 1))
    findings, verdict = judge_report(delay_ms, conf, glob.note, drift, windows, standard, frame_ms,
                                     shots=shot_estimates, snap_s=hop_s, steps=steps)
    findings += still_findings(still, sig.speech_seconds(float(sig.times[0]), float(sig.times[-1])))
    coded = picture_finding(picture)
    if coded is not None:
        findings.append(coded)
    curve = Curve(glob.grid * 1000.0 - calibration_ms, glob.combined, glob.components)
    details = {
        "algorithm": ALGORITHM,
        "weights": w,
        # the candidate delays the headline was searched over (raw; moved along a drift line
        # when that leaves the search around ``centre_s``)
        "search_ms": [float(curve.delays_ms[0]) + calibration_ms, float(curve.delays_ms[-1]) + calibration_ms],
        "frames": int(sig.times.size),
        "face_fraction": sig.face_fraction(np.ones(sig.times.size, dtype=bool)),
        "speech_s": sig.speech_seconds(float(sig.times[0]), float(sig.times[-1])),
        **{k: round(v, 4) for k, v in glob.features.items()},
    }
    if delay_at_s is not None:
        details["delay_at_s"] = round(delay_at_s, 3)
    if len(shots) > 1:
        # how each shot after the first begins: a cut, or the middle of a dissolve or a dip
        # to black (with its span)
        details["shot_changes"] = [found.describe(a) for a, _ in shots[1:]]
    if clock_ratio is not None:
        details["clock_ratio"] = clock_ratio
    if drift_gain is not None:
        # how much the drift found beats no drift (``search.DRIFT_MIN_GAIN``)
        details["drift_gain"] = round(drift_gain, 4)
    if picture is not None:
        details["picture"] = {**picture.to_dict(), "confidence_kept": round(equal.picture_weight, 3)}
    if source_fit:
        details["source_fit"] = [round(r, 3) for r in source_fit]
        details["source_weights"] = [round(float(x), 3) for x in sig.source_weights]
    return SyncReport(
        audio_delay_ms=delay_ms,
        audio_delay_frames=None if delay_ms is None else delay_ms / frame_ms,
        fps=sig.fps,
        confidence=conf,
        windows=windows,
        drift_ms_per_min=drift.ms_per_min if drift.kind == "drift" else (0.0 if drift.kind == "none" else drift.ms_per_min),
        drift=drift,
        verdict=verdict,
        findings=findings,
        curve=curve,
        raw_delay_ms=raw_ms,
        calibration_ms=calibration_ms,
        details=details,
        source=source,
        shots=shot_estimates,
        steps=steps,
        still=still,
    )


def recentred(delays: np.ndarray, want_s: float, centre_s: float, max_delay_s: float) -> np.ndarray:
    """The candidate ``delays`` (centred on ``centre_s``) moved by whole grid steps to centre
    on ``want_s`` when that lies in the outer half of the search; else as they are (a
    delay well inside the search is found there, and the same grid scores the same)."""
    if abs(want_s - centre_s) <= 0.5 * max_delay_s:
        return delays
    return delays + round((want_s - centre_s) / GRID_STEP_S) * GRID_STEP_S


def along_line(
    sig: Signals, spans: list[tuple[float, float]], delays: np.ndarray, weights: dict[str, float],
    conf_sig: Signals | None, drift: DriftFit, calibration_ms: float, centre_s: float, max_delay_s: float,
    *, end_inclusive: bool = True,
) -> list[Estimate]:
    """Each span's delay search, around the drift line's delay at the span's middle
    (``recentred``). ``end_inclusive``: a span's last frame time belongs to it (windows),
    or to the next span (shots between cuts)."""
    out = []
    # a steep drift moves the delay 200 ms inside a 5 s window: undone around its middle
    warp = (drift.ms_per_min or 0.0) / 60000.0 if abs(drift.ms_per_min or 0.0) >= _WINDOW_WARP_MS_PER_MIN else 0.0
    for a, b in spans:
        sel = (sig.times >= a) & ((sig.times <= b) if end_inclusive else (sig.times < b))
        want = (drift.at(0.5 * (a + b)) + calibration_ms) / 1000.0
        out.append(estimate_window(sig, sel, recentred(delays, want, centre_s, max_delay_s), weights, conf_sig,
                                   warp=warp))
    return out


def _known_clock_drift(
    sig: Signals, glob: Estimate, delays: np.ndarray, weights: dict[str, float], conf_sig: Signals | None,
    centre_s: float, calibration_ms: float, mid: float, near: float | None = None,
) -> tuple[DriftFit, Estimate] | None:
    """A known clock mismatch the window line cannot find (25 vs 24 fps, 44.1 vs 48 kHz, or
    1000/1001 over most of an hour: ``search.clock_scan``) as a drift line and the
    estimate at the middle of the frames (``mid``), when the clip's agreement with it undone is
    confident and beats the plain whole-clip search; else None.

    Run only when the plain search is uncertain: such a drift smears the whole clip (a
    2-minute 25-vs-24 clip read confidence 0.00 and "steps"; the scan 0.54-0.89), and a
    clip that agrees confidently at one delay has none."""
    if not glob.uncertain:
        return None
    found = clock_scan(sig, delays, weights, conf_sig, centre_s, near=near)
    if found is None:
        return None
    k, e = found
    if e.uncertain or e.delay_s is None or e.confidence <= max(LOW_CONFIDENCE, glob.confidence):
        return None
    per_min = k * 60000.0
    line = DriftFit(per_min, e.delay_s * 1000.0 - calibration_ms - per_min / 60.0 * mid, None, 0, "drift",
                    interpret(per_min), method="known clock ratios")
    return line, e


def _leaves_search(drift: DriftFit, times: np.ndarray, calibration_ms: float, centre_s: float,
                   max_delay_s: float) -> bool:
    """Whether the drift line reaches the outer half of the search around ``centre_s``
    within the frames' ``times`` (it is straight: its ends tell)."""
    ends = [(drift.at(float(t)) + calibration_ms) / 1000.0 for t in (times[0], times[-1])]
    return any(abs(e - centre_s) > 0.5 * max_delay_s for e in ends)


def _no_face_report(video_path: str, reason: str, standard: str, fps: float) -> SyncReport:
    st = get_standard(standard)
    finding = Finding("sync.face", Severity.WARNING, f"cannot measure sync: {reason}",
                      advice="use footage where the speaker's face is visible")
    return SyncReport(
        audio_delay_ms=None, audio_delay_frames=None, fps=fps, confidence=0.0, windows=[],
        drift_ms_per_min=None, drift=DriftFit(None, None, None, 0, "insufficient"),
        verdict={"standard": st.key, "standard_name": st.name, "status": "no_face", "passes": None, "reason": reason},
        findings=[finding], curve=None, source=video_path, calibration_ms=CALIBRATION_MS,
    )


def _within_picture(audio: Audio, vpath: str) -> Audio:
    """``audio`` cut to the picture's span, as the camera's own sound is: a recorder that
    ran longer than the camera holds speech (other takes, the slate, talk between takes)
    that no frame shows. Kept, it was compared with the first and last frames at large
    candidate delays: a recorder with another voice 0.8 s either side of the take read
    +39..62 ms at confidence 0 where the camera's own sound reads +28 at 0.76."""
    from mouthsync.media.decode import frame_times

    t = frame_times(vpath)
    step = frame_step(t)
    lo = max(0, int(np.floor((t[0] - audio.start) * audio.rate)))
    hi = min(audio.samples.shape[-1], int(np.ceil((t[-1] + step - audio.start) * audio.rate)))
    if lo == 0 and hi == audio.samples.shape[-1]:
        return audio
    return Audio(samples=audio.samples[..., lo:hi].copy(), rate=audio.rate, start=audio.start + lo / audio.rate,
                 channel=audio.channel)


def _report_lineup(rep: SyncReport, lineup: Lineup | None, placement: Any, search_s: float,
                   tc_start: float | None = None) -> None:
    """``details["lineup"]``, ``details["placed_by"]`` and findings: where the sound file
    was placed, and why."""
    by = placement.by if placement is not None else ""
    rep.details["placed_by"] = by
    if tc_start is not None:
        rep.details["timecode_start_s"] = round(tc_start, 6)
    if by == "sound" and tc_start is not None and lineup is not None:
        off = (tc_start - lineup.start_s) * 1000.0
        rep.findings.append(Finding(
            "sync.timecode", Severity.INFO,
            f"the timecodes put the sound file {off:+.1f} ms from where its sound lines up "
            "(timecode that was not jam-synced, or a recorder's clock, drifts)",
            value=round(off, 2), unit="ms"))
    if by == "timecode" and placement is not None:
        why = ("the video has no sound of its own" if lineup is None
               else "it does not match the camera's sound" if not lineup.matched
               else "by --line-up")
        rep.findings.append(Finding(
            "sync.lineup", Severity.INFO,
            f"sound file placed by timecode ({why}): its first sample at {placement.start_s:+.4f} s on the "
            "picture's timeline; the delay is measured there",
            value=round(placement.start_s * 1000.0, 2), unit="ms"))
    if lineup is None:
        rep.details["lineup"] = None
        if by != "timecode":
            rep.findings.append(Finding(
                "sync.lineup", Severity.INFO,
                "the video has no sound of its own to line the sound file up with (nor a timecode "
                "pair): its first sample was laid on the picture's first frame"))
        return
    placed = by == "sound"
    rep.details["lineup"] = {**lineup.to_dict(), "applied": placed}
    if lineup.matched and not placed:
        rep.findings.append(Finding(
            "sync.lineup", Severity.INFO,
            f"the sound file holds the camera's own sound, {-lineup.offset_s * 1000:+.1f} ms against it "
            f"(positive: later): within the lip-sync search (+-{search_s * 1000:.0f} ms), so it is measured "
            "where it starts (a delivered mix or stem is checked so)",
            advice="--line-up always places a recorder's file by the camera's sound instead",
            value=round(lineup.offset_s * 1000.0, 2), unit="ms"))
    elif lineup.matched:
        rep.findings.append(Finding(
            "sync.lineup", Severity.INFO,
            f"sound file lined up with the camera's own sound: its first sample at {lineup.start_s:+.4f} s "
            f"on the picture's timeline (match {lineup.match:.2f} over {lineup.overlap_s:.1f} s); "
            "the delay is measured there",
            value=round(lineup.start_s * 1000.0, 2), unit="ms"))
    elif by != "timecode":
        rep.findings.append(Finding(
            "sync.lineup", Severity.INFO,
            "the sound file does not match the camera's own sound (a different take, a dub or "
            f"another recording: match {lineup.match:.2f}): measured where it starts, on the "
            "picture's first frame"))


def check_sync(
    video_path: str | os.PathLike[str],
    *,
    audio_path: str | os.PathLike[str] | None = None,
    window_s: float = 5.0,
    hop_s: float = 2.5,
    standard: str = "bt1359",
    max_delay_s: float = DEFAULT_MAX_DELAY_S,
    use_cache: bool = True,
    transcript: str | None = DEFAULT_TRANSCRIPT,
    faces: int | str = "auto",
    audio_stream: int = 0,
    keep_evidence: bool = False,
    channel: int | None = None,
    line_up: str = "auto",
    track_rate: float | None = None,
) -> SyncReport:
    """Measure the audio delay of ``video_path`` (or of ``audio_path`` against its picture).

    ``track_rate``: track the face in at most about that many frames a second (every
    second frame of 50/60 fps footage at 30, ``face.stride``): about twice as fast there,
    with the precision of 25-30 fps footage. None (default): every frame.

    ``line_up`` (with ``audio_path``): ``auto`` places a separate recording by the
    camera's own sound when it holds the same speech and starts farther away than the
    lip-sync search reaches (a recorder, :func:`mouthsync.sync.lineup.applies`),
    ``always`` whenever they match, ``never`` lays it where it starts.

    ``audio_stream``: which audio stream of the sound file to measure, counted from 0
    (a master with one stream per language: check the dub, not the original).

    ``transcript``: ``"auto"`` (default: machine transcript, then forced alignment), the
    spoken text if known (best), or ``None`` for phonetic recognition (fastest).
    ``channel``: measure that audio channel alone (counted from 0). None (default): the
    centre channel of a surround layout, else the mix; a stereo stream whose two channels
    carry different voices (split microphones, :mod:`mouthsync.sync.channels`) is measured
    channel by channel and the channel whose voice the face speaks is reported.
    ``keep_evidence``: keep the face track, timelines and audio on ``report.evidence``
    (for pictures of the measured moments; off by default: a 10-minute track is ~90 MB).
    ``faces``: with more than 1, up to that many faces are tracked and measured, and the
    one whose mouth agrees best with the speech is reported (two-shots, interviews: the
    face tracked first is not always the speaker); ``details["faces"]`` lists every face.
    ``"auto"`` (default) counts the faces on a few keyframes first
    (:func:`mouthsync.face.count.face_boxes`) and measures several only when there are;
    faces too small for Face Mesh on the whole picture are tracked in crops (``face.region``).
    Face tracking and the speech timeline run at the same time (tracking is mostly native
    code that releases the GIL, or worker processes); both are cached by content.
    Raises :class:`~mouthsync.core.errors.NoAudio` / ``BadInput`` for unusable input; a
    video without a usable face gives a report with confidence 0 and a verdict saying so.
    """
    from mouthsync.audio.timeline import speech_timeline_in_process
    from mouthsync.face.coding import mouth_coding
    from mouthsync.face.count import face_boxes, faces_in
    from mouthsync.face.region import face_regions
    from mouthsync.face.track import DEFAULT_MAX_SIDE, start_track_face, track_faces
    from mouthsync.media.container import check_input_path
    from mouthsync.media.decode import envelopes_of, stereo_head, video_meta
    from mouthsync.sync.channels import opposite_polarity, split_voices

    vpath = str(check_input_path(video_path))
    apath = str(check_input_path(audio_path)) if audio_path is not None else vpath
    get_standard(standard)
    from mouthsync.sync.lineup import Placement, applies, placement_for

    applies(None, line_up, 0.0)  # fail early on a bad mode
    if faces != "auto" and (not isinstance(faces, int) or faces < 1):
        raise BadInput(f"faces must be 'auto' or at least 1, not {faces!r}")
    meta = video_meta(vpath)  # NoVideo early, before any heavy work
    # One face is the common case: its tracking worker starts first, so that its start-up
    # (~0.5 s of imports) overlaps decoding the audio and counting the faces; it is
    # stopped if the audio fails or there turn out to be several faces.
    pending = (start_track_face(vpath, use_cache=use_cache, worker_nice=BACKGROUND_NICE, max_rate=track_rate)
               if faces in ("auto", 1) else None)
    try:  # until the block that owns it below, an error here must stop the tracking worker
        head = stereo_head(apath, audio_stream=audio_stream) if channel is None else None
        if channel is None and split_voices(envelopes_of(head)):
            if pending is not None:
                pending.cancel()
            return _check_channels(
                vpath, audio_path=audio_path, window_s=window_s, hop_s=hop_s, standard=standard,
                max_delay_s=max_delay_s, use_cache=use_cache, transcript=transcript, faces=faces,
                audio_stream=audio_stream, keep_evidence=keep_evidence, line_up=line_up, track_rate=track_rate)
        # the centre channel alone where the layout has one: the dialogue of a 5.1 master
        # (a stereo pair in opposite polarity: the mix cancels the voice, their difference holds it)
        audio = decode_audio(apath, rate=16000, mono=True, audio_stream=audio_stream, dialogue=True,
                             channel=channel, difference=opposite_polarity(head))
        if audio.samples.size < audio.rate // 10:
            raise BadInput(f"{apath}: the audio is shorter than 0.1 s: nothing to measure")
        coding = (audio.codec, audio.coded_bps)  # before a separate recording is placed
        lineup: Lineup | None = None
        placement = None
        tc_start: float | None = None
        sound_start = audio.start
        if audio_path is not None and line_up != "never":
            placement, lineup, tc_start = placement_for(vpath, audio, apath, line_up, max_delay_s)
            if placement.by == "sound" and lineup is not None:
                audio = _within_picture(lineup.placed(audio), vpath)
            elif placement.by == "timecode":
                audio = _within_picture(Audio(samples=audio.samples, rate=audio.rate, start=placement.start_s,
                                              channel=audio.channel), vpath)
        # PocketSphinx holds the GIL, so every timeline runs in its own worker process beside
        # tracking (one allphone pass in a thread slowed tracking: --transcript none took
        # 9.6 s on the 60 s 720p clip, the same pass in a process 7.3-7.9 s).
        sources = ensemble_modes(transcript)
        cascade = decides_early(transcript)
        # Long clean audio will probably settle at the first step (batch allphone alone): the
        # other sources then start only if it does not. (Started early at nice 19 instead, they
        # still took CPU, and runs of the 60 s clip now and then stalled for 4-9 s.)
        # Otherwise everything starts at once and the transcript, the longest single job,
        # leads (core.priority).
        long_and_clear = audio.samples.size / audio.rate >= LONG_AUDIO_S and not _noisy(audio)
        probably_settles = cascade and long_and_clear
        futures: dict[int, Future[Any]] = {}

        def start(i: int, nice: int) -> None:
            if i not in futures:
                t, fe = sources[i]
                futures[i] = speech_timeline_in_process(audio, transcript=t, front_end=fe, use_cache=use_cache, nice=nice)

        def launch() -> None:  # the first step's sources, or all of them (see above)
            if probably_settles:
                # one speech worker, one thread, the tail if it waits: first in line, while
                # the tracking worker yields and the chunks of the track follow the load
                for i in levels[0]:
                    start(i, 0)
                return
            for i in range(len(sources)):
                start(i, BACKGROUND_NICE if sources[i][0] is None else 0)

        levels = cascade_levels(sources, cascade)
        launch()
    except BaseException:
        if pending is not None:
            pending.cancel()
        raise
    no_face: str | None = None
    tracks: list[Any] = []
    try:
        # (the tracking worker process yields to the transcript too: core.priority)
        with pending if pending is not None else contextlib.nullcontext() as one:
            # The keyframes' faces (one detector pass, cached) say how many faces to measure
            # and whether they are too small for Face Mesh on the whole picture (face.region).
            boxes = face_boxes(vpath, use_cache=use_cache)
            n_faces = faces_in(boxes) if faces == "auto" else int(faces)
            seen = faces_in(boxes, max_faces=None)
            crops = face_regions(boxes, meta.width, meta.height, DEFAULT_MAX_SIDE, n_faces)
            if n_faces == 1 and one is not None and not crops:
                tracks = [one.result()]
            else:
                if one is not None:
                    one.cancel()
                if crops:  # small faces (a medium or wide shot): each tracked in its own crop
                    tracks = []
                    for c in crops:
                        with (start_track_face(vpath, use_cache=use_cache, worker_nice=BACKGROUND_NICE, crop=c,
                                               max_rate=track_rate) as job,
                              contextlib.suppress(NoFace)):  # one person lost: measure the others
                            tracks.append(job.result())
                    if not tracks:
                        raise NoFace(f"{vpath}: none of the {len(crops)} small faces could be tracked")
                else:
                    tracks = track_faces(vpath, max_faces=n_faces, use_cache=use_cache, worker_nice=BACKGROUND_NICE,
                                         max_rate=track_rate)
    except NoFace as exc:
        no_face = str(exc)
    # how coarsely each face's lips were coded: a few stretches, read while the speech
    # worker runs (face.coding)
    codings = mouth_coding(vpath, tracks) if no_face is None else []
    got: dict[int, Any] = {}

    def timelines_of(level: list[int]) -> list[Any]:
        for i in level:
            if i not in got:
                start(i, 0)
                got[i] = futures[i].result()
        return [got[i] for i in level]

    def unwanted(keep: list[int]) -> None:
        for i, f in futures.items():
            if i not in keep:
                f.cancel()  # stops its worker: frees the core at once

    words = given_words(transcript)
    try:
        timelines = timelines_of(levels[0])  # timeline errors first, as before
    except Unaligned:
        if not words:
            raise
        timelines = []  # the words given cannot be aligned: measured from the recognised speech below
    if no_face is not None:
        unwanted([])
        return _no_face_report(vpath, no_face, standard, meta.declared_fps or 25.0)
    keep = [i for i, t in enumerate(tracks) if t.valid.sum() >= 8]
    usable = [tracks[i] for i in keep]
    pictures = [codings[i] for i in keep]
    if not usable:
        unwanted([])
        return _no_face_report(vpath, "a usable face was found in fewer than 8 frames", standard, tracks[0].fps or 25.0)

    reports: list[SyncReport] = []

    def best_of(reps: list[SyncReport]) -> int:
        # a face that agrees with the speech at a delay inside the search, confidently,
        # before one whose best is the search's edge (not a peak: the agreement may go on
        # rising beyond it). In a 2x2 gallery with retalking_face5's voice, face5 read
        # -56.9 ms at 0.46 (alone -59.7) and the silent face3 +800.0 ms, the edge, at 0.49.
        return max(range(len(reps)), key=lambda i: (reps[i].confidence >= LOW_CONFIDENCE and not at_search_edge(reps[i]),
                                                   reps[i].confidence, int(usable[i].valid.sum())))

    def measure(level: list[int]) -> SyncReport:
        nonlocal timelines, reports
        timelines = timelines_of(level)
        # a known clock an earlier level found narrows the next level's scan for one
        near = next((r.details["clock_ratio"] for r in reports if "clock_ratio" in r.details), None)
        reports = [analyse(t, timelines, audio, window_s=window_s, hop_s=hop_s, standard=standard,
                           max_delay_s=max_delay_s, source=vpath, clock_near=near, picture=p)
                   for t, p in zip(usable, pictures, strict=True)]
        b = best_of(reports)
        speech = list(timelines[0].speech) if timelines else []
        # faces that talk in turns with the speaker (a meeting): those that read confidently
        # speak; the others are too unsure to count: more phone sources may read them
        # (``sources.settled``), else they are named
        turning = {i for i in range(len(reports)) if i != b and takes_turns(usable[i], usable[b], speech)}
        talking = speaking_faces(reports, b, turning)
        unsure = sorted(turning - set(talking))
        frame_ms = 1000.0 / reports[b].fps if reports[b].fps else 40.0
        apart = [i for i in talking if i != b  # (speaking_faces gives more faces only where every delay is known)
                 and abs(reports[i].audio_delay_ms - reports[b].audio_delay_ms) > frame_ms]  # type: ignore[operator]
        rep = reports[b]
        if len(talking) > 1 and not apart:
            # a dialogue: every face that speaks is measured together (each where it talks)
            both = analyse(usable[b], timelines, audio, window_s=window_s, hop_s=hop_s, standard=standard,
                           max_delay_s=max_delay_s, source=vpath, others=[usable[i] for i in talking if i != b],
                           picture=pictures[b],
                           clock_near=near)
            if both.confidence >= reports[b].confidence - SPEAKER_MARGIN:
                both.details["speaking_faces"] = talking
                rep = both
        if rep is reports[b] and (apart or turning & set(talking)):
            # a meeting: the speakers take turns, each read at its own delay where it talks
            # (``sync.turns``); also a dialogue whose pooled reading came out weaker
            rep = in_turns(reports, b, talking, usable, speech, standard, hop_s)
        if unsure:
            rep = unsure_speakers(rep, reports, unsure, talking, usable, speech)
        return rep

    def start_the_rest() -> None:  # not settled: whatever may still be needed starts now
        for i in levels[-1]:
            start(i, 0)

    given: tuple[list[int], SyncReport, list[Any], list[SyncReport]] | None = None
    if timelines or not words:
        used, rep = measure_in_steps(levels, measure, start_the_rest)
        given = (used, rep, timelines, reports) if words else None
    set_aside = False
    if words and (given is None or (given[1].confidence < SETTLED_CONFIDENCE and given[1].audio_delay_ms is not None)):
        # The user's words decide alone only where they settle the delay (``_set_aside``
        # says why); else the recognised speech is measured too, on the same face track
        # and sound, and the more confident report is kept.
        sources, cascade = ensemble_modes(AUTO_MODE), True
        probably_settles = long_and_clear
        levels = cascade_levels(sources, True)
        futures, got = {}, {}
        launch()
        used, rep = measure_in_steps(levels, measure, start_the_rest)
        if given is not None and given[1].confidence >= rep.confidence:
            unwanted([])  # the recognised speech's workers
            speech_conf = rep.confidence
            sources, cascade = ensemble_modes(transcript), False
            used, rep, timelines, reports = given
            rep.details["transcript_alternative"] = {"transcript": AUTO_MODE, "confidence": round(speech_conf, 3)}
        else:
            set_aside = True
            rep.findings.insert(0, _set_aside(None if given is None else given[1], rep))
    unwanted(used)
    best = best_of(reports)  # the report ``rep`` the decision read
    if audio_path is None:
        rep = _offset_hypothesis(rep, usable[best], timelines, audio, window_s=window_s, hop_s=hop_s, picture=pictures[best],
                                 standard=standard, max_delay_s=max_delay_s, source=vpath)
    if "start_offset_ms" not in rep.details:
        # a sound a second or more out has no peak in the search: look further (sync.beyond)
        def search(half_s: float) -> SyncReport:
            return analyse(usable[best], timelines, audio, window_s=window_s, hop_s=hop_s, standard=standard,
                           max_delay_s=half_s, source=vpath, picture=pictures[best])

        rep = beyond_search(rep, search, max_delay_s, MAX_SEARCH_S)
    rep.details["phones_from"] = "+".join(
        tl.mode + ("" if sources[i][1] == "batch" else f"({sources[i][1]})") for tl, i in zip(timelines, used, strict=True)
    )
    if words:
        rep.details["transcript"] = "given, set aside" if set_aside else "given"
    elif cascade:
        rep.details["transcript"] = "skipped" if len(used) < len(sources) else "needed"
    rep.details["audio_stream"] = audio_stream
    if audio_path is not None:
        if line_up != "never":
            _report_lineup(rep, lineup, placement, max_delay_s, tc_start)
        # where the sound file's first sample went (before the cut to the picture): what
        # ``fix --audio`` applies, so that it need not decode and line up again
        at = placement if placement is not None else Placement(sound_start, 1.0, "")
        rep.details["placement"] = {"by": at.by, "start_s": at.start_s, "speed": at.speed}
    if audio.channel:
        rep.details["audio_channel"] = audio.channel
    if rep.audio_delay_ms is None and rep.verdict.get("reason") == "no speech" and audio_path is None:
        others = _other_audio_streams(apath, audio_stream)
        if others:
            rep.findings.append(Finding(
                "sync.audio_stream", Severity.WARNING,
                f"audio stream {audio_stream} holds no speech, and the file has {len(others) + 1} audio streams",
                advice=f"measure another one: check FILE --audio-stream {others[0]} (fix takes the same option)"))
    if audio.channel == "L-R":
        rep.findings.append(Finding(
            "sync.polarity", Severity.WARNING,
            "the two sound channels carry one signal in opposite polarity: mixed to mono (a phone, a mono "
            "broadcast) the voice cancels; measured on their difference",
            advice="reverse one channel's polarity (e.g. ffmpeg -af \"pan=stereo|c0=c0|c1=-1*c1\")"))
    # (a sound with nothing measured, silence above all, codes sparsely for that reason)
    coded = coding_finding(*coding, rep.confidence) if rep.audio_delay_ms is not None else None
    if coded is not None:
        rep.findings.append(coded)
    rep.details["clipped_share"] = round(clipping(audio.samples)[0], 6)
    clipped = clipping_finding(rep.details["clipped_share"], rep.confidence) if rep.audio_delay_ms is not None else None
    if clipped is not None:
        rep.findings.append(clipped)
    face_px = usable[best].face_px
    rep.details["face_px"] = None if face_px is None else round(face_px, 1)
    small = small_face_finding(face_px, rep.confidence) if rep.audio_delay_ms is not None else None
    if small is not None:
        rep.findings.append(small)
    rep.details["echo_decay_s"] = echo_decay(audio.samples, audio.rate)
    echoes = echo_finding(rep.details["echo_decay_s"], rep.confidence) if rep.audio_delay_ms is not None else None
    if echoes is not None:
        rep.findings.append(echoes)
    # a flat noise bed was removed before recognition (audio.denoise): say so, with its measure
    noisy = [tl.settings for tl in timelines if tl.settings.get("denoised")]
    rep.details["denoised"] = bool(noisy)
    if noisy:
        rep.details["noise_flatness"] = noisy[0].get("noise_flatness")
        rep.details["noise_snr_db"] = noisy[0].get("snr_db")
    if n_faces > 1:
        _add_speaker(rep, usable, reports, best)
    if seen > len(usable) and rep.confidence < SETTLED_CONFIDENCE:
        # (a face agreeing beyond doubt is the speaker: a crowd behind a reporter is not named)
        rep.findings.insert(0, Finding(
            "sync.faces", Severity.WARNING,
            f"{seen} faces are in the picture and {len(usable)} {'was' if len(usable) == 1 else 'were'} measured: "
            "the speaker may be one of the others",
            advice=f"crop the picture to the speaker, or measure more faces (check FILE --faces {seen})",
            value=float(seen)))
    if keep_evidence:
        rep.evidence = Evidence(track=usable[best], timelines=list(timelines), audio=audio)
    return rep


def _other_audio_streams(path: str, measured: int) -> list[int]:
    """The file's audio streams other than ``measured`` (counted from 0): where the dialogue
    may be when the measured one holds none (a master whose first track is music and
    effects, or an empty track)."""
    from mouthsync.media.container import open_input

    with open_input(path) as c:
        return [k for k in range(len(c.streams.audio)) if k != measured]


def _offset_hypothesis(rep: SyncReport, track: Any, timelines: list[Any], audio: Audio, *, max_delay_s: float,
                       **kw: Any) -> SyncReport:
    """The report read around the sound stream's start offset, when that offset is beyond
    the search and the search found nothing clear; ``rep`` otherwise.

    Why: a sound stream that starts seconds from its picture in the container (a remux
    with a wrong offset, ``-itsoffset`` misused, an edit list lost) plays that far out of
    sync, beyond the lip-sync search: retalking_face2 with its sound starting 2 s late
    read +91.5 ms at confidence 0.00, "several delays fit". The mouth agrees with the
    speech only at the offset, so the search is repeated around it (the same face track
    and phones, ~0.3 s), and its reading is kept when it is confident and beats the first.
    """
    offset = float(audio.start) - float(track.times[0]) if len(track.times) else 0.0
    if abs(offset) <= max_delay_s or rep.confidence >= LOW_CONFIDENCE:
        return rep
    alt = analyse(track, timelines, audio, max_delay_s=max_delay_s, centre_s=offset, **kw)
    if alt.audio_delay_ms is None or alt.confidence < LOW_CONFIDENCE or alt.confidence <= rep.confidence:
        return rep
    for k, v in rep.details.items():
        alt.details.setdefault(k, v)
    alt.details["start_offset_ms"] = round(offset * 1000.0, 1)
    late = "after" if offset > 0 else "before"
    alt.findings.insert(0, Finding(
        "sync.start_offset", Severity.WARNING,
        f"the sound stream starts {abs(offset) * 1000.0:.0f} ms {late} the picture in the file, and the mouth agrees "
        f"with the speech only there: the delay ({alt.audio_delay_ms:+.0f} ms) is that offset, beyond the "
        f"+-{max_delay_s * 1000.0:.0f} ms lip-sync search (at confidence {rep.confidence:.2f} inside it)",
        advice="`mouthsync fix FILE -o OUT --delay auto` removes it; a remux or an offset option set "
               "the start wrong"))
    alt.findings += [f for f in rep.findings if f.check == "sync.transcript"]
    return alt


def _set_aside(words: SyncReport | None, speech: SyncReport) -> Finding:
    """The finding when the user's words were set aside for the recognised speech.

    Why the words decide alone only where they settle the delay as a phone source
    settles the cascade (``SETTLED_CONFIDENCE``): aligned alone, they are the best phone
    source there is when they are what the sound says (retalking_face2: 1.00 against
    0.76 from recognised speech), but subtitles are often condensed or translated, and a
    script may be of another take. Such words cannot be aligned (``words`` None), or
    mislead: condensed subtitles of face2 read +582 ms at confidence 0.00 (+56 at 0.49
    since session 30, the recognised speech +44 at 0.74), an unrelated sentence +61 ms at
    0.00, voxceleb_00067's words with every third one left out -22.6 ms at 0.33
    (recognised speech: +42.7 at 0.94). A warning when they cannot be aligned
    or fit under the low-confidence line, information otherwise."""
    if words is None:
        msg, sev = "the transcript given cannot be aligned to the sound", Severity.WARNING
    elif words.confidence < LOW_CONFIDENCE:
        msg, sev = f"the transcript given fits the face poorly (confidence {words.confidence:.2f})", Severity.WARNING
    else:
        msg, sev = (f"the recognised speech agrees with the face more clearly than the transcript given "
                    f"({speech.confidence:.2f} against {words.confidence:.2f})"), Severity.INFO
    return Finding(
        "sync.transcript", sev, f"{msg}: measured from the recognised speech instead (confidence {speech.confidence:.2f})",
        advice="give the words this sound says (subtitles are often condensed or translated), or leave "
               "--transcript at auto")


def _check_channels(vpath: str, **kw: Any) -> SyncReport:
    """Split microphones: each channel measured alone (the face track is computed once and
    reused from the cache), and the one whose voice agrees best with the face reported,
    with every channel's reading in ``details["channels"]`` and a finding saying so."""
    reports = [check_sync(vpath, channel=k, **kw) for k in (0, 1)]
    best = max(range(2), key=lambda k: reports[k].confidence)
    rep = reports[best]
    rows = [{"channel": k, "name": r.details.get("audio_channel", f"channel {k}"),
             "audio_delay_ms": None if r.audio_delay_ms is None else round(r.audio_delay_ms, 1),
             "confidence": round(r.confidence, 3)} for k, r in enumerate(reports)]
    for row, r in zip(rows, reports, strict=True):
        if "speaker_face" in r.details:  # a two-shot: whose voice each channel is (a podcast)
            row["face"] = r.details["speaker_face"]
            row["box"] = r.details["faces"][r.details["speaker_face"]]["box"]
    rep.details["channels"] = rows
    other = reports[1 - best]
    name, other_name = rows[best]["name"], rows[1 - best]["name"]
    said = "n/a" if other.audio_delay_ms is None else f"{other.audio_delay_ms:+.0f} ms"
    frame_ms = 1000.0 / rep.fps if rep.fps else 40.0
    both = other.confidence >= LOW_CONFIDENCE and rep.confidence >= LOW_CONFIDENCE
    if both and "face" in rows[0] and rows[0]["face"] != rows[1]["face"]:
        # a podcast: one person per microphone, each channel agreeing with its own face
        rep.findings.insert(0, Finding(
            "sync.channels", Severity.INFO,
            "one voice per audio channel: " + ", ".join(
                f"{r['name']} is the face at {r['box']} ({r['audio_delay_ms']:+.0f} ms)" for r in rows)))
        if abs(rep.audio_delay_ms - other.audio_delay_ms) > frame_ms:  # type: ignore[operator]
            rep.findings.insert(0, Finding(
                "sync.channels", Severity.WARNING,
                f"the two microphones are not in time with each other: {name} {rep.audio_delay_ms:+.0f} ms, "
                f"{other_name} {said}",
                value=float(other.audio_delay_ms - rep.audio_delay_ms), unit="ms",  # type: ignore[operator]
                advice="mouthsync fix FILE -o OUT --delay channels moves each channel by its own reading"))
    elif both and other.confidence > rep.confidence - SPEAKER_MARGIN:
        rep.findings.insert(0, Finding(
            "sync.channels", Severity.WARNING,
            f"the two audio channels carry different sound, and both agree with the face about equally: "
            f"measured {name} (confidence {rep.confidence:.2f}), {other_name} reads {said} ({other.confidence:.2f})",
            advice="check each channel's delay in details.channels; --json shows both"))
    else:
        rep.findings.insert(0, Finding(
            "sync.channels", Severity.INFO,
            f"the two audio channels carry different voices (split microphones?): measured {name}, whose voice "
            f"the face speaks (confidence {rep.confidence:.2f}); {other_name} reads {said} ({other.confidence:.2f})",
            value=rep.confidence))
    return rep


def _noisy(audio: Audio) -> bool:
    """Whether the noise gate will denoise ``audio`` before recognition: such audio rarely
    settles without the transcript (the 60 s 720p copy with pink noise at 10 dB did not),
    so its transcript keeps the critical path. ~0.05 CPU-s per minute."""
    from mouthsync.audio.denoise import noise_gate

    return bool(noise_gate(audio.samples, audio.rate)[0])


# Another face whose confidence comes this close to the speaker's makes the choice a guess.
SPEAKER_MARGIN = 0.15


def speaking_faces(reports: list[SyncReport], best: int, turning: set[int] | frozenset[int] = frozenset()) -> list[int]:
    """The faces that speak: the best one, every other whose own reading is confident and
    within a frame of it (a face that does not speak reads the speech at confidence
    0.00-0.25, and rarely at the speaker's delay), and every face of ``turning`` (those that
    talk in turns with the best, :func:`~mouthsync.sync.turns.takes_turns`) that reads
    confidently inside the search, whatever its delay: a meeting's speakers, each heard
    through their own connection."""
    top = reports[best]
    if top.audio_delay_ms is None or top.confidence < LOW_CONFIDENCE:
        return [best]
    frame_ms = 1000.0 / top.fps if top.fps else 40.0
    return [i for i, r in enumerate(reports)
            if i == best or (r.audio_delay_ms is not None and r.confidence >= LOW_CONFIDENCE
                             and (abs(r.audio_delay_ms - top.audio_delay_ms) <= frame_ms
                                  or (i in turning and not at_search_edge(r))))]


def _add_speaker(rep: SyncReport, tracks: list[Any], reports: list[SyncReport], best: int) -> None:
    """Which of several faces is the speaker: ``details["faces"]`` and a finding saying so."""
    rows = []
    for i, (t, r) in enumerate(zip(tracks, reports, strict=True)):
        box = np.nanmedian(t.boxes[t.valid], axis=0) if t.valid.any() else np.full(4, np.nan)
        rows.append({
            "face": i,
            "box": [round(float(v)) for v in box],
            "coverage": round(t.coverage, 3),
            "audio_delay_ms": None if r.audio_delay_ms is None else round(r.audio_delay_ms, 1),
            "confidence": round(r.confidence, 3),
        })
    rep.details["faces"] = rows
    rep.details["speaker_face"] = best
    where = rows[best]["box"]
    talking = rep.details.get("speaking_faces") or []
    rivals = [r for i, r in enumerate(reports) if i != best and i not in talking and r.confidence >= LOW_CONFIDENCE]
    if "turns" in rep.details:
        return  # a meeting: ``sync.turns`` named every speaker, their delays and turns
    if len(talking) > 1:
        rep.findings.insert(0, Finding(
            "sync.speaker", Severity.INFO,
            f"faces {', '.join(str(i) for i in talking[:-1])} and {talking[-1]} "
            f"{'both' if len(talking) == 2 else 'all'} speak, at the same delay (a dialogue): measured "
            f"together, each where it talks (" + ", ".join(
                f"face {i} alone {rows[i]['audio_delay_ms']:+.0f} ms" for i in talking) + ")",
            value=rep.confidence))
    elif rivals and max(r.confidence for r in rivals) > rep.confidence - SPEAKER_MARGIN:
        rep.findings.insert(0, Finding(
            "sync.speaker", Severity.WARNING,
            f"{len(tracks)} faces agree with the speech about equally: the speaker is uncertain (measured face {best}, box {where})",
            advice="crop to the speaker, or check each face's delay in details.faces"))
    else:
        rep.findings.insert(0, Finding(
            "sync.speaker", Severity.INFO,
            f"speaker: face {best} of {len(tracks)} (box {where}, confidence {rep.confidence:.2f})",
            value=rep.confidence))

