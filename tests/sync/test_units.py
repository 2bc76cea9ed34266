"""Fast unit tests of the sync stage's pure parts: standards, drift fit, curve helpers, builders."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.media.decode import Audio
from mouthsync.sync.drift import fit_drift, interpret
from mouthsync.sync.features import (
    corr_rows,
    detrend,
    fill_invalid,
    grid_lags,
    masked_corr_rows,
    sample_lagged,
)
from mouthsync.sync.search import combine, confidence_from, refine_peak, window_spans
from mouthsync.sync.standards import get_standard, judge
from tests.sync.builders import mix_at_snr, pink_noise, shift_samples, shifted_audio


@pytest.mark.parametrize(
    ("delay", "std", "status"),
    [
        (0.0, "bt1359", "in_sync"),
        (120.0, "bt1359", "in_sync"),
        (130.0, "bt1359", "detectable"),
        (-50.0, "bt1359", "detectable"),
        (190.0, "bt1359", "out_of_sync"),
        (-95.0, "bt1359", "out_of_sync"),
        (44.0, "is191", "in_sync"),
        (-16.0, "is191", "out_of_sync"),
        (59.0, "r37", "in_sync"),
        (-41.0, "r37", "out_of_sync"),
    ],
)
def test_standard_limits(delay: float, std: str, status: str) -> None:
    v = judge(delay, std)
    assert v["status"] == status
    assert v["passes"] == (status != "out_of_sync")


def test_standard_aliases_and_unknown() -> None:
    assert get_standard("EBU").key == "r37"
    assert get_standard("ATSC").key == "is191"
    with pytest.raises(ValueError, match="unknown standard"):
        get_standard("smpte")


def test_drift_line_survives_outliers_and_is_named() -> None:
    t = np.arange(2.5, 62.5, 2.5)
    d = 40.0 + 1.0 * t  # 1 ms per s = 60 ms/min
    d[[3, 11]] += [300.0, -250.0]  # two wild windows
    fit = fit_drift(t, d, np.ones_like(t))
    assert fit.kind == "drift"
    assert fit.ms_per_min == pytest.approx(60.0, rel=0.02)
    assert "1000/1001" in (fit.interpretation or "")
    assert interpret(2500.0) and "25 fps" in interpret(2500.0)


def test_drift_steps_are_not_a_line() -> None:
    t = np.arange(2.5, 62.5, 2.5)
    d = np.where((t // 10) % 2 == 0, 0.0, 160.0)  # alternating edits
    fit = fit_drift(t, d, np.ones_like(t))
    assert fit.kind == "steps"
    flat = fit_drift(t, np.full_like(t, 30.0) + np.sin(t), np.ones_like(t))
    assert flat.kind == "none"
    few = fit_drift(t[:2], d[:2], np.ones(2))
    assert few.kind == "insufficient"


def test_window_spans_cover_and_short_media_get_one() -> None:
    assert window_spans(0.0, 5.0, 5.0, 2.5) == [(0.0, 5.0)]
    spans = window_spans(0.0, 60.0, 5.0, 2.5)
    assert spans[0] == (0.0, 5.0) and spans[-1][1] == 60.0
    assert all(b - a == pytest.approx(5.0) for a, b in spans)


def test_masked_corr_and_peak_refinement() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(200)
    delays = np.arange(-10, 11)
    rows = np.stack([np.roll(x, int(d)) for d in delays]).astype(float)
    mask = np.ones_like(rows, dtype=bool)
    r = masked_corr_rows(x, rows, mask)
    assert delays[int(np.argmax(r))] == 0 and r.max() == pytest.approx(1.0)
    # a sampled parabola peaking between grid points is recovered exactly
    g = np.arange(-0.02, 0.0201, 0.002)
    d, _ = refine_peak(g, -((g - 0.0033) ** 2))
    assert d == pytest.approx(0.0033, abs=1e-6)
    z = combine({"a": r, "b": r}, {"a": 1.0, "b": 1.0})
    assert int(np.argmax(z)) == int(np.argmax(r))


def test_confidence_is_zero_without_face_or_speech() -> None:
    assert confidence_from(0.55, 1.0, 4.0) > 0.9
    assert confidence_from(0.55, 0.0, 4.0) == 0.0
    assert confidence_from(0.55, 1.0, 0.0) == 0.0
    assert confidence_from(0.1, 1.0, 4.0) == 0.0


def test_shift_builder_is_exact_and_keeps_length() -> None:
    x = np.arange(1, 1601, dtype=np.float32)
    later = shift_samples(x, 16000, 0.005)  # 80 samples
    assert later.size == x.size and np.all(later[:80] == 0) and later[80] == 1
    earlier = shift_samples(x, 16000, -0.005)
    assert earlier[0] == 81 and np.all(earlier[-80:] == 0)
    a = shifted_audio(Audio(x, 16000, 0.25), 0.001)
    assert a.start == 0.25 and a.samples[16] == 1


def test_noise_mix_hits_the_requested_snr() -> None:
    rng = np.random.default_rng(1)
    speech = (0.3 * np.sin(np.arange(32000) / 7.0)).astype(np.float32)
    speech[16000:] *= 0.01  # half "pause": SNR is measured on the loud half
    noise = pink_noise(32000, seed=2)
    mixed = mix_at_snr(speech, noise, 10.0)
    added = mixed - speech  # noise power over the whole clip, speech power while talking
    snr = 10 * np.log10(np.mean(speech[:16000] ** 2) / np.mean(added**2))
    assert snr == pytest.approx(10.0, abs=0.5)
    del rng


def test_delay_curves_are_shift_equivariant_on_a_fixed_support() -> None:
    """Moving the phones by ``s`` must move every agreement curve by exactly ``s``.

    The first version scored each delay over its own audio overlap; at large delays the
    frame set changed with the delay and this failed (docs/sync.md, "Fixed support").
    """
    from types import SimpleNamespace

    from mouthsync.audio.types import Phone
    from mouthsync.audio.visemes import expected_opening, expected_spread
    from mouthsync.sync.search import GRID_STEP_S
    from mouthsync.sync.signals import Signals

    rng = np.random.default_rng(3)
    labels = ["AA", "M", "IY", "P", "S", "AE", "B", "OW", "F", "UW"]
    phones, t = [], 0.3
    while t < 4.6:
        d = float(rng.uniform(0.06, 0.2))
        phones.append(Phone(t, t + d, str(rng.choice(labels))))
        t += d
    times = np.arange(0.0, 5.0, 0.04)
    ap = expected_opening(phones, times) + 0.05 * rng.standard_normal(times.size)
    wd = expected_spread(phones, times) + 0.05 * rng.standard_normal(times.size)
    track = SimpleNamespace(times=times, mouth={"aperture": ap, "width": wd}, valid=np.ones(times.size, bool), fps=25.0)
    audio = Audio(samples=np.zeros(80000, np.float32), rate=16000, start=0.0)
    delays = np.round(np.arange(-0.8, 0.8 + 1e-9, GRID_STEP_S), 6)
    sel = np.ones(times.size, bool)
    w = {"opening": 1.0, "velocity": 1.0, "width": 1.0}

    def curves(shift: float) -> dict[str, np.ndarray]:
        moved = [Phone(p.start + shift, p.end + shift, p.label) for p in phones]
        tl = SimpleNamespace(phones=moved, speech=[(moved[0].start, moved[-1].end)])
        return Signals(track, tl, audio).curves(sel, delays, w)

    base = curves(0.0)
    for shift in (-0.6, 0.6):
        moved = curves(shift)
        k = int(round(shift / GRID_STEP_S))
        for name in w:
            a = base[name][max(0, -k) : delays.size - max(0, k)]
            b = moved[name][max(0, k) : delays.size - max(0, -k)]
            np.testing.assert_allclose(b, a, atol=2e-3, err_msg=f"{name} at shift {shift}")
        assert abs(delays[np.nanargmax(moved["velocity"])] - delays[np.nanargmax(base["velocity"])] - shift) < 1e-6
        assert abs(delays[np.nanargmax(moved["width"])] - delays[np.nanargmax(base["width"])] - shift) < 1e-6
    # the width alone finds the true delay (0) of this synthetic mouth
    assert abs(delays[np.nanargmax(base["width"])]) <= 0.04


def test_several_timelines_average_their_expected_openings() -> None:
    """``check`` averages the aligned and the allphone timeline: the searched curve is the
    mean of their expected openings, and speech activity comes from the first."""
    from types import SimpleNamespace

    from mouthsync.audio.types import Phone
    from mouthsync.audio.visemes import expected_opening
    from mouthsync.sync.signals import Signals
    from mouthsync.sync.sources import ensemble_modes

    times = np.arange(0.0, 3.0, 0.04)
    track = SimpleNamespace(times=times, mouth={"aperture": np.sin(times * 9)}, valid=np.ones(times.size, bool), fps=25.0)
    audio = Audio(samples=np.zeros(48000, np.float32), rate=16000, start=0.0)
    a = SimpleNamespace(phones=[Phone(0.0, 0.5, "SIL"), Phone(0.5, 0.8, "AA"), Phone(0.8, 3.0, "SIL")], speech=[(0.5, 0.8)])
    b = SimpleNamespace(phones=[Phone(0.0, 1.5, "SIL"), Phone(1.5, 1.7, "M"), Phone(1.7, 3.0, "SIL")], speech=[(1.5, 1.7)])
    both = Signals(track, [a, b], audio)
    ea = expected_opening(a.phones, both.grid_t)
    eb = expected_opening(b.phones, both.grid_t)
    np.testing.assert_allclose(both.grid_e, (ea + eb) / 2, atol=1e-9)
    assert both.speech == [(0.5, 0.8)]
    np.testing.assert_allclose(Signals(track, a, audio).grid_e, ea, atol=1e-9)
    assert ensemble_modes("auto") == [("auto", "batch"), (None, "batch"), (None, "live")]
    assert ensemble_modes(None) == [(None, "batch")]
    assert ensemble_modes("hello there") == [("hello there", "batch")]


def test_sources_are_weighed_by_how_well_each_alone_fits() -> None:
    """A phone source that does not fit the face (here: random phones) is weighed down, so
    the mix follows the source that does; the confidence still comes from the equal mix."""
    from types import SimpleNamespace

    from mouthsync.audio.types import Phone
    from mouthsync.audio.visemes import expected_opening, expected_spread
    from mouthsync.sync.delay import DEFAULT_WEIGHTS, analyse
    from mouthsync.sync.search import GRID_STEP_S, fit_weights, source_searches
    from mouthsync.sync.signals import Signals

    rng = np.random.default_rng(11)
    labels = ["AA", "M", "IY", "P", "S", "AE", "B", "OW", "F", "UW"]

    def random_phones(seed: int) -> list[Phone]:
        r = np.random.default_rng(seed)
        out, t = [], 0.3
        while t < 5.6:
            d = float(r.uniform(0.06, 0.2))
            out.append(Phone(t, t + d, str(r.choice(labels))))
            t += d
        return out

    good, junk = random_phones(1), random_phones(2)
    times = np.arange(0.0, 6.0, 0.04)
    true_delay = 0.08  # the sound comes 80 ms after the picture
    ap = expected_opening(good, times + true_delay) + 0.05 * rng.standard_normal(times.size)
    wd = expected_spread(good, times + true_delay) + 0.05 * rng.standard_normal(times.size)
    track = SimpleNamespace(times=times, mouth={"aperture": ap, "width": wd}, valid=np.ones(times.size, bool), fps=25.0)
    audio = Audio(samples=np.zeros(96000, np.float32), rate=16000, start=0.0)
    tl_good = SimpleNamespace(phones=good, speech=[(good[0].start, good[-1].end)], mode="align")
    tl_junk = SimpleNamespace(phones=junk, speech=[(junk[0].start, junk[-1].end)], mode="allphone")
    sig = Signals(track, [tl_junk, tl_good], audio)
    np.testing.assert_allclose(sig.source_weights, [0.5, 0.5])
    delays = np.arange(-0.8, 0.8 + 1e-9, GRID_STEP_S)
    fits, curves = source_searches(sig, np.ones(times.size, bool), delays, DEFAULT_WEIGHTS)
    assert [c.shape for c in curves] == [delays.shape] * 2
    assert fits[1] > fits[0] + 0.3
    mixed = sig.mixed(fit_weights(fits))
    assert mixed.source_weights[1] > 0.95
    np.testing.assert_allclose(sig.source_weights, [0.5, 0.5])  # the equal mix is left as it was
    rep = analyse(track, [tl_junk, tl_good], audio, window_s=1e9, calibration_ms=0.0)
    assert rep.raw_delay_ms is not None and abs(rep.raw_delay_ms - 80.0) < 10.0
    assert rep.details["source_weights"][1] > 0.95
    # one source: nothing to weigh
    assert source_searches(Signals(track, tl_good, audio), np.ones(times.size, bool), delays, DEFAULT_WEIGHTS) == ([], [])


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


def test_phones_settle_only_a_confident_measured_delay_without_steps() -> None:
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import SyncReport
    from mouthsync.sync.sources import SETTLED_CONFIDENCE, decides_early, ensemble_modes, settled

    def report(delay: float | None, conf: float, kind: str) -> SyncReport:
        return SyncReport(delay, None, 25.0, conf, [], None, DriftFit(None, None, None, 0, kind), {}, [], None)

    assert settled(report(40.0, SETTLED_CONFIDENCE, "none"))
    assert not settled(report(40.0, 1.0, "drift")), "a drift is measured best with every source"
    assert not settled(report(40.0, SETTLED_CONFIDENCE - 0.01, "none"))
    assert not settled(report(None, 1.0, "insufficient"))
    assert not settled(report(40.0, 1.0, "steps")), "an edited clip's windows need every source"
    # only the default may decide early; 'always' asks for the same three sources up front
    assert decides_early("auto") and not decides_early("always") and not decides_early(None)
    assert not decides_early("the words that were said")
    assert ensemble_modes("always") == ensemble_modes("auto")


def test_late_fusion_lets_two_agreeing_sources_outvote_a_third() -> None:
    from mouthsync.sync.search import late_fusion

    delays = np.arange(-0.8, 0.801, 0.002)

    def bump(at: float, height: float = 3.0) -> np.ndarray:
        return height * np.exp(-0.5 * ((delays - at) / 0.03) ** 2)

    curves = [bump(0.04), bump(0.05), bump(-0.4, 4.0)]
    fused = late_fusion([0.40, 0.40, 0.40], curves)
    assert fused is not None
    assert abs(delays[int(np.argmax(fused))] - 0.045) <= 0.012
    # a source that fits the face far worse counts for little, however sharp its peak
    fused = late_fusion([0.45, 0.10, 0.10], [bump(0.2), bump(-0.4, 6.0), bump(-0.4, 6.0)])
    assert abs(delays[int(np.argmax(fused))] - 0.2) <= 0.004
    # one usable source is no second opinion
    assert late_fusion([0.4, 0.0], [bump(0.0), np.full(delays.size, np.nan)]) is None


def test_cascade_levels_add_one_source_at_a_time_and_end_with_all() -> None:
    from mouthsync.sync.sources import cascade_levels, ensemble_modes

    auto = ensemble_modes("auto")
    assert auto[0][0] is not None and auto[1] == (None, "batch") and auto[2] == (None, "live")
    assert cascade_levels(auto, early=True) == [[1], [1, 2], [0, 1, 2]]
    assert cascade_levels(auto, early=False) == [[0, 1, 2]]
    assert cascade_levels(ensemble_modes(None), early=True) == [[0]]


def test_measure_in_steps_stops_at_the_first_settled_level() -> None:
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.report import SyncReport
    from mouthsync.sync.sources import measure_in_steps

    def report(conf: float) -> SyncReport:
        return SyncReport(10.0, None, 25.0, conf, [], None, DriftFit(None, None, None, 0, "none"), {}, [], None)

    levels = [[1], [1, 2], [0, 1, 2]]
    seen: list[list[int]] = []
    escalations: list[int] = []
    conf = {1: 0.5, 2: 0.85, 3: 0.95}
    level, rep = measure_in_steps(levels, lambda lv: seen.append(lv) or report(conf[len(lv)]),
                                  lambda: escalations.append(1))
    assert level == [1, 2] and rep.confidence == 0.85 and seen == levels[:2] and len(escalations) == 1
    # nothing settles: the last level is taken as it is
    level, rep = measure_in_steps(levels, lambda lv: report(0.1))
    assert level == [0, 1, 2] and rep.confidence == 0.1


def test_the_plot_draws_a_line_only_for_a_drift() -> None:
    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.plot import drift_legend

    assert drift_legend(DriftFit(60.0, 5.0, 3.0, 20, "drift")) == (True, "drift +60.0 ms/min")
    line, label = drift_legend(DriftFit(-157.0, 50.0, 39.0, 20, "steps"))
    assert not line and "edit or cut" in (label or "")
    assert drift_legend(DriftFit(0.2, 7.0, 2.0, 20, "none")) == (False, None)


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
    # delays off the grid's step cannot be read as strides: the caller interpolates
    assert grid_lags(times, np.array([0.0, 0.0015, 0.003]), float(grid[0]), dt, grid.size) is None
    assert grid_lags(times, np.array([0.0, 0.002, 0.006]), float(grid[0]), dt, grid.size) is None
