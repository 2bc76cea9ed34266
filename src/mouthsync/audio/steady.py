"""Steady pitch: stretches of sound whose harmonics hold still (a tone, a hum, a sustained
chord), which a voice never does for long.

Why: WebRTC's speech detector takes a title card's tone or music for speech (a 220 Hz tone
after the last words reads as speech for its first 1.3 s; a synthetic music bed before
the first words throughout), so the recognisers heard it and the speech span
(``audio.timeline``) could not leave it out. What tells them apart is the fine structure
of the spectrum: a voice's pitch glides, so its harmonics move within 100 ms, while a
tone's or an instrument's stay where they were. Measured on retalking_face2 and the
synthetic sounds of the tests (the correlation of the fine structure with itself 100 ms
earlier, median over the loud frames): speech 0.19, speech with a music bed 10 dB under
it 0.28, pink noise 0.05; a tone 1.00, a stepped melody 1.00, the music bed 0.94.
"""

from __future__ import annotations

import numpy as np

from mouthsync.core.runs import join_runs, true_runs

HOP_S = 0.02  # 50 judgements a second are plenty for stretches of a second or more
WINDOW = 1024  # 64 ms at 16 kHz: harmonics 16 Hz apart are resolved
LAG_S = 0.1  # a voice's harmonics have moved by then; a held note's have not
BAND_HZ = (100.0, 3000.0)  # where voiced harmonics and musical partials stand out
ENVELOPE_HZ = 200.0  # the spectral envelope (formants, tilt) is removed over this width
#: Fine-structure correlation above which a frame holds its pitch.
STEADY_R = 0.6
#: Gaps shorter than this between steady frames are bridged: a melody's note changes and a
#: drum's hits break the steadiness for about the lag.
BRIDGE_S = 0.25
#: A steady stretch counts from this length. Speech holds still for far less, but with
#: music 10 dB under it the music alone reads steady in the speaker's pauses and where the
#: voice fades (0.4-0.65 s on retalking_face2); those are not what this is for.
MIN_STEADY_S = 1.0
#: Frames quieter than this below the loudest, or than ABSOLUTE_QUIET_DB below full scale,
#: are not judged (silence is not a tone).
QUIET_DB = 45.0
ABSOLUTE_QUIET_DB = -75.0


def _moving_mean(a: np.ndarray, k: int) -> np.ndarray:
    """The mean over ``k`` (odd) neighbours along each row, zeros beyond the ends.

    A cumulative sum, not ``scipy.ndimage``: importing that costs 0.14 CPU-s in every
    process that builds a speech timeline, the speech worker at the end of ``check``
    among them."""
    pad = k // 2
    c = np.cumsum(np.pad(a.astype(np.float64), ((0, 0), (pad + 1, pad))), axis=1)
    return ((c[:, k:] - c[:, :-k]) / k).astype(a.dtype)


def steadiness(x: np.ndarray, rate: int) -> np.ndarray:
    """Per ``HOP_S`` frame (frame i starts at sample ``i * hop``), the correlation of the
    spectrum's fine structure with that ``LAG_S`` earlier (NaN for the first frames and
    for quiet ones)."""
    hop = int(round(rate * HOP_S))
    win = WINDOW * rate // 16000
    x = np.asarray(x, dtype=np.float32)
    n = 0 if x.size < win else 1 + (x.size - win) // hop
    out = np.full(max(0, x.size // hop), np.nan)
    if n <= int(round(LAG_S / HOP_S)):
        return out
    freqs = np.fft.rfftfreq(win, 1.0 / rate)
    band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    k = max(3, int(round(ENVELOPE_HZ / (rate / win))) | 1)
    taper = np.hanning(win).astype(np.float32)
    fine = np.empty((n, int(band.sum())), dtype=np.float32)
    power = np.empty(n)
    block = 2048  # frames at a time: bounded memory on long sound
    for s in range(0, n, block):
        m = min(block, n - s)
        idx = (s + np.arange(m))[:, None] * hop + np.arange(win)[None, :]
        spec = np.abs(np.fft.rfft(x[idx] * taper, axis=1)) ** 2
        power[s : s + m] = spec.sum(axis=1) / (win * float((taper**2).sum()))  # mean square
        logs = 10.0 * np.log10(spec[:, band] + 1e-10)
        env = _moving_mean(logs, k)
        f = logs - env
        f -= f.mean(axis=1, keepdims=True)
        fine[s : s + m] = f
    lag = int(round(LAG_S / HOP_S))
    a, b = fine[lag:], fine[:-lag]
    r = (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1) + 1e-12)
    db = 10.0 * np.log10(power + 1e-20)
    loud = db > max(float(db.max()) - QUIET_DB, ABSOLUTE_QUIET_DB)
    r = np.where(loud[lag:] & loud[:-lag], r, np.nan)
    # frame i of the result is the window starting at i * hop; centre it on the pair's middle
    centre = int(round(lag / 2 + win / (2 * hop)))
    end = min(out.size, centre + r.size)
    out[centre:end] = r[: end - centre]
    return out


def steady_spans(x: np.ndarray, rate: int, offset: float = 0.0) -> list[tuple[float, float]]:
    """Stretches (start, end) in seconds from ``offset`` where the sound holds its pitch
    (a tone, a drone, a chord), at least ``MIN_STEADY_S`` long after gaps shorter than
    ``BRIDGE_S`` are bridged."""
    r = steadiness(x, rate)
    flags = np.nan_to_num(r, nan=0.0) > STEADY_R
    merged = join_runs(true_runs(flags), int(round(BRIDGE_S / HOP_S)) - 1)  # gaps shorter than BRIDGE_S
    min_len = int(round(MIN_STEADY_S / HOP_S))
    return [(round(offset + s * HOP_S, 6), round(offset + e * HOP_S, 6)) for s, e in merged if e - s >= min_len]

