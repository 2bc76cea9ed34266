"""One span's delay search (``sync.search``): windows, the peak, the confidence, weighing the phone sources."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.media.decode import Audio
from mouthsync.sync.features import masked_corr_rows
from mouthsync.sync.search import combine, confidence_from, refine_peak, window_spans
from tests.sync.builders import random_phones


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


def test_sources_are_weighed_by_how_well_each_alone_fits() -> None:
    """A phone source that does not fit the face (here: random phones) is weighed down, so
    the mix follows the source that does; the confidence still comes from the equal mix."""
    from types import SimpleNamespace

    from mouthsync.audio.visemes import expected_opening, expected_spread
    from mouthsync.sync.delay import DEFAULT_WEIGHTS, analyse
    from mouthsync.sync.search import GRID_STEP_S, fit_weights, source_searches
    from mouthsync.sync.signals import Signals

    rng = np.random.default_rng(11)
    good, junk = random_phones(np.random.default_rng(1), 5.6), random_phones(np.random.default_rng(2), 5.6)
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


def test_a_clock_scan_told_the_ratio_tries_only_the_ratios_near_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each tried mismatch scores every frame over the whole search: a cascade level after
    one that found 25/24 tries 25/24 and 25/23.976 (0.1 % apart), not the other six."""
    import mouthsync.sync.search as search
    from mouthsync.media.clocks import KNOWN_MISMATCHES

    tried: list[float] = []

    def fake(sig, sel, delays, weights, conf_sig=None, warp=0.0, second=None):  # type: ignore[no-untyped-def]
        tried.append(1.0 + warp)
        return search.Estimate(None, 0.0, True, "", np.array([]), {}, {}, delays)

    monkeypatch.setattr(search, "estimate_window", fake)

    class Frames:
        times = np.arange(0.0, 1200.0, 0.04)  # 20 minutes: 1000/1001 reaches past the search too

    delays = np.arange(-0.8, 0.8001, 0.002)
    search.clock_scan(Frames(), delays, {}, None)  # type: ignore[arg-type]
    assert sorted(tried) == pytest.approx(sorted(m.ratio for m in KNOWN_MISMATCHES))
    tried.clear()
    search.clock_scan(Frames(), delays, {}, None, near=25 / 24)  # type: ignore[arg-type]
    assert sorted(tried) == pytest.approx([25 / 24, 25 / (24000 / 1001)])


def test_lips_coded_past_reading_hold_every_confidence_down() -> None:
    """The same face and speech read with the lips 3 QP over their line keep half of every
    span's confidence (and the whole file's drops with them), and a window that falls
    below the line of trust says why; the delay itself is read as before."""
    from types import SimpleNamespace

    from mouthsync.audio.visemes import expected_opening
    from mouthsync.face.coding import MouthCoding
    from mouthsync.sync.delay import analyse
    from mouthsync.sync.verdict import PICTURE_NOTE

    rng = np.random.default_rng(3)
    phones = random_phones(rng, 14.6)
    times = np.arange(0.0, 15.0, 0.04)
    ap = expected_opening(phones, times + 0.08) + 0.3 * rng.standard_normal(times.size)
    track = SimpleNamespace(times=times, mouth={"aperture": ap}, valid=np.ones(times.size, bool), fps=25.0)
    audio = Audio(samples=np.zeros(16000 * 15, np.float32), rate=16000, start=0.0)
    tl = SimpleNamespace(phones=phones, speech=[(phones[0].start, phones[-1].end)], mode="allphone")
    plain = analyse(track, [tl], audio, calibration_ms=0.0)
    half = analyse(track, [tl], audio, calibration_ms=0.0, picture=MouthCoding(qp=48.0, face_px=200.0, frames=60))
    assert plain.confidence >= 0.3 and half.raw_delay_ms == pytest.approx(plain.raw_delay_ms)
    # (the headline reads the confident windows' median, and fewer of them stay confident)
    assert 0.5 * plain.confidence - 0.02 <= half.confidence < 0.75 * plain.confidence
    for a, b in zip(plain.windows, half.windows, strict=True):
        assert b.confidence == pytest.approx(0.5 * a.confidence, abs=1e-6)
        if a.confidence >= 0.3 and not a.uncertain and b.confidence < 0.3:
            assert b.uncertain and b.note == PICTURE_NOTE
    assert "sync.picture" in {f.check for f in half.findings} and "sync.picture" not in {f.check for f in plain.findings}
    assert half.details["picture"]["confidence_kept"] == pytest.approx(0.5)


