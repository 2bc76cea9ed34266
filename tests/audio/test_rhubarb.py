"""Rhubarb-compatible mouth-shape export: shapes, formats, and the round trip."""

from __future__ import annotations

import pytest

from mouthsync.audio import rhubarb
from mouthsync.audio.timeline import speech_timeline
from mouthsync.audio.types import Phone
from tests.conftest import CLIPS


@pytest.fixture(scope="module")
def cues() -> list[rhubarb.Cue]:
    tl = speech_timeline(CLIPS[2])
    return rhubarb.mouth_cues(tl.phones, start=tl.start, end=tl.end)


def test_shapes_follow_rhubarb() -> None:
    assert rhubarb.shape_of("P") == "A" and rhubarb.shape_of("M") == "A"
    assert rhubarb.shape_of("AA") == "D"
    assert rhubarb.shape_of("UW") == "F"
    assert rhubarb.shape_of("F") == "G" and rhubarb.shape_of("F", "") == "B"
    assert rhubarb.shape_of("L") == "H" and rhubarb.shape_of("L", "GX") == "C"
    assert rhubarb.shape_of("SIL") == "X" and rhubarb.shape_of("SIL", "") == "A"
    assert rhubarb.parse_extended("") == "" and rhubarb.parse_extended("gx") == "GX"
    with pytest.raises(ValueError):
        rhubarb.parse_extended("QZ")
    with pytest.raises(ValueError, match="Z is not one"):
        rhubarb.parse_extended("GZ")  # was read as G alone


def test_cues_contiguous_merged_no_flicker(cues: list[rhubarb.Cue]) -> None:
    assert cues[0].start == 0.0
    for a, b in zip(cues[:-1], cues[1:], strict=True):
        assert a.end == b.start and a.shape != b.shape
    for c in cues:
        assert c.shape in "ABCDEFGHX"
        assert c.end - c.start >= rhubarb.MIN_CUE_S - 1e-9 or c.shape == "A"
    basic = rhubarb.mouth_cues([Phone(0.0, 0.2, "SIL"), Phone(0.2, 0.3, "F"), Phone(0.3, 0.5, "AA")], extended="")
    assert [c.shape for c in basic] == ["A", "B", "D"]


@pytest.mark.parametrize("fmt", ["tsv", "json", "xml"])
def test_round_trip(cues: list[rhubarb.Cue], fmt: str) -> None:
    text = rhubarb.export(cues, fmt, sound_file="a <b> & c.wav", duration=cues[-1].end)
    back = getattr(rhubarb, f"read_{fmt}")(text)
    assert [(c.shape, c.start, c.end) for c in back] == [(c.shape, c.start, c.end) for c in cues]


def test_dat_round_trip(cues: list[rhubarb.Cue]) -> None:
    for pb in (False, True):
        text = rhubarb.export(cues, "dat", dat_frame_rate=30, preston_blair=pb)
        assert text.startswith("MohoSwitch1\n")
        pts = rhubarb.read_dat(text, frame_rate=30, preston_blair=pb)
        frames = [int(t * 30 + 0.5) for t, _ in pts]
        assert frames == sorted(set(frames))
        # every switch point is the last cue starting within its frame, then the idle row
        for t, s in pts[:-1]:
            inside = [c for c in cues if t - 1e-6 <= c.start < t + 1 / 30 - 1e-6]
            assert inside and inside[-1].shape == s
        assert pts[-1][1] == "X"
