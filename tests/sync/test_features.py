"""Signal helpers of the delay search (``sync.features``): correlations, baseline removal, lagged table reads."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.sync.features import (
    corr_rows,
    detrend,
    fill_invalid,
    grid_lags,
    masked_corr_rows,
    sample_lagged,
)


def test_corr_rows_equals_the_masked_correlation_on_a_fixed_support() -> None:
    """The delay search's fast path gives the masked correlation's figures (all-true mask),
    NaN for a constant row and for too few samples."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal(200)
    rows = np.vstack([x * 0.5 + 3.0, -x, rng.standard_normal((5, 200)) + 10.0, np.full(200, 0.7)])
    full = corr_rows(x, rows)
    ref = masked_corr_rows(x, rows, np.ones(rows.shape, bool))
    np.testing.assert_allclose(full[:-1], ref[:-1], atol=1e-12)
    assert full[0] == pytest.approx(1.0) and full[1] == pytest.approx(-1.0)
    assert np.isnan(full[-1])
    assert np.isnan(corr_rows(x[:5], rows[:, :5])).all()


def test_trimmed_correlation_ignores_a_stretch_that_disagrees_whatever_the_delay() -> None:
    """A stretch of the expected curve that is wrong (another voice in the speaker's pause)
    pulls the plain correlation down; the trimmed one drops its blocks and reads what the
    rest says. Too few blocks: the plain figure."""
    from mouthsync.sync.features import trimmed_corr_rows

    rng = np.random.default_rng(5)
    x = rng.standard_normal(240)
    y = x + 0.3 * rng.standard_normal(240)
    bad = y.copy()
    bad[96:132] = -4.0 * x[96:132]  # three 12-sample blocks that disagree strongly
    plain = corr_rows(x, bad[None, :])[0]
    trimmed = trimmed_corr_rows(x, bad[None, :], block=12, drop=0.2)[0]
    clean = corr_rows(x, y[None, :])[0]
    assert plain < 0.3 and trimmed > 0.9 and trimmed == pytest.approx(clean, abs=0.05)
    np.testing.assert_allclose(trimmed_corr_rows(x[:36], y[None, :36], block=12, drop=0.2),
                               corr_rows(x[:36], y[None, :36]))


@pytest.mark.parametrize("uneven", [False, True])
def test_detrend_is_each_frame_less_the_median_of_its_second(uneven: bool) -> None:
    """The running median taken for many frames at once equals one median per frame, on a
    constant rate and on uneven (VFR) frame times, with invalid frames filled."""
    rng = np.random.default_rng(1)
    n = 400
    t = np.sort(rng.uniform(0.0, n / 22.0, n)) if uneven else np.arange(n) / 25.0
    v = rng.normal(size=n) + np.sin(t)
    ok = rng.random(n) > 0.1
    x = fill_invalid(t, v, ok)
    want = np.array([x[i] - np.median(x[(t >= t[i] - 0.5) & (t <= t[i] + 0.5)]) for i in range(n)])
    np.testing.assert_array_equal(detrend(t, v, ok), want)


def test_lagged_table_reads_what_interpolation_reads_at_every_frame_and_delay() -> None:
    """The strided read of the expected-mouth table (``grid_lags``/``sample_lagged``) gives
    ``np.interp`` at every frame + delay, off both ends of the table too (the edge value)."""
    rng = np.random.default_rng(3)
    dt = 0.001
    grid = 2.0 + dt * np.arange(3000)
    table = rng.normal(size=grid.size)
    times = np.sort(rng.uniform(1.5, 5.5, 300))  # some frames before and after the table
    delays = np.arange(-0.8, 0.8 + 1e-9, 0.002)
    lags = grid_lags(times, delays, float(grid[0]), dt, grid.size)
    assert lags is not None and lags.step == 2
    got = sample_lagged(table, lags)
    want = np.interp(times[None, :] + delays[:, None], grid, table)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    # delays off the grid's step cannot be read as strides (the delay search refuses them)
    assert grid_lags(times, np.array([0.0, 0.0015, 0.003]), float(grid[0]), dt, grid.size) is None
    assert grid_lags(times, np.array([0.0, 0.002, 0.006]), float(grid[0]), dt, grid.size) is None
