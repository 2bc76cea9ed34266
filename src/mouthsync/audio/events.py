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
from mouthsync.core.runs import without

BILABIALS = {"P", "B", "M"}
LABIODENTALS = {"F", "V"}
DENTALS = {"TH", "DH"}
STOPS = {"P", "B", "T", "D", "K", "G"}

MIN_PAUSE_S = 0.15
RATE_WINDOW_S = 2.0
RATE_HOP_S = 0.25
# English speech runs at about 10-15 dictionary phones per second; above 18 the mouth cannot
# reach every target and visual checks become unreliable. Phonetic recognition (no
# transcript) under-counts fast speech (on radio speech sped up 1.5x / 1.8x with sox
# tempo its rate rose only 16 % / 36 %; it reads 8-12.5 phones/s on the normal-pace
# clips), so its threshold is lower.
FAST_PHONES_PER_S = 18.0
FAST_PHONES_PER_S_ALLPHONE = 15.0


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


_BR_FRAME_S = 0.02


def find_breaths(samples: np.ndarray, rate: int, offset: float) -> list[tuple[float, float]]:
    """Breath noises: isolated, unvoiced, broadband bursts above the noise floor.

    A breath is 100-800 ms whose energy is at least 8 dB above the file's noise floor and
    mostly above 1 kHz (aspiration, not voice or hum), with quiet (< floor + 6 dB) on
    both sides, or quiet before it and at least 250 ms long (an inhalation right before
    speech). The quiet context is what separates a breath from a fricative, which has
    the same spectrum but sits between voiced sounds. WebRTC's VAD calls most breaths
    speech, so the timeline removes them from the speech segments afterwards.
    """
    x = np.asarray(samples, dtype=np.float32)
    n = int(_BR_FRAME_S * rate)
    if len(x) < 8 * n:
        return []
    frames = x[: len(x) // n * n].reshape(-1, n).astype(np.float64)
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    floor = float(np.percentile(db, 10))
    spec = np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2
    freqs = np.fft.rfftfreq(n, 1.0 / rate)
    hi = spec[:, freqs >= 1000].sum(axis=1) / (spec.sum(axis=1) + 1e-12)
    cand = (db > floor + 8.0) & (hi > 0.6)
    weak = (db > floor + 3.0) & (hi > 0.5)  # hysteresis: a breath fades in and out
    quiet = db < floor + 6.0
    ctx = int(round(0.1 / _BR_FRAME_S))
    d = np.diff(np.concatenate([[0], cand.astype(np.int8), [0]]))
    out: list[tuple[float, float]] = []
    last_end = 0
    for s, e in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        if s < last_end:
            continue  # already inside a grown run
        while s > 0 and weak[s - 1]:
            s -= 1
        while e < len(weak) and weak[e]:
            e += 1
        last_end = e
        dur = (e - s) * _BR_FRAME_S
        if not 0.1 <= dur <= 0.8:
            continue
        before = quiet[max(0, s - ctx) : s]
        after = quiet[e : e + ctx]
        q_before = before.size > 0 and before.mean() >= 0.8
        q_after = after.size > 0 and after.mean() >= 0.8
        if (q_before and q_after) or (q_before and dur >= 0.25):
            out.append((round(offset + s * _BR_FRAME_S, 6), round(offset + e * _BR_FRAME_S, 6)))
    return out


def remove_breaths(
    speech: Sequence[tuple[float, float]], breaths: Sequence[tuple[float, float]], *, min_speech_s: float = 0.08
) -> list[tuple[float, float]]:
    """Speech segments with breath intervals cut out (pieces shorter than ``min_speech_s`` dropped)."""
    out: list[tuple[float, float]] = []
    for s0, s1 in speech:
        pieces = without([(s0, s1)], breaths)
        edges = {round(t, 6) for br in breaths for t in br}
        for a, b in pieces:
            # a short piece touching a breath is the VAD's hangover on the breath's tail
            touches = round(a, 6) in edges or round(b, 6) in edges
            if b - a >= (0.15 if touches else min_speech_s):
                out.append((round(a, 6), round(b, 6)))
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
