"""Signals compared by the delay search: the measured mouth and what the audio predicts.

The measured side is the per-frame lip aperture at true frame times. Head motion, zoom and
slow pose changes move the aperture's baseline over seconds, while speech moves it within
a few hundred ms, so the baseline (a running median over ~1 s) is removed before any
correlation. The predicted side is any function of time built from the audio (the
phonetic prior, an envelope mapping), evaluated at ``frame_times + delay`` so that a
sub-frame delay is evaluated exactly rather than by interpolating frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Predictor = Callable[[np.ndarray], np.ndarray]


def fill_invalid(times: np.ndarray, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Linear fill of invalid frames from valid neighbours (for filtering only; masks stay)."""
    ok = valid & np.isfinite(values)
    if ok.sum() < 2:
        return np.where(ok, values, 0.0)
    return np.interp(times, times[ok], values[ok])


def detrend(times: np.ndarray, values: np.ndarray, valid: np.ndarray, span_s: float = 1.0) -> np.ndarray:
    """Remove the slow baseline (running median over ``span_s``) from a per-frame signal.

    A median, not a mean, so that a long open vowel does not lift its own baseline.
    Works on uneven frame times (VFR) by selecting neighbours by time, not by index.
    """
    x = fill_invalid(times, values, valid)
    n = x.size
    out = np.empty(n)
    lo = np.searchsorted(times, times - span_s / 2, side="left")
    hi = np.searchsorted(times, times + span_s / 2, side="right")
    # the frames whose neighbourhoods hold the same number of frames (all but the ends
    # at a constant rate) take their medians together: the same values as one median per
    # frame (0.1 s on 60 s at 25 fps, ~1 s on 10 minutes), without the Python loop
    size = hi - lo
    for k in np.unique(size):
        at = np.flatnonzero(size == k)
        rows = x[lo[at][:, None] + np.arange(k)[None, :]]
        out[at] = x[at] - np.median(rows, axis=1)
    return out


