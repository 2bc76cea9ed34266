"""The measured and expected mouth (``sync.signals``): curves over delays on a fixed support, several timelines."""

from __future__ import annotations

import numpy as np

from mouthsync.media.decode import Audio
from tests.sync.builders import random_phones


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
    phones = random_phones(rng, 4.6)
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


def test_the_lower_lip_drop_carries_the_timing_where_the_lips_do_not() -> None:
    """A mouth whose inner lips the mesh no longer parts (blur, coarse coding: aperture is
    noise) but whose lower lip still drops with the jaw: the blended velocity finds the
    true delay from the drop. A track saved without ``drop`` is read from the aperture
    alone, as before the drop was measured."""
    from types import SimpleNamespace

    from mouthsync.audio.visemes import expected_opening
    from mouthsync.sync.search import GRID_STEP_S
    from mouthsync.sync.signals import Signals

    rng = np.random.default_rng(5)
    phones = random_phones(rng, 4.6)
    times = np.arange(0.0, 5.0, 0.04)
    true = expected_opening(phones, times)
    noise = 0.05 * rng.standard_normal(times.size)
    valid = np.ones(times.size, bool)
    tl = SimpleNamespace(phones=phones, speech=[(phones[0].start, phones[-1].end)])
    audio = Audio(samples=np.zeros(80000, np.float32), rate=16000, start=0.0)
    delays = np.round(np.arange(-0.8, 0.8 + 1e-9, GRID_STEP_S), 6)
    sel = np.ones(times.size, bool)
    w = {"velocity": 1.0}

    blurred = SimpleNamespace(times=times, valid=valid, fps=25.0,
                              mouth={"aperture": noise, "drop": 0.9 + 0.5 * true + 0.01 * rng.standard_normal(times.size)})
    curve = Signals(blurred, tl, audio).curves(sel, delays, w)["velocity"]
    assert abs(delays[np.nanargmax(curve)]) <= 0.04
    # without the drop the same noise agrees less with the speech at any delay
    alone = Signals(SimpleNamespace(times=times, valid=valid, fps=25.0, mouth={"aperture": noise}), tl, audio)
    assert np.nanmax(alone.curves(sel, delays, w)["velocity"]) < np.nanmax(curve) - 0.1

    sharp = SimpleNamespace(times=times, valid=valid, fps=25.0, mouth={"aperture": true + 0.01 * noise})
    old = Signals(sharp, tl, audio)
    np.testing.assert_allclose(old.velocity, np.gradient(sharp.mouth["aperture"], times))


def test_the_peak_is_found_on_the_jaw_and_placed_on_the_lips() -> None:
    """With the lower lip's drop, the velocity every search scores leans on it
    (``DROP_IN_VELOCITY``) and the one a found peak is placed on leans on the lips
    (``DROP_IN_PLACING``): ``placing_curve`` scores the velocity again on the latter and
    keeps every other component as searched. Without the drop both are one and nothing
    is scored twice."""
    from types import SimpleNamespace

    from mouthsync.audio.visemes import expected_opening
    from mouthsync.sync.search import GRID_STEP_S
    from mouthsync.sync.signals import DROP_IN_PLACING, DROP_IN_VELOCITY, Signals

    assert DROP_IN_PLACING < DROP_IN_VELOCITY
    rng = np.random.default_rng(9)
    phones = random_phones(rng, 4.6)
    times = np.arange(0.0, 5.0, 0.04)
    lips = expected_opening(phones, times)
    # the jaw follows the lips 30 ms late: the two velocities peak apart
    jaw = np.interp(times - 0.03, times, lips)
    valid = np.ones(times.size, bool)
    tl = SimpleNamespace(phones=phones, speech=[(phones[0].start, phones[-1].end)])
    audio = Audio(samples=np.zeros(80000, np.float32), rate=16000, start=0.0)
    delays = np.round(np.arange(-0.3, 0.3 + 1e-9, GRID_STEP_S), 6)
    sel = np.ones(times.size, bool)
    w = {"velocity": 1.0, "opening": 0.2}
    track = SimpleNamespace(times=times, valid=valid, fps=25.0, mouth={"aperture": lips, "drop": jaw})
    sig = Signals(track, tl, audio)
    searched = sig.curves(sel, delays, w)
    placed = sig.placing_curve(sel, delays, w, searched)
    np.testing.assert_array_equal(placed["opening"], searched["opening"])
    # the searched velocity peaks nearer the jaw's lag than the placing one
    assert delays[np.nanargmax(searched["velocity"])] < delays[np.nanargmax(placed["velocity"])] <= 0.0 + 0.01
    plain = Signals(SimpleNamespace(times=times, valid=valid, fps=25.0, mouth={"aperture": lips}), tl, audio)
    assert plain.placing() is plain
    got = plain.curves(sel, delays, w)
    assert plain.placing_curve(sel, delays, w, got) is got
