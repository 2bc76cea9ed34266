"""Bilabial closures heard in the audio line up with lip closures seen in the face track.

For every P/B/M event, is there a measured lip closure (the mesh's closure flag, or a
local minimum of the inner-lip aperture in the clip's lowest fifth) within two frames?
Compared with the same count for random times inside the speech, so that a loose
definition of "closure" cannot pass by itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.audio.timeline import speech_timeline
from tests.conftest import CLIPS

pytestmark = pytest.mark.slow


def measured_closures(times: np.ndarray, aperture: np.ndarray, closure: np.ndarray) -> np.ndarray:
    ok = np.isfinite(aperture)
    thr = np.nanpercentile(aperture, 20)
    a = np.where(ok, aperture, np.inf)
    local_min = np.zeros(a.size, bool)
    local_min[1:-1] = (a[1:-1] <= a[:-2]) & (a[1:-1] <= a[2:]) & (a[1:-1] <= thr) & ok[:-2] & ok[2:]
    return times[local_min | (closure == 1)]


def within_two_frames(events: np.ndarray, closures: np.ndarray, step: float) -> np.ndarray:
    if closures.size == 0 or events.size == 0:
        return np.zeros(events.size, bool)
    d = np.abs(events[:, None] - closures[None, :]).min(axis=1)
    return d <= 2 * step + 1e-6


@pytest.fixture(scope="module")
def agreement() -> dict[str, tuple[int, int, float]]:
    from mouthsync.face.track import track_face

    rng = np.random.default_rng(0)
    out: dict[str, list[float]] = {"allphone": [0, 0, 0.0], "align": [0, 0, 0.0]}
    for clip in CLIPS:
        tr = track_face(clip)
        step = float(np.median(np.diff(tr.times)))
        cl = measured_closures(tr.times, tr.mouth["aperture"], tr.mouth["closure"])
        for mode, kw in (("allphone", {}), ("align", {"transcript": "auto"})):
            tl = speech_timeline(clip, **kw)
            ev = np.array([e.time for e in tl.events_of("bilabial_closure")])
            hit = within_two_frames(ev, cl, step)
            lo, hi = tl.speech[0][0], tl.speech[-1][1]
            chance = np.mean([within_two_frames(rng.uniform(lo, hi, ev.size), cl, step).mean() for _ in range(100)]) if ev.size else 0.0
            out[mode][0] += int(hit.sum())
            out[mode][1] += int(ev.size)
            out[mode][2] += float(chance) * ev.size
    return {k: (int(a), int(b), c / max(b, 1)) for k, (a, b, c) in out.items()}


@pytest.mark.parametrize("mode", ["allphone", "align"])
def test_most_closures_within_two_frames(agreement, mode: str) -> None:
    hits, n, chance = agreement[mode]
    rate = hits / n
    print(f"{mode}: {hits}/{n} bilabial closures within 2 frames ({rate:.0%}), chance {chance:.0%}")
    assert n >= 8
    assert rate >= 0.6
    assert rate >= chance + 0.15
