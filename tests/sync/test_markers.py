"""``check --markers``: what check found, as timeline markers (EDL for Resolve, CSV) and as a
subtitle track (SRT, WebVTT).

The formats are checked on a report document written out by hand (every kind of marker,
a drop-frame timecode), and end to end on a real edit: two shared clips joined, the second
with its sound 240 ms late, in a MOV carrying its own timecode."""

from __future__ import annotations

import csv
import io
import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from mouthsync.cli import main
from mouthsync.media.markers import edl_text, make_clock
from mouthsync.sync.markers import cues, markers_text, report_markers
from tests.conftest import CLIPS
from tests.sync.builders import build_concatenation, ffmpeg


def _window(a: float, ms: float | None, conf: float, uncertain: bool = False, note: str = "") -> dict:
    return {"start_s": a, "end_s": a + 5.0, "audio_delay_ms": ms, "confidence": conf, "uncertain": uncertain, "note": note}


def _document() -> dict:
    """A 30 s edit at 25 fps: a late shot at 10-20 s (a section), a step inside the take at
    24.5 s, uncertain windows at 20-25 s, speech over a still mouth at 26-28 s."""
    windows = [_window(0, 20, 0.9), _window(2.5, 22, 0.9), _window(5, 25, 0.8), _window(7.5, 120, 0.4),
               _window(10, 215, 0.95), _window(12.5, 210, 0.9), _window(15, 212, 0.9),
               _window(17.5, 150, 0.2, True, "mouth and speech agree weakly"),
               _window(20, None, 0.0, True, "little speech"), _window(22.5, 30, 0.1, True, "little speech"),
               _window(25, -60, 0.9)]
    return {
        "source": "/x/edit.mov", "audio_delay_ms": 24.0, "audio_delay_frames": 0.6, "fps": 25.0, "confidence": 0.82,
        "drift": {"kind": "steps", "ms_per_min": None},
        "windows": windows,
        "shots": [_window(0, 22, 0.9) | {"end_s": 10.0}, _window(10, 212, 0.95) | {"end_s": 20.0},
                  _window(20, 30, 0.3, True) | {"end_s": 30.0}],
        "steps": [{"at_s": 10.0, "before_ms": 22, "after_ms": 212, "step_ms": 190, "at_cut": True},
                  {"at_s": 24.5, "before_ms": 30, "after_ms": -60, "step_ms": -90, "at_cut": False}],
        "still_mouth": [{"start_s": 26.0, "end_s": 28.0, "speech_s": 1.5, "what": "a voice-over"}],
        "verdict": {"standard": "bt1359", "standard_name": "ITU-R BT.1359", "status": "out_of_sync",
                    "reason": "10.0-20.0 s reads +212 ms",
                    "sections": [{"start_s": 10.0, "end_s": 20.0, "audio_delay_ms": 212.0, "status": "out_of_sync",
                                  "windows": 3}]},
        "details": {},
    }


def test_every_kind_of_marker_is_placed() -> None:
    ms = report_markers(_document())
    kinds = [(m.kind, m.start_s, m.end_s) for m in ms]
    assert kinds[0] == ("out_of_sync", 0.0, 0.0)  # the whole file first, red: a section is out
    assert ("out_of_sync", 10.0, 20.0) in kinds
    assert ("step", 24.5, 24.5) in kinds  # the step at the cut is the shots' to say
    assert not any(k == "step" and a == 10.0 for k, a, _ in kinds)
    assert not any(k == "shot" for k, _, _ in kinds)  # the late shot is the section already
    assert ("still", 26.0, 28.0) in kinds
    # the uncertain stretch is what no confident window covers: 20.0 (the last confident
    # window before ends) to 25.0 (the next begins)
    unc = [(a, b) for k, a, b in kinds if k == "uncertain"]
    assert unc == [(20.0, 25.0)]
    assert [m.start_s for m in ms[1:]] == sorted(m.start_s for m in ms[1:])


