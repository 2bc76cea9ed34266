"""Quiet speech is raised to a speech level before it is listened to (``audio.level``)."""

from __future__ import annotations

import numpy as np

from mouthsync.audio.level import (
    PEAK_CEILING_DBFS,
    QUIET_DBFS,
    TARGET_DBFS,
    raise_quiet,
    speech_level_db,
)
from mouthsync.face.track import track_face
from mouthsync.media.decode import Audio, decode_audio
from mouthsync.sync.delay import analyse
from mouthsync.sync.sources import timelines_for
from tests.conftest import CLIPS, SPEECH, WILD

RATE = 16000


def test_sound_at_a_normal_level_is_left_exactly_as_it_is() -> None:
    """Every shared clip and recording speaks above the threshold: nothing they read changes."""
    for p in CLIPS + WILD + SPEECH:
        x = decode_audio(p, rate=RATE).mono
        level = speech_level_db(x, RATE)
        assert level is not None and level > QUIET_DBFS + 3.0, (p.name, level)
        out, gain = raise_quiet(x, RATE)
        assert gain == 0.0 and out is x


def test_quiet_sound_is_raised_to_speech_level_within_the_peak() -> None:
    x = decode_audio(CLIPS[1], rate=RATE).mono
    quiet = x * np.float32(10 ** (-30 / 20))
    out, gain = raise_quiet(quiet, RATE)
    assert gain > 10.0
    assert abs(speech_level_db(out, RATE) - TARGET_DBFS) < 0.5  # this clip's peak leaves room
    # a peaky recording stops at the ceiling instead
    spiky = quiet.copy()
    spiky[1000] = 0.2
    out2, gain2 = raise_quiet(spiky, RATE)
    assert 0.0 < gain2 < gain and 20 * np.log10(np.abs(out2).max()) <= PEAK_CEILING_DBFS + 1e-3
    assert raise_quiet(np.zeros(RATE, np.float32), RATE)[1] == 0.0


def test_a_quiet_copy_reads_like_the_clip() -> None:
    """retalking_face2 30 dB down (a lavalier at low gain) read confidence 0.02-0.07 before."""
    clip = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    tr = track_face(clip)
    a = decode_audio(clip, rate=RATE)
    quiet = Audio(samples=a.mono * np.float32(10 ** (-30 / 20)), rate=RATE, start=a.start)
    loud = analyse(tr, timelines_for(a), a)
    low = analyse(tr, timelines_for(quiet), quiet)
    assert low.audio_delay_ms is not None and loud.audio_delay_ms is not None
    assert abs(low.audio_delay_ms - loud.audio_delay_ms) <= 20.0
    assert low.confidence >= 0.5, low.confidence
