"""Timeline markers and review subtitles (``media.markers``): the clock, the CSV's columns,
the cues, and a real file's own timecode."""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

import pytest

from mouthsync.core.errors import BadInput
from mouthsync.media.markers import (
    Marker,
    check_options,
    csv_text,
    layered_cues,
    make_clock,
    marker_format,
    picture_clock,
    srt_text,
)
from tests.conftest import CLIPS
from tests.sync.builders import ffmpeg


def _m(a: float, b: float, text: str, colour: str = "Red", columns: tuple = ()) -> Marker:
    return Marker(a, b, "k", colour, text[:10], text, columns)


def test_a_marker_takes_only_resolves_colours() -> None:
    with pytest.raises(ValueError, match="colour"):
        _m(0, 1, "x", colour="Orange")


def test_the_clock_counts_from_the_first_frame_in_the_timecode_given() -> None:
    c = make_clock(25.0, origin_s=0.48)
    assert c.label(0.48) == "01:00:00:00" and c.label(0.0) == "01:00:00:00"  # nothing before the first frame
    assert c.label(10.48) == "01:00:10:00" and c.label(10.48, later_frames=1) == "01:00:10:01"
    assert c.frames(1.0, 2.0) == 25 and c.frames(1.0, 1.0) == 1
    ntsc = make_clock(29.97, timecode=("10:00:00;00", Fraction(30000, 1001)))
    assert ntsc.drop and ntsc.label(60.06) == "10:01:00;02"  # drop-frame skips ;00 and ;01
    assert make_clock(25.0, timecode=("10:00:00:00", Fraction(25)), start="00:00:00:00").label(1.0) == "00:00:01:00"
    with pytest.raises(BadInput, match="not a timecode at 25.000"):
        make_clock(25.0, start="00:00:00:25")
    # a file's own tag that is no timecode is passed over; the user's is refused
    assert make_clock(25.0, timecode=("garbage", Fraction(25))).start_label == "01:00:00:00"
    check_options(None, None)
    check_options("m.edl", "01:00:00:00")
    check_options("folder", None, folder=True)  # several files: a folder, no suffix to read
    with pytest.raises(BadInput, match="not a timecode"):
        check_options("m.edl", "one o'clock")
    with pytest.raises(BadInput, match="goes with --markers"):
        check_options(None, "01:00:00:00")
    with pytest.raises(BadInput, match="suffix"):
        check_options("m.txt", None)
    with pytest.raises(BadInput, match="suffix"):
        marker_format("m.txt")
    assert marker_format("M.EDL") == ".edl"


def test_csv_columns_are_the_union_of_the_markers() -> None:
    rows = list(csv.DictReader(io.StringIO(csv_text(
        [_m(0, 0, "a", columns=(("x", 1),)), _m(1, 2, "b", columns=(("y", "2"), ("x", None)))], make_clock(25.0)))))
    assert list(rows[0]) == ["start_s", "end_s", "start_tc", "end_tc", "kind", "colour", "name", "x", "y", "text"]
    assert (rows[0]["x"], rows[0]["y"], rows[1]["x"], rows[1]["y"]) == ("1", "", "", "2")
    assert rows[1]["end_tc"] == "01:00:02:00" and rows[1]["colour"] == "red"


def test_cues_follow_each_other_and_say_what_covers_them() -> None:
    marks = [_m(0, 0, "head"), _m(3, 4, "span"), _m(5, 5, "moment")]
    cues = layered_cues(marks, 0.0, 10.0, head_s=1.5, base=lambda t: "early" if t < 6 else "late", bounds=[6.0])
    assert [(a, b, lines) for a, b, lines in cues] == [
        (0.0, 1.5, ["early", "head"]), (1.5, 3.0, ["early"]), (3.0, 4.0, ["early", "span"]), (4.0, 5.0, ["early"]),
        (5.0, 6.0, ["early", "moment"]), (6.0, 7.0, ["late", "moment"]), (7.0, 10.0, ["late"])]
    # without a base line, stretches with nothing to say are left out
    bare = layered_cues(marks, 0.0, 10.0, head_s=1.5)
    assert [(a, b) for a, b, _ in bare] == [(0.0, 1.5), (3.0, 4.0), (5.0, 7.0)]
    assert srt_text(bare, origin_s=0.0).startswith("1\n00:00:00,000 --> 00:00:01,500\nhead\n")


def test_a_files_own_timecode_labels_its_first_frame(tmp_path: Path) -> None:
    clip = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    mov = tmp_path / "tc.mov"
    ffmpeg("-i", str(clip), "-c", "copy", "-timecode", "09:59:58:10", str(mov))
    c = picture_clock(mov)
    assert c.rate == 25 and c.label(c.origin_s) == "09:59:58:10" and c.label(c.origin_s + 2.0) == "10:00:00:10"
    assert picture_clock(clip).label(0.0) == "01:00:00:00"  # none of its own
