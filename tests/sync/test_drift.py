"""The drift line through window delays (``sync.drift``): robust, named, and not fitted to steps."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.sync.drift import fit_drift, interpret


def test_drift_line_survives_outliers_and_is_named() -> None:
    t = np.arange(2.5, 62.5, 2.5)
    d = 40.0 + 1.0 * t  # 1 ms per s = 60 ms/min
    d[[3, 11]] += [300.0, -250.0]  # two wild windows
    fit = fit_drift(t, d, np.ones_like(t))
    assert fit.kind == "drift"
    assert fit.ms_per_min == pytest.approx(60.0, rel=0.02)
    assert "1000/1001" in (fit.interpretation or "")
    assert interpret(2500.0) and "24 fps picture played at 25 fps" in interpret(2500.0)
    assert "23.976 fps picture played at 25 fps" in (interpret(2570.0) or "")  # the nearer of the two
    assert "44.1 kHz" in (interpret(5250.0) or "") and interpret(1200.0) is None


def test_drift_steps_are_not_a_line() -> None:
    t = np.arange(2.5, 62.5, 2.5)
    d = np.where((t // 10) % 2 == 0, 0.0, 160.0)  # alternating edits
    fit = fit_drift(t, d, np.ones_like(t))
    assert fit.kind == "steps"
    flat = fit_drift(t, np.full_like(t, 30.0) + np.sin(t), np.ones_like(t))
    assert flat.kind == "none"
    few = fit_drift(t[:2], d[:2], np.ones(2))
    assert few.kind == "insufficient"
