"""``check`` with the user's own words (``--transcript TEXT|FILE|subtitles``): aligned alone
when they are what the sound says, set aside with a warning when they are not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mouthsync.cli import main
from mouthsync.sync.delay import check_sync
from tests.conftest import CLIPS, WILD
from tests.media.test_subtitles import SRT

FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
FACE1 = next(p for p in CLIPS if p.name == "retalking_face1.mp4")
V00067 = next(p for p in WILD if p.name == "voxceleb_00067.mp4")


def test_subtitles_of_the_clip_are_its_best_phone_source(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    srt = tmp_path / "face2.srt"
    srt.write_text(SRT, encoding="utf-8")
    auto = check_sync(FACE2)
    assert main(["check", str(FACE2), "--transcript", str(srt), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["details"]["phones_from"] == "align"  # the words, aligned alone
    assert d["details"]["transcript"] == "given"
    assert abs(d["audio_delay_ms"] - auto.audio_delay_ms) <= 40.0
    assert d["confidence"] >= max(0.8, auto.confidence)
    assert not [f for f in d["findings"] if f["check"] == "sync.transcript"]
    assert main(["check", str(FACE2), "--transcript", str(srt)]) == 0
    assert "the words given, aligned" in capsys.readouterr().out


@pytest.mark.parametrize(("clip", "words", "why"), [
    # condensed subtitles: +582 ms at 0.00 until session 30, now +56 at 0.49 (the recognised
    # speech +44 at 0.74)
    (FACE2, "the heart of my district chasing my dreams", "agrees with the face more clearly"),
    (FACE2, "please call stella ask her to bring these things with her from the store",
     "fits the face poorly"),  # words of another recording altogether: 0.00
    (FACE1, "the heart of my california congressional district right chase my own dreams growing up",
     "cannot be aligned"),  # another clip's words
    # its machine transcript with every third word left out: alone it read -22.6 ms at 0.33,
    # 65 ms from the recognised speech's +42.7 at 0.94
    (V00067, "it all it's called is lot it's", "agrees with the face more clearly"),
])
def test_words_the_sound_does_not_say_are_set_aside(clip: Path, words: str, why: str) -> None:
    auto = check_sync(clip)
    rep = check_sync(clip, transcript=words)
    assert rep.details["transcript"] == "given, set aside"
    assert rep.audio_delay_ms == pytest.approx(auto.audio_delay_ms, abs=1e-6)
    assert rep.confidence == pytest.approx(auto.confidence, abs=1e-6)
    warn = [f for f in rep.findings if f.check == "sync.transcript"]
    assert len(warn) == 1 and why in warn[0].message


def test_fix_measures_with_the_subtitles_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """fix --delay auto --transcript FILE measures as check did with the words (the
    shift on top of the clip's own delay), and its --verify check of the output reads in
    sync: fix removes the whole measured delay, the clip's own with the shift (until
    session 30 this compared the output with the clip's own delay, +37.5 ms then, which
    held only while that delay was under a frame)."""
    from tests.sync.builders import write_shifted_clip

    srt = tmp_path / "face2.srt"
    srt.write_text(SRT, encoding="utf-8")
    late = write_shifted_clip(FACE2, tmp_path / "late.mkv", 0.24)  # 6 frames late
    out = tmp_path / "fixed.mkv"
    assert main(["fix", str(late), "-o", str(out), "--transcript", str(srt), "--verify", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    own = check_sync(FACE2, transcript=(tmp_path / "face2.srt").read_text())
    assert d["measured"]["confidence"] >= 0.8
    assert abs(d["measured"]["audio_delay_ms"] - (own.audio_delay_ms + 240.0)) <= 40.0
    assert abs(d["verified"]["audio_delay_ms"]) <= 40.0


def test_the_files_own_subtitles_are_read_by_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``check --transcript subtitles`` on a Matroska copy of face2 carrying its SubRip
    stream: the words come from the file itself; a file without one is a one-line error."""
    import subprocess

    srt = tmp_path / "face2.srt"
    srt.write_text(SRT, encoding="utf-8")
    mkv = tmp_path / "face2 with subs.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE2), "-i", str(srt), "-map", "0", "-map", "1",
                    "-c", "copy", "-c:s", "srt", str(mkv)], check=True)
    assert main(["check", str(mkv), "--transcript", "subtitles", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["details"]["transcript"] == "given" and d["details"]["phones_from"] == "align"
    assert d["confidence"] >= 0.8
    assert main(["check", str(FACE2), "--transcript", "subtitles"]) == 2
    assert "no subtitle stream" in capsys.readouterr().err
