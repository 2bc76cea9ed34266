"""Timecode arithmetic and reading it from real files."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from mouthsync.core.errors import BadInput
from mouthsync.media.timecode import (
    picture_start_of_day,
    sound_start_of_day,
    start_on_picture,
    timecode_label,
    timecode_seconds,
)

from ..conftest import CLIPS

FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
NTSC = Fraction(30000, 1001)


def test_timecode_arithmetic() -> None:
    assert timecode_seconds("01:00:00:00", 25) == 3600.0
    assert timecode_seconds("10:00:01:12", 25) == 36001.48
    # non-drop at 29.97 counts 30 labels a second: an hour of labels is 3603.6 s
    assert timecode_seconds("01:00:00:00", NTSC) == pytest.approx(3603.6)
    # drop-frame stays on the clock: labels ;00 and ;01 skipped in minutes not divisible by 10
    assert timecode_seconds("01:00:00;00", NTSC) == pytest.approx(3600.0, abs=0.004)
    assert timecode_seconds("00:01:00;02", NTSC) == pytest.approx(1800 / NTSC)
    assert timecode_seconds("00:10:00;00", NTSC) == pytest.approx(17982 / NTSC)
    for bad in ("1:00:00", "01:00:00:25", "01:61:00:00", "noon"):
        with pytest.raises(BadInput):
            timecode_seconds(bad, 25)


def test_timecodes_read_from_a_camera_and_a_recorder(tmp_path: Path) -> None:
    cam = tmp_path / "cam.mov"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(FACE2), "-c", "copy", "-timecode", "10:00:00:00",
                    str(cam)], check=True)
    rec = tmp_path / "rec.wav"
    at = int(round((36000 - 2.5) * 48000))
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(FACE2), "-vn", "-ar", "48000", "-c:a", "pcm_s24le",
                    "-write_bext", "1", "-metadata", f"time_reference={at}", str(rec)], check=True)
    assert picture_start_of_day(cam) == 36000.0
    assert sound_start_of_day(rec) == pytest.approx(36000 - 2.5)
    assert start_on_picture(cam, rec, 0.0) == pytest.approx(-2.5)
    assert picture_start_of_day(FACE2) is None and sound_start_of_day(FACE2) is None
    assert start_on_picture(FACE2, rec, 0.0) is None
    from mouthsync.media.probe import probe

    assert probe(cam, audio_quality=False, pictures=False).timecode == {
        "picture_start_of_day_s": 36000.0, "picture_start_of_day_clock": "10:00:00.000"}
    assert probe(rec, audio_quality=False, pictures=False).timecode == {
        "sound_start_of_day_s": 35997.5, "sound_start_of_day_clock": "09:59:57.500"}
    assert probe(FACE2, audio_quality=False, pictures=False).timecode is None


@pytest.mark.parametrize(("rate", "drop"), [(Fraction(24), False), (Fraction(25), False), (NTSC, False), (NTSC, True),
                                            (Fraction(60000, 1001), True)])
def test_a_label_is_the_inverse_of_its_seconds(rate: Fraction, drop: bool) -> None:
    """prep writes the label of its first frame from seconds since midnight: every frame
    of a day (a fixed sample of 2000, plus the minute and ten-minute edges drop-frame
    skips) comes back to the same frame."""
    rng = np.random.default_rng(5)
    per_day = round(rate) * 86400 - (round(rate) // 15 * 1296 if drop else 0)  # labels in a day
    frames = list(rng.integers(0, per_day, 2000)) + [0, 1798, 1799, 1800, 17981, 17982, per_day - 1]
    assert timecode_label(float(per_day / rate), rate, drop)[:11] == "00:00:00" + (";00" if drop else ":00")
    for f in frames:
        t = float(f / rate)
        label = timecode_label(t, rate, drop)
        assert (";" in label) == drop
        assert timecode_seconds(label, rate) == pytest.approx(t, abs=1e-6), (f, label)
    assert timecode_label(3600.0, Fraction(25)) == "01:00:00:00"
    assert timecode_label(timecode_seconds("00:01:00;02", NTSC), NTSC, drop=True) == "00:01:00;02"


def test_timecode_counts_in_the_standard_rate_the_stream_states() -> None:
    """A 29.97 fps file whose duration was 0.5 ms off measured 597000/19919 (29.9714) on
    average: counted in that, 01:00:00;00 sat at 00:59:59.834 of the day."""
    from fractions import Fraction

    from mouthsync.media.timecode import counting_rate, timecode_seconds

    odd = Fraction(597000, 19919)
    assert counting_rate([odd]) == Fraction(30000, 1001)
    assert timecode_seconds("01:00:00;00", counting_rate([odd])) == pytest.approx(3599.996, abs=1e-3)
    assert counting_rate([Fraction(30), odd]) == 30  # the declared rate first
    assert counting_rate([Fraction(25)]) == 25 and counting_rate([Fraction(60000, 1001)]) == Fraction(60000, 1001)
    assert counting_rate([Fraction(2213, 100)]) == Fraction(2213, 100)  # no timecode rate: as it is
