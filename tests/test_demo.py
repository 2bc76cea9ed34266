"""``make demo`` end to end, into a temporary folder."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mouthsync.demo import DEMO_SHIFT_FRAMES, _available, run_demo
from mouthsync.media.decode import decode_audio

from .conftest import CLIPS
from .media.test_remux import audio_lag_samples, native_rate, packets

FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")


@pytest.mark.slow
def test_demo_runs_and_says_where_outputs_went(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = run_demo(FACE2, tmp_path)
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "$ mouthsync probe" in text and "$ mouthsync fix" in text
    shifted = tmp_path / "shifted_plus4f.mp4"
    fixed = tmp_path / "fixed.mp4"
    for p in (shifted, fixed, tmp_path / "fixed.mp4.fix.json"):
        assert p.exists() and str(p.resolve()) in text
    if _available("check"):
        for p in (tmp_path / "check.png", tmp_path / "check_fixed.png", tmp_path / "check_shifted.html"):
            assert p.exists() and p.stat().st_size > 1000 and str(p.resolve()) in text
        assert "data:image/jpeg" in (tmp_path / "check_shifted.html").read_text(encoding="utf-8")
        srt = tmp_path / "check_shifted.srt"
        assert str(srt.resolve()) in text
        assert re.search(r"whole file: sound \+(1[5-9]\d|2[0-2]\d) ms", srt.read_text(encoding="utf-8"))
    # the picture was never touched, and the fix put the sound back near where it was
    assert packets(fixed) == packets(FACE2)
    rate = native_rate(FACE2)
    frame = rate // 25
    lag_shifted = audio_lag_samples(decode_audio(FACE2, rate=rate), decode_audio(shifted, rate=rate), rate)
    assert lag_shifted == DEMO_SHIFT_FRAMES * frame
    lag_fixed = audio_lag_samples(decode_audio(FACE2, rate=rate), decode_audio(fixed, rate=rate), rate)
    assert abs(lag_fixed) <= (2 * frame if _available("check") else 0)
