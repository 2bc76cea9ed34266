"""The delay search over one span of frames (a window, a shot, the whole clip): agreement
curves combined, the peak refined, a confidence that means something, the phone sources
weighed by how well each fits the face, and the joint drift search of a long clip."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mouthsync.media.clocks import KNOWN_MISMATCHES
from mouthsync.sync.signals import Signals
from mouthsync.sync.verdict import LOW_CONFIDENCE, PICTURE_NOTE

# Components whose raw correlation at the peak feeds the confidence. Width correlates lower
# than the opening and velocity even at the right delay, and counting it let a wrong
# speaker reach 0.36 and left every remaining miss looking confident (docs/sync.md).
_CONFIDENCE_COMPONENTS = ("opening", "velocity", "envelope")
GRID_STEP_S = 0.002  # candidate delays are scored every 2 ms (refined between by a parabola)
_RIVAL_EXCLUDE_S = 0.12  # a rival peak must be this far from the winner
AMBIGUOUS_PROMINENCE = 0.15  # winner minus rival (z units) below this: ambiguous
# A best fit this close to either end of the candidate delays is the search's edge
# (``estimate_window``); every edge reading of the shift protocol read 0.00-0.03 already.
SEARCH_EDGE_S = 0.01
EDGE_NOTE = "the best fit is at the edge of the search: the delay may lie beyond it (check --max-delay)"
# Why a window (or the file) could not be judged where speech runs over a still mouth.
STILL_NOTE = "speech over a still mouth (voice-over, off-screen speaker or held picture)"
# Seconds of face a span mostly over a still mouth must keep to be measured at all.
STILL_MIN_LEFT_S = 2.0


# Half-width (ms/min) of the slopes the drift's parabola is fitted over. The whole-clip
# agreement is nearly flat across +-15 ms/min of the true drift (60 s at 1000/1001: the
# score moves by 0.003 over 45-75 ms/min), so its highest point moves with every small
# change of the mouth or the phones: the parabola through its three best points read that
# clip 52.9, 58.7 and 73.5 ms/min under three blends of the measured mouth. A parabola
# fitted to 13 slopes over +-36 ms/min reads the middle of the flat top (docs/sync.md,
# "The drift's flat top").
DRIFT_FIT_SPAN = 36.0
# The fit's span is centred again on the vertex it read, up to this many fits, until the
# vertex moves less than DRIFT_SETTLED ms/min. A least-squares parabola through a peak
# that is not a parabola leans towards the middle of its span: centred on the best coarse
# slope (+6, the coarse grid steps 12 from -150 and misses 0), a 10-minute take in sync
# read +2.0 ms/min, which over 10 minutes is half a frame, a drift (docs/sync.md, "A long
# take in sync read as drifting").
DRIFT_FIT_PASSES = 4
DRIFT_SETTLED = 0.25
# The fit's slopes step 6 ms/min (DRIFT_FIT_STEP) up to DRIFT_STEP_MINUTES of material,
# and finer beyond, so that a step never moves the delay across the file by more than
# 60 ms. The agreement's peak narrows as the file grows: on 30 minutes in sync it falls
# from 0.545 at 0 to 0.433 at +-4 ms/min, so slopes 6 ms/min apart put one point on it
# and the fit read +0.58 ms/min (17 ms over the file, near the half frame that makes it a
# drift); on 10 minutes it falls to 0.41 only at +-16.
DRIFT_FIT_STEP = 6.0
DRIFT_STEP_MINUTES = 10.0
# How much better the whole-clip agreement must be at the drift found than with no drift
# for a slope to count as evidence of drift. Near the top the agreement moves by a few
# thousandths with every small change of the mouth or the phones ("The drift's flat top"):
# in-sync concatenations of 25-66 s scored the slope found 0.0042 better than no drift at
# most, and a 25 s one read -52.6 ms/min, a "drift" of 22 ms over the file, on a gain of
# 0.0008. Real drifts the search reads to within 25 % scored 0.014-0.49 (docs/sync.md, "A
# drift must beat no drift").
DRIFT_MIN_GAIN = 0.005


def global_drift(
    sig: Signals, center_s: float, weights: dict[str, float], around_ms_per_min: float = 0.0, max_ms_per_min: float = 150.0
) -> tuple[float, float] | None:
    """Drift (ms/min) that maximises the whole-clip agreement, searched jointly with delay,
    and how much higher the agreement is there than with no drift (compare with
    :data:`DRIFT_MIN_GAIN`).

    A line through window delays inherits every window's error (a 60 ms/min drift moves
    the delay by only 1.5 frames per minute, about the size of one window's scatter);
    warping the expected mouth by a candidate clock ratio and scoring all frames at once
    uses every frame for one number. The search spans ``max_ms_per_min`` either side of
    ``around_ms_per_min`` (the window line's slope), and ``center_s`` is the delay at the
    middle of the frames (the warp pivots there).
    """
    delays = np.arange(center_s - 0.12, center_s + 0.12 + 1e-9, GRID_STEP_S)
    every = np.ones(sig.times.size, dtype=bool)
    w = {k: v for k, v in weights.items() if k in ("opening", "velocity") and v > 0}
    if not w:
        return None

    scored: dict[float, float] = {}  # slope (ms/min, rounded) -> score: the fine pass reuses the coarse one's
    # each slope is scored on both velocities, the searched (jaw-leaning) one and the
    # lip-leaning one a peak is placed on, and the two scores averaged. Measured (docs/sync.md,
    # "Finding on the jaw, placing on the lips"): on the jaw's alone 1001/1000 over 12 mixed
    # clips read 66.6 ms/min (11 % off), on the lips' alone 25/24 over 33 s read 1.0 % off;
    # averaged, 64.9 ms/min and 0.0 % (63.6 ms/min since the fit settles, session 31).
    lips = sig.placing()
    sigs = [sig] if lips is sig else [sig, lips]

    def score_of(slopes: np.ndarray) -> np.ndarray:
        for sl in slopes:
            key = round(float(sl), 6)
            if key not in scored:
                tots = []
                for sg in sigs:
                    comps = sg.curves(every, delays, w, warp=key / 60000.0)
                    tots.append(sum(w[k] * np.nan_to_num(comps[k], nan=-1.0) for k in comps) / sum(w.values()))
                scored[key] = float(np.max(np.mean(tots, axis=0)))
        return np.array([scored[round(float(sl), 6)] for sl in slopes])

    # coarse (12 ms/min) over the whole span, then every 6 ms/min (finer beyond 10 minutes)
    # over +-DRIFT_FIT_SPAN around the best coarse slope, read by the vertex of a parabola
    # fitted to all of them, and fitted again around that vertex until it stays put
    coarse = around_ms_per_min + np.arange(-max_ms_per_min, max_ms_per_min + 0.1, 12.0)
    sc = score_of(coarse)
    if not np.isfinite(sc).any():
        return None
    minutes = float(sig.times[-1] - sig.times[0]) / 60.0 if sig.times.size > 1 else 0.0
    step = DRIFT_FIT_STEP * min(1.0, DRIFT_STEP_MINUTES / max(minutes, 1e-9))
    top = settle_slope(score_of, float(coarse[int(np.nanargmax(sc))]), step)
    if top is None:
        return None
    at_top, at_zero = score_of(np.array([top, 0.0]))
    return top, float(at_top - at_zero)


def settle_slope(score_of: Callable[[np.ndarray], np.ndarray], start: float, step: float = DRIFT_FIT_STEP) -> float | None:
    """The top of a drift score curve: the vertex of a least-squares parabola through the
    scores every ``step`` ms/min over +-DRIFT_FIT_SPAN (scaled with ``step``: 13 slopes)
    around ``start``, fitted again around each vertex it reads until the vertex stays put
    (DRIFT_FIT_PASSES, DRIFT_SETTLED). None where no slope scores."""
    top = start
    half = DRIFT_FIT_SPAN * step / DRIFT_FIT_STEP
    settled = DRIFT_SETTLED * step / DRIFT_FIT_STEP
    for _ in range(DRIFT_FIT_PASSES):
        slopes = top + np.arange(-half, half + 0.1 * step, step)
        score = score_of(slopes)
        if not np.isfinite(score).any():
            return None
        vertex = _broad_peak(slopes, score)
        moved = abs(vertex - top)
        top = vertex
        if moved < settled:
            break
    return top


def _broad_peak(x: np.ndarray, y: np.ndarray) -> float:
    """The vertex of the least-squares parabola through the finite points of ``y`` over
    ``x``; the best point refined by :func:`refine_peak` where that parabola opens upwards
    or its vertex falls outside ``x``."""
    ok = np.isfinite(y)
    top = _parabola_top(x[ok], y[ok]) if ok.sum() >= 4 else None
    if top is not None and x[0] <= top <= x[-1]:
        return top
    best, _ = refine_peak(x, y)
    return float(best)


def _parabola_top(x: np.ndarray, y: np.ndarray) -> float | None:
    """The vertex of the least-squares parabola through ``y`` over ``x``; None where it
    does not open downwards (no top)."""
    a, b, _ = np.polyfit(x, y, 2)
    return float(-b / (2 * a)) if a < 0 else None


def _z(r: np.ndarray) -> np.ndarray:
    ok = np.isfinite(r)
    if ok.sum() < 3:
        return np.full_like(r, np.nan)
    s = float(np.std(r[ok]))
    return (r - float(np.median(r[ok]))) / (s if s > 1e-9 else 1.0)


def combine(components: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted mean of z-scored component curves (NaN where no component is defined)."""
    acc: np.ndarray | None = None
    wsum = 0.0
    for name, r in components.items():
        w = float(weights.get(name, 0.0))
        if w <= 0:
            continue
        z = np.nan_to_num(_z(r), nan=-3.0)
        acc = w * z if acc is None else acc + w * z
        wsum += w
    if acc is None:
        return np.array([])
    return acc / wsum


def refine_peak(delays: np.ndarray, curve: np.ndarray) -> tuple[float, int]:
    """Best delay: the grid maximum refined by a parabola through it and its neighbours."""
    i = int(np.nanargmax(curve))
    d = float(delays[i])
    if 0 < i < len(curve) - 1:
        a, b, c = curve[i - 1], curve[i], curve[i + 1]
        den = a - 2 * b + c
        if np.isfinite(den) and den < 0:
            off = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
            d += off * float(delays[1] - delays[0])
    return d, i


# Passes of :func:`place_peak`'s fit, each centred where the last one put the peak.
_PLACE_PASSES = 3


def place_peak(delays: np.ndarray, curve: np.ndarray, found: float, reach_s: float) -> float:
    """Where the peak of ``curve`` lies near ``found``: the vertex of a least-squares
    parabola through the curve within ``reach_s`` (one frame) of it, fitted again around
    each new vertex, never more than two reaches from ``found``. Where no downward
    parabola fits, or its vertex lies outside the span fitted (no top there), the place
    before stands, so the answer never leaves the delays searched.

    Why not the three points at the best candidate (:func:`refine_peak`): the agreement
    curve ripples at the picture's frame period (between frames the expected mouth is
    read at in-between times), so the three points follow a ripple. A fit over a frame
    sees the peak's shape. On the shift protocol (docs/sync.md, "Finding on the jaw,
    placing on the lips"), on its own: sub-frame errors p95 16.3 -> 8.5 ms.
    """
    c = found
    for _ in range(_PLACE_PASSES if reach_s > 0 else 0):
        near = (np.abs(delays - c) <= reach_s + 1e-9) & np.isfinite(curve)
        if near.sum() < 5:
            break
        top = _parabola_top(delays[near] - c, curve[near])
        if top is None or abs(top) > reach_s:
            break  # no top inside the span fitted: the last place stands
        c = float(np.clip(c + top, found - 2.0 * reach_s, found + 2.0 * reach_s))
    return c


@dataclass
class Estimate:
    """One span's delay search: the delay (raw s; None: nothing to measure), its confidence
    and why it is uncertain, and the curves it was read from over the candidate delays
    ``grid`` (raw s: a search moved along a drift line has its own)."""

    delay_s: float | None
    confidence: float
    uncertain: bool
    note: str
    combined: np.ndarray
    components: dict[str, np.ndarray]
    features: dict[str, float]
    grid: np.ndarray


def confidence_from(r_peak: float, face_fraction: float, speech_s: float) -> float:
    """Map the evidence to [0, 1]; each factor is 0 when its evidence is absent.

    ``r_peak``: weighted mean of the raw correlations at the winning delay of the
    components in ``_CONFIDENCE_COMPONENTS`` (not the width).
    Measured on the shared clips against the same clips with another speaker's audio
    (bench/sync_accuracy.py, docs/sync.md): the right voice gives 0.29-0.63, another voice
    0.16-0.43 (one clip's rival overlaps), so 0.28 maps to 0 and 0.48 to 1. Peak prominence
    was measured too and separated worse; it only feeds the "uncertain" note. The face and
    speech factors make silence or a missing face read low whatever the curve does.
    """
    r = float(np.clip((r_peak - 0.28) / 0.20, 0.0, 1.0))
    f = float(np.clip((face_fraction - 0.3) / 0.4, 0.0, 1.0))
    s = float(np.clip((speech_s - 0.4) / 1.1, 0.0, 1.0))
    return float(np.clip(r * f * s, 0.0, 1.0))


def estimate_window(
    sig: Signals,
    sel: np.ndarray,
    delays: np.ndarray,
    weights: dict[str, float],
    conf_sig: Signals | None = None,
    warp: float = 0.0,
    second: np.ndarray | None = None,
) -> Estimate:
    """Delay search and confidence over the frames ``sel`` (a window or the whole clip).

    ``conf_sig``: signals whose correlation at the chosen delay makes the confidence (the
    equal mix of the phone sources when ``sig`` is re-weighted: weighting by fit favours
    whichever source happens to fit best, which would lift the confidence of a wrong voice).
    ``warp``: clock mismatch (s per s) to undo first; the delay is then the one at the
    middle of the frames. ``second``: another agreement curve over ``delays`` (z units,
    the sources' own curves, ``late_fusion``) averaged with this one before the peak.
    """
    t = sig.times[sel]
    t0, t1 = (float(t[0]), float(t[-1])) if t.size else (0.0, 0.0)
    face_fraction = sig.face_fraction(sel)
    speech_s = sig.speech_seconds(t0 + float(delays.min()), t1 + float(delays.max()))
    speech_in = sig.speech_seconds(t0, t1)
    empty = Estimate(None, 0.0, True, "", np.full(delays.size, np.nan), {}, {}, delays)
    if sig.valid[sel].sum() < 8:
        empty.note = STILL_NOTE if sig.still[sel].sum() >= 8 else "no usable face"
        return empty
    still_share = float(sig.still[sel].mean()) if sel.any() else 0.0
    if still_share >= 0.5 and sig.valid[sel].sum() < STILL_MIN_LEFT_S * sig.tracked_fps:
        # a few frames at the edge of a held picture or a reaction shot: a delay read from
        # them alone would be noise (a listener's window read +293 ms from 0.3 s)
        empty.note = STILL_NOTE
        return empty
    if speech_in < 0.3 or not any(p.label != "SIL" for p in sig.phones):
        empty.note = "no speech"
        return empty
    comps = sig.curves(sel, delays, weights, warp)
    combined = combine(comps, weights)
    if combined.size == 0 or not np.isfinite(combined).any():
        empty.note = "too little overlap between face and speech"
        return empty
    if second is not None and second.shape == combined.shape:
        combined = (1.0 - LATE_SHARE) * combined + LATE_SHARE * second
    d, i = refine_peak(delays, combined)
    # placed on the lip-leaning curve averaged with the same second curve as the search
    # (the sources' own placing curves there read pink noise worse: 96.3 against 98.4 %)
    placing = combine(sig.placing_curve(sel, delays, weights, comps, warp), weights)
    if second is not None and second.shape == placing.shape:
        placing = (1.0 - LATE_SHARE) * placing + LATE_SHARE * second
    d = place_peak(delays, placing, d, 1.0 / sig.tracked_fps)
    i = int(np.argmin(np.abs(delays - d)))
    far = np.abs(delays - delays[i]) > _RIVAL_EXCLUDE_S
    rival = float(np.nanmax(combined[far])) if far.any() else float(np.nanmin(combined))
    prominence = float(combined[i] - rival)
    # the confidence reads the plain correlation at the chosen delay: its mapping was fitted
    # on it, and the trimmed one is higher everywhere (it drops the worst blocks)
    # (and on the lip-leaning velocity, as when the mapping was fitted: read on the
    # jaw-leaning one, a hall's echo read 0.40 where it reads 0.30)
    read_on = conf_sig or sig
    lips = read_on.placing()
    r_peak = _r_at(lips, sel, delays[i : i + 1], weights, warp)
    # how well the searched signals fit here: what weighs a phone source (``source_searches``)
    r_fit = r_peak if lips is read_on else _r_at(read_on, sel, delays[i : i + 1], weights, warp)
    read = confidence_from(r_peak, face_fraction, min(speech_s, speech_in + 0.5))
    # lips coded past reading hold it down (each span alike: one encode codes them alike)
    conf = read * read_on.picture_weight
    # the best fit on the search's last candidates is a slope, not a peak: the agreement may
    # go on rising beyond them (sound a second out; or chance: another speaker's recording
    # under a 30 s take read +797 ms at 0.76). No delay is measured there.
    at_edge = bool(d <= delays[0] + SEARCH_EDGE_S or d >= delays[-1] - SEARCH_EDGE_S)
    if at_edge:
        conf = 0.0
    # two near-equal peaks (a window across a cut, a repeated phrase) make the pick a coin
    # toss even when both correlate well
    uncertain = conf < LOW_CONFIDENCE or prominence < AMBIGUOUS_PROMINENCE
    note = ""
    if uncertain:
        if at_edge:
            note = EDGE_NOTE
        elif prominence < AMBIGUOUS_PROMINENCE and conf >= LOW_CONFIDENCE:
            note = f"two delays fit about equally well ({prominence:.2f} z apart): a cut inside the window?"
        elif read >= LOW_CONFIDENCE:
            note = PICTURE_NOTE
        elif still_share >= 0.3:
            note = STILL_NOTE + ("" if still_share >= 0.7 else " in part of the window")
        elif face_fraction < 0.5:
            note = "face missing in much of the window"
        elif speech_in < 1.0:
            note = "little speech"
        elif prominence < 0.5:
            note = "several delays fit about equally well (cut, other speaker or off-screen voice?)"
        else:
            note = "mouth and speech agree weakly"
    return Estimate(
        d, conf, uncertain, note, combined, comps,
        {"prominence": prominence, "r_peak": r_peak, "r_fit": r_fit, "face_fraction": face_fraction,
         "speech_s": speech_in},
        delays,
    )


def _r_at(sig: Signals, sel: np.ndarray, at: np.ndarray, weights: dict[str, float], warp: float) -> float:
    """The weighted plain correlation of the confidence's components at the one delay ``at``."""
    rs = {k: float(r[0]) for k, r in sig.curves(sel, at, weights, warp, robust=False).items()}
    scored = {k: r for k, r in rs.items() if k in _CONFIDENCE_COMPONENTS and np.isfinite(r)}
    den = sum(weights.get(k, 0.0) for k in scored)
    return sum(weights.get(k, 0.0) * r for k, r in scored.items()) / den if den > 0 else 0.0


# Softmax temperature of the source weights (units of peak correlation): a source whose
# best fit is 0.1 below the best source's counts e times less. Measured on the shift
# protocol (docs/sync.md, "Weighing the phone sources"): 0.05-0.1 equally good.
SOURCE_TEMPERATURE = 0.1


def source_searches(
    sig: Signals, sel: np.ndarray, delays: np.ndarray, weights: dict[str, float]
) -> tuple[list[float], list[np.ndarray]]:
    """How well each phone source alone fits the face, and its own agreement curve over
    ``delays`` (z units); empty lists with fewer than 2 sources.

    A source's fit is its peak correlation (the same figure the confidence is made from)
    when it alone predicts the mouth. On some footage one recogniser output is poor (on
    voxceleb_620900105 both allphone timelines alone read 0.4-0.7 s off), and under noise
    the sources degrade unequally; the equal mean then carries the poor one's errors. The
    fits weigh the early mix (``fit_weights``), the curves the late fusion
    (``late_fusion``). Each source is scored once over ``sel`` (cheap next to the windows).
    """
    if sig.n_sources < 2:
        return [], []
    fits, curves = [], []
    for i in range(sig.n_sources):
        e = estimate_window(sig.mixed(np.eye(sig.n_sources)[i]), sel, delays, weights)
        fits.append(float(e.features.get("r_fit", 0.0)) if e.delay_s is not None else 0.0)
        curves.append(e.combined)
    return fits, curves


# Late fusion of the whole-clip search (see ``late_fusion``): the sources' own curves are
# weighed by a softmax of their fits at this temperature, then averaged with the curve of
# the mixed sources. Measured on the shift protocol (docs/sync.md, "Late fusion").
LATE_TEMPERATURE = 0.2
# Share of the sources' own curves in the whole-clip curve (0: the mixed curve alone).
LATE_SHARE = 0.5


def late_fusion(fits: list[float], curves: list[np.ndarray]) -> np.ndarray | None:
    """The sources' own agreement curves, weighed by fit: a second opinion on the delay.

    Why: mixing the sources' expected openings (early fusion) makes one new prediction of
    the mouth; when one source is badly wrong under noise, the mix can peak where no
    source does (pink noise, retalking_face2 at -6 frames: the sources alone read +0.9,
    +9.0 and +0.1 frames off, the mix +16.7). Averaging the curves themselves lets two
    sources that agree outvote the third.
    """
    ok = [(f, c) for f, c in zip(fits, curves, strict=True) if c.size and np.isfinite(c).any()]
    if len(ok) < 2:
        return None
    f = np.array([x[0] for x in ok])
    w = np.exp((f - f.max()) / LATE_TEMPERATURE)
    z = np.array([np.nan_to_num(x[1], nan=-3.0) for x in ok])
    return (w[:, None] * z).sum(axis=0) / w.sum()


def fit_weights(fits: list[float]) -> np.ndarray:
    """Softmax of the fits at ``SOURCE_TEMPERATURE``: the mix the delay is searched with."""
    f = np.asarray(fits, dtype=np.float64)
    return np.exp((f - f.max()) / SOURCE_TEMPERATURE)


def window_spans(t_start: float, t_end: float, window_s: float, hop_s: float) -> list[tuple[float, float]]:
    """Window (start, end) pairs covering [t_start, t_end]; short media get one window."""
    span = t_end - t_start
    if span <= window_s * 1.25 or hop_s <= 0:
        return [(t_start, t_end)]
    out = []
    s = t_start
    while s + window_s < t_end - 1e-9:
        out.append((s, s + window_s))
        s += hop_s
    last = (max(t_start, t_end - window_s), t_end)
    if not out or last[0] > out[-1][0] + 1e-6:
        out.append(last)
    return out


# A clock scan told where an earlier, cheaper measurement found its mismatch tries only the
# ratios this close to it (25/24 and 25/23.976 are 0.1 % apart: both stay in).
NEAR_RATIO = 0.005


def clock_scan(
    sig: Signals, delays: np.ndarray, weights: dict[str, float], conf_sig: Signals | None, centre_s: float = 0.0,
    near: float | None = None,
) -> tuple[float, Estimate] | None:
    """The known clock mismatch (``media.clocks.KNOWN_MISMATCHES``) that best explains the whole
    clip, among those the window line cannot find: the steep ones (which leave the +-0.8 s
    search within 20 s and smear every window) and any
    that moves the delay further over the clip than the search reaches either side (an
    hour of 1000/1001: 3.6 s, most windows beyond a +-0.8 s search).

    For each, the agreement with the mismatch undone (``warp``), searched over ``delays``
    (centred on ``centre_s``) moved to where that mismatch puts the delay at the middle of
    the frames when sound and picture start together at media time 0 (what the probe
    checks). Returns (ratio - 1, estimate at the middle) of the most confident, or None
    when nothing was measured.

    ``near``: a ratio an earlier measurement of the same file found (``check``'s cascade):
    only the mismatches within :data:`NEAR_RATIO` of it are tried. Each try scores every
    frame over the whole search, and past 13 minutes 1000/1001 and its inverse join the six
    steep ones: on 20 minutes the scan was a quarter of the analysis, at every step."""
    t = sig.times
    if t.size < 2 or delays.size < 2:
        return None
    mid = 0.5 * (float(t[0]) + float(t[-1]))
    reach = 0.5 * float(delays[-1] - delays[0])
    every = np.ones(t.size, dtype=bool)
    best: tuple[float, Estimate] | None = None
    for m in KNOWN_MISMATCHES:
        k = m.ratio - 1.0
        if not m.steep and abs(k) * float(t[-1] - t[0]) <= reach:
            continue
        if near is not None and abs(m.ratio / near - 1.0) > NEAR_RATIO:
            continue
        moved = delays + round(k * mid / GRID_STEP_S) * GRID_STEP_S
        e = estimate_window(sig, every, moved, weights, conf_sig, warp=k)
        if e.delay_s is not None and (best is None or e.confidence > best[1].confidence):
            best = (k, e)
    return best
