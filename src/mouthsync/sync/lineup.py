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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import fftconvolve

from mouthsync.media.decode import Audio

ENVELOPE_HOP_S = 0.005
_DETREND_S = 0.25
_RIVAL_GAP_S = 0.25
_FINE_SPAN_S = 0.010
_FINE_MAX_S = 60.0
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

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def envelope(x: np.ndarray, rate: int, hop_s: float = ENVELOPE_HOP_S) -> np.ndarray:
    """Log RMS per ``hop_s`` less its moving mean over 0.25 s, scaled to unit variance."""
    hop = max(1, int(round(hop_s * rate)))
    n = x.size // hop
    if n < 4:
        return np.zeros(max(n, 0))
    frames = np.asarray(x[: n * hop], dtype=np.float64).reshape(n, hop)
    e = np.log(np.sqrt(np.mean(frames * frames, axis=1)) + 1e-5)
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
    lo = max(0, span - centre)
    hi = min(other.size, ref.size - centre - span)
    if hi - lo < 2 * span + 16:
        return float(centre)
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
    return float(centre - span + i + frac)


def line_up(reference: Audio, other: Audio, *, max_offset_s: float | None = None) -> Lineup:
    """Find where ``other`` sits on ``reference``'s timeline (same rate; mono is used).

    ``max_offset_s`` bounds the search (None: any offset with at least 2 s of overlap).
    """
    if reference.rate != other.rate:
        raise ValueError("line_up needs both recordings at one rate")
    rate = reference.rate
    ref, oth = reference.mono, other.mono
    hop = ENVELOPE_HOP_S
    a, b = envelope(ref, rate, hop), envelope(oth, rate, hop)
    none = Lineup(other.start, 0.0, 0.0, 0.0, 0.0, 0.0, False)
    if a.size < 8 or b.size < 8:
        return none
    # c[k] over lags k = -(b.size - 1) .. a.size - 1: sum_n a[n + k] b[n]
    c = fftconvolve(a, b[::-1], mode="full")
    lags = np.arange(-(b.size - 1), a.size)
    # overlap length at each lag, and the minimum overlap
    overlap = np.minimum(a.size, lags + b.size) - np.maximum(0, lags)
    ok = overlap >= MIN_OVERLAP_S / hop
    if max_offset_s is not None:
        native = int(round((other.start - reference.start) / hop))
        ok &= np.abs(lags - native) <= max_offset_s / hop
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
    overlap_s = n * hop
    # fine: sample-exact on up to a minute of the overlap around the middle
    centre = int(round(lag * hop * rate))
    span = int(round(_FINE_SPAN_S * rate))
    lo = max(0, -centre)
    hi = min(oth.size, ref.size - centre)
    keep = int(_FINE_MAX_S * rate)
    if hi - lo > keep:
        mid = (lo + hi) // 2
        lo, hi = mid - keep // 2, mid + keep // 2
    # (both cut at ``lo``: the lag between them is unchanged)
    sub = oth[lo:hi]
    fine = _gcc_phat_lag(ref[lo:], sub, centre, span) if sub.size else float(centre)
    start = reference.start + fine / rate
    strength = max(0.0, match) * float(np.sqrt(overlap_s / _INDEPENDENT_S))
    return Lineup(
        start_s=float(start),
        offset_s=float(start - other.start),
        match=float(match),
        prominence=float(match - rival_corr),
        overlap_s=float(overlap_s),
        strength=strength,
        matched=bool(strength >= MIN_STRENGTH and overlap_s >= MIN_OVERLAP_S),
    )


def line_up_files(video: str | Path, sound: str | Path, *, audio_stream: int = 0) -> tuple[Lineup | None, float]:
    """:func:`line_up` of ``sound``'s audio stream against ``video``'s own sound (both at
    16 kHz, the dialogue channel of a surround master), and ``sound``'s own start time.
    The line-up is None when the video has no sound."""
    from mouthsync.core.errors import NoAudio
    from mouthsync.media.decode import decode_audio

    other = decode_audio(sound, rate=16000, mono=True, audio_stream=audio_stream, dialogue=True)
    try:
        camera = decode_audio(video, rate=16000, mono=True, dialogue=True)
    except NoAudio:
        return None, other.start
    return line_up(camera, other), other.start
