"""The check report's picture (``sync.plot``)."""

from __future__ import annotations


def test_the_plot_draws_a_line_only_for_a_drift() -> None:
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.plot import drift_legend

    assert drift_legend(DriftFit(60.0, 5.0, 3.0, 20, "drift")) == (True, "drift +60.0 ms/min")
    line, label = drift_legend(DriftFit(-157.0, 50.0, 39.0, 20, "steps"))
    assert not line and "edit or cut" in (label or "")
    assert drift_legend(DriftFit(0.2, 7.0, 2.0, 20, "none")) == (False, None)