def robust_scale(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Divide by a robust spread so one blink-sized outlier cannot dominate a correlation."""
    v = x[valid & np.isfinite(x)]
    if v.size < 3:
        return x
    s = np.subtract(*np.percentile(v, [90, 10]))
    return x / s if s > 1e-9 else x


def masked_corr_rows(measured: np.ndarray, predicted: np.ndarray, mask: np.ndarray, min_n: int = 8) -> np.ndarray:
    """Pearson correlation of ``measured`` (n,) with each row of ``predicted`` (k, n).

    Only positions where ``mask`` (k, n) is true take part; each row is mean/variance
    normalised over its own overlap, so candidate delays with less overlap are not
    penalised for having fewer frames. Rows with fewer than ``min_n`` frames give NaN.
    """
    m = mask.astype(np.float64)
    cnt = m.sum(axis=1)
    x = np.broadcast_to(measured, predicted.shape)
    xm = np.where(mask, x, 0.0)
    ym = np.where(mask, predicted, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = xm.sum(axis=1) / cnt
        my = ym.sum(axis=1) / cnt
        dx = np.where(mask, x - mx[:, None], 0.0)
        dy = np.where(mask, predicted - my[:, None], 0.0)
        cov = (dx * dy).sum(axis=1)
        r = cov / np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    r[cnt < min_n] = np.nan
    return r


def corr_rows(x: np.ndarray, ys: np.ndarray, min_n: int = 8) -> np.ndarray:
    """Pearson correlation of ``x`` (n,) with each row of ``ys`` (k, n), all over the same n
    samples (the delay search's fixed support).

    The same figure as :func:`masked_corr_rows` with an all-true mask, without its masked
    copies: ``x`` is centred once and each row's covariance is one matrix-vector product
    (the delay search scores hundreds of delays x thousands of frames per window). A
    constant row (no variance) gives NaN, as a correlation must.
    """
    n = x.size
    if n < min_n:
        return np.full(ys.shape[0], np.nan)
    xc = x - x.mean()
    sx = float(np.sqrt(xc @ xc))
    cov = ys @ xc
    sq = np.einsum("ij,ij->i", ys, ys)
    my = ys.mean(axis=1)
    vy = sq - n * my * my
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / (sx * np.sqrt(np.maximum(vy, 0.0)))
    r[(vy <= 1e-12 * np.maximum(sq, 1e-300)) | (sx <= 0)] = np.nan
    return r


def trimmed_corr_rows(x: np.ndarray, ys: np.ndarray, block: int, drop: float, min_n: int = 8) -> np.ndarray:
    """Correlation of ``x`` with each row of ``ys`` leaving out, per row, the ``drop`` share
    of ``block``-sample blocks that agree worst.

    Why: a stretch where the expected mouth is wrong for reasons that have nothing to do
    with the delay (another voice filling the speaker's pause, a misrecognised word, a
    phone timeline changed by a cut at the edge) pulls a plain correlation towards a
    wrong delay. At the right delay most blocks agree and the few that do not are dropped;
    at a wrong delay, dropping its worst blocks does not make the rest agree. Each block's
    agreement is its own correlation; the kept blocks' sums give the figure. Fewer than 4
    blocks: the plain correlation (:func:`corr_rows`).
    """
    n = x.size
    nb = -(-n // block) if block > 0 else 0
    q = int(round(drop * nb))
    if n < min_n or nb < 4 or q <= 0:
        return corr_rows(x, ys, min_n)
    # Each block's sums are taken from the raw rows (three passes over ys, no centred
    # copy); centring on each row's own mean then follows from them per block. ``ys`` is
    # read as (frames, delays), which the strided table read (``sample_lagged``) gives
    # contiguous: blocks of frames are then plain slices.
    cols = ys.T
    xc = x - x.mean()
    full = (n // block) * block
    parts = [(xc[:full].reshape(-1, block), cols[:full].reshape(-1, block, cols.shape[1]))]
    if full < n:
        parts.append((xc[full:][None, :], cols[full:][None, :, :]))
    sy = np.concatenate([c.sum(axis=1) for _, c in parts])  # (nb, k)
    syy = np.concatenate([np.einsum("bik,bik->bk", c, c) for _, c in parts])
    sxy = np.concatenate([np.einsum("bi,bik->bk", xb, c) for xb, c in parts])
    sx = np.concatenate([xb.sum(axis=1) for xb, _ in parts])  # (nb,)
    sxx = np.concatenate([np.einsum("bi,bi->b", xb, xb) for xb, _ in parts])
    size = np.full(nb, float(block))
    size[-1] = n - (nb - 1) * block
    my = sy.sum(axis=0) / n  # (k,)
    cov = (sxy - sx[:, None] * my[None, :]).T  # (k, nb)
    vyy = np.maximum((syy - 2.0 * my[None, :] * sy + size[:, None] * (my * my)[None, :]).T, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        own = cov / np.sqrt(vyy * sxx[None, :])
    own = np.nan_to_num(own, nan=0.0)
    worst = np.argpartition(own, q - 1, axis=1)[:, :q]
    keep = np.ones((cov.shape[0], nb), dtype=bool)
    np.put_along_axis(keep, worst, False, axis=1)
    c = (cov * keep).sum(axis=1)
    vy = (vyy * keep).sum(axis=1)
    vx = (sxx[None, :] * keep).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = c / np.sqrt(vx * vy)
    r[(vy <= 1e-12) | (vx <= 1e-12)] = np.nan
    return r


@dataclass(frozen=True)
class GridLags:
    """Where ``times + delays[j]`` falls on a uniform table grid, for every frame and every
    candidate delay, when the delays step by a whole number of grid steps.

    Why: the delay search reads a tabulated expected mouth at frames x delays points. With
    delays on the grid's own step, a frame's fraction between two grid points is the same
    for every delay and the grid index only moves by ``step`` per delay, so each frame's
    row of values is a strided slice of the table: no (delays x frames) index or fraction
    arrays, and contiguous reads instead of a scattered gather (the whole-clip curves of a
    60 s clip took a third of the time). Outside the table the value is the table's edge,
    as ``np.interp`` gives.
    """

    base: np.ndarray  # (n,) index into the edge-padded table at the first delay
    frac: np.ndarray  # (n,) fraction towards the next grid point
    step: int  # grid steps between consecutive delays
    k: int  # number of delays
    lpad: int  # edge values added before the table
    rpad: int  # and after it


def grid_lags(times: np.ndarray, delays: np.ndarray, grid_start: float, grid_dt: float, grid_size: int) -> GridLags | None:
    """:class:`GridLags` of ``times`` over ``delays``, or None when the delays are not evenly
    spaced by a whole number of grid steps, or there are no times or delays."""
    k = int(delays.size)
    if k == 0 or times.size == 0 or grid_size < 2:
        return None
    step = 1
    if k > 1:
        steps = np.diff(delays) / grid_dt
        step = int(round(float(steps[0])))
        if step < 1 or np.abs(steps - step).max() > 1e-6:
            return None
    pos = (times + float(delays[0]) - grid_start) * (1.0 / grid_dt)
    b = np.floor(pos)
    frac = pos - b
    base = b.astype(np.intp)
    lpad = max(0, -int(base.min()))
    rpad = max(0, int(base.max()) + step * (k - 1) + 2 - grid_size)
    return GridLags(base + lpad, frac, step, k, lpad, rpad)


def sample_lagged(table: np.ndarray, lags: GridLags) -> np.ndarray:
    """The table linearly interpolated at every (delay, frame) point of ``lags``: (k, n)."""
    t = np.ascontiguousarray(table, dtype=np.float64)
    # the strided view reads the table in place; it is copied with its edges only when some
    # point falls off it (the expected curves reach 2 s beyond the sound, so rarely: a copy
    # per call had cost 0.5 MB per minute of sound, ~280 calls per 60 s analysis)
    padded = t if lags.lpad == lags.rpad == 0 else np.concatenate(
        [np.full(lags.lpad, t[0]), t, np.full(lags.rpad, t[-1])])
    rows = padded.size - lags.step * (lags.k - 1)
    item = padded.strides[0]
    view = np.lib.stride_tricks.as_strided(padded, shape=(rows, lags.k), strides=(item, item * lags.step),
                                           writeable=False)
    lo = view[lags.base]
    out = view[lags.base + 1]
    out -= lo
    out *= lags.frac[:, None]
    out += lo
    return out.T


def lagged_predictions(predict: Predictor, times: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """Evaluate ``predict`` at ``times + d`` for every candidate delay ``d``: shape (k, n).

    With the sound ``d`` seconds late, what the mouth shows at picture time ``t`` is heard
    at audio time ``t + d``.
    """
    grid = times[None, :] + delays[:, None]
    return np.asarray(predict(grid.ravel()), dtype=np.float64).reshape(grid.shape)


def band_features(samples: np.ndarray, rate: int, start: float, n_bands: int = 8, hop_s: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Log band energies (mel-spaced, 80 Hz .. 7.6 kHz) every ``hop_s``: (times, (T, bands)).

    The input of the learned audio -> mouth mapping: loudness alone is too coarse (an S is
    loud with the mouth nearly shut), a handful of bands separate open vowels from
    fricatives and nasals. Each band is median-centred so gain does not matter.
    """
    x = samples.astype(np.float64)
    win = int(0.025 * rate)
    hop = max(1, int(hop_s * rate))
    if x.size < win:
        return np.array([start]), np.zeros((1, n_bands))
    n = 1 + (x.size - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(win), axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1.0 / rate)

    def mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    edges = np.linspace(mel(80.0), mel(min(7600.0, rate / 2 - 1)), n_bands + 1)
    m = mel(freqs)
    bands = np.stack([spec[:, (m >= edges[i]) & (m < edges[i + 1])].sum(axis=1) for i in range(n_bands)], axis=1)
    feats = np.log(bands + 1e-8)
    feats -= np.median(feats, axis=0)
    # the mouth is slower than 10 ms: a 30 ms running mean removes jitter, not timing
    k = np.ones(3) / 3.0
    feats = np.stack([np.convolve(np.pad(f, 1, mode="edge"), k, mode="valid") for f in feats.T], axis=1)
    times = start + (np.arange(n) * hop + win / 2) / rate
    return times, feats


def envelope_curve(
    times: np.ndarray,
    measured: np.ndarray,
    valid: np.ndarray,
    feat_times: np.ndarray,
    feats: np.ndarray,
    delays: np.ndarray,
    *,
    ridge: float = 1.0,
    block_s: float = 1.0,
) -> np.ndarray:
    """Cross-validated agreement of a per-clip linear audio -> aperture mapping, per delay.

    For each candidate delay a ridge regression from band energies (at ``t + d``) to the
    measured aperture is fitted on alternate 1 s blocks and scored on the others, then
    the other way round. Scoring only held-out blocks means the mapping cannot fit its
    own lag: at a wrong delay it learns noise and predicts nothing.
    """
    grid = times[None, :] + delays[:, None]
    step = feat_times[1] - feat_times[0] if feat_times.size > 1 else 0.01
    pos = (grid - feat_times[0]) / step
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, max(0, feat_times.size - 2))
    w = np.clip(pos - i0, 0.0, 1.0)[..., None]
    i1 = np.minimum(i0 + 1, feat_times.size - 1)
    X = feats[i0] * (1.0 - w) + feats[i1] * w
    X = np.concatenate([X, np.ones(X.shape[:2] + (1,))], axis=2)
    mask = valid[None, :] & (grid >= feat_times[0]) & (grid <= feat_times[-1])
    y = np.where(valid, measured, 0.0)
    fold = np.floor((times - times[0]) / block_s).astype(np.int64) % 2
    pred = np.zeros(grid.shape)
    eye = ridge * np.eye(X.shape[2])
    eye[-1, -1] = 1e-6  # barely shrink the intercept (kept invertible for empty folds)
    for k in (0, 1):
        train = mask & (fold[None, :] == k)
        test = mask & (fold[None, :] != k)
        Xt = X * train[..., None]
        A = np.einsum("knf,kng->kfg", Xt, Xt) + eye[None]
        b = np.einsum("knf,n->kf", Xt, y)
        wts = np.linalg.solve(A, b[..., None])[..., 0]
        pred = np.where(test, np.einsum("knf,kf->kn", X, wts), pred)
    return masked_corr_rows(y, pred, mask)
