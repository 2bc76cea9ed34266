"""Drift: a robust straight line through the per-window delays, and what it means.

Two clocks that disagree (audio resampled with the wrong ratio, a 25 fps edit played at
24, 44.1 kHz audio labelled 48 kHz) make the delay grow linearly with time. One bad window
must not bend that line, so it is a Theil-Sen fit (median of pairwise slopes, ~29 %
breakdown) over confident windows only. When the windows disagree but *not* along a line
(a step: an edit or a cut with different sync on each side) a warning says so rather than
reporting a meaningless slope.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from mouthsync.media.clocks import nearest_mismatch


@dataclass
class DriftFit:
    """Result of the drift fit.

    ``ms_per_min``: slope of delay against time; ``intercept_ms``: delay at ``t = 0``;
    ``residual_ms``: robust spread of windows around the line; ``interpretation``: the
    matching known clock mismatch, if any; ``kind``: ``"none"``, ``"drift"``, ``"steps"``
    (windows disagree without a line) or ``"insufficient"`` (too few confident windows).
    """

    ms_per_min: float | None
    intercept_ms: float | None
    residual_ms: float | None
    windows_used: int
    kind: str
    interpretation: str | None = None
    method: str = "theil-sen over windows"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def at(self, t_s: Any) -> Any:
        """The line's delay (ms) at media time ``t_s`` (a number or an array); only for a fit
        with a slope and an intercept."""
        if self.ms_per_min is None or self.intercept_ms is None:
            raise ValueError("this drift fit has no line")
        return self.intercept_ms + self.ms_per_min / 60.0 * t_s

    @property
    def has_line(self) -> bool:
        """A drift with a slope and an intercept: ``at`` can be asked."""
        return self.kind == "drift" and self.ms_per_min is not None and self.intercept_ms is not None

    def measure_spread(self, centers_s: list[float], delays_ms: list[float]) -> None:
        """Set ``residual_ms`` (robust spread) and ``windows_used`` from the windows
        ``(centers_s, delays_ms)`` around this line: a line found by a whole-clip search
        (``method``) is judged by the windows searched along it afterwards."""
        if not delays_ms:
            return
        r = np.asarray(delays_ms, dtype=np.float64) - self.at(np.asarray(centers_s, dtype=np.float64))
        self.residual_ms = float(1.4826 * np.median(np.abs(r - np.median(r))))
        self.windows_used = len(delays_ms)


def interpret(ms_per_min: float, tolerance: float = 0.15) -> str | None:
    """Describe the known clock mismatch nearest this slope, within ``tolerance`` (relative)."""
    m = nearest_mismatch(ms_per_min, tolerance)
    return None if m is None else m.description


def theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Median of pairwise slopes and the median intercept (no SciPy dependency needed)."""
    i, j = np.triu_indices(len(x), 1)
    dx = x[j] - x[i]
    ok = dx > 1e-9
    slope = float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else 0.0
    return slope, float(np.median(y - slope * x))


def fit_drift(
    centers_s: np.ndarray,
    delays_ms: np.ndarray,
    confidences: np.ndarray,
    *,
    frame_ms: float = 40.0,
    min_confidence: float = 0.3,
    min_span_s: float = 10.0,
) -> DriftFit:
    """Fit the drift line through confident windows and classify what the windows show.

    A slope is reported as drift only when it moves the delay by more than half a frame
    over the material; a spread of more than one frame around the line marks steps.
    """
    c = np.asarray(centers_s, dtype=np.float64)
    d = np.asarray(delays_ms, dtype=np.float64)
    w = np.asarray(confidences, dtype=np.float64)
    ok = np.isfinite(d) & (w >= min_confidence)
    # a slope needs several windows over a real span, else two noisy points make a "drift"
    if ok.sum() < 4 or float(np.ptp(c[ok])) < min_span_s:
        return DriftFit(None, None, None, int(ok.sum()), "insufficient")
    x, y = c[ok], d[ok]
    slope, icpt = theil_sen(x, y)  # ms per second
    resid = y - (slope * x + icpt)
    spread = float(1.4826 * np.median(np.abs(resid - np.median(resid))))
    per_min = slope * 60.0
    span = float(x.max() - x.min())
    total_change = abs(slope) * span
    worst = float(np.max(np.abs(resid)))
    if spread > frame_ms or (worst > 2.5 * frame_ms and np.mean(np.abs(resid) > frame_ms) > 0.2):
        kind = "steps"
    elif total_change > 0.5 * frame_ms:
        kind = "drift"
    else:
        kind = "none"
    return DriftFit(
        ms_per_min=per_min,
        intercept_ms=icpt,
        residual_ms=spread,
        windows_used=int(ok.sum()),
        kind=kind,
        interpretation=interpret(per_min) if kind == "drift" else None,
    )
