"""``mouthsync fix`` end to end: the command line, its errors, and round trips through check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mouthsync.cli import main
from mouthsync.media.decode import decode_audio
from mouthsync.sync.correct import fix_sync

from ..conftest import CLIPS, SILENT
from ..media.test_remux import audio_lag_samples, native_rate, packets

FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")


def test_cli_explicit_nudge_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.mp4"
    rc = main(["fix", str(FACE2), "-o", str(out), "--delay", "-2f", "--json"])
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["audio_delay_removed_frames"] == pytest.approx(-2.0)
    assert doc["audio_shift_samples"] == int(round(0.080 * native_rate(FACE2)))
    assert doc["sidecar"] == str(out) + ".fix.json" and Path(doc["sidecar"]).exists()
    assert packets(out) == packets(FACE2)


def test_cli_readable_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.mp4"
    assert main(["fix", str(FACE2), "-o", str(out), "--delay", "40ms"]) == 0
    text = capsys.readouterr().out
    assert "Removed audio delay +40.0 ms" in text
    assert "40.00 ms earlier" in text and "lossless" in text
    assert "copied bit for bit" in text and str(out) in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--delay", "3"], "give a unit"),
        (["--delay", "40ms", "--drift", "fast"], "--drift"),
        (["--delay", "40ms", "--audio-mode", "magic"], "audio-mode"),
        (["--delay", "shots"], "no picture cut"),  # a single take has one shot
        (["--delay", "shots", "--drift", "60"], "does not combine"),
    ],
)
def test_cli_bad_options_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    rc = main(["fix", str(FACE2), "-o", str(tmp_path / "o.mp4"), *args])
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_input_as_output_and_silent_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fix", str(FACE2), "-o", str(FACE2), "--delay", "1f"]) == 2
    assert "overwrite the input" in capsys.readouterr().err
    assert main(["fix", str(SILENT[0]), "-o", str(tmp_path / "s.mp4"), "--delay", "1f"]) == 2
    assert "no audio stream" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_nudges_compose_back_to_the_original(tmp_path: Path) -> None:
    """-2f then +2f returns the sound to where it was, to the sample."""
    a = tmp_path / "a.mp4"
    b = tmp_path / "b.mp4"
    assert main(["fix", str(FACE2), "-o", str(a), "--delay", "-2f"]) == 0
    assert main(["fix", str(a), "-o", str(b), "--delay", "2f"]) == 0
    rate = native_rate(FACE2)
    x = decode_audio(FACE2, rate=rate)
    y = decode_audio(b, rate=rate)
    assert audio_lag_samples(x, y, rate // 5) == 0
    assert packets(b) == packets(FACE2)
    assert np.corrcoef(x.mono[rate : 4 * rate], y.mono[rate : 4 * rate])[0, 1] > 0.99


@pytest.mark.slow
def test_fix_round_trip_through_check(tmp_path: Path) -> None:
    """Shift by +6 frames, fix --delay auto: the result reads in sync, the shift is undone.

    ``fix --delay auto`` removes the whole measured delay, so the result reads ~0 and its
    sound sits where the unshifted clip's would after removing that clip's own measured
    offset (which is ~0 for an in-sync clip once check is calibrated).
    """
    from mouthsync.sync.delay import check_sync

    from .builders import write_shifted_clip

    fps = 25.0
    # PCM in Matroska: the shifted sound is the clip's own, sample for sample. Through AAC
    # this one copy read its delay exactly (+268 ms) but at confidence 0.00, which fix
    # refuses by design: AAC changes what the recogniser hears on this 5 s clip (+5 and +7
    # frames through AAC read 0.74 and 0.45; docs/sync.md, "What is weak").
    shifted = write_shifted_clip(FACE2, tmp_path / "shifted.mkv", 6 / fps)
    base = check_sync(FACE2)
    fixed = tmp_path / "fixed.mkv"
    assert main(["fix", str(shifted), "-o", str(fixed), "--delay", "auto", "--verify"]) == 0
    side = json.loads(Path(str(fixed) + ".fix.json").read_text())
    # check followed the injected shift, and fix removed what it measured
    assert abs(side["audio_delay_removed_frames"] - (base.audio_delay_frames + 6)) <= 1.0
    # --verify ran check on the output: it reads in sync
    assert abs(side["verified"]["audio_delay_frames"]) <= 1.0
    assert not [
        f for f in side["findings"] if f["check"] == "fix.verify" and f["severity"] != "info"
    ]
    # on the audio itself: the fixed sound = the original moved by minus its own offset
    rate = 48000
    lag = audio_lag_samples(decode_audio(FACE2, rate=rate), decode_audio(fixed, rate=rate), rate)
    assert abs(lag / rate * 1000 + base.audio_delay_ms) <= 1000 / fps
    assert packets(fixed) == packets(shifted)  # the picture copied bit for bit
    assert [p[2] for p in packets(shifted)] == [p[2] for p in packets(FACE2)]  # the clip's own frames


@pytest.mark.slow
def test_a_dub_track_is_checked_and_fixed_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A master with the original sound and a dub 6 frames late (here the same voice, so
    the truth is known): ``check --audio-stream 1`` reads the dub, ``fix --audio-stream 1``
    moves the dub only, and the original's packets come out untouched."""
    import subprocess

    from mouthsync.sync.delay import check_sync

    from ..media.test_remux import stream_packets

    dub = tmp_path / "dub.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE2), "-i", str(FACE2),
                    "-map", "0:v", "-map", "0:a", "-map", "1:a", "-c:v", "copy", "-c:a:0", "copy",
                    "-c:a:1", "aac", "-filter:a:1", "adelay=240:all=1", "-metadata:s:a:1", "language=fra",
                    str(dub)], check=True)
    base = check_sync(FACE2)
    assert main(["check", str(dub), "--audio-stream", "1", "--json"]) in (0, 1)
    read = json.loads(capsys.readouterr().out)
    assert read["details"]["audio_stream"] == 1
    assert abs(read["audio_delay_frames"] - (base.audio_delay_frames + 6)) <= 1.0
    fixed = tmp_path / "fixed.mp4"
    assert main(["fix", str(dub), "-o", str(fixed), "--audio-stream", "1", "--verify"]) == 0
    side = json.loads(Path(str(fixed) + ".fix.json").read_text())
    assert side["audio_stream"] == 1
    assert abs(side["verified"]["audio_delay_frames"]) <= 1.0
    assert stream_packets(fixed, 0) == stream_packets(dub, 0)  # picture
    assert stream_packets(fixed, 1) == stream_packets(dub, 1)  # the original sound
    after = check_sync(fixed, audio_stream=0)
    assert abs(after.audio_delay_frames - base.audio_delay_frames) <= 1.0


