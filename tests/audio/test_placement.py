"""Placing plain words on recognised phones (``audio.placement``), on real speech."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.audio import placement
from mouthsync.audio.phones import pronunciations, recognize_phones
from mouthsync.audio.placement import line_up, place_words
from mouthsync.audio.timeline import load_audio, speech_timeline
from tests.conftest import CLIPS


def test_line_up_follows_insertions_and_deletions() -> None:
    expected = ["DH", "AH", "HH", "AA", "R", "T", "AH", "V", "M", "AY"]
    # recognition dropped HH, heard an extra N after T, and took V for F
    heard = ["DH", "AH", "AA", "R", "T", "N", "AH", "F", "M", "AY"]
    got = line_up(expected, heard)
    assert list(got) == [0, 1, -1, 2, 3, 4, 6, 7, 8, 9]
    assert list(line_up(expected, expected)) == list(range(len(expected)))
    assert list(line_up([], heard)) == [] and list(line_up(expected, [])) == [-1] * len(expected)


@pytest.fixture(scope="module")
def joined():  # type: ignore[no-untyped-def]
    """Three shared clips' speech one after the other, its machine transcript aligned, and
    the phones phonetic recognition hears in it."""
    parts = [load_audio(c) for c in CLIPS[1:4]]
    from mouthsync.media.decode import Audio

    audio = Audio(samples=np.concatenate([p.samples for p in parts]), rate=parts[0].rate, start=0.0)
    aligned = speech_timeline(audio, transcript="auto").words
    return audio, aligned, recognize_phones(audio.samples)


def test_plain_words_land_where_the_aligner_puts_them(joined) -> None:  # type: ignore[no-untyped-def]
    audio, aligned, heard = joined
    words, prons = pronunciations(" ".join(w.text for w in aligned))
    assert words == [w.text for w in aligned]
    placed = place_words(words, prons, heard)
    err = np.abs([(p.start + p.end) / 2 - (a.start + a.end) / 2 for p, a in zip(placed, aligned, strict=True)])
    assert np.median(err) < 0.05 and np.percentile(err, 90) < 0.2
    assert all(b.start >= a.end - 1e-9 for a, b in zip(placed, placed[1:], strict=False))  # in order


def test_the_band_places_as_the_whole_alignment(joined, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Long sound is lined up in a band around the diagonal: on speech that fits the band
    it gives the whole alignment's answer."""
    _, aligned, heard = joined
    words, prons = pronunciations(" ".join(w.text for w in aligned))
    whole = place_words(words, prons, heard)
    n = sum(len(p) for p in prons)
    monkeypatch.setattr(placement, "FULL_CELLS", n * 120)  # a band of ~60 heard phones either way
    banded = place_words(words, prons, heard)
    assert banded == whole


def test_words_the_sound_does_not_hold_still_get_times_in_order(joined) -> None:  # type: ignore[no-untyped-def]
    _, _, heard = joined
    words, prons = pronunciations("zebra quartz xylophone " * 20)
    placed = place_words(words, prons, heard)
    assert len(placed) == len(words)
    assert all(b.start >= a.start for a, b in zip(placed, placed[1:], strict=False))
    assert placed[0].start >= heard[0].start and placed[-1].end <= heard[-1].end + 1e-6