def test_a_file_that_could_not_be_measured_says_why() -> None:
    d = _document() | {"audio_delay_ms": None, "audio_delay_frames": None, "confidence": 0.0, "windows": [],
                       "shots": [], "steps": [], "still_mouth": [],
                       "verdict": {"standard": "bt1359", "standard_name": "ITU-R BT.1359", "status": "unknown",
                                   "reason": "no speech"}}
    [m] = report_markers(d)
    assert (m.kind, m.colour, m.name, m.text) == ("uncertain", "Blue", "mouthsync not measured",
                                                  "mouthsync, whole file: not measured (no speech)")


def test_edl_events_carry_resolve_markers_on_the_pictures_timecode() -> None:
    d = _document()
    clock = make_clock(25.0, origin_s=0.0, timecode=("10:00:00:00", Fraction(25)))
    text = edl_text(report_markers(d), clock, "edit.mov")
    lines = text.split("\r\n")
    assert lines[0] == "TITLE: edit.mov" and lines[1] == "FCM: NON-DROP FRAME"
    events = [ln for ln in lines if re.match(r"^\d{3}  ", ln)]
    notes = [ln for ln in lines if " |C:ResolveColor" in ln]
    assert len(events) == len(notes) == len(report_markers(d))
    # the section: 10 s after 10:00:00:00, ten seconds long (250 frames), red
    k = next(i for i, n in enumerate(notes) if n.startswith("sound +212 ms") and "ResolveColorRed" in n)
    assert events[k].split()[4:8] == ["10:00:10:00", "10:00:10:01", "10:00:10:00", "10:00:10:01"]
    assert notes[k].endswith("|C:ResolveColorRed |M:out of sync +212 ms |D:250")
    # Resolve splits the line at '|': none inside a marker's note or name
    assert all(n.count("|") == 3 for n in notes)
    assert notes[0].startswith("mouthsync, whole file: sound +24 ms") and "|M:mouthsync +24 ms out of sync |" in notes[0]


def test_drop_frame_timecode_and_a_late_first_frame() -> None:
    d = _document()
    # 29.97 fps drop-frame, the first frame shown at 1.0 s on the file's clock
    clock = make_clock(29.97, origin_s=1.0, timecode=("00:59:59;00", Fraction(30000, 1001)))
    text = markers_text(d, ".edl", clock)
    assert "FCM: DROP FRAME" in text
    # the file's own marker sits on the first frame; 24.5 s on the clock is 23.5 s in:
    # 00:59:59;00 + 23.5 s crosses the minute, where drop-frame skips ;00 and ;01
    assert "00:59:59;00 00:59:59;01" in text
    step = next(ln for ln in text.split("\r\n") if ln.startswith("0") and "01:00:22;" in ln)
    assert re.search(r"01:00:22;\d\d", step)
    with pytest.raises(Exception, match="not a timecode at 29.970"):
        make_clock(29.97, start="01:00:00:30")


def test_csv_rows_and_subtitle_cues() -> None:
    d = _document()
    clock = make_clock(25.0)  # no timecode: 01:00:00:00
    rows = list(csv.DictReader(io.StringIO(markers_text(d, ".csv", clock))))
    assert rows[0]["start_tc"] == "01:00:00:00" and rows[0]["kind"] == "out_of_sync"
    sec = next(r for r in rows if r["kind"] == "out_of_sync" and r["start_s"] == "10.000")
    assert sec["end_tc"] == "01:00:20:00" and sec["audio_delay_ms"] == "212.0" and sec["colour"] == "red"
    cs = cues(d, report_markers(d))
    # one after another, from the first window's start to the last one's end, none empty
    assert cs[0][0] == 0.0 and cs[-1][1] == 30.0
    assert all(a < b for a, b, _ in cs) and all(b0 <= a1 + 1e-9 for (_, b0, _), (a1, _, _) in zip(cs, cs[1:], strict=False))
    # an edit of short shots reads each shot's own delay (its windows span the cuts)
    mid_section = next(lines for a, b, lines in cs if a <= 14.0 < b)
    assert mid_section[0].startswith("this shot: sound +212 ms") and "out of tolerance" in mid_section[1]
    # one take: the window centred nearest
    take = cues(d | {"shots": []}, report_markers(d | {"shots": []}))
    assert next(lines for a, b, lines in take if a <= 14.0 < b)[0].startswith("here: sound +210 ms")
    assert any("whole file" in ln for ln in cs[0][2])  # the verdict opens the track
    assert all(lines for _, _, lines in cs)
    srt = markers_text(d, ".srt", clock)
    assert srt.startswith("1\n00:00:00,000 --> ") and "00:00:30,000" in srt
    vtt = markers_text(d, ".vtt", clock)
    assert vtt.startswith("WEBVTT\n") and "-->" in vtt and "," not in vtt.split("\n")[2]


