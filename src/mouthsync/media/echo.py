"""How long speech takes to die away in the room it was recorded in: a blind echo measure.

Why: in a hall or a bare room the voice rings on after every syllable. The recognisers
hear the ringing as more of the sound before it, so the phones they return, and the mouth
they predict, are smeared later; the agreement with the mouth weakens and ``check``'s
confidence falls (``bench/real_footage.py``: a hall's echo read 0.00-0.24 on three of four
clips that read 0.22-0.76 dry, and one of them 600 ms off). Without a name for the cause,
a low confidence reads as "is the face the speaker?". Nothing here needs a room response:
the speech's own endings are the test signal.

The measure: the energy of 500 Hz-4 kHz (where speech articulates and rooms ring audibly;
lower, a hum or a rumble would hold the decay up) in 25 ms frames every 10 ms. Every
speech peak at least 30 dB above the quiet frames (their 5th percentile) and at most
15 dB under the loud ones, that is a maximum over +-50 ms and is not exceeded in the
0.4 s after it, is a speech ending; the time its energy takes to fall 20 dB (0.4 s when it
does not) times three is that ending's decay time (the 60 dB convention of RT60). The
median over the endings is the clip's. A dry voice falls 20 dB within 50-110 ms (a
reading of 0.15-0.33 s on the shared clips and recordings); a room's tail holds it up.

It is not the room's RT60: the direct sound ends at once and the tail is what is left, so
the figure grows with the reverberation time *and* with the microphone's distance. sox's
``reverb`` on the 14 shared voices at 16 kHz (``bench/echo.py``; its tail measured on an
impulse: RT60 0.29 s "small room", 1.35 s "hall", 4.3 s "large hall"): dry 0.15-0.33 s,
small room 0.27-0.63, hall 0.48-1.2 (10 of 14 measured, 5 named), large hall 0.93-1.2 (5
of 14 measured, all named; the others' tail fills every pause, so no ending clears
30 dB). The 9 clips' voices at their own rate (sox's room differs with the rate): small
room 0.27-0.66 s, hall 0.68-1.2 s (3 not measured). Pink noise and synthetic music 10-20 dB
under the dry voices read 0.15-0.39 s or nothing: noise and music make endings rarer, not
slower.
Measured and rejected: 25 dB above the quiet frames instead of 30 measures more halls but
read a noisy dry clip (voxceleb_00067, speech 6 dB over its bed) 1.11 s and music 10 dB
under a voice 0.54 s.
"""

from __future__ import annotations

import numpy as np

#: The band whose energy is followed (Hz).
BAND_HZ = (500.0, 4000.0)
HOP_S = 0.01
WIN_S = 0.025
#: A speech peak counts when this far above the quiet frames (5th percentile) ...
ABOVE_FLOOR_DB = 30.0
#: ... and no further than this under the loud frames (95th percentile): the loud syllables.
UNDER_TOP_DB = 15.0
#: The fall timed after each ending, and how long it is followed.
DROP_DB = 20.0
SPAN_S = 0.4
#: Fewer endings than this: not measured (None).
MIN_ENDINGS = 4
#: Named from this decay time (probe's ``audio.echo``, check's ``sync.echo``): above the
#: small room's highest reading (0.66 s), under most of the hall's; dry voices read <= 0.33.
NAMED_DECAY_S = 0.7
# Frames transformed at once (bounded memory on an hour of sound).
_BLOCK = 4096


def band_energy_db(mono: np.ndarray, rate: int) -> np.ndarray:
    """Energy of :data:`BAND_HZ` in dB per :data:`HOP_S` frame of ``mono`` (float, any rate)."""
    hop, win = int(round(HOP_S * rate)), int(round(WIN_S * rate))
    x = np.asarray(mono, dtype=np.float32)
    if hop < 1 or x.size < win:
        return np.zeros(0)
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop]  # a view: no copy
    window = np.hanning(win).astype(np.float32)
    freqs = np.fft.rfftfreq(win, 1.0 / rate)
    band = (freqs >= BAND_HZ[0]) & (freqs < min(BAND_HZ[1], rate / 2.0))
    out = np.empty(frames.shape[0])
    for i in range(0, frames.shape[0], _BLOCK):
        spec = np.fft.rfft(frames[i : i + _BLOCK] * window, axis=1)[:, band]
        out[i : i + _BLOCK] = (spec.real**2 + spec.imag**2).sum(axis=1)
    return 10.0 * np.log10(out + 1e-12)


def decay_times(mono: np.ndarray, rate: int) -> np.ndarray:
    """Each speech ending's decay time in seconds (see the module's docstring)."""
    e = band_energy_db(mono, rate)
    span, half = int(round(SPAN_S / HOP_S)), int(round(0.05 / HOP_S))
    if e.size < 2 * span:
        return np.zeros(0)
    floor, top = float(np.percentile(e, 5)), float(np.percentile(e, 95))
    local_max = np.lib.stride_tricks.sliding_window_view(np.pad(e, half, mode="edge"), 2 * half + 1).max(axis=1)
    cand = np.flatnonzero((e >= max(top - UNDER_TOP_DB, floor + ABOVE_FLOOR_DB)) & (e >= local_max))
    times = []
    for i in cand[(cand >= half) & (cand < e.size - span)]:
        after = e[i + 1 : i + span + 1] - e[i]
        if after.max() > 0.0:
            continue  # not where the speech ends: louder sound follows
        fallen = np.flatnonzero(after <= -DROP_DB)
        steps = int(fallen[0]) + 1 if fallen.size else span
        times.append(steps * HOP_S * 60.0 / DROP_DB)
    return np.asarray(times)


def echo_decay(mono: np.ndarray, rate: int) -> float | None:
    """The median decay time (s) of the speech endings in ``mono``, or None when fewer than
    :data:`MIN_ENDINGS` stand clear of the quiet frames (short, noisy, or so reverberant
    that the tail fills every pause). Capped at ``3 * SPAN_S`` (1.2 s)."""
    t = decay_times(mono, rate)
    return round(float(np.median(t)), 3) if t.size >= MIN_ENDINGS else None
