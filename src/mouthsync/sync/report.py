"""What ``check`` reports: the delay over candidate delays, per window, per shot, and the
evidence it was measured from. Plain data with its JSON form (``check --json``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mouthsync.core.findings import Finding
from mouthsync.media.decode import Audio
from mouthsync.sync.drift import DriftFit
from mouthsync.sync.steps import (
    DelayStep,
)
from mouthsync.sync.still import StillSpan


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


def off_whole_file_ms(d: dict[str, Any], delay_ms: float | None, at_s: float) -> float | None:
    """How far ``delay_ms``, read at ``at_s`` (a window's or a shot's middle), is from what
    the ``check --json`` document ``d`` reads for the whole file there: its delay, or its
    drift line when it drifts (sound later: positive); None when either is not measured.
    Where the sync changes is where this is more than a frame."""
    if delay_ms is None or d.get("audio_delay_ms") is None:
        return None
    want = d["audio_delay_ms"]
    dr = d.get("drift") or {}
    at = (d.get("details") or {}).get("delay_at_s")
    if dr.get("kind") == "drift" and dr.get("ms_per_min") is not None and at is not None:
        want += dr["ms_per_min"] / 60.0 * (at_s - at)
    return float(delay_ms - want)


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
    calibration_ms: float = 0.0  # the constant subtracted from the raw delay (delay.CALIBRATION_MS)
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

