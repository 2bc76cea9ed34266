"""Landmark stabilisation: a speed-adaptive One-Euro filter (Casiez, Roussel, Vogel, CHI 2012).

Why One-Euro: a fixed low-pass either leaves jitter (high cutoff) or blurs articulation
(low cutoff). One-Euro lowers the cutoff when a point is still (jitter dominates) and raises
it when the point moves fast (a lip opening), so it removes shimmer without freezing the
mouth. It runs on true frame times (VFR-safe) and restarts after frames without a face,
so nothing is carried across a gap.

Strength scale (``--smooth S``, ``S > 0``; 1.0 is the default when smoothing is asked for):
``min_cutoff = 1.5 / S`` Hz and ``beta = 60 / S`` (per face-size unit per second), with the
derivative filtered at 1 Hz. Measured on the nine shared clips: ``S = 1`` cuts rigid-point
jitter to 50-80 % while keeping 85-95 % of the aperture's speech-band energy; ``S = 2``
keeps 73-89 %, ``S = 4`` 57-80 % (reported as flattening); ``S = 0.5`` is light. The beta is
large because lips move at ~0.5-2 face units/s while speaking and the cutoff must rise
well above the 6 Hz articulation band when they do.

Every smoothed track carries a report in ``track.settings["smoothing"]``: the share of
the aperture's speech-band (1.5-6 Hz) motion energy that survived and the jitter before and
after; a warning is added when less than 80 % survived. A frozen face is a failure, not a
success.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mouthsync.face.facetrack import FaceTrack

SPEECH_BAND_HZ = (1.5, 6.0)
MIN_ENERGY_KEPT = 0.8
# Rigid points (eye corners, nose bridge, nose tip, temples): they do not articulate, so
# their high-frequency motion is jitter (or shake), which smoothing should remove.
RIGID_POINTS = (33, 133, 263, 362, 168, 6, 1, 127, 356)


def one_euro(
    values: np.ndarray,
    times: np.ndarray,
    *,
    min_cutoff: float,
    beta: float,
    d_cutoff: float = 1.0,
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """One-Euro filter along axis 0 of ``values`` (n, ...) sampled at ``times``.

    Restarts at each invalid frame (those rows are returned unchanged, i.e. NaN).
    """
    x = np.asarray(values, dtype=np.float64)
    out = x.copy()
    n = len(x)
    ok = np.ones(n, bool) if valid is None else np.asarray(valid, bool)
    prev: np.ndarray | None = None
    dprev: np.ndarray | None = None
    tprev = 0.0

    def alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    for i in range(n):
        if not ok[i]:
            prev = None
            continue
        if prev is None:
            prev, dprev, tprev = x[i], np.zeros_like(x[i]), float(times[i])
            continue
        dt = float(times[i]) - tprev
        if dt <= 0:
            out[i] = prev
            continue
        dx = (x[i] - prev) / dt
        ad = alpha(d_cutoff, dt)
        dhat = ad * dx + (1 - ad) * dprev
        cutoff = min_cutoff + beta * np.abs(dhat)
        a = alpha(cutoff, dt)
        xhat = a * x[i] + (1 - a) * prev
        out[i] = xhat
        prev, dprev, tprev = xhat, dhat, float(times[i])
    return out


def params_for(strength: float) -> dict[str, float]:
    """Filter parameters for a strength on the documented scale."""
    s = max(float(strength), 1e-3)
    return {"min_cutoff": 1.5 / s, "beta": 60.0 / s, "d_cutoff": 1.0}


def band_energy(values: np.ndarray, times: np.ndarray, band: tuple[float, float] = SPEECH_BAND_HZ) -> float:
    """Energy of ``values`` in ``band`` Hz, from the longest run of valid frames.

    Resampled onto a uniform grid at the median frame spacing first, so VFR is handled.
    """
    v = np.asarray(values, np.float64)
    t = np.asarray(times, np.float64)
    ok = np.isfinite(v)
    if ok.sum() < 16:
        return float("nan")
    tt, vv = t[ok], v[ok]
    dt = float(np.median(np.diff(tt)))
    if dt <= 0:
        return float("nan")
    grid = np.arange(tt[0], tt[-1], dt)
    u = np.interp(grid, tt, vv)
    u = u - u.mean()
    spec = np.abs(np.fft.rfft(u * np.hanning(len(u)))) ** 2
    f = np.fft.rfftfreq(len(u), dt)
    sel = (f >= band[0]) & (f <= band[1])
    return float(spec[sel].sum())


def jitter(landmarks: np.ndarray, scale: np.ndarray, points: tuple[int, ...] = RIGID_POINTS) -> float:
    """Median frame-to-frame change of the rigid points' *acceleration* in face-size units.

    Second differences ignore smooth head motion (constant velocity) and keep the
    frame-to-frame shimmer that smoothing is meant to remove.
    """
    p = landmarks[:, list(points), :2].astype(np.float64)
    s = np.asarray(scale, np.float64)[:, None, None]
    acc = np.diff(p / s, n=2, axis=0)
    mag = np.linalg.norm(acc, axis=-1)
    mag = mag[np.isfinite(mag)]
    return float(np.median(mag)) if mag.size else float("nan")


def smooth_track(track: FaceTrack, *, strength: float = 1.0) -> FaceTrack:
    """Return a new track with One-Euro-filtered landmarks and recomputed measures + report."""
    from mouthsync.face.facetrack import build_track

    p = params_for(strength)
    lm = track.landmarks.astype(np.float64)
    # filter in face-size units so beta means the same at every resolution
    scale = float(np.nanmedian(track.mouth["scale"])) if np.isfinite(track.mouth["scale"]).any() else 1.0
    flat = lm.reshape(len(lm), -1) / scale
    sm = one_euro(flat, track.times, valid=track.valid, **p) * scale
    new = build_track(
        track.times, track.valid, sm.reshape(lm.shape).astype(np.float32),
        track.width, track.height, track.source, track.settings, picture_change=track.picture_change,
        thumbs=track.thumbs, rotation=track.rotation, sar=track.sar,
    )
    before = band_energy(track.mouth["aperture"], track.times)
    after = band_energy(new.mouth["aperture"], new.times)
    kept = after / before if before and np.isfinite(before) and before > 0 else float("nan")
    j0 = jitter(track.landmarks, track.mouth["scale"])
    j1 = jitter(new.landmarks, new.mouth["scale"])
    report: dict[str, Any] = {
        "strength": float(strength),
        **p,
        "speech_band_hz": list(SPEECH_BAND_HZ),
        "energy_kept": kept,
        "jitter_before": j0,
        "jitter_after": j1,
        "warning": None,
    }
    if np.isfinite(kept) and kept < MIN_ENERGY_KEPT:
        report["warning"] = (
            f"smoothing kept only {kept:.0%} of the mouth's speech-band motion "
            f"(< {MIN_ENERGY_KEPT:.0%}): articulation is being flattened; use a lower --smooth"
        )
    new.settings = {**track.settings, "smoothing": report}
    return new
