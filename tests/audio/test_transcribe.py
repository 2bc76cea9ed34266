"""Long sound's machine transcript in two halves at once (``audio.transcribe``): the cut in
a pause near the middle, the second half's words from the worker on the file's own clock,
and the same words in-process when the worker cannot run."""

from __future__ import annotations

import numpy as np
import pytest

import mouthsync.audio.transcribe as tr
from mouthsync.audio.phones import RATE, transcribe_words
from mouthsync.audio.types import Word
from mouthsync.audio.vad import speech_segments
from mouthsync.media.decode import decode_audio
from tests.conftest import SPEECH


def test_the_cut_is_the_longest_pause_near_the_middle() -> None:
    n = 100 * RATE
    # pauses centred at 20 s (long, far), 47 s (short, near), 52 s (longer, near)
    speech = [(0.0, 19.0), (21.0, 46.9), (47.1, 51.5), (52.5, 100.0)]
    assert tr.halves_cut(n, 0.0, speech) == 52 * RATE
    # on the file's clock: the same speech 10 s later, the same cut in the samples
    assert tr.halves_cut(n, 10.0, [(a + 10.0, b + 10.0) for a, b in speech]) == 52 * RATE
    # no pause within 5 %: the one nearest the middle within 15 %, else the middle itself
    assert tr.halves_cut(n, 0.0, [(0.0, 39.0), (41.0, 100.0)]) == 40 * RATE
    assert tr.halves_cut(n, 0.0, [(0.0, 100.0)]) == 50 * RATE


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, list[tuple[float, float]], int, list[Word], list[Word]]:
    """Two recordings one after another with a second of silence after each (18 s, on a
    clock starting at 2 s), where it is cut, and each half's words recognised here."""
    gap = np.zeros(RATE, np.float32)
    x = np.concatenate([part for p in SPEECH[:2] for part in (decode_audio(p, rate=RATE).samples, gap)])
    segments = speech_segments(x, rate=RATE, offset=2.0)
    cut = tr.halves_cut(x.size, 2.0, segments)
    return x, segments, cut, transcribe_words(x[:cut], offset=2.0), transcribe_words(x[cut:], offset=2.0 + cut / RATE)


def test_long_sound_is_recognised_in_two_halves_on_its_own_clock(speech, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    x, segments, cut, first, second = speech
    monkeypatch.setattr(tr, "SPLIT_S", 10.0)
    at = 2.0 + cut / RATE
    # near the middle, in a pause (between two speech segments)
    assert abs(cut - x.size / 2) <= 0.15 * x.size
    assert any(a_end <= at <= b_start for (_, a_end), (b_start, _) in zip(segments, segments[1:], strict=False))
    halves = tr.transcribe(x, offset=2.0, speech=segments)
    # the worker's half as this process reads it: the same words at the same times
    assert halves == first + second
    assert len(first) >= 5 and len(second) >= 5 and second[0].start >= at
    assert all(a.start <= b.start for a, b in zip(halves, halves[1:], strict=False))


def test_a_worker_that_cannot_run_leaves_the_half_to_this_process(speech, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    x, segments, _, first, second = speech
    monkeypatch.setattr(tr, "SPLIT_S", 10.0)
    monkeypatch.setattr(tr, "WORKER", "mouthsync.audio.no_such_worker")
    assert tr.transcribe(x, offset=2.0, speech=segments) == first + second


def test_shorter_sound_is_recognised_in_one_pass(speech) -> None:  # type: ignore[no-untyped-def]
    x, segments, *_ = speech
    assert x.size < tr.SPLIT_S * RATE
    assert tr.transcribe(x[: 4 * RATE], offset=2.0, speech=segments) == transcribe_words(x[: 4 * RATE], offset=2.0)
