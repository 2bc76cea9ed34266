"""Subtitles as a transcript (``media.subtitles``): SubRip, WebVTT and ASS files and a
video's own text subtitle stream, read down to the spoken words."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mouthsync.core.errors import BadInput
from mouthsync.media.subtitles import (
    embedded_cues,
    parse_ass,
    parse_srt_or_vtt,
    read_subtitle_file,
    read_transcript,
    spoken_text,
    timed_cues,
    timed_text,
    transcript_of,
)
from tests.conftest import CLIPS

WORDS = "The heart of my California congressional district, right, chase my own dreams growing up."

SRT = """1
00:00:00,100 --> 00:00:02,300
<i>JOHN:</i> The heart of my California
congressional district,

2
00:00:02,400 --> 00:00:04,900 X1:40 X2:600 Y1:20 Y2:50
[applause]
- right, chase my own dreams growing up.
"""

VTT = """\ufeffWEBVTT - a talk

NOTE cues may carry an identifier and settings

intro
00:00.100 --> 00:02.300 align:start position:10%
<v Roger Bingham>The heart of my <i>California</i>
&gt;&gt; congressional district,

00:00:02.400 --> 00:00:04.900
<c.yellow>\u266a right, chase my own dreams \u266a</c> (laughs) growing up.
"""

ASS = """[Script Info]
Title: talk

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:00.10,0:00:02.30,Default,,0,0,0,,{\\i1}JOHN:{\\i0} The heart of my California\\Ncongressional district,
Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,a note for the typesetter
Dialogue: 0,0:00:02.40,0:00:04.90,Default,,0,0,0,,[applause]\\N- right, chase my own dreams growing up.
"""


def test_subrip_webvtt_and_ass_give_the_same_words_and_times() -> None:
    for cues in (parse_srt_or_vtt(SRT), parse_srt_or_vtt(VTT.replace("\n", "\r\n")), parse_ass(ASS)):
        assert [(c.start, c.end) for c in cues] == [(0.1, 2.3), (2.4, 4.9)]
        assert transcript_of(cues) == WORDS


def test_spoken_text_keeps_the_words_only() -> None:
    assert spoken_text("DR. SMITH: Come in.") == "Come in."
    assert spoken_text("Note: this is said") == "Note: this is said"  # a label is in capitals
    assert spoken_text(">> And now the news.") == "And now the news."
    assert spoken_text("-Hello.\n-Hi there.") == "Hello. Hi there."
    assert spoken_text("[door slams] (sighs) Fine &amp; dandy") == "Fine & dandy"
    assert spoken_text("<font color='#ffff00'>Yes</font> {\\an8}no") == "Yes no"
    assert spoken_text("<ruby>\u6f22<rt>kan</rt></ruby>") == "\u6f22"
    assert spoken_text("\u266a (music) \u266a") == ""


def test_timed_text_is_subrip_of_the_spoken_words() -> None:
    timed = timed_text(parse_ass(ASS))
    assert timed.splitlines()[:3] == ["1", "00:00:00,100 --> 00:00:02,300", "The heart of my California congressional district,"]
    assert [c.text for c in timed_cues(timed)] == [c.spoken for c in parse_ass(ASS)]
    assert timed_text(parse_srt_or_vtt("1\n00:00:01,000 --> 00:00:02,000\n[music]\n")) == ""


def test_files_are_read_by_suffix_and_latin1_is_accepted(tmp_path: Path) -> None:
    for suffix, text in ((".srt", SRT), (".vtt", VTT), (".ass", ASS)):
        p = tmp_path / f"talk{suffix}"
        p.write_text(text, encoding="utf-8")
        assert transcript_of(read_subtitle_file(p)) == WORDS
    old = tmp_path / "old.srt"
    old.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nCaf\u00e9 cr\u00e8me\n".encode("latin-1"))
    assert transcript_of(read_subtitle_file(old)) == "Caf\u00e9 cr\u00e8me"
    empty = tmp_path / "empty.srt"
    empty.write_text("not subtitles at all\n")
    with pytest.raises(BadInput, match="no subtitles found"):
        read_subtitle_file(empty)


def _with_subtitles(tmp_path: Path, suffix: str, codec: str) -> Path:
    srt = tmp_path / "talk.srt"
    srt.write_text(SRT, encoding="utf-8")
    out = tmp_path / f"talk{suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(CLIPS[1]), "-i", str(srt), "-map", "0", "-map", "1",
                    "-c", "copy", "-c:s", codec, str(out)], check=True)
    return out


@pytest.mark.parametrize(("suffix", "codec"), [(".mkv", "srt"), (".mp4", "mov_text"), (".mkv", "ass")])
def test_a_videos_own_text_subtitles_are_read(tmp_path: Path, suffix: str, codec: str) -> None:
    video = _with_subtitles(tmp_path, suffix, codec)
    cues = embedded_cues(video)
    assert transcript_of(cues) == WORDS
    # the file's clock: Matroska may move every stream by the sound's encoder delay
    assert [round(c.start, 1) for c in cues] == pytest.approx([0.1, 2.4], abs=0.05)
    assert transcript_of(timed_cues(read_transcript("subtitles", video))) == WORDS


def test_the_transcript_option_reads_files_and_passes_modes_through(tmp_path: Path) -> None:
    clip = CLIPS[1]
    for mode in ("auto", "always"):
        assert read_transcript(mode, clip) == mode
    for nothing in (None, "none", "None", " "):
        assert read_transcript(nothing, clip) is None  # phonetic recognition alone
    assert read_transcript("hello there", clip) == "hello there"
    txt = tmp_path / "words.txt"
    txt.write_text("hello there\n", encoding="utf-8")
    assert read_transcript(str(txt), clip) == "hello there\n"
    srt = tmp_path / "talk.srt"
    srt.write_text(SRT, encoding="utf-8")
    timed = read_transcript(str(srt), clip)  # the words keep their cues' times
    assert transcript_of(timed_cues(timed)) == WORDS
    assert [(c.start, c.end) for c in timed_cues(timed)] == [(0.1, 2.3), (2.4, 4.9)]
    assert timed_cues("plain words --> not a timing line") == []
    with pytest.raises(BadInput, match="no subtitle stream"):
        read_transcript("subtitles", clip)
    silent = tmp_path / "sounds.srt"
    silent.write_text("1\n00:00:01,000 --> 00:00:02,000\n[music]\n", encoding="utf-8")
    with pytest.raises(BadInput, match="no spoken words"):
        read_transcript(str(silent), clip)
