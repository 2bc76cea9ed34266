"""Steady pitch (audio.steady) on real voices and on the sounds a title card brings."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.audio.steady import steadiness, steady_spans
from mouthsync.media.decode import decode_audio
from tests.conftest import CLIPS, SPEECH, WILD
from tests.sync.builders import music_bed

RATE = 16000


@pytest.mark.parametrize("path", CLIPS + WILD + SPEECH, ids=lambda p: p.stem)
def test_no_voice_holds_its_pitch(path) -> None:  # type: ignore[no-untyped-def]
    """Every shared voice (five clips, four interviews, five recordings, one of them
    German) glides: no steady stretch anywhere."""
    x = decode_audio(path, rate=RATE).samples
    assert steady_spans(x, RATE) == []


@pytest.mark.parametrize("kind", ["tone", "music"])
def test_title_sounds_hold_their_pitch(kind: str) -> None:
    """A tone and a music bed (chords, bass, kick and hi-hat) between 1 and
    4 s of room noise are found, to within 0.15 s of where they are (the two 64 ms
    windows 100 ms apart must both hold it)."""
    rng = np.random.default_rng(0)
    t = np.arange(3 * RATE) / RATE
    if kind == "tone":
        s = 0.05 * np.sin(2 * np.pi * 220 * t)
    else:
        s = 0.05 * music_bed(t.size, RATE, seed=2)
    room = 0.002 * rng.standard_normal(5 * RATE)
    x = room.copy()
    x[RATE : 4 * RATE] += s
    spans = steady_spans(x.astype(np.float32), RATE, offset=10.0)
    assert len(spans) == 1
    assert spans[0][0] == pytest.approx(11.0, abs=0.15) and spans[0][1] == pytest.approx(14.0, abs=0.15)


def test_speech_over_music_is_not_steady() -> None:
    """Music 10 dB under retalking_face2's speech: the voice's moving harmonics win
    wherever it speaks, and its pauses (music alone, under 1 s) are too short to count."""
    x = decode_audio(CLIPS[1], rate=RATE).samples.astype(np.float64)
    bed = music_bed(x.size, RATE, seed=1)
    bed *= np.sqrt(np.mean(x**2) / np.mean(bed**2)) * 10 ** (-10 / 20)
    mixed = (x + bed).astype(np.float32)
    assert steady_spans(mixed, RATE) == []
    r = steadiness(mixed, RATE)
    assert np.nanmedian(r) < 0.4


def test_short_and_silent_input() -> None:
    assert steady_spans(np.zeros(100, np.float32), RATE) == []
    assert steady_spans(np.zeros(2 * RATE, np.float32), RATE) == []
