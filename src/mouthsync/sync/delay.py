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
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mouthsync.core.errors import BadInput, NoFace
from mouthsync.core.findings import Finding, Severity
from mouthsync.core.priority import BACKGROUND_NICE
from mouthsync.face.shots import shot_spans, span_mask, transitions
from mouthsync.media.decode import Audio, decode_audio
from mouthsync.sync.drift import DriftFit, fit_drift, interpret
from mouthsync.sync.features import (
    band_features,
    corr_rows,
    detrend,
    envelope_curve,
    fill_invalid,
    grid_lags,
    robust_scale,
    sample_lagged,
    trimmed_corr_rows,
)
from mouthsync.sync.standards import get_standard
from mouthsync.sync.steps import (
    DelayStep,
    delay_runs,
    find_steps,
    note_shot_changes,
    shots_refute_line,
    steps_beat_line,
)
from mouthsync.sync.still import StillSpan, common_still, still_findings, still_mask, still_spans
from mouthsync.sync.verdict import LOW_CONFIDENCE, judge_report

if TYPE_CHECKING:
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
# Components whose raw correlation at the peak feeds the confidence. Width correlates lower
# than the opening and velocity even at the right delay, and counting it let a wrong
# speaker reach 0.36 and left every remaining miss looking confident (docs/sync.md).
_CONFIDENCE_COMPONENTS = ("opening", "velocity", "envelope")
# Phones from a machine transcript force-aligned ("auto") predict the mouth better than
# phonetic recognition (docs/speech.md); None = allphone recognition (~4x cheaper). With
# "auto" the allphone timeline is computed too and both are averaged (``timelines_for``).
DEFAULT_TRANSCRIPT: str | None = "auto"
GRID_STEP_S = 0.002
_CURVE_BLOCK_ELEMENTS = 1_000_000  # delays x frames scored at once (~8 MB per float array)
_GRID_DT = 0.001  # step of the tabulated expected curves (s)
# The search scores each delay with a correlation that leaves out the worst-agreeing 20 %
# of 12-frame blocks (``features.trimmed_corr_rows``): a stretch where the expected mouth
# is wrong whatever the delay (another voice in the speaker's pause, a misrecognised
# word) no longer drags the peak. Shift protocol (docs/sync.md, "Trimmed correlation"):
# whole frames 97.8 -> 99.6 %, other voice 79.0 -> 84.0 %, pink over three realisations
# 90.1 -> 91.4 % (89.5 on the two held out). The confidence still reads the plain one.
TRIM_BLOCK = 12
TRIM_DROP = 0.2
_GRID_PAD_S = 2.0  # expected curves tabulated this far beyond the audio (>= max delay + warp)
DEFAULT_MAX_DELAY_S = 0.8
# The widest search ``check --max-delay`` allows: the expected curves reach _GRID_PAD_S
# beyond the sound, and a drift search warps up to ~0.5 s more at the ends of a long clip.
MAX_SEARCH_S = 1.5
_RIVAL_EXCLUDE_S = 0.12  # a rival peak must be this far from the winner
AMBIGUOUS_PROMINENCE = 0.15  # winner minus rival (z units) below this: ambiguous
# Why a window (or the file) could not be judged where speech runs over a still mouth.
STILL_NOTE = "speech over a still mouth (voice-over, off-screen speaker or held picture)"
# Seconds of face a span mostly over a still mouth must keep to be measured at all.
STILL_MIN_LEFT_S = 2.0


@dataclass
class Curve:
    """The agreement over candidate delays: combined (z units) and each component (r)."""

    delays_ms: np.ndarray
    agreement: np.ndarray
    components: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "delays_ms": [round(float(d), 3) for d in self.delays_ms],
            "agreement": [None if not np.isfinite(a) else round(float(a), 4) for a in self.agreement],
        }


@dataclass
class WindowEstimate:
    """Delay and confidence over one window of the media timeline."""

    start_s: float
    end_s: float
    audio_delay_ms: float | None
    confidence: float
    uncertain: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "audio_delay_ms": None if self.audio_delay_ms is None else round(self.audio_delay_ms, 1),
            "confidence": round(self.confidence, 3),
            "uncertain": self.uncertain,
            "note": self.note,
        }


@dataclass
class Evidence:
    """The inputs a :class:`SyncReport` was measured from: the speaker's face track, the
    speech timelines (in the order the decision used them) and the decoded audio."""

    track: Any
    timelines: list[Any]
    audio: Audio


