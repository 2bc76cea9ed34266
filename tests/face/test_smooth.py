"""One-Euro stabilisation: less jitter where the head is still, articulation kept."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.face.facetrack import FaceTrack
from mouthsync.face.smooth import RIGID_POINTS, band_energy, one_euro, smooth_track
from tests.conftest import CLIPS, WILD


def _static_window(tr: FaceTrack, seconds: float = 1.0) -> slice:
    """The window where the nose tip moves least (a static-head segment)."""
    nose = tr.landmarks[:, 1, :2] / np.nanmedian(tr.mouth["scale"])
    w = max(8, int(round(seconds * tr.fps)))
    spans = [np.ptp(nose[i : i + w], axis=0).sum() for i in range(0, len(nose) - w)]
    i = int(np.argmin(spans))
    return slice(i, i + w)


def _frame_jitter(lm: np.ndarray, scale: float) -> float:
    """Mean frame-to-frame shimmer of rigid points (second difference), face-size units.

    The second difference is zero for steady motion, so what remains is jitter.
    """
    p = lm[:, list(RIGID_POINTS), :2] / scale
    return float(np.linalg.norm(np.diff(p, n=2, axis=0), axis=-1).mean())


@pytest.mark.parametrize("path", [*CLIPS, *WILD], ids=lambda p: p.name)
def test_default_smoothing_cuts_jitter_and_keeps_articulation(tracks, path) -> None:
    tr = tracks[path.name]
    sm = smooth_track(tr, strength=1.0)
    rep = sm.settings["smoothing"]
    scale = float(np.nanmedian(tr.mouth["scale"]))
    win = _static_window(tr)
    before = _frame_jitter(tr.landmarks[win], scale)
    after = _frame_jitter(sm.landmarks[win], scale)
    assert after < 0.85 * before, (before, after)
    kept = band_energy(sm.mouth["aperture"], sm.times) / band_energy(tr.mouth["aperture"], tr.times)
    assert kept >= 0.8
    assert rep["energy_kept"] == pytest.approx(kept)
    assert rep["warning"] is None
    # not frozen: the smoothed mouth still opens and closes
    assert np.nanstd(sm.mouth["aperture"]) > 0.7 * np.nanstd(tr.mouth["aperture"])


def test_heavy_smoothing_is_reported_as_flattening(tracks) -> None:
    rep = smooth_track(tracks["retalking_face3.mp4"], strength=8.0).settings["smoothing"]
    assert rep["energy_kept"] < 0.8
    assert "flattened" in rep["warning"]


def test_filter_restarts_after_gaps_and_keeps_nan() -> None:
    t = np.arange(20) / 25.0
    x = np.ones((20, 2))
    x[10:] = 5.0
    valid = np.ones(20, bool)
    valid[9] = False
    x[9] = np.nan
    y = one_euro(x, t, min_cutoff=0.5, beta=0.0, valid=valid)
    assert np.isnan(y[9]).all()
    assert y[10, 0] == 5.0  # no carry-over of the old value across the gap
    assert np.allclose(y[:9], 1.0)
