"""Phone -> viseme table and the coarticulated expected mouth opening and spread over time.

One table (``VISEMES``) says, for every ARPAbet phone, which visual class it belongs to,
how open the lips are at its target, how strongly the lips must be shut, and how much
the phone *dominates* its neighbours. The table is documented in ``docs/speech.md``.

Why dominance: a phone's mouth shape is not a box in time. Lips anticipate and carry over
(the Cohen-Massaro model of coarticulation): every segment pulls the articulators toward
its target with a strength that is highest inside the segment and decays exponentially
outside it, and the shape at any instant is the dominance-weighted mean of all targets.
Phones the lips *must* show (P/B/M closure, F/V contact) get high, narrow dominance so
they win against neighbouring vowels; phones made with the tongue (T, K, HH) get low
dominance so the lips follow the surrounding vowels, which is what a camera sees.

The decay is symmetric on purpose: the mouth does move slightly before the sound, but
that lead is a property of the sync measurement and is calibrated in ``sync/``; baking it
in here would double count it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mouthsync.audio.types import Phone


@dataclass(frozen=True)
class VisemeInfo:
    """Visual properties of one phone.

    ``opening``: target lip aperture, 0 lips shut .. 1 widest vowel. ``closure``: how
    firmly the lips must meet (1 for P/B/M). ``dominance``: peak strength inside the
    segment. ``rate``: exponential decay (1/s) of dominance outside it; larger means
    the phone influences fewer neighbours.
    """

    viseme: str
    opening: float
    closure: float
    dominance: float
    rate: float


# Classes the validation and sync stages rely on.
BILABIAL = "bilabial"  # P B M: lips shut
LABIODENTAL = "labiodental"  # F V: lower lip against upper teeth
DENTAL = "dental"  # TH DH: tongue between teeth
PLOSIVE = "plosive"  # T D K G: stop with an audible release, lips free
ROUNDED = "rounded"  # UW OW W ...: lips protruded, small opening
OPEN = "open"  # open vowels
MID = "mid"  # mid / close vowels
SIBILANT = "sibilant"  # S Z SH ZH CH JH: teeth nearly together
LIQUID = "liquid"  # L R N NG Y HH: tongue consonants, lips follow neighbours
REST = "rest"  # silence

_V = VisemeInfo
VISEMES: dict[str, VisemeInfo] = {
    # bilabial closure: must be shut, strongly dominant, narrow
    "P": _V(BILABIAL, 0.00, 1.0, 5.0, 45),
    "B": _V(BILABIAL, 0.00, 1.0, 5.0, 45),
    "M": _V(BILABIAL, 0.00, 1.0, 4.0, 45),
    # labiodental: nearly closed
    "F": _V(LABIODENTAL, 0.10, 0.3, 3.0, 40),
    "V": _V(LABIODENTAL, 0.10, 0.3, 2.5, 40),
    # dental
    "TH": _V(DENTAL, 0.28, 0.0, 0.5, 22.5),
    "DH": _V(DENTAL, 0.28, 0.0, 0.35, 22.5),
    # plosive release, lips free: weak dominance
    "T": _V(PLOSIVE, 0.25, 0.0, 0.3, 20),
    "D": _V(PLOSIVE, 0.25, 0.0, 0.25, 20),
    "K": _V(PLOSIVE, 0.30, 0.0, 0.2, 20),
    "G": _V(PLOSIVE, 0.30, 0.0, 0.2, 20),
    # sibilants and affricates: teeth close together
    "S": _V(SIBILANT, 0.18, 0.0, 0.6, 22.5),
    "Z": _V(SIBILANT, 0.18, 0.0, 0.5, 22.5),
    "SH": _V(SIBILANT, 0.25, 0.0, 0.6, 22.5),
    "ZH": _V(SIBILANT, 0.25, 0.0, 0.5, 22.5),
    "CH": _V(SIBILANT, 0.22, 0.0, 0.6, 22.5),
    "JH": _V(SIBILANT, 0.22, 0.0, 0.55, 22.5),
    # tongue consonants: lips follow the neighbours
    "L": _V(LIQUID, 0.35, 0.0, 0.25, 17.5),
    "R": _V(ROUNDED, 0.30, 0.0, 0.35, 17.5),
    "N": _V(LIQUID, 0.28, 0.0, 0.25, 17.5),
    "NG": _V(LIQUID, 0.30, 0.0, 0.2, 17.5),
    "Y": _V(LIQUID, 0.30, 0.0, 0.3, 17.5),
    "HH": _V(LIQUID, 0.45, 0.0, 0.1, 15),
    # rounded
    "W": _V(ROUNDED, 0.15, 0.0, 0.7, 20),
    "UW": _V(ROUNDED, 0.30, 0.0, 0.6, 12.5),
    "UH": _V(ROUNDED, 0.40, 0.0, 0.5, 12.5),
    "OW": _V(ROUNDED, 0.40, 0.0, 0.6, 12.5),
    "OY": _V(ROUNDED, 0.60, 0.0, 0.6, 12.5),
    "ER": _V(ROUNDED, 0.40, 0.0, 0.5, 12.5),
    # open vowels
    "AA": _V(OPEN, 1.00, 0.0, 0.7, 11),
    "AE": _V(OPEN, 0.85, 0.0, 0.7, 11),
    "AH": _V(OPEN, 0.50, 0.0, 0.6, 11),  # mostly schwa in running speech
    "AO": _V(OPEN, 0.80, 0.0, 0.7, 11),
    "AW": _V(OPEN, 0.85, 0.0, 0.7, 11),
    "AY": _V(OPEN, 0.85, 0.0, 0.7, 11),
    # mid / close unrounded vowels
    "EH": _V(MID, 0.65, 0.0, 0.6, 11),
    "EY": _V(MID, 0.55, 0.0, 0.6, 11),
    "IH": _V(MID, 0.45, 0.0, 0.55, 11),
    "IY": _V(MID, 0.35, 0.0, 0.55, 11),
    # rest: lips closed or barely apart, moderate dominance so that long silences
    # settle to rest but a short gap between words does not slam the mouth shut
    "SIL": _V(REST, 0.05, 0.0, 0.4, 6),
}
_UNKNOWN = VisemeInfo(LIQUID, 0.3, 0.0, 0.2, 17.5)

# Lip spreading, the mouth's second visible dimension: 0 rounded / protruded (W, UW: the
# corners pulled in) .. 1 spread (IY: the corners pulled out). Only phones that set the lip
# corners are listed; every other phone (P, T, K, L, N, ...) is neutral and pulls with at most
# ``_FOLLOW_DOMINANCE``, so the width follows the neighbouring vowels as it does on camera.
# Measured on the shift protocol (docs/sync.md, "Mouth width"): the measured mouth width
# peaks against this prediction near the delay the opening gives on 6 of 9 shared clips.
SPREAD: dict[str, float] = {
    "W": 0.0, "UW": 0.1, "OW": 0.2, "UH": 0.3, "OY": 0.3, "R": 0.3, "ER": 0.35, "AO": 0.35,
    "SH": 0.3, "ZH": 0.3, "CH": 0.3, "JH": 0.3,
    "AW": 0.45, "AH": 0.55, "AA": 0.6, "AY": 0.7, "S": 0.7, "Z": 0.7,
    "EH": 0.75, "IH": 0.8, "AE": 0.8, "EY": 0.85, "IY": 1.0,
}
_NEUTRAL_SPREAD = 0.5
_FOLLOW_DOMINANCE = 0.3

# How far (s) outside a segment its dominance is still worth computing: exp(-rate*d) is
# below 1e-3 of the peak for the slowest rate here (6/s) at this distance.
_REACH = 1.1


def normalize_label(label: str) -> str:
    """ARPAbet label upper-case without stress digits; fillers and noise map to SIL."""
    lab = label.strip().upper().rstrip("012")
    if lab.startswith("+") or lab.startswith("<") or lab in {"", "SP", "SILENCE", "NSN", "SPN"}:
        return "SIL"
    return lab


def info(phone: str) -> VisemeInfo:
    """The table entry for ``phone`` (any case, stress digits allowed)."""
    return VISEMES.get(normalize_label(phone), _UNKNOWN)


def viseme_of(phone: str) -> str:
    """The viseme class of one phone: ``"bilabial"``, ``"labiodental"``, ``"open"``, ..."""
    return info(phone).viseme


def _target(label: str, attr: str) -> tuple[float, float]:
    """(target, peak dominance) of one phone for ``attr`` ("opening", "closure", "spread")."""
    v = info(label)
    if attr != "spread":
        return float(getattr(v, attr)), v.dominance
    lab = normalize_label(label)
    if lab in SPREAD:
        return SPREAD[lab], v.dominance
    return _NEUTRAL_SPREAD, min(v.dominance, _FOLLOW_DOMINANCE)


def _blend(phones: Sequence[Phone], times: np.ndarray, attr: str) -> np.ndarray:
    """Dominance-weighted mean of ``attr`` targets at ``times`` (Cohen-Massaro blend).

    Dominance of segment s at time t: ``alpha_s * exp(-rate_s * d)`` with ``d`` the
    distance from t to the segment (0 inside). Only segments within ``_REACH`` of a time
    contribute, so the cost is linear in the number of phones.
    """
    t = np.asarray(times, dtype=np.float64)
    flat = t.ravel()
    order = np.argsort(flat, kind="stable")
    ts = flat[order]
    num = np.zeros_like(ts)
    den = np.zeros_like(ts)
    for p in phones:
        v = info(p.label)
        target, dominance = _target(p.label, attr)
        lo = np.searchsorted(ts, p.start - _REACH, "left")
        hi = np.searchsorted(ts, p.end + _REACH, "right")
        if hi <= lo:
            continue
        seg = ts[lo:hi]
        d = np.maximum(0.0, np.maximum(p.start - seg, seg - p.end))
        w = dominance * np.exp(-v.rate * d)
        num[lo:hi] += w * target
        den[lo:hi] += w
    rest = _target("SIL", attr)[0]
    out_sorted = np.where(den > 1e-9, num / np.maximum(den, 1e-12), rest)
    out = np.empty_like(out_sorted)
    out[order] = out_sorted
    return out.reshape(t.shape)


def expected_opening(phones: Sequence[Phone], times: np.ndarray) -> np.ndarray:
    """Expected lip opening (0 closed .. 1 wide open) at arbitrary ``times`` (seconds).

    Smooth in time (coarticulated), so the sync stage can evaluate it at
    ``frame_times - delay`` for any sub-frame delay. Times outside every phone settle to
    the rest opening.
    """
    return _blend(phones, times, "opening")


def expected_closure(phones: Sequence[Phone], times: np.ndarray) -> np.ndarray:
    """How firmly the lips should be shut (0 .. 1) at ``times``: peaks on P/B/M."""
    return _blend(phones, times, "closure")


def expected_spread(phones: Sequence[Phone], times: np.ndarray) -> np.ndarray:
    """Expected lip spreading (0 rounded .. 1 spread) at ``times``: what the mouth width
    should do. Coarticulated like the opening; silence settles to neutral."""
    return _blend(phones, times, "spread")