@dataclass
class SyncReport:
    """What ``check`` found. ``audio_delay_ms > 0``: the sound comes after the picture."""

    audio_delay_ms: float | None
    audio_delay_frames: float | None
    fps: float
    confidence: float
    windows: list[WindowEstimate]
    drift_ms_per_min: float | None
    drift: DriftFit
    verdict: dict[str, Any]
    findings: list[Finding]
    curve: Curve | None
    raw_delay_ms: float | None = None
    calibration_ms: float = CALIBRATION_MS
    details: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    # one estimate per shot between picture cuts (face.shots); empty for a single take
    shots: list[WindowEstimate] = field(default_factory=list)
    # where the delay changes inside a take (sync.steps): an audio edit or dropout
    steps: list[DelayStep] = field(default_factory=list)
    # where speech is heard over a still mouth (sync.still): left out of the measurement
    still: list[StillSpan] = field(default_factory=list)
    # what the report was measured from, kept only when asked (check_sync(keep_evidence=True)):
    # the report's pictures (sync.html_report) show the mouth at moments of the speech
    evidence: Evidence | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``check --json`` (keys of issue 5 plus details)."""
        return {
            "source": self.source,
            "audio_delay_ms": None if self.audio_delay_ms is None else round(self.audio_delay_ms, 1),
            "audio_delay_frames": None if self.audio_delay_frames is None else round(self.audio_delay_frames, 2),
            "fps": round(self.fps, 3),
            "confidence": round(self.confidence, 3),
            "drift_ms_per_min": None if self.drift_ms_per_min is None else round(self.drift_ms_per_min, 2),
            "drift": self.drift.to_dict(),
            "windows": [w.to_dict() for w in self.windows],
            "shots": [w.to_dict() for w in self.shots],
            "steps": [x.to_dict() for x in self.steps],
            "still_mouth": [x.to_dict() for x in self.still],
            "verdict": self.verdict,
            "raw_delay_ms": None if self.raw_delay_ms is None else round(self.raw_delay_ms, 1),
            "calibration_ms": self.calibration_ms,
            "details": self.details,
            "findings": [f.to_dict() for f in self.findings],
            "curve": None if self.curve is None else self.curve.to_dict(),
        }


# ----------------------------------------------------------------------------- signals


class Signals:
    """Everything the delay search compares, prepared once per (track, audio) pair.

    Expected opening and its derivative are tabulated on a 1 ms grid so that evaluating
    them at ``frames x delays`` points is one interpolation, not a coarticulation model
    run per point.
    """

    def __init__(self, track: Any, timeline: Any, audio: Audio, still: np.ndarray | None = None) -> None:
        """``still``: frames where speech is heard over a still mouth (:mod:`mouthsync.sync.still`),
        left out of every search like frames without a face."""
        from mouthsync.audio.visemes import expected_opening, expected_spread

        timelines = list(timeline) if isinstance(timeline, (list, tuple)) else [timeline]

        self._set_measured(track, still)
        self.audio_start = float(audio.start)
        self.audio_end = float(audio.start + audio.duration)
        self.phones = [p for tl in timelines for p in tl.phones]
        self.speech = [(float(a), float(b)) for a, b in timelines[0].speech]
        # tabulated well beyond the audio (where it settles to the rest opening) so that every
        # candidate delay is scored on the same frames; see ``curves``
        self.grid_t = np.arange(self.audio_start - _GRID_PAD_S, self.audio_end + _GRID_PAD_S, _GRID_DT)
        # Several timelines (aligned machine transcript + phonetic recognition) are
        # averaged: their errors differ, and the mean predicts the mouth better than
        # either (docs/sync.md, "Two phone sources"). Each source's curves are kept so that
        # ``mixed`` can re-weight them by how well each source alone fits this face
        # (``source_searches``). A timeline without phones contributes zeros, as before.
        self._per_source: list[tuple[np.ndarray, np.ndarray]] = []
        for tl in timelines:
            if tl.phones:
                self._per_source.append((
                    np.asarray(expected_opening(list(tl.phones), self.grid_t), dtype=np.float64),
                    np.asarray(expected_spread(list(tl.phones), self.grid_t), dtype=np.float64),
                ))
            else:
                nothing = np.zeros_like(self.grid_t)
                self._per_source.append((nothing, nothing))
        self._set_expected(np.ones(len(self._per_source)))
        self._audio = audio
        self._bands: tuple[np.ndarray, np.ndarray] | None = None

    def _set_measured(self, track: Any, still: np.ndarray | None) -> None:
        """The mouth side: one face's aperture (baseline removed, scaled), its velocity and
        width, on its own frame times; ``still`` frames are left out."""
        self.times = np.asarray(track.times, dtype=np.float64)
        ap = np.asarray(track.mouth["aperture"], dtype=np.float64)
        self.still = np.zeros(self.times.size, dtype=bool) if still is None else np.asarray(still, dtype=bool)
        # a face is there (still or not): the confidence's face factor counts these
        self.present = np.asarray(track.valid, dtype=bool) & np.isfinite(ap)
        self.valid = self.present & ~self.still
        self.n_faces = 1
        self.fps = float(track.fps) if track.fps else _fps_of(self.times)
        if self.valid.sum() >= 2:
            self.opening = robust_scale(detrend(self.times, ap, self.valid), self.valid)
            filled = fill_invalid(self.times, ap, self.valid)
            self.velocity = np.gradient(filled, self.times) if self.times.size > 1 else np.zeros_like(filled)
        else:
            self.opening = np.zeros_like(ap)
            self.velocity = np.zeros_like(ap)
        # mouth width (None when the track does not carry it: the width component is skipped)
        self.width: np.ndarray | None = None
        if "width" in track.mouth:
            wd = np.asarray(track.mouth["width"], dtype=np.float64)
            wvalid = self.valid & np.isfinite(wd)
            if wvalid.sum() >= 2:
                self.width = robust_scale(detrend(self.times, wd, wvalid), wvalid)

    def for_face(self, track: Any, still: np.ndarray | None = None) -> Signals:
        """The same expected mouth against another face's track (a two-shot's other face):
        the expected curves (on 60 s and three sources: 0.199 s for a whole Signals, 0.065 s for another face) are
        shared, not tabulated again."""
        out = copy.copy(self)
        out._set_measured(track, still)
        return out

    def _set_expected(self, weights: np.ndarray) -> None:
        """Mix the sources' expected curves with ``weights`` (normalised to sum 1)."""
        w = np.asarray(weights, dtype=np.float64)
        self.source_weights = w / w.sum() if w.sum() > 0 else np.full(w.size, 1.0 / max(1, w.size))
        weights = self.source_weights
        e = np.zeros_like(self.grid_t)
        sp = np.zeros_like(self.grid_t)
        for wi, (ei, si) in zip(weights, self._per_source, strict=True):
            e += wi * ei
            sp += wi * si
        self.grid_e = e
        self.grid_de = np.gradient(e, _GRID_DT) if e.size > 1 else np.zeros_like(e)
        self.grid_spread = sp

    @property
    def audio(self) -> Audio:
        """The sound the speech timelines were made from (its samples, on its own clock)."""
        return self._audio

    @property
    def n_sources(self) -> int:
        return len(self._per_source)

    @staticmethod
    def joined(parts: list[Signals], still_times: list[tuple[float, float]]) -> Signals:
        """Several faces' mouths measured against the same speech as one (a dialogue: each
        face speaks in turn, and is still while the other does).

        The measured side of every part (each face's own baseline removal and scale, its
        own still frames left out) is pooled and ordered by time; the expected side is the
        first part's. ``still_times``: where every face is still under speech, the only
        spans the pooled measurement cannot judge.
        """
        out = copy.copy(parts[0])
        order = np.argsort(np.concatenate([p.times for p in parts]), kind="stable")

        def pooled(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts])[order]

        out.times = pooled("times")
        out.present = pooled("present")
        out.valid = pooled("valid")
        out.opening = pooled("opening")
        out.velocity = pooled("velocity")
        out.width = None if any(p.width is None for p in parts) else pooled("width")
        out.still = np.zeros(out.times.size, dtype=bool)
        for a, b in still_times:
            out.still |= (out.times >= a) & (out.times < b)
        out.n_faces = len(parts)
        return out

    def face_fraction(self, sel: np.ndarray) -> float:
        """Share of the instants in ``sel`` that show a face (still or not; with pooled
        faces, an instant counts when any face is there)."""
        if not sel.any():
            return 0.0
        return float(min(1.0, self.present[sel].sum() * self.n_faces / sel.sum()))

    def mixed(self, weights: np.ndarray) -> Signals:
        """A copy whose expected mouth mixes the sources with ``weights``; the measured side
        and the per-source curves are shared, not copied."""
        out = copy.copy(self)
        out._set_expected(weights)
        return out

    def bands(self) -> tuple[np.ndarray, np.ndarray]:
        """Band energies for the learned envelope mapping, computed on first use only:
        they cost several hundred MiB transient on 10 minutes of audio and the default weights do not
        use them."""
        if self._bands is None:
            self._bands = band_features(self._audio.mono, self._audio.rate, self._audio.start)
        return self._bands

    def speech_seconds(self, t0: float, t1: float) -> float:
        """Seconds of detected speech inside [t0, t1]."""
        return float(sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in self.speech))

    def curves(
        self, sel: np.ndarray, delays: np.ndarray, weights: dict[str, float], warp: float = 0.0, robust: bool = True
    ) -> dict[str, np.ndarray]:
        """Raw correlation per component over candidate ``delays`` for frames ``sel``.

        ``warp`` (s per s) adds a delay growing linearly from the middle of the frames:
        the drift search evaluates whole-clip agreement under a clock mismatch. Delays are
        scored in blocks so that memory stays bounded on long media (the whole-clip curve
        of a 10-minute clip, 801 delays x 15000 frames at once, peaked at 1.3 GiB).
        ``robust``: the block-trimmed correlation (:data:`TRIM_BLOCK`, the search); False:
        the plain one (what the confidence mapping was fitted on).
        """
        n = max(1, int(sel.sum()))
        step = max(1, _CURVE_BLOCK_ELEMENTS // n)
        if delays.size <= step:
            return self._curves_block(sel, delays, weights, warp, robust)
        parts = [self._curves_block(sel, delays[i : i + step], weights, warp, robust) for i in range(0, delays.size, step)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _components(self) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
        """Each component's measured mouth signal (None: the track lacks it) and the table
        of what the sound predicts for it on the 1 ms grid."""
        return {"opening": (self.opening, self.grid_e), "velocity": (self.velocity, self.grid_de),
                "width": (self.width, self.grid_spread)}

    def split_fit(
        self, sel: np.ndarray, before_s: float, after_s: float, splits: np.ndarray, weights: dict[str, float]
    ) -> np.ndarray:
        """Agreement (weighted mean correlation of the components) over frames ``sel`` when
        the sound is ``before_s`` late up to each time of ``splits`` and ``after_s`` from
        there: where a delay that changes inside a take (``sync.steps``) changes.

        One row per split over the same frames, so the rows compare like the delay
        search's candidates (fixed support)."""
        t = self.times[sel]
        v = self.valid[sel]
        tv = t[v]
        splits = np.asarray(splits, dtype=np.float64)
        num = np.zeros(splits.size)
        den = 0.0
        late = tv[None, :] >= splits[:, None]
        for k, (measured, table) in self._components().items():
            wk = float(weights.get(k, 0.0))
            if wk <= 0 or measured is None or tv.size < 8:
                continue
            pa = np.interp(tv + before_s, self.grid_t, table)
            pb = np.interp(tv + after_s, self.grid_t, table)
            r = corr_rows(measured[sel][v], np.where(late, pb[None, :], pa[None, :]))
            num += wk * np.nan_to_num(r, nan=0.0)
            den += wk
        return num / den if den > 0 else num

    def _curves_block(
        self, sel: np.ndarray, delays: np.ndarray, weights: dict[str, float], warp: float, robust: bool = True
    ) -> dict[str, np.ndarray]:
        t = self.times[sel]
        if warp:
            t = t + warp * (t - 0.5 * (t[0] + t[-1]))
        v = self.valid[sel]
        # Fixed support: every delay is scored on the same valid frames; where ``t + d``
        # falls outside the audio nothing is said, so the expected mouth is at rest there.
        # Scoring each delay over its own overlap instead (the first version) let a
        # shrinking overlap at large |d| produce spurious peaks, and made the curve of
        # shifted audio differ from the shifted curve: with the phones of the unshifted
        # audio moved by the shift (no recognition noise), whole-frame tracking was 89 %
        # with per-overlap scoring and 100 % with fixed support (docs/sync.md).
        tv = t[v]
        wanted = [k for k in ("opening", "velocity", "width") if weights.get(k, 0) > 0]
        if "width" in wanted and self.width is None:
            wanted.remove("width")
        out: dict[str, np.ndarray] = {}
        if wanted:
            # The expected curves sit on a uniform 1 ms grid, so the interpolation index is
            # arithmetic (no binary search as in np.interp, same values) and is shared by
            # every component: this halved the delay search (docs/sync.md, "Speed").
            lags = grid_lags(tv, delays, float(self.grid_t[0]), _GRID_DT, self.grid_t.size)
            if lags is None:
                last = self.grid_t.size - 1
                pos = (tv[None, :] + delays[:, None] - self.grid_t[0]) * (1.0 / _GRID_DT)
                np.clip(pos, 0.0, float(last), out=pos)
                idx = np.minimum(pos.astype(np.intp), last - 1)
                frac = pos - idx
                del pos
            comps = self._components()
            for k in wanted:
                measured, g = comps[k]
                if lags is not None:
                    pred = sample_lagged(g, lags)
                else:
                    lo = g[idx]
                    pred = lo + frac * (g[idx + 1] - lo)
                xk = measured[sel][v]  # type: ignore[index]
                out[k] = trimmed_corr_rows(xk, pred, TRIM_BLOCK, TRIM_DROP) if robust else corr_rows(xk, pred)
        if weights.get("envelope", 0) > 0 and v.sum() >= 16:
            feat_t, feats = self.bands()
            if feat_t.size > 2:
                out["envelope"] = envelope_curve(t, self.opening[sel], v, feat_t, feats, delays)
        return out


def global_drift(
    sig: Signals, center_s: float, weights: dict[str, float], around_ms_per_min: float = 0.0, max_ms_per_min: float = 150.0
) -> float | None:
    """Drift (ms/min) that maximises the whole-clip agreement, searched jointly with delay.

    A line through window delays inherits every window's error (a 60 ms/min drift moves
    the delay by only 1.5 frames per minute, about the size of one window's scatter);
    warping the expected mouth by a candidate clock ratio and scoring all frames at once
    uses every frame for one number. The search spans ``max_ms_per_min`` either side of
    ``around_ms_per_min`` (the window line's slope), and ``center_s`` is the delay at the
    middle of the frames (the warp pivots there).
    """
    delays = np.arange(center_s - 0.12, center_s + 0.12 + 1e-9, GRID_STEP_S)
    every = np.ones(sig.times.size, dtype=bool)
    w = {k: v for k, v in weights.items() if k in ("opening", "velocity") and v > 0}
    if not w:
        return None

    def score_of(slopes: np.ndarray) -> np.ndarray:
        score = np.full(slopes.size, np.nan)
        for i, sl in enumerate(slopes):
            comps = sig.curves(every, delays, w, warp=sl / 60000.0)
            tot = sum(w[k] * np.nan_to_num(comps[k], nan=-1.0) for k in comps) / sum(w.values())
            score[i] = float(np.max(tot))
        return score

    # coarse (12 ms/min) over the whole span, then 3 ms/min around the best coarse slope
    coarse = around_ms_per_min + np.arange(-max_ms_per_min, max_ms_per_min + 0.1, 12.0)
    sc = score_of(coarse)
    if not np.isfinite(sc).any():
        return None
    top = float(coarse[int(np.nanargmax(sc))])
    slopes = top + np.arange(-12.0, 12.1, 3.0)
    score = score_of(slopes)
    if not np.isfinite(score).any():
        return None
    best, _ = refine_peak(slopes, score)
    return best


def _fps_of(times: np.ndarray) -> float:
    if times.size < 2:
        return 25.0
    span = float(times[-1] - times[0])
    return (times.size - 1) / span if span > 0 else 25.0


def _z(r: np.ndarray) -> np.ndarray:
    ok = np.isfinite(r)
    if ok.sum() < 3:
        return np.full_like(r, np.nan)
    s = float(np.std(r[ok]))
    return (r - float(np.median(r[ok]))) / (s if s > 1e-9 else 1.0)


def combine(components: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted mean of z-scored component curves (NaN where no component is defined)."""
    acc: np.ndarray | None = None
    wsum = 0.0
    for name, r in components.items():
        w = float(weights.get(name, 0.0))
        if w <= 0:
            continue
        z = np.nan_to_num(_z(r), nan=-3.0)
        acc = w * z if acc is None else acc + w * z
        wsum += w
    if acc is None:
        return np.array([])
    return acc / wsum


def refine_peak(delays: np.ndarray, curve: np.ndarray) -> tuple[float, int]:
    """Best delay: the grid maximum refined by a parabola through it and its neighbours."""
    i = int(np.nanargmax(curve))
    d = float(delays[i])
    if 0 < i < len(curve) - 1:
        a, b, c = curve[i - 1], curve[i], curve[i + 1]
        den = a - 2 * b + c
        if np.isfinite(den) and den < 0:
            off = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
            d += off * float(delays[1] - delays[0])
    return d, i


@dataclass
class _Estimate:
    delay_s: float | None
    confidence: float
    uncertain: bool
    note: str
    combined: np.ndarray
    components: dict[str, np.ndarray]
    features: dict[str, float]


def confidence_from(r_peak: float, face_fraction: float, speech_s: float) -> float:
    """Map the evidence to [0, 1]; each factor is 0 when its evidence is absent.

    ``r_peak``: weighted mean of the raw correlations at the winning delay of the
    components in ``_CONFIDENCE_COMPONENTS`` (not the width).
    Measured on the shared clips against the same clips with another speaker's audio
    (bench/sync_accuracy.py, docs/sync.md): the right voice gives 0.29-0.63, another voice
    0.16-0.43 (one clip's rival overlaps), so 0.28 maps to 0 and 0.48 to 1. Peak prominence
    was measured too and separated worse; it only feeds the "uncertain" note. The face and
    speech factors make silence or a missing face read low whatever the curve does.
    """
    r = float(np.clip((r_peak - 0.28) / 0.20, 0.0, 1.0))
    f = float(np.clip((face_fraction - 0.3) / 0.4, 0.0, 1.0))
    s = float(np.clip((speech_s - 0.4) / 1.1, 0.0, 1.0))
    return float(np.clip(r * f * s, 0.0, 1.0))


def estimate_window(
    sig: Signals,
    sel: np.ndarray,
    delays: np.ndarray,
    weights: dict[str, float],
    conf_sig: Signals | None = None,
    warp: float = 0.0,
    second: np.ndarray | None = None,
) -> _Estimate:
    """Delay search and confidence over the frames ``sel`` (a window or the whole clip).

    ``conf_sig``: signals whose correlation at the chosen delay makes the confidence (the
    equal mix of the phone sources when ``sig`` is re-weighted: weighting by fit favours
    whichever source happens to fit best, which would lift the confidence of a wrong voice).
    ``warp``: clock mismatch (s per s) to undo first; the delay is then the one at the
    middle of the frames. ``second``: another agreement curve over ``delays`` (z units,
    the sources' own curves, ``late_fusion``) averaged with this one before the peak.
    """
    t = sig.times[sel]
    t0, t1 = (float(t[0]), float(t[-1])) if t.size else (0.0, 0.0)
    face_fraction = sig.face_fraction(sel)
    speech_s = sig.speech_seconds(t0 + float(delays.min()), t1 + float(delays.max()))
    speech_in = sig.speech_seconds(t0, t1)
    empty = _Estimate(None, 0.0, True, "", np.full(delays.size, np.nan), {}, {})
    if sig.valid[sel].sum() < 8:
        empty.note = STILL_NOTE if sig.still[sel].sum() >= 8 else "no usable face"
        return empty
    still_share = float(sig.still[sel].mean()) if sel.any() else 0.0
    if still_share >= 0.5 and sig.valid[sel].sum() < STILL_MIN_LEFT_S * sig.fps:
        # a few frames at the edge of a held picture or a reaction shot: a delay read from
        # them alone would be noise (a listener's window read +293 ms from 0.3 s)
        empty.note = STILL_NOTE
        return empty
    if speech_in < 0.3 or not any(p.label != "SIL" for p in sig.phones):
        empty.note = "no speech"
        return empty
    comps = sig.curves(sel, delays, weights, warp)
    combined = combine(comps, weights)
    if combined.size == 0 or not np.isfinite(combined).any():
        empty.note = "too little overlap between face and speech"
        return empty
    if second is not None and second.shape == combined.shape:
        combined = (1.0 - LATE_SHARE) * combined + LATE_SHARE * second
    d, i = refine_peak(delays, combined)
    far = np.abs(delays - delays[i]) > _RIVAL_EXCLUDE_S
    rival = float(np.nanmax(combined[far])) if far.any() else float(np.nanmin(combined))
    prominence = float(combined[i] - rival)
    # the confidence reads the plain correlation at the chosen delay: its mapping was fitted
    # on it, and the trimmed one is higher everywhere (it drops the worst blocks)
    at = {k: float(r[0]) for k, r in (conf_sig or sig).curves(sel, delays[i : i + 1], weights, warp, robust=False).items()}
    scored = {k: r for k, r in at.items() if k in _CONFIDENCE_COMPONENTS and np.isfinite(r)}
    num = sum(weights.get(k, 0.0) * r for k, r in scored.items())
    den = sum(weights.get(k, 0.0) for k in scored)
    r_peak = num / den if den > 0 else 0.0
    conf = confidence_from(r_peak, face_fraction, min(speech_s, speech_in + 0.5))
    # two near-equal peaks (a window across a cut, a repeated phrase) make the pick a coin
    # toss even when both correlate well
    uncertain = conf < LOW_CONFIDENCE or prominence < AMBIGUOUS_PROMINENCE
    note = ""
    if uncertain:
        if prominence < AMBIGUOUS_PROMINENCE and conf >= LOW_CONFIDENCE:
            note = f"two delays fit about equally well ({prominence:.2f} z apart): a cut inside the window?"
        elif still_share >= 0.3:
            note = STILL_NOTE + ("" if still_share >= 0.7 else " in part of the window")
        elif face_fraction < 0.5:
            note = "face missing in much of the window"
        elif speech_in < 1.0:
            note = "little speech"
        elif prominence < 0.5:
            note = "several delays fit about equally well (cut, other speaker or off-screen voice?)"
        else:
            note = "mouth and speech agree weakly"
    return _Estimate(
        d, conf, uncertain, note, combined, comps,
        {"prominence": prominence, "r_peak": r_peak, "face_fraction": face_fraction, "speech_s": speech_in},
    )


# Softmax temperature of the source weights (units of peak correlation): a source whose
# best fit is 0.1 below the best source's counts e times less. Measured on the shift
# protocol (docs/sync.md, "Weighing the phone sources"): 0.05-0.1 equally good.
SOURCE_TEMPERATURE = 0.1


def source_searches(
    sig: Signals, sel: np.ndarray, delays: np.ndarray, weights: dict[str, float]
) -> tuple[list[float], list[np.ndarray]]:
    """How well each phone source alone fits the face, and its own agreement curve over
    ``delays`` (z units); empty lists with fewer than 2 sources.

    A source's fit is its peak correlation (the same figure the confidence is made from)
    when it alone predicts the mouth. On some footage one recogniser output is poor (on
    voxceleb_620900105 both allphone timelines alone read 0.4-0.7 s off), and under noise
    the sources degrade unequally; the equal mean then carries the poor one's errors. The
    fits weigh the early mix (``fit_weights``), the curves the late fusion
    (``late_fusion``). Each source is scored once over ``sel`` (cheap next to the windows).
    """
    if sig.n_sources < 2:
        return [], []
    fits, curves = [], []
    for i in range(sig.n_sources):
        e = estimate_window(sig.mixed(np.eye(sig.n_sources)[i]), sel, delays, weights)
        fits.append(float(e.features.get("r_peak", 0.0)) if e.delay_s is not None else 0.0)
        curves.append(e.combined)
    return fits, curves


# Late fusion of the whole-clip search (see ``late_fusion``): the sources' own curves are
# weighed by a softmax of their fits at this temperature, then averaged with the curve of
# the mixed sources. Measured on the shift protocol (docs/sync.md, "Late fusion").
LATE_TEMPERATURE = 0.2
# Share of the sources' own curves in the whole-clip curve (0: the mixed curve alone).
LATE_SHARE = 0.5


def late_fusion(fits: list[float], curves: list[np.ndarray]) -> np.ndarray | None:
    """The sources' own agreement curves, weighed by fit: a second opinion on the delay.

    Why: mixing the sources' expected openings (early fusion) makes one new prediction of
    the mouth; when one source is badly wrong under noise, the mix can peak where no
    source does (pink noise, retalking_face2 at -6 frames: the sources alone read +0.9,
    +9.0 and +0.1 frames off, the mix +16.7). Averaging the curves themselves lets two
    sources that agree outvote the third.
    """
    ok = [(f, c) for f, c in zip(fits, curves, strict=True) if c.size and np.isfinite(c).any()]
    if len(ok) < 2:
        return None
    f = np.array([x[0] for x in ok])
    w = np.exp((f - f.max()) / LATE_TEMPERATURE)
    z = np.array([np.nan_to_num(x[1], nan=-3.0) for x in ok])
    return (w[:, None] * z).sum(axis=0) / w.sum()


def fit_weights(fits: list[float]) -> np.ndarray:
    """Softmax of the fits at ``SOURCE_TEMPERATURE``: the mix the delay is searched with."""
    f = np.asarray(fits, dtype=np.float64)
    return np.exp((f - f.max()) / SOURCE_TEMPERATURE)


def window_spans(t_start: float, t_end: float, window_s: float, hop_s: float) -> list[tuple[float, float]]:
    """Window (start, end) pairs covering [t_start, t_end]; short media get one window."""
    span = t_end - t_start
    if span <= window_s * 1.25 or hop_s <= 0:
        return [(t_start, t_end)]
    out = []
    s = t_start
    while s + window_s < t_end - 1e-9:
        out.append((s, s + window_s))
        s += hop_s
    last = (max(t_start, t_end - window_s), t_end)
    if not out or last[0] > out[-1][0] + 1e-6:
        out.append(last)
    return out


# ``transcript=ALWAYS``: the three sources of ``"auto"`` even when the phones alone settle it.
ALWAYS = "always"

# One speech timeline ``check`` averages: (transcript setting, recogniser front end).
Source = tuple[str | None, str]


def ensemble_modes(transcript: str | None) -> list[Source]:
    """The speech timelines ``check`` averages for a ``transcript`` setting.

    ``"auto"``: the aligned machine transcript and phonetic recognition with two front
    ends (batch and live cepstral normalisation). The three make different mistakes; on
    the shift protocol their mean followed 95.7 % of whole-frame shifts (auto alone 92.5,
    allphone alone 86.7), kept more of them under noise (pink 80 / other voice 77 %,
    against 78 / 63 for auto alone) and is the only mix tried whose confidence separates
    every clip from all five other speakers (docs/sync.md, "Several phone sources").
    ``analyse`` then weighs them by how well each alone fits the face (``source_searches``).
    A given transcript is aligned alone (it is the best phone source there is);
    ``None``: allphone alone (the fast mode).
    """
    from mouthsync.audio.timeline import AUTO

    if transcript is not None and transcript.strip().lower() in (AUTO, ALWAYS):
        return [(AUTO, "batch"), (None, "batch"), (None, "live")]
    return [(transcript, "batch")]


def decides_early(transcript: str | None) -> bool:
    """Whether ``check`` may decide without the aligned transcript (``"auto"``, see
    :func:`settled`); ``"always"``, a given text or ``None`` fix the sources up front."""
    from mouthsync.audio.timeline import AUTO

    return transcript is not None and transcript.strip().lower() == AUTO


# Phonetic recognition alone settles the delay at this confidence (see ``settled``). On
# the shift protocol (801 copies of the 9 shared clips, clean, noisy, re-encoded) the two
# allphone sources alone were within a frame in 100 % of the 124 copies where they read
# >= 0.8, batch allphone alone in 73 of 73, and taking their answer there leaves every
# figure of bench/sync_accuracy.py as it was with the transcript always used
# (docs/sync.md, "Deciding without the words").
SETTLED_CONFIDENCE = 0.8
# Audio at least this long (and not noisy) starts only the first step's source: long clear
# speech usually settles there, short audio rarely does (85 of the protocol's 801 copies).
LONG_AUDIO_S = 20.0


def settled(fast: SyncReport) -> bool:
    """Whether a report from fewer phone sources (``cascade_levels``) is decisive, so that
    more sources, above all the aligned machine transcript, a third of the CPU of a cold
    ``check`` (~8-10 CPU-s per minute of speech, one thread), would not change the answer.

    Why a cascade: the transcript earns its place where the evidence is scarce or poor (a
    few seconds of speech, noise, a second voice); where the phones alone agree with the
    face clearly it only costs time. A clip that drifts or whose windows disagree without
    a line (an edit) always gets the transcript: the answer there is the delay over time,
    which every source sharpens (a 1001/1000 stretch read 65 ms/min from the phones alone,
    59-61 with the transcript; the true figure is 60). The decision depends on the
    evidence only, never on which timelines happen to be cached, so the same input always
    gives the same report.

    Likewise an edit with a shot whose own reading is more than a frame away from the
    whole file, however unsure: one phone source read a 5 s shot made 200 ms late as
    +742 ms at confidence 0.10 in a file that settled at 0.97 on it, where every source
    reads +220 at 0.40. Shots that agree with the file (confident or not) settle as before.
    """
    if fast.audio_delay_ms is None or fast.drift.kind in ("steps", "drift"):
        return False
    frame_ms = 1000.0 / fast.fps if fast.fps else 40.0
    if any(s.audio_delay_ms is not None and abs(s.audio_delay_ms - fast.audio_delay_ms) > frame_ms
           for s in fast.shots):
        return False
    return fast.confidence >= SETTLED_CONFIDENCE


def cascade_levels(sources: list[Source], early: bool) -> list[list[int]]:
    """Which of ``sources`` (``ensemble_modes`` order) to measure with, in turn, until one
    report is ``settled``; the last level is always taken as it is.

    With ``early`` (``"auto"``): batch allphone alone, then both allphone front ends, then
    the transcript too. Each level is the cheaper one's evidence plus one more source, so
    a clip pays for what its evidence needs: long clear speech settles at the first.
    """
    every = list(range(len(sources)))
    if not early or len(sources) < 3:
        return [every]
    return [[1], [1, 2], every]


def measure_in_steps(
    levels: list[list[int]],
    measure: Callable[[list[int]], SyncReport],
    before_next: Callable[[], None] | None = None,
) -> tuple[list[int], SyncReport]:
    """Measure with each of ``levels`` in turn (``cascade_levels``) and stop at the first
    report that is ``settled``, or at the last level. ``measure`` returns the report the
    decision reads; ``before_next`` runs when a level did not settle (``check`` starts the
    sources still missing there). The one place the policy lives, for ``check`` and for
    the benchmark that scores it."""
    for n, level in enumerate(levels):
        rep = measure(level)
        if n == len(levels) - 1 or settled(rep):
            return level, rep
        if before_next is not None:
            before_next()
    raise ValueError("no level to measure with")


def timelines_for(audio: Audio, transcript: str | None = DEFAULT_TRANSCRIPT, *, use_cache: bool = True) -> list[Any]:
    """The speech timelines ``check`` uses for ``audio``, computed one after the other."""
    from mouthsync.audio.timeline import speech_timeline

    return [
        speech_timeline(audio, transcript=t, front_end=fe, use_cache=use_cache) for t, fe in ensemble_modes(transcript)
    ]


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
) -> SyncReport:
    """Measure delay, confidence, windows and drift from a face track and a speech timeline.

    ``timeline`` is one speech timeline or a list of them (their expected openings are
    averaged; speech activity comes from the first). When the track holds picture cuts
    (:func:`mouthsync.face.shots.shot_spans`), every shot is measured alone as well
    (``SyncReport.shots``), like a window bounded by the edit instead of the clock.

    ``others``: more faces' tracks (of the same picture) measured together with ``track``
    (:meth:`Signals.joined`): the faces of a dialogue, who speak in turn.

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
    delays = np.arange(-max_delay_s, max_delay_s + GRID_STEP_S / 2, GRID_STEP_S)
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

    def span_estimate(a: float, b: float, e: _Estimate) -> WindowEstimate:
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
    if shots_refute_line(shot_estimates, drift, frame_ms):
        drift.kind, drift.interpretation = "steps", None
    steps = []
    runs = delay_runs(windows, frame_ms) if len(windows) >= 4 else []
    if runs and (drift.kind in ("steps", "none") or steps_beat_line(runs, drift, frame_ms)):
        # a late stretch of a few windows reads "none" to the robust drift line, or bends it
        # into a slope, but it is a step all the same
        def part_delay(sel: np.ndarray) -> float | None:
            e = estimate_window(sig, sel, delays, w, conf_sig)
            return None if e.delay_s is None or e.uncertain else e.delay_s

        steps = find_steps(sig, runs, w, frame_ms, calibration_ms, part_delay,
                           cuts=[a for a, _ in shots[1:]])
        if steps:
            drift.kind, drift.interpretation = "steps", None
    span = float(sig.times[-1] - sig.times[0])
    delay_at_s: float | None = None
    if drift.kind in ("drift", "none") and glob.delay_s is not None and span >= 20.0:
        mid = 0.5 * (float(sig.times[0]) + float(sig.times[-1]))
        around, center = 0.0, glob.delay_s
        if drift.kind == "drift" and drift.ms_per_min is not None and drift.intercept_ms is not None:
            # start from the window line: a steep drift smears the unwarped whole-clip peak
            # (a clip drifting 280 ms/min read confidence 0 and a drift capped at the edge
            # of a search around zero)
            around = drift.ms_per_min
            center = (drift.at(mid) + calibration_ms) / 1000.0
        # the equal mix: over a long clip every source has enough material, and their mean
        # measured the 1001/1000 stretch within 2-3 % where the fit-weighted mix read 8-10 %
        g = global_drift(equal, center, w, around_ms_per_min=around)
        if g is not None:
            drift.ms_per_min = g
            drift.kind = "drift" if abs(g) / 60.0 * span > 0.5 * frame_ms else "none"
            drift.interpretation = interpret(g) if drift.kind == "drift" else None
            drift.method = "global warp search"
            if drift.kind == "drift":
                # the headline delay of a drifting clip: the delay at its middle, measured
                # with the drift undone (every frame then agrees at one delay)
                warped = estimate_window(sig, every, delays, w, conf_sig, warp=g / 60000.0)
                if warped.delay_s is not None:
                    glob = warped
                    delay_at_s = mid
    raw_ms = None if glob.delay_s is None else glob.delay_s * 1000.0
    delay_ms = None if raw_ms is None else raw_ms - calibration_ms
    conf = glob.confidence
    if len(windows) > 1:
        # a long clip is as trustworthy as its confident windows agree with the global peak
        good = [x for x in windows if x.audio_delay_ms is not None and not x.uncertain]
        if good and delay_ms is not None and drift.kind != "drift":
            agree = np.mean([abs(x.audio_delay_ms - delay_ms) <= frame_ms for x in good])  # type: ignore[operator]
            conf = float(np.clip(max(conf, float(np.median([x.confidence for x in good]))) * (0.5 + 0.5 * agree), 0, 1))
    findings, verdict = judge_report(delay_ms, conf, glob.note, drift, windows, standard, frame_ms,
                                     shots=shot_estimates, snap_s=hop_s, steps=steps)
    findings += still_findings(still, sig.speech_seconds(float(sig.times[0]), float(sig.times[-1])))
    curve = Curve(delays * 1000.0 - calibration_ms, glob.combined, glob.components)
    details = {
        "algorithm": ALGORITHM,
        "weights": w,
        "search_ms": [-max_delay_s * 1000.0, max_delay_s * 1000.0],
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


# ----------------------------------------------------------------------------- entry


def _no_face_report(video_path: str, reason: str, standard: str, fps: float) -> SyncReport:
    st = get_standard(standard)
    finding = Finding("sync.face", Severity.WARNING, f"cannot measure sync: {reason}",
                      advice="use footage where the speaker's face is visible")
    return SyncReport(
        audio_delay_ms=None, audio_delay_frames=None, fps=fps, confidence=0.0, windows=[],
        drift_ms_per_min=None, drift=DriftFit(None, None, None, 0, "insufficient"),
        verdict={"standard": st.key, "standard_name": st.name, "status": "no_face", "passes": None, "reason": reason},
        findings=[finding], curve=None, source=video_path,
    )


def _within_picture(audio: Audio, vpath: str) -> Audio:
    """``audio`` cut to the picture's span, as the camera's own sound is: a recorder that
    ran longer than the camera holds speech (other takes, the slate, talk between takes)
    that no frame shows. Kept, it was compared with the first and last frames at large
    candidate delays: a recorder with another voice 0.8 s either side of the take read
    +39..62 ms at confidence 0 where the camera's own sound reads +28 at 0.76."""
    from mouthsync.media.decode import frame_times

    t = frame_times(vpath)
    step = float(np.median(np.diff(t))) if t.size > 1 else 0.04
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
) -> SyncReport:
    """Measure the audio delay of ``video_path`` (or of ``audio_path`` against its picture).

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
    from mouthsync.face.count import face_boxes, faces_in
    from mouthsync.face.region import face_regions
    from mouthsync.face.track import DEFAULT_MAX_SIDE, start_track_face, track_faces
    from mouthsync.media.container import check_input_path
    from mouthsync.media.decode import channel_envelopes, video_meta
    from mouthsync.sync.channels import split_voices

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
    pending = start_track_face(vpath, use_cache=use_cache, worker_nice=BACKGROUND_NICE) if faces in ("auto", 1) else None
    try:  # until the block that owns it below, an error here must stop the tracking worker
        if channel is None and split_voices(channel_envelopes(apath, audio_stream=audio_stream)):
            if pending is not None:
                pending.cancel()
            return _check_channels(
                vpath, audio_path=audio_path, window_s=window_s, hop_s=hop_s, standard=standard,
                max_delay_s=max_delay_s, use_cache=use_cache, transcript=transcript, faces=faces,
                audio_stream=audio_stream, keep_evidence=keep_evidence, line_up=line_up)
        # the centre channel alone where the layout has one: the dialogue of a 5.1 master
        audio = decode_audio(apath, rate=16000, mono=True, audio_stream=audio_stream, dialogue=True,
                             channel=channel)
        if audio.samples.size < audio.rate // 10:
            raise BadInput(f"{apath}: the audio is shorter than 0.1 s: nothing to measure")
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
        probably_settles = cascade and audio.samples.size / audio.rate >= LONG_AUDIO_S and not _noisy(audio)
        futures: dict[int, Future[Any]] = {}

        def start(i: int, nice: int) -> None:
            if i not in futures:
                t, fe = sources[i]
                futures[i] = speech_timeline_in_process(audio, transcript=t, front_end=fe, use_cache=use_cache, nice=nice)

        levels = cascade_levels(sources, cascade)
        for i in levels[0] if probably_settles else range(len(sources)):
            start(i, BACKGROUND_NICE if sources[i][0] is None else 0)
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
            crops = face_regions(boxes, meta.width, meta.height, DEFAULT_MAX_SIDE, n_faces)
            if n_faces == 1 and one is not None and not crops:
                tracks = [one.result()]
            else:
                if one is not None:
                    one.cancel()
                if crops:  # small faces (a medium or wide shot): each tracked in its own crop
                    tracks = []
                    for c in crops:
                        with (start_track_face(vpath, use_cache=use_cache, worker_nice=BACKGROUND_NICE, crop=c) as job,
                              contextlib.suppress(NoFace)):  # one person lost: measure the others
                            tracks.append(job.result())
                    if not tracks:
                        raise NoFace(f"{vpath}: none of the {len(crops)} small faces could be tracked")
                else:
                    tracks = track_faces(vpath, max_faces=n_faces, use_cache=use_cache)
    except NoFace as exc:
        no_face = str(exc)
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

    timelines = timelines_of(levels[0])  # timeline errors first, as before
    if no_face is not None:
        unwanted([])
        return _no_face_report(vpath, no_face, standard, meta.declared_fps or 25.0)
    usable = [t for t in tracks if t.valid.sum() >= 8]
    if not usable:
        unwanted([])
        return _no_face_report(vpath, "a usable face was found in fewer than 8 frames", standard, tracks[0].fps or 25.0)

    reports: list[SyncReport] = []

    def best_of(reps: list[SyncReport]) -> int:
        return max(range(len(reps)), key=lambda i: (reps[i].confidence, int(usable[i].valid.sum())))

    def measure(level: list[int]) -> SyncReport:
        nonlocal timelines, reports
        timelines = timelines_of(level)
        reports = [analyse(t, timelines, audio, window_s=window_s, hop_s=hop_s, standard=standard,
                           max_delay_s=max_delay_s, source=vpath) for t in usable]
        b = best_of(reports)
        talking = speaking_faces(reports, b)
        if len(talking) > 1:
            # a dialogue: every face that speaks is measured together (each where it talks)
            both = analyse(usable[b], timelines, audio, window_s=window_s, hop_s=hop_s, standard=standard,
                           max_delay_s=max_delay_s, source=vpath, others=[usable[i] for i in talking if i != b])
            if both.confidence >= reports[b].confidence - SPEAKER_MARGIN:
                both.details["speaking_faces"] = talking
                return both
        return reports[b]

    def start_the_rest() -> None:  # not settled: whatever may still be needed starts now
        for i in levels[-1]:
            start(i, 0)

    used, rep = measure_in_steps(levels, measure, start_the_rest)
    unwanted(used)
    best = best_of(reports)  # the report ``rep`` the decision read
    rep.details["phones_from"] = "+".join(
        tl.mode + ("" if sources[i][1] == "batch" else f"({sources[i][1]})") for tl, i in zip(timelines, used, strict=True)
    )
    if cascade:
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
    # a flat noise bed was removed before recognition (audio.denoise): say so, with its measure
    noisy = [tl.settings for tl in timelines if tl.settings.get("denoised")]
    rep.details["denoised"] = bool(noisy)
    if noisy:
        rep.details["noise_flatness"] = noisy[0].get("noise_flatness")
        rep.details["noise_snr_db"] = noisy[0].get("snr_db")
    if n_faces > 1:
        _add_speaker(rep, usable, reports, best)
    if keep_evidence:
        rep.evidence = Evidence(track=usable[best], timelines=list(timelines), audio=audio)
    return rep


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


def speaking_faces(reports: list[SyncReport], best: int) -> list[int]:
    """The faces that speak: the best one, and every other whose own reading is confident
    and within a frame of it (a face that does not speak reads the speech at confidence
    0.00-0.25, and rarely at the speaker's delay)."""
    top = reports[best]
    if top.audio_delay_ms is None or top.confidence < LOW_CONFIDENCE:
        return [best]
    frame_ms = 1000.0 / top.fps if top.fps else 40.0
    return [i for i, r in enumerate(reports)
            if i == best or (r.audio_delay_ms is not None and r.confidence >= LOW_CONFIDENCE
                             and abs(r.audio_delay_ms - top.audio_delay_ms) <= frame_ms)]


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
