"""Lining up a separately recorded sound with the camera's own (dual-system sound).

Why: on a shoot the good sound often comes from a recorder, not the camera, and the
recorder starts and stops on its own. ``check FILE --audio RECORDER.wav`` used to lay the
recording's first sample on the picture's first frame; a recorder started 12 s before the
camera then read as "no agreement" (the lip-sync search spans +-0.8 s). When the camera
also recorded sound (a scratch track), the two recordings hold the same speech through
different microphones, and their cross-correlation says where the recorder belongs, to
the sample, before the mouth is compared with anything. Editors do the same step with
"synchronise by audio" (PluralEyes and the NLEs' own).

How, in two steps:

1. **Coarse**, over every possible offset: the loudness envelopes (log RMS per 5 ms,
   less its 0.25 s moving mean, so that level and microphone colour drop out and
   syllable onsets remain) are cross-correlated with an FFT. The peak's Pearson
   correlation over the overlap is the ``match``; how far it stands above the best
   offset more than 0.25 s away is the ``prominence``.
2. **Fine**, within +-10 ms of it: GCC-PHAT (the cross-spectrum whitened to its phase)
   on up to 60 s of the overlap at the decode rate, peak refined by a parabola: a
   sample-exact offset, whatever the two microphones' frequency responses.

The decision: ``strength`` = match x sqrt(overlap / 50 ms), roughly the peak's z-score
(the detrended envelope decorrelates in about 50 ms), so that a long overlap needs less
agreement than a short one; lined up when it is at least 5. Measured on the shared data
(scratch script, session 9): every clip against every recording of ``speech/`` (45 pairs
of different recordings) strength <= 3.8 (match <= 0.44); each clip's own speech as a
"recorder" low-passed at 3 kHz, high-passed at 300 Hz with noise 10 dB under it, or
started 2 s late (27 cases) strength >= 6.4, found within 0.16 ms (the low-pass filter's
own delay) but for one: a 4.3 s clip under that noise, which found nothing and says so.
A different take, a dub or unrelated sound is therefore not lined up.

3. **Clock**, on overlaps of a minute or more: a recorder's clock and a camera's differ
   (tens of ppm for good ones; 0.1 % when one of them runs at NTSC's 1000/1001). The lag
   is measured on up to nine 20 s chunks spread over the overlap, the chunks resampled by
   a first estimate so that the drift does not smear them, and a robust line through the
   lags gives ``speed``. On 165 s of the shared speech with a recorder 20, 100, -300 and
   1000 ppm off: 19.99, 99.95, -299.63 and 998.14 ppm, start within 0.2 ms. The coarse
   step reads only 30 s from the middle of the recording for the same reason: over the
   whole 165 s at 1000 ppm its peak had landed 83 s away.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mouthsync.media.decode import Audio

ENVELOPE_HOP_S = 0.005
_DETREND_S = 0.25
_RIVAL_GAP_S = 0.25
_FINE_SPAN_S = 0.010
_EXCERPT_S = 30.0
# Lined up only at this strength (match x sqrt(overlap / _INDEPENDENT_S)).
MIN_STRENGTH = 5.0
_INDEPENDENT_S = 0.05
MIN_OVERLAP_S = 2.0


@dataclass(frozen=True)
class Lineup:
    """Where ``other`` belongs on ``reference``'s timeline.

    ``start_s``: the time of ``other``'s first sample on the reference timeline (the
    picture's, when the reference is the camera's sound); ``offset_s``: how much later
    than its own start that is. ``matched`` says whether the two hold the same sound.
    """

    start_s: float
    offset_s: float
    match: float
    prominence: float
    overlap_s: float
    strength: float
    matched: bool
    # seconds of ``other`` per second of ``reference`` (their clocks: a recorder against a
    # camera), measured on overlaps of a minute or more; 1.0 when shorter or under 1 ms
    speed: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        d = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        d["speed"] = round(self.speed, 10)
        d["clock_ppm"] = round((self.speed - 1.0) * 1e6, 2)
        return d

    def placed(self, audio: Audio) -> Audio:
        """``audio`` (the recording that was lined up) on the reference's timeline and clock:
        starting at ``start_s``, resampled when the clocks differ."""
        x = audio.samples
        if self.speed != 1.0:
            from mouthsync.media.remux import resample_line

            n = int(x.shape[-1] / self.speed)
            x2 = x[None, :] if x.ndim == 1 else x
            y = resample_line(x2, 0.0, self.speed, n)
            x = y[0] if x.ndim == 1 else y
        return Audio(samples=x, rate=audio.rate, start=self.start_s, channel=audio.channel)


def envelope(x: np.ndarray, rate: int, hop_s: float = ENVELOPE_HOP_S) -> np.ndarray:
    """Log RMS per ``hop_s`` less its moving mean over 0.25 s, scaled to unit variance."""
    hop = max(1, int(round(hop_s * rate)))
    n = x.size // hop
    if n < 4:
        return np.zeros(max(n, 0))
    # in float32 and without a squared copy: on an hour of sound a float64 copy of the
    # whole recording was the line-up's peak memory (0.9 GB)
    frames = np.asarray(x[: n * hop], dtype=np.float32).reshape(n, hop)
    power = np.einsum("ij,ij->i", frames, frames).astype(np.float64) / hop
    e = np.log(np.sqrt(power) + 1e-5)
    w = max(1, int(round(_DETREND_S / hop_s)))
    kernel = np.ones(w) / w
    e = e - np.convolve(np.pad(e, (w // 2, w - 1 - w // 2), mode="edge"), kernel, mode="valid")
    sd = float(e.std())
    return e / sd if sd > 0 else e


def _overlap_corr(a: np.ndarray, b: np.ndarray, lag: int) -> tuple[float, int]:
    """Pearson correlation of ``a[n + lag]`` with ``b[n]`` where both exist, and the length."""
    lo = max(0, -lag)
    hi = min(b.size, a.size - lag)
    if hi - lo < 8:
        return 0.0, 0
    x, y = a[lo + lag : hi + lag], b[lo:hi]
    if x.std() == 0 or y.std() == 0:
        return 0.0, hi - lo
    return float(np.corrcoef(x, y)[0, 1]), hi - lo


def _gcc_phat_lag(ref: np.ndarray, other: np.ndarray, centre: int, span: int) -> float:
    """Sub-sample lag L (``other[n] ~ ref[n + L]``) within ``centre +- span``, by GCC-PHAT
    on the overlap at ``centre``."""
    return _gcc_phat(ref, other, centre, span)[0]


def _gcc_phat(ref: np.ndarray, other: np.ndarray, centre: int, span: int) -> tuple[float, float]:
    """:func:`_gcc_phat_lag` and the peak's height over the median absolute value of the
    whitened correlation (a sharp, lone peak is tens; noise, a few)."""
    lo = max(0, span - centre)
    hi = min(other.size, ref.size - centre - span)
    if hi - lo < 256:  # too little to correlate
        return float(centre), 0.0
    o = np.asarray(other[lo:hi], dtype=np.float64)
    r = np.asarray(ref[lo + centre - span : hi + centre + span], dtype=np.float64)
    nfft = 1 << int(np.ceil(np.log2(r.size + o.size)))
    cross = np.fft.rfft(r, nfft) * np.conj(np.fft.rfft(o, nfft))
    cross /= np.abs(cross) + 1e-12
    cc = np.fft.irfft(cross, nfft)
    # cc[k] ~ sum_n r[n + k] o[n]; r starts at ref index lo + centre - span
    k = np.arange(0, 2 * span + 1)
    vals = cc[k]
    i = int(np.argmax(vals))
    frac = 0.0
    if 0 < i < vals.size - 1:
        y0, y1, y2 = vals[i - 1], vals[i], vals[i + 1]
        den = y0 - 2 * y1 + y2
        frac = 0.5 * (y0 - y2) / den if den != 0 else 0.0
    height = float(vals[i] / (np.median(np.abs(vals)) + 1e-12))
    return float(centre - span + i + frac), height


# Clock drift between the recordings: measured on overlaps this long, in chunks this long
DRIFT_MIN_OVERLAP_S = 60.0
_DRIFT_CHUNK_S = 20.0
_MAX_DRIFT = 0.002  # 0.2 %: beyond any two working clocks (48 vs 44.1 kHz is a mislabel, not drift)
_MIN_PEAK = 8.0


def _clock_fit(ref: np.ndarray, oth: np.ndarray, rate: int, lag: float) -> tuple[float, float] | None:
    """(slope, intercept) of the clock between the recordings (ref index = (1 + slope) *
    oth index + intercept), from GCC-PHAT on 20 s chunks spread over the overlap; None when
    fewer than three chunks give a clear peak.

    Two passes: within a chunk a drift smears the lag (0.1 % is 20 ms over 20 s, and the
    peak is then anywhere on that plateau: the slope read 1-5 % low), so the second pass
    resamples each chunk by the first pass's slope before correlating, and reads the lag
    at the chunk's centre without smear.
    """
    from mouthsync.media.remux import resample_at

    lo = max(0, int(-lag))
    hi = min(oth.size, int(ref.size - lag))
    # chunks of 20 s, shorter on a short overlap so that there are at least six
    n_chunk = int(min(_DRIFT_CHUNK_S, max(5.0, (hi - lo) / rate / 6)) * rate)
    k = min(9, (hi - lo) // n_chunk)
    if k < 3:
        return None
    span = int(_MAX_DRIFT * (hi - lo)) + int(_FINE_SPAN_S * rate)
    centres = np.linspace(lo + n_chunk // 2, hi - n_chunk // 2, k)
    h = n_chunk // 2
    fit: tuple[float, float] = (0.0, float(lag))
    for warp in (False, True):
        pts: list[tuple[float, float]] = []
        slope, intercept = fit
        for c in centres:
            a = int(c) - h
            if warp:
                # w[m] = oth at c + (m - h) / (1 + slope): in step with ref, at ref index
                # (1 + slope) c + intercept + (m - h)
                pos = c + (np.arange(n_chunk) - h) / (1.0 + slope)
                # only the stretch it reads (with the spline's margin) goes to float64: the
                # whole recording was copied for every chunk, 0.46 GB each for an hour
                lo_s = max(0, int(pos[0]) - 256)
                piece = oth[lo_s : int(pos[-1]) + 256].astype(np.float64)
                w = resample_at(piece[None, :], pos - lo_s)[0]
                guess = (1.0 + slope) * c + intercept - h
                r0 = max(0, int(guess) - span)
                got, height = _gcc_phat(ref[r0:], w, int(round(guess)) - r0, int(_FINE_SPAN_S * rate))
                at = got + r0 + h  # ref index of oth[c]
            else:
                # ref from where the widest lag can reach: cut at the chunk itself, the search
                # lost the chunk's first ``span - lag`` samples, all of them on an hour's take
                r0 = max(0, a + int(round(lag)) - span)
                got, height = _gcc_phat(ref[r0:], oth[a : a + n_chunk], a + int(round(lag)) - r0, span)
                at = got + r0 + h  # ref index of oth[c] (the lag at the chunk, taken at its centre)
            if height >= _MIN_PEAK:
                pts.append((float(c), at - float(c)))
        if len(pts) < 3:
            return None if not warp else fit
        x = np.array([p[0] for p in pts])
        y = np.array([p[1] for p in pts])
        slopes = [(y[j] - y[i]) / (x[j] - x[i]) for i in range(len(x)) for j in range(i + 1, len(x))]
        s_new = float(np.median(slopes))
        fit = (s_new, float(np.median(y - s_new * x)))
    return fit


def line_up(reference: Audio, other: Audio, *, max_offset_s: float | None = None) -> Lineup:
    """Find where ``other`` sits on ``reference``'s timeline (same rate; mono is used).

    ``max_offset_s`` bounds the search (None: any offset with at least 2 s of overlap).
    """
    from scipy.signal import fftconvolve  # here: every check imports this module, few use it

    if reference.rate != other.rate:
        raise ValueError("line_up needs both recordings at one rate")
    rate = reference.rate
    ref, oth = reference.mono, other.mono
    hop = ENVELOPE_HOP_S
    a, b_full = envelope(ref, rate, hop), envelope(oth, rate, hop)
    none = Lineup(other.start, 0.0, 0.0, 0.0, 0.0, 0.0, False)
    if a.size < 8 or b_full.size < 8:
        return none
    # The coarse search uses at most 30 s from the middle of ``other``: over a long
    # recording a clock drift smears the envelopes apart (0.1 % is 165 ms over 165 s, and
    # the whole-file peak then landed 83 s away), over 30 s it stays under 30 ms.
    half = int(_EXCERPT_S / hop) // 2
    e0 = max(0, b_full.size // 2 - half)
    b = b_full[e0 : e0 + 2 * half] if b_full.size > 2 * half else b_full
    # c[k] over lags k = -(b.size - 1) .. a.size - 1: sum_n a[n + k] b[n]; the lag of the
    # whole of ``other`` is k - e0
    c = fftconvolve(a, b[::-1], mode="full")
    lags = np.arange(-(b.size - 1), a.size)
    overlap = np.minimum(a.size, lags + b.size) - np.maximum(0, lags)
    ok = overlap >= min(MIN_OVERLAP_S / hop, 0.5 * b.size)
    if max_offset_s is not None:
        native = int(round((other.start - reference.start) / hop))
        ok &= np.abs(lags - e0 - native) <= max_offset_s / hop
    if not ok.any():
        return none
    score = np.where(ok, c / np.sqrt(np.maximum(overlap, 1)), -np.inf)
    best = int(np.argmax(score))
    lag = int(lags[best])
    match, n = _overlap_corr(a, b, lag)
    far = ok & (np.abs(lags - lag) > _RIVAL_GAP_S / hop)
    rival_corr = 0.0
    if far.any():
        rival = int(lags[np.argmax(np.where(far, score, -np.inf))])
        rival_corr = _overlap_corr(a, b, rival)[0]
    whole = lag - e0  # envelope lag of the whole of ``other``
    overlap_s = max(0, min(a.size, whole + b_full.size) - max(0, whole)) * hop
    # fine: sample-exact on the excerpt's overlap
    centre = int(round(whole * hop * rate))
    span = int(round(_FINE_SPAN_S * rate))
    lo = max(int(e0 * hop * rate), -centre)
    hi = min(oth.size, int((e0 + b.size) * hop * rate), ref.size - centre)
    # (both cut at ``lo``: the lag between them is unchanged)
    sub = oth[lo:hi] if hi > lo else oth[:0]
    fine = _gcc_phat_lag(ref[lo:], sub, centre, span) if sub.size else float(centre)
    start = reference.start + fine / rate
    match_s = n * hop
    strength = max(0.0, match) * float(np.sqrt(match_s / _INDEPENDENT_S))
    speed = 1.0
    if overlap_s >= DRIFT_MIN_OVERLAP_S and strength >= MIN_STRENGTH:
        fit = _clock_fit(ref, oth, rate, fine)
        if fit is not None and abs(fit[0]) * overlap_s >= 0.001:  # moves it by a millisecond or more
            slope, intercept = fit
            speed = 1.0 / (1.0 + slope)
            start = reference.start + intercept / rate
    return Lineup(
        start_s=float(start),
        offset_s=float(start - other.start),
        match=float(match),
        prominence=float(match - rival_corr),
        overlap_s=float(overlap_s),
        strength=strength,
        matched=bool(strength >= MIN_STRENGTH and match_s >= min(MIN_OVERLAP_S, 0.5 * b.size * hop)),
        speed=speed,
    )


LINE_UP_MODES = ("auto", "always", "never")


def applies(lineup: Lineup | None, mode: str, search_s: float) -> bool:
    """Whether a sound file is placed by its line-up (``mode``: auto, always, never).

    ``auto`` places it so only when it starts farther from where it lies than the
    lip-sync search reaches (``search_s``). Why not always: the same recording offset by a
    few frames is as often a delivered mix or stem to be checked against the picture as it
    is a recorder; lined up with the camera's scratch sound, a stem 160 ms late would read
    "in sync". Within the search the lips measure it either way (a recorder 0.3 s early
    reads -300 ms, and ``fix`` removes it); beyond it nothing else can.
    """
    if mode not in LINE_UP_MODES:
        from mouthsync.core.errors import BadInput

        raise BadInput(f"line-up mode must be one of {', '.join(LINE_UP_MODES)}, not {mode!r}")
    if lineup is None or not lineup.matched or mode == "never":
        return False
    return mode == "always" or abs(lineup.offset_s) > search_s


@dataclass(frozen=True)
class Placement:
    """Where a sound file's first sample goes on the picture's timeline, at what clock
    speed, and by what: ``sound`` (lined up with the camera's), ``timecode``, or ``""``
    (where it starts)."""

    start_s: float
    speed: float
    by: str


def place(lineup: Lineup | None, timecode_start_s: float | None, own_start_s: float, mode: str,
          search_s: float) -> Placement:
    """The placement of a sound file: by its line-up with the camera's sound when that
    applies (:func:`applies`), else by timecode under the same rule (``auto``: only beyond
    the lip-sync search), else where it starts. Sound wins over timecode: it is exact to
    the sample and sees a drifting clock; timecode is what is left when the camera
    recorded no sound (or the recording does not match it)."""
    if applies(lineup, mode, search_s) and lineup is not None:
        return Placement(lineup.start_s, lineup.speed, "sound")
    if timecode_start_s is not None and mode != "never" and (
            mode == "always" or abs(timecode_start_s - own_start_s) > search_s):
        return Placement(timecode_start_s, 1.0, "timecode")
    return Placement(own_start_s, 1.0, "")


def line_up_with_camera(video: str | Path, audio: Audio) -> Lineup | None:
    """:func:`line_up` of decoded ``audio`` against ``video``'s own sound (its dialogue
    channel, at ``audio``'s rate); None when the video has no sound."""
    from mouthsync.core.errors import NoAudio
    from mouthsync.media.decode import decode_audio

    try:
        camera = decode_audio(video, rate=audio.rate, mono=True, dialogue=True)
    except NoAudio:
        return None
    return line_up(camera, audio)


def placement_for(video: str | Path, audio: Audio, sound: str | Path, mode: str,
                  search_s: float) -> tuple[Placement, Lineup | None, float | None]:
    """Where the sound file ``sound`` (decoded as ``audio``) goes on ``video``'s timeline
    (:func:`place`), with the line-up and the timecode placement it was chosen from.
    The one place ``check`` and ``fix`` decide it."""
    from mouthsync.media.decode import frame_times
    from mouthsync.media.timecode import start_on_picture

    lineup = line_up_with_camera(video, audio) if mode != "never" else None
    tc = start_on_picture(video, sound, float(frame_times(video)[0])) if mode != "never" else None
    return place(lineup, tc, audio.start, mode, search_s), lineup, tc