@pytest.mark.slow
def test_fix_applies_a_saved_check_report_and_refuses_it_for_another_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """check --json > REPORT, then fix --report REPORT applies what was reviewed without
    measuring again; the report of another file, of a file changed since (a fixed output
    has the same picture), or of another audio stream is refused in one line."""
    import os
    import shutil

    take = tmp_path / "take.mp4"
    shutil.copy(FACE2, take)
    assert main(["check", str(take), "--json"]) in (0, 1)
    report = tmp_path / "take.check.json"
    report.write_text(capsys.readouterr().out)
    measured = json.loads(report.read_text())
    assert measured["inputs"]["file"]["path"] == str(take.resolve()) and measured["inputs"]["audio"] is None

    import mouthsync.sync.delay as sd

    def no_second_check(*a: object, **k: object) -> None:
        raise AssertionError("fix measured again")

    monkeypatch.setattr(sd, "check_sync", no_second_check)
    out = tmp_path / "fixed.mp4"
    assert main(["fix", str(take), "-o", str(out), "--report", str(report), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["audio_delay_removed_ms"] == pytest.approx(measured["audio_delay_ms"], abs=0.05)
    assert doc["measured"]["confidence"] == pytest.approx(measured["confidence"], abs=1e-3)

    def refused(args: list[str], message: str) -> None:
        assert main(["fix", *args, "-o", str(tmp_path / "again.mp4"), "--report", str(report)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
        assert not (tmp_path / "again.mp4").exists()

    refused([str(out)], "holds no check of")  # the corrected output: applying it again would double it
    refused([str(take), "--audio-stream", "1"], "measured audio stream 0")
    refused([str(take), "--audio", str(FACE2)], "with the file's own sound")
    st = take.stat()
    os.utime(take, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    refused([str(take)], "changed")
    report.write_text("not json")
    refused([str(take)], "cannot read a check report")


def test_frames_an_edit_list_hid_are_said_when_the_output_cannot_hide_them(tmp_path: Path) -> None:
    """``ffmpeg -ss 0.3 -c copy`` hides 8 frames behind an MP4 edit list; Matroska has none
    to carry, so the copied packets show them. Before, fix said "the output is a copy"."""
    import subprocess

    cut = tmp_path / "cut.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", "0.3", "-i", str(FACE2), "-c", "copy", str(cut)],
                   check=True)
    same = fix_sync(cut, tmp_path / "same.mp4", delay="0ms")
    assert [f.check for f in same.findings] == ["fix.noop"]
    other = fix_sync(cut, tmp_path / "other.mkv", delay="0ms")
    said = [f for f in other.findings if f.check == "fix.frames"]
    assert said and "117" in said[0].message and not any(f.check == "fix.noop" for f in other.findings)


def test_a_sound_stream_starting_seconds_late_is_measured_and_fixed(tmp_path: Path) -> None:
    """The sound stream starts 2 s after the picture in the container (a remux with a
    wrong offset): beyond the lip-sync search, check read +91 ms at confidence 0.00. It now
    searches around the offset, reads it, names it; fix moves the sound onto the picture
    without warning of picture left silent, and the result reads the clip's own delay."""
    import subprocess

    from mouthsync.sync.delay import check_sync

    late = tmp_path / "late_start.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE2), "-itsoffset", "2", "-i", str(FACE2),
                    "-map", "0:v", "-map", "1:a", "-c", "copy", str(late)], check=True)
    own = check_sync(FACE2)
    rep = check_sync(late)
    assert abs(rep.audio_delay_ms - (own.audio_delay_ms + 2000.0)) <= 40.0
    assert rep.confidence >= 0.3
    assert any(f.check == "sync.start_offset" for f in rep.findings)
    fixed = tmp_path / "fixed.mp4"
    assert main(["fix", str(late), "-o", str(fixed), "--delay", "auto", "--verify"]) == 0
    side = json.loads(Path(str(fixed) + ".fix.json").read_text())
    assert not [f for f in side["findings"] if f["check"] == "fix.delay"]
    assert abs(side["verified"]["audio_delay_ms"] - own.audio_delay_ms) <= 40.0
