"""``check --html``: the self-contained page, and the lip-closure moments it shows.

On a real clip made 240 ms late, the closures heard must show an open mouth and the frames
the delay points to a shut one, and the page must hold its pictures inline, escape what it
prints and refuse paths it cannot write."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from mouthsync.cli import main
from mouthsync.face.mouth import CLOSURE_THRESHOLD
from mouthsync.sync.delay import check_sync
from mouthsync.sync.html_report import render_html
from mouthsync.sync.moments import closure_moments
from tests.conftest import CLIPS
from tests.sync.builders import write_shifted_clip

LATE_S = 0.24


@pytest.fixture(scope="module")
def late_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = next(p for p in CLIPS if p.name == "retalking_face4.mp4")  # the most closures
    # a name that must be escaped in HTML
    return write_shifted_clip(src, tmp_path_factory.mktemp("late") / "late <a&b>.mkv", LATE_S)


def test_closures_show_the_shift(late_clip: Path) -> None:
    base = check_sync(next(p for p in CLIPS if p.name == "retalking_face4.mp4"))
    rep = check_sync(late_clip, keep_evidence=True)
    assert rep.evidence is not None and rep.evidence.track.valid.any()
    ms = closure_moments(rep)
    assert len(ms) >= 3
    want = (rep.audio_delay_ms or 0.0)
    assert want - (base.audio_delay_ms or 0.0) == pytest.approx(LATE_S * 1000, abs=40)
    # each moment's own offset follows the file's delay to within two frames of phone timing
    offsets = np.array([m.offset_ms for m in ms])
    assert abs(float(np.median(offsets)) - want) <= 80
    # heard: open (the lips shut 240 ms earlier); where the delay points: shut
    assert np.median([m.aperture_closed for m in ms]) < CLOSURE_THRESHOLD
    assert np.median([m.aperture_heard for m in ms]) > 2 * CLOSURE_THRESHOLD
    assert np.mean([m.aperture_closed < CLOSURE_THRESHOLD for m in ms]) >= 0.6
    # without the evidence there is nothing to show, and nothing is invented
    assert closure_moments(check_sync(late_clip)) == []


def test_html_page_is_self_contained_and_escaped(late_clip: Path) -> None:
    rep = check_sync(late_clip, keep_evidence=True)
    page = render_html(rep, command="mouthsync check 'late <a&b>.mkv' --html r.html")
    assert "<script" not in page and "http://" not in page and "https://" not in page  # nothing fetched
    assert "late &lt;a&amp;b&gt;.mkv" in page and "late <a&b>" not in page
    assert "Out of sync" in page or "Noticeable" in page
    plots = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(plots) == 1 and base64.b64decode(plots[0])[:8] == b"\x89PNG\r\n\x1a\n"
    thumbs = re.findall(r'src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(thumbs) >= 6 and all(base64.b64decode(t)[:2] == b"\xff\xd8" for t in thumbs)
    assert page.count("<tr") >= 1 + len(rep.windows)


def test_check_html_cli(late_clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.html"
    assert main(["check", str(late_clip), "--html", str(out), "--json", "--fail-on", "never"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["html"] == str(out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert out.stat().st_mode & 0o044  # readable like any other file written under umask 022
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left behind
    # the readable summary says where the page went
    copy = shutil.copy(late_clip, tmp_path / "copy.mkv")
    assert main(["check", str(copy), "--html", str(tmp_path / "r2.html"), "--fail-on", "never"]) == 0
    assert "report" in capsys.readouterr().out
    # bad outputs: one line, exit 2, nothing measured
    assert main(["check", str(late_clip), "--html", str(tmp_path / "no" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["check", str(late_clip), "--html", str(late_clip)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert main(["check", str(late_clip), "--html", str(out), "--plot", str(out)]) == 2
    assert "different files" in capsys.readouterr().err


def test_a_report_without_a_face_still_renders(tmp_path: Path) -> None:
    """The page of a file check could not measure says so, and why, instead of failing."""
    from mouthsync.sync.delay import _no_face_report

    page = render_html(_no_face_report(str(tmp_path / "x.mp4"), "no face found in any of 50 frames", "r37", 25.0))
    assert "Cannot measure" in page and "no face found in any of 50 frames" in page
    assert "no delay was measured" in page and "data:image/jpeg" not in page


def test_the_page_lists_faces_and_channels(late_clip: Path) -> None:
    """A two-shot's faces and split microphones' channels get a table each."""
    rep = check_sync(late_clip)
    rep.details["faces"] = [{"face": 0, "box": [1, 2, 3, 4], "audio_delay_ms": 12.5, "confidence": 0.8},
                            {"face": 1, "box": [5, 6, 7, 8], "audio_delay_ms": None, "confidence": 0.0}]
    rep.details["speaker_face"] = 0
    rep.details["channels"] = [{"channel": 0, "name": "FL", "audio_delay_ms": 12.5, "confidence": 0.8},
                               {"channel": 1, "name": "FR", "audio_delay_ms": 540.0, "confidence": 0.01}]
    rep.details["audio_channel"] = "FL"
    page = render_html(rep)
    assert "<h2>Faces</h2>" in page and "<h2>Audio channels</h2>" in page
    assert "+540.0" in page and "[5, 6, 7, 8]" in page
    assert "<h2>Faces</h2>" not in render_html(check_sync(late_clip))


def test_the_shots_table_says_how_each_shot_begins() -> None:
    from mouthsync.sync.html_report import _shot_openings

    d = {"shots": [{"start_s": 0.0}, {"start_s": 4.68}, {"start_s": 9.0}, {"start_s": 12.2}],
         "details": {"shot_changes": [{"at_s": 4.68, "kind": "dissolve", "start_s": 4.44, "end_s": 4.92},
                                      {"at_s": 9.0, "kind": "cut"},
                                      {"at_s": 12.2, "kind": "dip to black", "start_s": 12.16, "end_s": 12.24}]}}
    assert _shot_openings(d) == ["start", "dissolve 4.44-4.92 s", "cut", "dip to black 12.16-12.24 s"]
    assert _shot_openings({"shots": [], "details": {}}) == []


def test_a_closure_is_placed_by_the_delay_where_it_is_heard() -> None:
    """Where the report found the delay to change, a closure is placed by the local delay:
    the part between steps, the drift line, a confident shot; else a confident window,
    else the file's (a take that jumps by 200 ms read every early closure 200 ms off)."""
    from types import SimpleNamespace as NS

    from mouthsync.sync.drift import DriftFit
    from mouthsync.sync.moments import _delay_near
    from mouthsync.sync.report import WindowEstimate

    flat = DriftFit(None, None, None, 0, "none")
    win = WindowEstimate(10.0, 15.0, 40.0, 0.9, False)
    plain = NS(steps=[], drift=flat, shots=[], windows=[win, WindowEstimate(12.5, 17.5, 45.0, 0.4, False)],
               audio_delay_ms=210.0)
    assert _delay_near(plain, 11.0) == (40.0, "window")
    assert _delay_near(plain, 30.0) == (210.0, "file")
    step = NS(at_s=29.8, at_cut=False, before_ms=6.0, after_ms=210.0)
    stepped = NS(**{**vars(plain), "steps": [step]})
    assert _delay_near(stepped, 26.3) == (6.0, "step part")
    assert _delay_near(stepped, 35.3) == (210.0, "step part")
    drifting = NS(**{**vars(plain), "drift": DriftFit(60.0, 0.0, 3.0, 20, "drift")})
    assert _delay_near(drifting, 30.0) == (pytest.approx(30.0), "drift line")
    shots = [WindowEstimate(0.0, 20.0, -80.0, 0.8, False), WindowEstimate(20.0, 40.0, 300.0, 0.1, True)]
    edited = NS(**{**vars(plain), "shots": shots})
    assert _delay_near(edited, 11.0) == (-80.0, "shot")
    assert _delay_near(edited, 30.0) == (210.0, "file")  # an uncertain shot says nothing


def test_the_page_says_what_was_heard() -> None:
    """The words the phones came from: given (aligned), or the machine's, or none."""
    face2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    words = "the heart of my california congressional district right chase my own dreams growing up"
    page = render_html(check_sync(face2, transcript=words, keep_evidence=True))
    assert "What was heard" in page and "the words given, aligned" in page and words in page
    rep = check_sync(next(p for p in CLIPS if p.name == "retalking_face3.mp4"), keep_evidence=True)
    page = render_html(rep)
    if "align-auto" in rep.details["phones_from"]:
        assert "the words the machine recognised" in page
        assert rep.evidence.timelines[0].settings["machine_transcript"].split()[1] in page
    else:  # settled by phonetic recognition: no words were used
        assert "phonetic recognition only" in page
    assert "What was heard" not in render_html(check_sync(face2))  # no evidence kept: nothing said
