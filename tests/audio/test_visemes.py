"""The viseme table and the coarticulated expected opening."""

from __future__ import annotations

import numpy as np

from mouthsync.audio.types import Phone
from mouthsync.audio.visemes import (
    VISEMES,
    expected_closure,
    expected_opening,
    expected_spread,
    normalize_label,
    viseme_of,
)

ARPABET = ["AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH"]


def seq(labels: str, dur: float = 0.1, start: float = 0.0) -> list[Phone]:
    out = []
    t = start
    for lab in labels.split():
        out.append(Phone(t, t + dur, lab))
        t += dur
    return out


def test_table_covers_arpabet_and_classes() -> None:
    for p in ARPABET:
        assert p in VISEMES, p
    assert {viseme_of(p) for p in ["P", "B", "M"]} == {"bilabial"}
    assert {viseme_of(p) for p in ["F", "V"]} == {"labiodental"}
    assert {viseme_of(p) for p in ["TH", "DH"]} == {"dental"}
    assert {viseme_of(p) for p in ["T", "D", "K", "G"]} == {"plosive"}
    assert {viseme_of(p) for p in ["UW", "OW", "W"]} == {"rounded"}
    assert viseme_of("aa1") == "open"
    assert viseme_of("SIL") == "rest"
    assert normalize_label("+NSN+") == "SIL" and normalize_label("ah0") == "AH"


def test_bilabial_between_open_vowels_closes() -> None:
    phones = seq("SIL AA B AA SIL", dur=0.12)
    t = np.array([0.18, 0.30, 0.42])  # middle of AA, B, AA
    o = expected_opening(phones, t)
    assert o[0] > 0.5 and o[2] > 0.5
    assert o[1] < 0.15
    c = expected_closure(phones, t)
    assert c[1] > 0.8 and c[0] < 0.3


def test_labiodental_nearly_closed_and_rounded_half() -> None:
    o = expected_opening(seq("AA F AA"), np.array([0.15]))
    assert o[0] < 0.3
    r = expected_opening(seq("SIL UW UW UW SIL"), np.array([0.25]))[0]
    a = expected_opening(seq("SIL AA AA AA SIL"), np.array([0.25]))[0]
    assert 0.2 < r < 0.6 < a


def test_tongue_consonant_follows_neighbours() -> None:
    # lips stay open through a K between open vowels: K has weak lip dominance
    o = expected_opening(seq("AA K AA", dur=0.08), np.array([0.12]))[0]
    assert o > 0.6


def test_spread_rounds_on_oo_spreads_on_ee_and_follows_through_consonants() -> None:
    # "we" against "you": W/UW pull the corners in, IY pulls them out
    t = np.array([0.25])
    rounded = expected_spread(seq("SIL UW UW UW SIL"), t)[0]
    spread = expected_spread(seq("SIL IY IY IY SIL"), t)[0]
    assert rounded < 0.25 < 0.75 < spread
    # a P or K between two IY keeps the spread of its neighbours (no corner target of its own)
    for c in ("P", "K", "L"):
        assert expected_spread(seq(f"IY {c} IY", dur=0.08), np.array([0.12]))[0] > 0.75
    # silence settles to neutral
    assert abs(expected_spread(seq("SIL SIL SIL SIL SIL SIL SIL SIL"), np.array([0.4]))[0] - 0.5) < 1e-6


def test_smooth_and_order_free() -> None:
    phones = seq("SIL HH AH L OW W ER L D SIL M AY F AA DH ER SIL", dur=0.07)
    t = np.linspace(-1.5, 1.6, 3101)
    o = expected_opening(phones, t)
    assert np.all((o >= 0) & (o <= 1))
    # no jump larger than what 10 ms of fast articulation can do
    assert np.max(np.abs(np.diff(o))) < 0.2
    perm = np.random.default_rng(1).permutation(t.size)
    assert np.allclose(expected_opening(phones, t[perm]), o[perm])
    # far from speech the mouth rests
    assert abs(o[0] - VISEMES["SIL"].opening) < 1e-3


def test_shift_equivariant() -> None:
    phones = seq("SIL B AA M IY SIL", dur=0.09)
    shifted = [Phone(p.start + 0.0333, p.end + 0.0333, p.label) for p in phones]
    t = np.linspace(0, 0.5, 51)
    assert np.allclose(expected_opening(phones, t), expected_opening(shifted, t + 0.0333))