@pytest.fixture(scope="module")
def late_edit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """face2 in sync, then face4 with its sound 240 ms late, in a MOV timecoded 09:59:50:00."""
    folder = tmp_path_factory.mktemp("markers")
    srcs = [next(p for p in CLIPS if p.name == n) for n in ("retalking_face2.mp4", "retalking_face4.mp4")]
    video, _, _ = build_concatenation(srcs, [0.0, 0.24], folder)
    out = folder / "edit.mov"
    ffmpeg("-i", str(video), "-c:v", "copy", "-c:a", "pcm_s16le", "-timecode", "09:59:50:00", str(out))
    return out


@pytest.mark.slow
def test_check_markers_end_to_end(late_edit: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edl = tmp_path / "m.edl"
    assert main(["check", str(late_edit), "--markers", str(edl), "--json"]) in (0, 1)
    doc = json.loads(capsys.readouterr().out)
    assert doc["markers"] == str(edl)
    text = edl.read_text()
    events = re.findall(r"^\d{3} +001 +V +C +(\S+) ", text, flags=re.M)
    assert events[0] == "09:59:50:00"  # the picture's own timecode at its first frame
    # the two shots are told apart: the markers read delays 240 ms apart (the whole file
    # takes the longer, late shot's; the other shot is marked off it), and the shot marker
    # spans its shot (5 s, 125 frames)
    said = [float(x) for x in re.findall(r"^(?:mouthsync, whole file: |shot reads )?sound ([+-]\d+) ms", text, flags=re.M)]
    assert max(said) - min(said) == pytest.approx(240, abs=45), text
    assert re.search(r"^(shot reads )?sound .* \|C:ResolveColor(Fuchsia|Red|Yellow) \|M:[^|]* \|D:1(2[0-9]|6[0-9])\b",
                     text, flags=re.M), text
    # the same as a subtitle track, and from a timeline that starts elsewhere
    srt = tmp_path / "m.srt"
    assert main(["check", str(late_edit), "--markers", str(srt), "--markers-start", "00:00:00:00"]) in (0, 1)
    body = srt.read_text()
    assert body.startswith("1\n00:00:00,000 --> ") and re.search(r"(here|this shot): sound \+2\d\d ms", body)
    capsys.readouterr()


def test_markers_refuses_what_it_cannot_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = str(CLIPS[0])
    assert main(["check", clip, "--markers", str(tmp_path / "m.txt")]) == 2
    assert "the suffix names the format" in capsys.readouterr().err
    assert main(["check", clip, "--markers", str(tmp_path / "m.edl"), "--markers-start", "1:00"]) == 2
    assert "not a timecode" in capsys.readouterr().err
    assert main(["check", clip, "--markers-start", "01:00:00:00"]) == 2
    assert "goes with --markers" in capsys.readouterr().err
    assert main(["check", clip, "--markers", str(tmp_path / "nowhere" / "m.edl")]) == 2
    assert not list(tmp_path.iterdir())
