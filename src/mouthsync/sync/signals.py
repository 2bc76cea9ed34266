"""The two sides the delay search compares, prepared once per face and speech: the
measured mouth (aperture, velocity, width, baseline removed) and the expected mouth
tabulated on a 1 ms grid from the phones, with the agreement of the two over candidate
delays (:meth:`Signals.curves`)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from mouthsync.media.decode import Audio
from mouthsync.sync.features import (
    band_features,
    corr_rows,
    detrend,
    envelope_curve,
    fill_invalid,
    grid_lags,
    robust_scale,
    sample_lagged,
    trimmed_corr_rows,
)

_CURVE_BLOCK_ELEMENTS = 1_000_000  # delays x frames scored at once (~8 MB per float array)
_GRID_DT = 0.001  # step of the tabulated expected curves (s)
# The search scores each delay with a correlation that leaves out the worst-agreeing 20 %
# of 12-frame blocks (``features.trimmed_corr_rows``): a stretch where the expected mouth
# is wrong whatever the delay (another voice in the speaker's pause, a misrecognised
# word) no longer drags the peak. Shift protocol (docs/sync.md, "Trimmed correlation"):
# whole frames 97.8 -> 99.6 %, other voice 79.0 -> 84.0 %, pink over three realisations
# 90.1 -> 91.4 % (89.5 on the two held out). The confidence still reads the plain one.
TRIM_BLOCK = 12
TRIM_DROP = 0.2
_GRID_PAD_S = 2.0  # expected curves tabulated this far beyond the audio (>= max delay + warp)
# Shares of the lower lip's drop below the nose (``face.mouth``, key ``drop``) in the
# measured opening and in its velocity; the inner lips' aperture gives the rest. The
# aperture pins the timing of closures; the drop follows the jaw, and the mesh keeps it
# where blur or coarse coding shut the lips it draws. Session 29 (docs/sync.md, "The
# lower lip's drop"), 0.3 / 0.3 against the aperture alone: pink noise over three
# realisations 90.5 -> 95.9 %, music 93.8 -> 97.5 %, the right voice's confidence min
# 0.22 -> 0.54; whole frames stay 100 %.
DROP_IN_OPENING = 0.3
# Session 30 ("Finding on the jaw, placing on the lips"): every search scores a velocity
# that leans on the drop (``DROP_IN_VELOCITY``), which finds the right peak under another
# voice; the peak is then placed on the curve of a velocity that leans on the lips
# (``DROP_IN_PLACING``, :meth:`Signals.placing_curve`), which times it to a few ms. Another
# voice at 10 dB 86.4 -> 93.8 %, pink noise 95.9 -> 98.4 %, sub-frame p95 16.3 -> 7.6 ms.
DROP_IN_VELOCITY = 0.8
DROP_IN_PLACING = 0.3


class Signals:
    """Everything the delay search compares, prepared once per (track, audio) pair.

    Expected opening and its derivative are tabulated on a 1 ms grid so that evaluating
    them at ``frames x delays`` points is one interpolation, not a coarticulation model
    run per point.
    """

    #: What the lips' coding leaves of every confidence read from this face, 0-1
    #: (``verdict.picture_weight``; 1: coded finely enough, or not known).
    picture_weight: float = 1.0

    def __init__(self, track: Any, timeline: Any, audio: Audio, still: np.ndarray | None = None) -> None:
        """``still``: frames where speech is heard over a still mouth (:mod:`mouthsync.sync.still`),
        left out of every search like frames without a face."""
        from mouthsync.audio.visemes import expected_opening, expected_spread

        timelines = list(timeline) if isinstance(timeline, (list, tuple)) else [timeline]

        self._set_measured(track, still)
        self.audio_start = float(audio.start)
        self.audio_end = float(audio.start + audio.duration)
        self.phones = [p for tl in timelines for p in tl.phones]
        self.speech = [(float(a), float(b)) for a, b in timelines[0].speech]
        # tabulated well beyond the audio (where it settles to the rest opening) so that every
        # candidate delay is scored on the same frames; see ``curves``
        self.grid_t = np.arange(self.audio_start - _GRID_PAD_S, self.audio_end + _GRID_PAD_S, _GRID_DT)
        # Several timelines (aligned machine transcript + phonetic recognition) are
        # averaged: their errors differ, and the mean predicts the mouth better than
        # either (docs/sync.md, "Two phone sources"). Each source's curves are kept so that
        # ``mixed`` can re-weight them by how well each source alone fits this face
        # (``source_searches``). A timeline without phones contributes zeros, as before.
        self._per_source: list[tuple[np.ndarray, np.ndarray]] = []
        for tl in timelines:
            if tl.phones:
                self._per_source.append((
                    np.asarray(expected_opening(list(tl.phones), self.grid_t), dtype=np.float64),
                    np.asarray(expected_spread(list(tl.phones), self.grid_t), dtype=np.float64),
                ))
            else:
                nothing = np.zeros_like(self.grid_t)
                self._per_source.append((nothing, nothing))
        self._set_expected(np.ones(len(self._per_source)))
        self._audio = audio
        self._bands: tuple[np.ndarray, np.ndarray] | None = None

    def _set_measured(self, track: Any, still: np.ndarray | None) -> None:
        """The mouth side: one face's aperture (baseline removed, scaled), its velocity and
        width, on its own frame times; ``still`` frames are left out."""
        self.times = np.asarray(track.times, dtype=np.float64)
        ap = np.asarray(track.mouth["aperture"], dtype=np.float64)
        self.still = np.zeros(self.times.size, dtype=bool) if still is None else np.asarray(still, dtype=bool)
        # a face is there (still or not): the confidence's face factor counts these
        self.present = np.asarray(track.valid, dtype=bool) & np.isfinite(ap)
        self.valid = self.present & ~self.still
        self.n_faces = 1
        self.fps = float(track.fps) if track.fps else _fps_of(self.times)
        # frames a second tracked: the file's rate, or less where check tracked every k-th
        # frame of high-rate footage (face.stride); counts of frames go by this one
        self.tracked_fps = _fps_of(self.times)
        if self.valid.sum() >= 2:
            self.opening = robust_scale(detrend(self.times, ap, self.valid), self.valid)
            self.velocity = _velocity(self.times, ap, self.valid)
            # the velocity the peak is placed on (the same as the searched one unless the
            # drop is blended in, :meth:`_add_drop`)
            self.lip_velocity = self.velocity
            drop = track.mouth.get("drop")  # (absent from tracks saved before it was measured)
            if drop is not None:
                self._add_drop(np.asarray(drop, dtype=np.float64))
        else:
            self.opening = np.zeros_like(ap)
            self.velocity = np.zeros_like(ap)
            self.lip_velocity = self.velocity
        # mouth width (None when the track does not carry it: the width component is skipped)
        self.width: np.ndarray | None = None
        if "width" in track.mouth:
            wd = np.asarray(track.mouth["width"], dtype=np.float64)
            wvalid = self.valid & np.isfinite(wd)
            if wvalid.sum() >= 2:
                self.width = robust_scale(detrend(self.times, wd, wvalid), wvalid)

    def _add_drop(self, drop: np.ndarray) -> None:
        """Blend the lower lip's drop into the opening and the velocity (shares
        :data:`DROP_IN_OPENING`, :data:`DROP_IN_VELOCITY`), each part scaled to a like
        spread first so the shares mean what they say."""
        ok = self.valid & np.isfinite(drop)
        if ok.sum() < 2:
            return
        own = robust_scale(detrend(self.times, drop, ok), ok)
        self.opening = robust_scale((1.0 - DROP_IN_OPENING) * self.opening + DROP_IN_OPENING * own, self.valid)
        dv = _velocity(self.times, drop, ok)
        s_ap, s_drop = float(np.std(self.velocity[self.valid])), float(np.std(dv[ok]))
        if s_ap > 0 and s_drop > 0:
            lips, jaw = self.velocity / s_ap, dv / s_drop
            self.velocity = (1.0 - DROP_IN_VELOCITY) * lips + DROP_IN_VELOCITY * jaw
            self.lip_velocity = (1.0 - DROP_IN_PLACING) * lips + DROP_IN_PLACING * jaw

    def for_face(self, track: Any, still: np.ndarray | None = None) -> Signals:
        """The same expected mouth against another face's track (a two-shot's other face):
        the expected curves (on 60 s and three sources: 0.199 s for a whole Signals, 0.065 s for another face) are
        shared, not tabulated again."""
        out = copy.copy(self)
        out._set_measured(track, still)
        return out

    def _set_expected(self, weights: np.ndarray) -> None:
        """Mix the sources' expected curves with ``weights`` (normalised to sum 1)."""
        w = np.asarray(weights, dtype=np.float64)
        self.source_weights = w / w.sum() if w.sum() > 0 else np.full(w.size, 1.0 / max(1, w.size))
        weights = self.source_weights
        e = np.zeros_like(self.grid_t)
        sp = np.zeros_like(self.grid_t)
        for wi, (ei, si) in zip(weights, self._per_source, strict=True):
            e += wi * ei
            sp += wi * si
        self.grid_e = e
        self.grid_de = np.gradient(e, _GRID_DT) if e.size > 1 else np.zeros_like(e)
        self.grid_spread = sp

    @property
    def audio(self) -> Audio:
        """The sound the speech timelines were made from (its samples, on its own clock)."""
        return self._audio

    @property
    def n_sources(self) -> int:
        return len(self._per_source)

    @staticmethod
    def joined(parts: list[Signals], still_times: list[tuple[float, float]]) -> Signals:
        """Several faces' mouths measured against the same speech as one (a dialogue: each
        face speaks in turn, and is still while the other does).

        The measured side of every part (each face's own baseline removal and scale, its
        own still frames left out) is pooled and ordered by time; the expected side is the
        first part's. ``still_times``: where every face is still under speech, the only
        spans the pooled measurement cannot judge.
        """
        out = copy.copy(parts[0])
        order = np.argsort(np.concatenate([p.times for p in parts]), kind="stable")

        def pooled(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name) for p in parts])[order]

        out.times = pooled("times")
        out.present = pooled("present")
        out.valid = pooled("valid")
        out.opening = pooled("opening")
        out.velocity = pooled("velocity")
        out.lip_velocity = pooled("lip_velocity")
        out.width = None if any(p.width is None for p in parts) else pooled("width")
        out.still = np.zeros(out.times.size, dtype=bool)
        for a, b in still_times:
            out.still |= (out.times >= a) & (out.times < b)
        out.n_faces = len(parts)
        return out

    def face_fraction(self, sel: np.ndarray) -> float:
        """Share of the instants in ``sel`` that show a face (still or not; with pooled
        faces, an instant counts when any face is there)."""
        if not sel.any():
            return 0.0
        return float(min(1.0, self.present[sel].sum() * self.n_faces / sel.sum()))

    def mixed(self, weights: np.ndarray) -> Signals:
        """A copy whose expected mouth mixes the sources with ``weights``; the measured side
        and the per-source curves are shared, not copied."""
        out = copy.copy(self)
        out._set_expected(weights)
        return out

    def bands(self) -> tuple[np.ndarray, np.ndarray]:
        """Band energies for the learned envelope mapping, computed on first use only:
        they cost several hundred MiB transient on 10 minutes of audio and the default weights do not
        use them."""
        if self._bands is None:
            self._bands = band_features(self._audio.mono, self._audio.rate, self._audio.start)
        return self._bands

    def speech_seconds(self, t0: float, t1: float) -> float:
        """Seconds of detected speech inside [t0, t1]."""
        return float(sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in self.speech))

    def curves(
        self, sel: np.ndarray, delays: np.ndarray, weights: dict[str, float], warp: float = 0.0, robust: bool = True
    ) -> dict[str, np.ndarray]:
        """Raw correlation per component over candidate ``delays`` for frames ``sel``.

        ``warp`` (s per s) adds a delay growing linearly from the middle of the frames:
        the drift search evaluates whole-clip agreement under a clock mismatch. Delays are
        scored in blocks so that memory stays bounded on long media (the whole-clip curve
        of a 10-minute clip, 801 delays x 15000 frames at once, peaked at 1.3 GiB).
        ``robust``: the block-trimmed correlation (:data:`TRIM_BLOCK`, the search); False:
        the plain one (what the confidence mapping was fitted on).
        """
        n = max(1, int(sel.sum()))
        step = max(1, _CURVE_BLOCK_ELEMENTS // n)
        if delays.size <= step:
            return self._curves_block(sel, delays, weights, warp, robust)
        parts = [self._curves_block(sel, delays[i : i + step], weights, warp, robust) for i in range(0, delays.size, step)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def placing_curve(
        self, sel: np.ndarray, delays: np.ndarray, weights: dict[str, float], searched: dict[str, np.ndarray],
        warp: float = 0.0,
    ) -> dict[str, np.ndarray]:
        """The components the peak is placed on: ``searched`` (what :meth:`curves` gave
        for the same frames and delays) with the velocity's curve scored again on the
        lip-leaning velocity (:data:`DROP_IN_PLACING`). Without the drop both velocities
        are one, and ``searched`` comes back as it is."""
        if self.lip_velocity is self.velocity or "velocity" not in searched:
            return searched
        return {**searched, **self.placing().curves(sel, delays, {"velocity": 1.0}, warp)}

    def placing(self) -> Signals:
        """These signals with the lip-leaning velocity in place of the searched one: for
        the fine measures (where a found peak lies, a drift's slope)."""
        if self.lip_velocity is self.velocity:
            return self
        out = copy.copy(self)
        out.velocity = self.lip_velocity
        return out

    def _components(self) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
        """Each component's measured mouth signal (None: the track lacks it) and the table
        of what the sound predicts for it on the 1 ms grid."""
        return {"opening": (self.opening, self.grid_e), "velocity": (self.velocity, self.grid_de),
                "width": (self.width, self.grid_spread)}

    def split_fit(
        self, sel: np.ndarray, before_s: float, after_s: float, splits: np.ndarray, weights: dict[str, float]
    ) -> np.ndarray:
        """Agreement (weighted mean correlation of the components) over frames ``sel`` when
        the sound is ``before_s`` late up to each time of ``splits`` and ``after_s`` from
        there: where a delay that changes inside a take (``sync.steps``) changes.

        One row per split over the same frames, so the rows compare like the delay
        search's candidates (fixed support)."""
        t = self.times[sel]
        v = self.valid[sel]
        tv = t[v]
        splits = np.asarray(splits, dtype=np.float64)
        num = np.zeros(splits.size)
        den = 0.0
        late = tv[None, :] >= splits[:, None]
        for k, (measured, table) in self._components().items():
            wk = float(weights.get(k, 0.0))
            if wk <= 0 or measured is None or tv.size < 8:
                continue
            pa = np.interp(tv + before_s, self.grid_t, table)
            pb = np.interp(tv + after_s, self.grid_t, table)
            r = corr_rows(measured[sel][v], np.where(late, pb[None, :], pa[None, :]))
            num += wk * np.nan_to_num(r, nan=0.0)
            den += wk
        return num / den if den > 0 else num

    def _curves_block(
        self, sel: np.ndarray, delays: np.ndarray, weights: dict[str, float], warp: float, robust: bool = True
    ) -> dict[str, np.ndarray]:
        t = self.times[sel]
        if warp:
            t = t + warp * (t - 0.5 * (t[0] + t[-1]))
        v = self.valid[sel]
        # Fixed support: every delay is scored on the same valid frames; where ``t + d``
        # falls outside the audio nothing is said, so the expected mouth is at rest there.
        # Scoring each delay over its own overlap instead (the first version) let a
        # shrinking overlap at large |d| produce spurious peaks, and made the curve of
        # shifted audio differ from the shifted curve: with the phones of the unshifted
        # audio moved by the shift (no recognition noise), whole-frame tracking was 89 %
        # with per-overlap scoring and 100 % with fixed support (docs/sync.md).
        tv = t[v]
        wanted = [k for k in ("opening", "velocity", "width") if weights.get(k, 0) > 0]
        if "width" in wanted and self.width is None:
            wanted.remove("width")
        out: dict[str, np.ndarray] = {}
        if wanted:
            # The expected curves sit on a uniform 1 ms grid and the candidate delays step by
            # whole grid steps, so each frame's values over the delays are a strided slice of
            # the table (features.grid_lags), shared by every component.
            lags = grid_lags(tv, delays, float(self.grid_t[0]), _GRID_DT, self.grid_t.size)
            if lags is None and tv.size and delays.size:
                raise ValueError("candidate delays must step evenly by whole 1 ms grid steps")
            comps = self._components()
            for k in wanted:
                measured, g = comps[k]
                pred = np.zeros((delays.size, 0)) if lags is None else sample_lagged(g, lags)
                xk = measured[sel][v]  # type: ignore[index]
                out[k] = trimmed_corr_rows(xk, pred, TRIM_BLOCK, TRIM_DROP) if robust else corr_rows(xk, pred)
        if weights.get("envelope", 0) > 0 and v.sum() >= 16:
            feat_t, feats = self.bands()
            if feat_t.size > 2:
                out["envelope"] = envelope_curve(t, self.opening[sel], v, feat_t, feats, delays)
        return out


def _fps_of(times: np.ndarray) -> float:
    if times.size < 2:
        return 25.0
    span = float(times[-1] - times[0])
    return (times.size - 1) / span if span > 0 else 25.0


def _velocity(times: np.ndarray, x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The rate of change of a per-frame measure over its true frame times, gaps filled."""
    filled = fill_invalid(times, x, valid)
    return np.gradient(filled, times) if times.size > 1 else np.zeros_like(filled)
