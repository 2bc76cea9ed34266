"""Text subtitles carried into a container that cannot hold their codec (``media.retext``):
the same cues, times, markup and tags, in the codec the output holds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import pytest

from mouthsync.media.remux import retime_audio
from mouthsync.media.subtitles import embedded_cues
from tests.conftest import CLIPS

FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
SRT = "1\n00:00:00,500 --> 00:00:02,000\n<i>Hello</i> there\n\n2\n00:00:02,500 --> 00:00:04,000\nSecond line\nwith two rows\n"


def _with_subtitles(tmp_path: Path, name: str, codec: str) -> Path:
    srt = tmp_path / "s.srt"
    srt.write_text(SRT, encoding="utf-8")
    out = tmp_path / name
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE2), "-i", str(srt), "-map", "0", "-map", "1",
                    "-c:v", "copy", "-c:a", "copy", "-c:s", codec, "-metadata:s:s:0", "language=fra", str(out)],
                   check=True)
    return out


def _marked(dialogue: str) -> str:
    """ASS dialogue text with its italics as <i></i> (decoders end a run with {\\i0} or a
    reset, {\\r})."""
    return dialogue.replace("{\\i1}", "<i>").replace("{\\i0}", "</i>").replace("{\\r}", "</i>")


def cues(path: Path) -> tuple[str, str | None, list[tuple[float, float, str]]]:
    """The first subtitle stream's codec and language, and its cues as ``check
    --transcript subtitles`` reads them (``embedded_cues``: start s, end s, the text as
    FFmpeg decodes it), italics marked."""
    with av.open(str(path)) as c:
        s = c.streams.subtitles[0]
        codec, lang = s.codec_context.codec.canonical_name, s.metadata.get("language")
    return codec, lang, [(round(q.start, 3), round(q.end, 3), _marked(q.text)) for q in embedded_cues(path)]


@pytest.mark.parametrize(("source", "codec", "out", "written"), [
    ("s.mkv", "subrip", "o.mp4", "mov_text"),
    ("s.mkv", "ass", "o.mov", "mov_text"),
    ("s.mp4", "mov_text", "o.mkv", "subrip"),
])
def test_subtitles_change_codec_with_the_container(tmp_path: Path, source: str, codec: str, out: str,
                                                   written: str) -> None:
    """fix into another container: the subtitle track is written in the codec that
    container holds, with every cue at its own time, its italics and its two rows, its
    language tag, and the record says so; nothing of it is moved with the sound."""
    src = _with_subtitles(tmp_path, source, codec)
    dst = tmp_path / out
    r = retime_audio(src, dst, shift_s=0.040)
    before, after = cues(src), cues(dst)
    assert after[0] == written and after[1] == "fra"
    assert after[2] == before[2]
    assert [c[2] for c in after[2]] == ["<i>Hello</i> there", "Second line\nwith two rows"]
    (act,) = [s for s in r.streams if s.kind == "subtitle"]
    assert act.action == "converted" and f"written as {written}: 2 cues" in act.note


def test_subtitles_are_dropped_where_the_container_holds_no_text(tmp_path: Path) -> None:
    """MPEG-TS has no text subtitle stream type (a copy became an opaque data stream):
    dropped, and said."""
    src = _with_subtitles(tmp_path, "s.mkv", "subrip")
    r = retime_audio(src, tmp_path / "o.ts", shift_s=0.040)
    (act,) = [s for s in r.streams if s.kind == "subtitle"]
    assert act.action == "dropped" and "no stream type for text subtitles" in act.note
    with av.open(str(tmp_path / "o.ts")) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
