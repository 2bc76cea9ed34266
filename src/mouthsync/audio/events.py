"""Lip events, pauses, breaths and speech rate derived from phones and speech activity.

These are what ``check`` and ``validate`` compare with the face: a bilabial closure
(P, B, M) must show lips shut, a labiodental (F, V) lower lip on teeth, a plosive release
a sudden opening; a pause should show a resting mouth, and very fast speech is where lip
sync is hardest to judge (flagged so that findings there carry less weight).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mouthsync.audio.types import Event, Phone, RateInfo

BILABIALS = {"P", "B", "M"}
LABIODENTALS = {"F", "V"}
DENTALS = {"TH", "DH"}
STOPS = {"P", "B", "T", "D", "K", "G"}

MIN_PAUSE_S = 0.15
RATE_WINDOW_S = 2.0
RATE_HOP_S = 0.25
# English speech runs at about 10-15 dictionary phones per second; above 18 the mouth cannot
# reach every target and visual checks become unreliable.
FAST_PHONES_PER_S = 18.0


def lip_events(phones: Sequence[Phone]) -> list[Event]:
    """Closure, lip-teeth, dental and release events, one per phone that makes them.

    A closure or contact is placed at the middle of its phone (when the lips are
    certainly shut); a release at the end of the stop (burst onset).
    """
    events: list[Event] = []
    for p in phones:
        d = round(p.duration, 6)
        if p.label in BILABIALS:
            events.append(Event(round(p.mid, 6), "bilabial_closure", p.label, d))
        elif p.label in LABIODENTALS:
            events.append(Event(round(p.mid, 6), "labiodental", p.label, d))
        elif p.label in DENTALS:
            events.append(Event(round(p.mid, 6), "dental", p.label, d))
        if p.label in STOPS:
            events.append(Event(round(p.end, 6), "plosive_release", p.label, d))
    return events


def find_pauses(
    speech: Sequence[tuple[float, float]], *, min_pause_s: float = MIN_PAUSE_S
) -> list[tuple[float, float]]:
    """Silences between speech segments at least ``min_pause_s`` long.

    Leading and trailing silence are not pauses: nothing is being said around them.
    """
    out: list[tuple[float, float]] = []
    for (_, e0), (s1, _) in zip(speech[:-1], speech[1:], strict=True):
        if s1 - e0 >= min_pause_s:
            out.append((e0, s1))
    return out


def find_breaths(
    samples: np.ndarray,
    rate: int,
    offset: float,
    gaps: Sequence[tuple[float, float]],
) -> list[tuple[float, float]]:
    """Breath noises inside non-speech ``gaps``: broadband bursts above the noise floor.

    A breath is 80-800 ms of energy at least 8 dB above the file's noise floor whose
    spectrum is mostly above 1 kHz (aspiration, not voice or hum).
    """
    x = np.asarray(samples, dtype=np.float32)
    n = int(0.02 * rate)
    if len(x) < 4 * n:
        return []
    frames = x[: len(x) // n * n].reshape(-1, n)
    db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
    floor = float(np.percentile(db, 10))
    spec = np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    hi = spec[:, freqs >= 1000].sum(axis=1) / (spec.sum(axis=1) + 1e-12)
    cand = (db > floor + 8.0) & (hi > 0.5)
    out: list[tuple[float, float]] = []
    for g0, g1 in gaps:
        i0 = max(0, int(np.ceil((g0 - offset) / 0.02)))
        i1 = min(len(cand), int((g1 - offset) / 0.02))
        if i1 <= i0:
            continue
        seg = np.concatenate([[False], cand[i0:i1], [False]]).astype(np.int8)
        d = np.diff(seg)
        for s, e in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
            dur = (e - s) * 0.02
            if 0.08 <= dur <= 0.8:
                out.append((round(offset + (i0 + s) * 0.02, 6), round(offset + (i0 + e) * 0.02, 6)))
    return out


def speech_rate(
    phones: Sequence[Phone],
    speech: Sequence[tuple[float, float]],
    *,
    window_s: float = RATE_WINDOW_S,
    hop_s: float = RATE_HOP_S,
    fast: float = FAST_PHONES_PER_S,
) -> RateInfo:
    """Phones per second of *speech* (pauses excluded), overall and over a sliding window.

    Windows with less than 0.5 s of speech get no value (too little to judge); runs of
    windows above ``fast`` become fast-speech segments.
    """
    mids = np.array([p.mid for p in phones if p.label != "SIL"], dtype=np.float64)
    total_speech = sum(e - s for s, e in speech)
    overall = float(len(mids) / total_speech) if total_speech > 0 else 0.0
    if not speech:
        return RateInfo(overall, window_s, fast)
    t0, t1 = speech[0][0], speech[-1][1]
    sp = np.asarray(speech, dtype=np.float64)
    times: list[float] = []
    values: list[float] = []
    fast_segments: list[tuple[float, float]] = []
    centre = t0 + window_s / 2
    while centre <= max(t1 - window_s / 2, t0 + window_s / 2) + 1e-9:
        a, b = centre - window_s / 2, centre + window_s / 2
        talk = float(np.clip(np.minimum(sp[:, 1], b) - np.maximum(sp[:, 0], a), 0, None).sum())
        if talk >= 0.5:
            n = int(((mids >= a) & (mids < b)).sum())
            r = n / talk
            times.append(round(centre, 4))
            values.append(round(r, 3))
            if r > fast:
                if fast_segments and a <= fast_segments[-1][1]:
                    fast_segments[-1] = (fast_segments[-1][0], round(b, 4))
                else:
                    fast_segments.append((round(a, 4), round(b, 4)))
        centre += hop_s
    return RateInfo(round(overall, 3), window_s, fast, times, values, fast_segments)


def pause_events(pauses: Sequence[tuple[float, float]], breaths: Sequence[tuple[float, float]]) -> list[Event]:
    """Pause and breath events (time = start, with their lengths)."""
    ev = [Event(round(s, 6), "pause", "SIL", round(e - s, 6)) for s, e in pauses]
    ev += [Event(round(s, 6), "breath", "SIL", round(e - s, 6)) for s, e in breaths]
    return ev