def test_a_flat_topped_drift_score_is_read_at_its_middle() -> None:
    """The whole-clip agreement over drift slopes is nearly flat near the truth (a 60 s
    1001/1000 clip: 0.003 over 45-75 ms/min), and small wiggles decide where its highest
    point falls. The parabola fitted over every slope reads the middle of the top; its
    highest point here lies 12 ms/min off. Where the points open upwards (no top inside)
    it falls back to the best point."""
    from mouthsync.sync.search import _broad_peak

    x = 48.0 + np.arange(-36.0, 36.1, 6.0)
    wiggle = np.array([0, 0, 0, 0, 0, 0, -0.0015, 0, 0, 0, 0.0015, 0, 0])  # at 48 and 72 ms/min
    y = 0.69 - 1e-5 * (x - 60.0) ** 2 + wiggle  # (that clip's top falls by ~0.04 at 60 ms/min off)
    assert abs(x[int(np.argmax(y))] - 60.0) >= 12.0
    assert abs(_broad_peak(x, y) - 60.0) < 4.0
    rising = 0.5 + 1e-3 * x
    assert _broad_peak(x, rising) == pytest.approx(x[-1])


def test_a_drift_fit_started_off_the_top_settles_on_it() -> None:
    """A score shaped like a 10-minute take's in sync (session 31): a peak at 0 that is not a
    parabola (a sharp top at 0.596, sides that flatten towards +-40 ms/min). The coarse pass has no point at 0 and
    starts the fit at +6; one fit over -30..+42 leans towards that span's middle (+2 ms/min,
    over 10 minutes half a frame: a drift). Fitted again around each vertex, it settles on
    the top; a fit started on the top stays there."""
    from mouthsync.sync.search import _broad_peak, settle_slope

    def score_of(slopes: np.ndarray) -> np.ndarray:
        return 0.596 - 0.4 * (1.0 - np.exp(-np.abs(slopes) / 20.0)) - 0.012 * np.abs(slopes) / (1.0 + np.abs(slopes))

    once = np.arange(-30.0, 42.1, 6.0)
    assert _broad_peak(once, score_of(once)) > 1.0  # the lean of a single fit
    assert abs(settle_slope(score_of, 6.0)) < 0.3  # type: ignore[arg-type]
    assert abs(settle_slope(score_of, 0.0)) < 0.3  # type: ignore[arg-type]
    assert settle_slope(lambda s: np.full(s.size, np.nan), 6.0) is None


def test_a_long_files_narrow_drift_peak_is_fitted_on_finer_slopes() -> None:
    """On 30 minutes the agreement's peak over slopes is a few ms/min wide (in sync: 0.545 at
    0, 0.433 at +-4). Slopes 6 ms/min apart put one point on it, and the fit settles
    wherever it started (+0.58 ms/min measured: 17 ms over the file); slopes 2 ms/min apart
    (global_drift's step beyond 10 minutes) find its top."""
    from mouthsync.sync.search import settle_slope

    def narrow(slopes: np.ndarray) -> np.ndarray:
        return 0.545 - 0.35 * (1.0 - np.exp(-np.abs(slopes) / 5.0))

    assert abs(settle_slope(narrow, 6.0, 6.0)) > 0.5  # type: ignore[arg-type]
    for start in (6.0, 3.0, -4.0):
        assert abs(settle_slope(narrow, start, 2.0)) < 0.2  # type: ignore[arg-type]


def test_a_peak_is_placed_by_its_shape_over_a_frame_not_by_a_ripple() -> None:
    """``place_peak``: an agreement curve that rises to +12 ms with a ripple at the frame
    period on top (its best 2 ms candidate sits on a ripple crest) is read at its true
    top by the fit over a frame, where the three points at the best candidate follow the
    ripple; a curve with no top near the candidate leaves the candidate as it is."""
    from mouthsync.sync.search import GRID_STEP_S, place_peak

    delays = np.round(np.arange(-0.2, 0.2 + 1e-9, GRID_STEP_S), 6)
    frame = 0.04
    curve = 1.0 - 60.0 * (delays - 0.012) ** 2 + 0.02 * np.cos(2 * np.pi * (delays + 0.004) / frame)
    found, _ = refine_peak(delays, curve)
    assert abs(found - 0.012) > 0.005  # the ripple's crest, not the top
    assert place_peak(delays, curve, found, frame) == pytest.approx(0.012, abs=0.002)
    rising = delays.copy()  # no top: the best candidate stays
    assert place_peak(delays, rising, 0.2, frame) == 0.2
