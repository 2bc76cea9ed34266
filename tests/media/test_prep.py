"""prep on the real VFR clip and on built cases: constant rate, alignment, silence trim."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from mouthsync.core.errors import BadOutput
from mouthsync.media.decode import decode_audio, frame_times
from mouthsync.media.prep import parse_fps, prep
from mouthsync.media.probe import probe

from ..conftest import CLIPS
from .builders import delay_audio

FACE1 = next(p for p in CLIPS if p.name == "retalking_face1.mp4")
FACE4 = next(p for p in CLIPS if p.name == "retalking_face4.mp4")
RATE = 48000


def _lag(ref: np.ndarray, ref_start: float, other: np.ndarray, other_start: float) -> float:
    """Seconds by which ``other``'s sound sits later than ``ref``'s on the media timeline."""
    n = min(len(ref), 3 * RATE)
    a = ref[:n] - ref[:n].mean()
    b = other - other.mean()
    size = 1 << int(np.ceil(np.log2(len(a) + len(b))))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    k = int(np.argmax(corr))
    if k > size // 2:
        k -= size
    return other_start + k / RATE - ref_start


def _thumbs(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([
            f.to_ndarray(format="gray", width=96, height=96).astype(np.float32)
            for f in c.decode(video=0)
        ])


@pytest.fixture(scope="module")
def vfr_prep(tmp_path_factory):
    out = tmp_path_factory.mktemp("prep") / "face1.mp4"
    return prep(FACE1, out)


def test_vfr_becomes_constant_rate(vfr_prep) -> None:
    r = vfr_prep
    assert r.fps == pytest.approx(24000 / 1001)  # the standard rate nearest 22.13
    t = frame_times(r.path)
    assert len(t) == r.frame_count and t[0] == pytest.approx(0.0, abs=1e-9)
    gaps = np.diff(t)
    assert gaps.max() - gaps.min() < 1e-4  # evenly spaced
    info = probe(r.path, pictures=False)
    assert not info.video.vfr
    frame = 1 / r.fps
    assert abs(info.audio.duration - info.video.duration) <= frame
    assert info.audio.start == pytest.approx(0.0, abs=1e-6) and info.audio.sample_rate == RATE


def test_vfr_prep_keeps_sync_and_shows_the_right_pictures(vfr_prep) -> None:
    r = vfr_prep
    src, out = decode_audio(FACE1, rate=RATE), decode_audio(r.path, rate=RATE)
    # Output zero is the first picture (source 0.033 s): the sound keeps its source time.
    assert _lag(src.samples, src.start, out.samples, out.start) == pytest.approx(
        -r.source_time_at_output_zero, abs=0.001)
    # Each output frame is the source frame nearest its instant: no lag on average (the
    # frame on screen then, as a player holds it, lagged by half an interval: check read
    # -64 ms on the output of a clip that reads -35)
    src_t, src_img, out_img = frame_times(FACE1), _thumbs(FACE1), _thumbs(r.path)
    instants = r.source_time_at_output_zero + np.arange(r.frame_count) / r.fps
    expect = np.argmin(np.abs(src_t[None, :] - instants[:, None]), axis=1)
    err = np.abs(out_img - src_img[expect]).mean(axis=(1, 2))
    assert err.max() < 2.0
    assert abs(float(np.mean(src_t[expect] - instants))) < 0.005
    side = json.loads(r.sidecar.read_text())
    kinds = {c["kind"] for c in side["changes"]}
    assert {"video_retime", "audio_head", "audio_resample"} <= kinds
    assert side["source"]["sha256"] and side["settings"]["fps"] == "24000/1001"


def test_late_audio_is_padded_not_shifted(tmp_path: Path) -> None:
    late = delay_audio(FACE4, tmp_path / "late.mp4", 0.5)
    r = prep(late, tmp_path / "prepped.mp4")
    orig, out = decode_audio(FACE4, rate=RATE), decode_audio(r.path, rate=RATE)
    assert out.start == pytest.approx(0.0, abs=1e-6)  # the stream itself now starts at 0
    # The speech sits 0.5 s later than in the clip the case was built from.
    assert _lag(orig.samples, orig.start, out.samples, out.start) == pytest.approx(0.5, abs=0.001)
    # The picture is untouched: same times, same pictures.
    np.testing.assert_allclose(frame_times(r.path), frame_times(FACE4), atol=1e-6)
    assert np.abs(_thumbs(r.path) - _thumbs(FACE4)).mean(axis=(1, 2)).max() < 2.0
    head = next(c for c in r.changes if c["kind"] == "audio_head")
    assert head["action"] == "pad" and head["seconds"] == pytest.approx(0.5, abs=0.001)
    assert any(f.check == "prep.cut_speech" for f in r.findings)  # tail ran past the picture


def test_trim_silence_cuts_head_and_tail_only(tmp_path: Path) -> None:
    src = delay_audio(CLIPS[1], tmp_path / "quiet_head.mp4", 1.2)  # 1.2 s of no sound first
    speech = probe(src, pictures=False).audio.quality.speech_segments
    r = prep(src, tmp_path / "trimmed.mkv", trim_silence=True, margin=0.25)
    cut = next(c for c in r.changes if c["kind"] == "trim_silence")
    assert cut["head_s"] == pytest.approx(speech[0][0] - 0.25, abs=0.001)
    assert r.source_time_at_output_zero == pytest.approx(cut["head_s"], abs=1e-4)
    assert r.video_duration == pytest.approx(
        min(5.0, speech[-1][1] + 0.25) - cut["head_s"], abs=1 / r.fps)
    # Speech keeps its place against the picture; pauses inside stay.
    out = probe(r.path, pictures=False).audio.quality
    assert out.speech_segments[0][0] == pytest.approx(0.25, abs=0.031)
    inner = [(s - cut["head_s"], e - cut["head_s"]) for s, e in speech]
    # Segments inside the kept span come out where they were, gaps between them intact.
    for (s, e), (s2, e2) in zip(out.speech_segments[:-1], inner, strict=False):
        assert s2 == pytest.approx(s, abs=0.061) and e2 == pytest.approx(e, abs=0.061)
    assert len(out.speech_segments) >= 2


def test_explicit_fps_and_parse() -> None:
    assert parse_fps("29.97") == parse_fps("30000/1001")
    assert float(parse_fps("25")) == 25.0


def test_explicit_fps_resamples_by_time(tmp_path: Path) -> None:
    r = prep(FACE4, tmp_path / "f25.mp4", fps="25")
    assert r.frame_count == round(6.6333 * 25)
    assert frame_times(r.path)[-1] == pytest.approx((r.frame_count - 1) / 25, abs=1e-6)


def test_sidecar_rerun_reproduces_the_output(vfr_prep, tmp_path: Path) -> None:
    from mouthsync.cli import main

    side = json.loads(vfr_prep.sidecar.read_text())
    argv = side["rerun"].split()[1:]
    argv[argv.index("-o") + 1] = str(tmp_path / "again.mp4")
    assert main(argv) == 0
    np.testing.assert_allclose(frame_times(tmp_path / "again.mp4"), frame_times(vfr_prep.path))
    again = json.loads((tmp_path / "again.mp4.prep.json").read_text())
    assert again["changes"] == side["changes"]


def test_every_audio_stream_is_kept_in_sync(tmp_path: Path) -> None:
    """A master with a second language track: prep keeps it, tagged, on the same timeline
    (its 200 ms offset against the first track survives to the sample)."""
    import subprocess

    from .test_remux import audio_lag_samples

    src = tmp_path / "two.mov"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(CLIPS[1]), "-i", str(CLIPS[1]),
                    "-map", "0:v", "-map", "0:a", "-map", "1:a", "-c:v", "copy", "-c:a", "pcm_s16le",
                    "-filter:a:1", "adelay=200:all=1", "-metadata:s:a:1", "language=fra", str(src)], check=True)
    out = tmp_path / "prepped.mp4"
    r = prep(src, out)
    assert [c for c in r.changes if c["kind"] == "audio_streams"][0]["count"] == 2
    with av.open(str(out)) as c:
        assert [s.metadata.get("language") for s in c.streams.audio][1] == "fra"
        assert [s.sample_rate for s in c.streams.audio] == [48000, 48000]
    a0 = decode_audio(out, rate=48000, audio_stream=0)
    a1 = decode_audio(out, rate=48000, audio_stream=1)
    assert abs(audio_lag_samples(a0, a1, 20000) - 9600) <= 48  # 200 ms at 48 kHz, within 1 ms


def test_interlaced_source_becomes_progressive_at_its_first_fields(tmp_path: Path) -> None:
    """PAL interlaced footage (50 fields/s of real motion): prep deinterlaces it, and the
    mouth in the intermediate moves with the progressive copy made from the same 50 fps
    pictures (encoded progressive as it was, the fields stay blended for good)."""
    import subprocess

    from mouthsync.face.track import track_face

    inter, prog = tmp_path / "i.mp4", tmp_path / "p.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(FACE4), "-filter_complex",
         "[0:v]framerate=fps=50,scale=720:576,split[a][b];[a]tinterlace=mode=interleave_top,setfield=tff[i];"
         "[b]fps=25[p]", "-map", "[i]", "-map", "0:a", "-c:v", "libx264", "-flags", "+ildct+ilme", "-x264-params",
         "tff=1", "-crf", "18", str(inter), "-map", "[p]", "-c:v", "libx264", "-crf", "18", str(prog)], check=True)
    out = tmp_path / "prepped.mkv"
    prep(inter, out, fps="25")
    with av.open(str(out)) as c:
        assert not next(c.decode(video=0)).interlaced_frame
    a = track_face(prog, use_cache=False).mouth["aperture"]
    b = track_face(out, use_cache=False).mouth["aperture"]
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    slope = np.gradient(a)
    assert n >= 160 and np.corrcoef(a, b)[0, 1] > 0.985
    assert abs(np.sum((b - a) * slope) / np.sum(slope * slope)) < 0.15


def test_chapters_follow_the_output_timeline(tmp_path: Path) -> None:
    import subprocess

    meta = tmp_path / "chapters.txt"
    meta.write_text(";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\ntitle=Intro\n"
                    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=2000\nEND=6000\ntitle=Main\n")
    src = tmp_path / "chaptered.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(FACE4), "-i", str(meta), "-map", "0",
                    "-map_chapters", "1", "-c", "copy", str(src)], check=True)
    out = tmp_path / "prepped.mkv"
    r = prep(src, out)
    with av.open(str(out)) as c:
        got = [(float(ch["start"] * ch["time_base"]), float(ch["end"] * ch["time_base"]), ch["metadata"]["title"])
               for ch in c.chapters()]
    o = r.source_time_at_output_zero
    assert [g[2] for g in got] == ["Intro", "Main"]
    assert got[0][0] == 0.0 and got[1][0] == pytest.approx(2.0 - o, abs=0.002)


@pytest.mark.parametrize(("ext", "tc"), [(".mov", "10:00:00:00"), (".mp4", "10:00:00:00"), (".mkv", "01:02:03:04")])
def test_timecode_follows_the_output_timeline(tmp_path: Path, ext: str, tc: str) -> None:
    """A camera original with timecode: prep's copy starts at the label of the first frame
    it keeps (moved on by what --trim-silence cut), so it conforms back to the original."""
    import subprocess

    from mouthsync.media.timecode import picture_start_of_day, picture_timecode

    quiet = delay_audio(CLIPS[1], tmp_path / "quiet_head.mp4", 1.2)  # 1.2 s of no sound first
    src = tmp_path / f"camera{ext}"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(quiet), "-c", "copy", "-timecode", tc, str(src)],
                   check=True)
    kept = prep(src, tmp_path / f"kept{ext}")
    assert picture_timecode(kept.path) == (tc, kept.fps)
    r = prep(src, tmp_path / f"trimmed{ext}", trim_silence=True)
    moved = next(c for c in r.changes if c["kind"] == "timecode")
    assert moved["from"] == tc and moved["to"] != tc
    skipped = r.source_time_at_output_zero - probe(src, pictures=False).video.start
    assert skipped > 0.5
    got = picture_start_of_day(r.path)
    assert got is not None and got - picture_start_of_day(src) == pytest.approx(skipped, abs=0.5 / r.fps)
    assert json.loads(r.sidecar.read_text())["changes"][-2]["kind"] in ("timecode", "encode")


def test_an_edit_list_start_keeps_the_picture_with_its_sound(tmp_path: Path) -> None:
    """``ffmpeg -ss 0.3 -c copy`` keeps the frames before the cut point (back to a
    keyframe) in the file, flagged discard, behind an edit list. Counted as shown, they
    put every decoded frame 8 frames early, and prep's output read +377 ms where its
    input read +48 ms."""
    import subprocess

    cut = tmp_path / "cut.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", "0.3", "-i", str(CLIPS[1]), "-c", "copy", str(cut)],
                   check=True)
    shown = _thumbs(cut)
    t = frame_times(cut)
    assert len(t) == len(shown) and t[0] == pytest.approx(0.0, abs=1e-6)
    info = probe(cut, use_cache=False)
    assert info.video.frame_count == len(shown) and not any(f.check == "timing.start_offset" for f in info.findings)
    r = prep(cut, tmp_path / "prepped.mov")
    assert r.frame_count == len(shown)
    assert np.abs(_thumbs(r.path) - shown).mean(axis=(1, 2)).max() < 2.0
    src, out = decode_audio(cut, rate=RATE), decode_audio(r.path, rate=RATE)
    assert _lag(src.samples, src.start, out.samples, out.start) == pytest.approx(0.0, abs=0.001)


def test_phone_rotation_and_wide_pixels_are_applied_to_the_picture(tmp_path: Path) -> None:
    """A re-encoded stream carries no display rotation or pixel aspect: prep's output came
    out sideways for phone footage and squeezed for 4:3 pixels. It is upright and square
    now, as players showed the source, and the sidecar says so."""
    from tests.sync.builders import ffmpeg as ff

    src = CLIPS[1]
    turned = tmp_path / "turned.mp4"
    ff("-i", str(src), "-vf", "transpose=2", "-c:a", "copy", str(turned))  # stored sideways
    phone = tmp_path / "phone.mp4"
    ff("-i", str(turned), "-c", "copy", "-metadata:s:v:0", "rotate=270", str(phone))
    r = prep(phone, tmp_path / "phone_prep.mp4")
    assert any(c["kind"] == "upright" and c["rotation_deg"] == 270 for c in r.changes)
    upright = _thumbs(src)
    assert np.abs(_thumbs(r.path) - upright).mean(axis=(1, 2)).mean() < 4.0
    assert np.abs(_thumbs(turned) - upright).mean(axis=(1, 2)).mean() > 10.0  # the stored pixels differ

    with av.open(str(src)) as c:
        w, h = c.streams.video[0].width, c.streams.video[0].height
    narrow = tmp_path / "narrow.mp4"
    ff("-i", str(src), "-vf", f"scale={w * 3 // 4 // 2 * 2}:{h},setsar=4/3", "-c:a", "copy", str(narrow))
    r = prep(narrow, tmp_path / "narrow_prep.mp4")
    assert any(c["kind"] == "square_pixels" and c["sar"] == "4:3" for c in r.changes)
    with av.open(str(r.path)) as c:
        out = c.streams.video[0]
        assert abs(out.width / out.height - w / h) < 0.02


@pytest.mark.parametrize("suffix", [".webm", ".wav", ".mxf", ".avi"])
def test_containers_that_cannot_hold_the_intermediate_are_refused_in_one_line(tmp_path: Path, suffix: str) -> None:
    """WebM and WAV crashed with a traceback, MXF blamed the source ("video cannot be
    decoded"), AVI wrote B-frames it cannot time."""
    out = tmp_path / f"o{suffix}"
    with pytest.raises(BadOutput, match=r"prep writes H\.264"):
        prep(CLIPS[1], out)
    assert list(tmp_path.iterdir()) == []


def test_what_the_intermediate_leaves_out_is_said(tmp_path: Path) -> None:
    """An attachment (a font, a script) and a 5.1 layout went missing without a word in
    the summary or record (text subtitles are carried now: below)."""
    import subprocess

    srt = tmp_path / "words.srt"
    srt.write_text("1\n00:00:00,500 --> 00:00:02,000\nhello\n")
    src = tmp_path / "master.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(CLIPS[1]), "-i", str(srt),
                    "-map", "0", "-map", "1", "-c:v", "copy", "-c:a", "aac", "-ac", "6", "-c:s", "srt",
                    "-attach", str(srt), "-metadata:s:t", "mimetype=text/plain", str(src)], check=True)
    r = prep(src, tmp_path / "o.mkv")
    kinds = {c["kind"]: c for c in r.changes}
    assert kinds["audio_downmix"]["from_channels"] == 6 and kinds["audio_downmix"]["to_channels"] == 2
    assert kinds["streams_left_out"]["streams"] == ["attachment words.srt (stream 3)"]
    assert [s["stream"] for s in kinds["subtitles"]["streams"]] == [2]


def test_text_subtitles_move_with_the_cut(tmp_path: Path) -> None:
    """Three seconds of black and silence before the talk, trimmed: the cues move by the
    cut onto the intermediate's timeline (in MP4, as mov_text), a cue shown only in the
    cut-off silence is left out, and the language tag stays."""
    import subprocess

    head = tmp_path / "head.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=844x844:r=25:d=3",
                    "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono:d=3", "-i", str(CLIPS[1]), "-filter_complex",
                    "[2:a]aformat=channel_layouts=mono[a2];[0:v][1:a][2:v][a2]concat=n=2:v=1:a=1[v][a]",
                    "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-crf", "18", "-c:a", "aac", str(head)], check=True)
    srt = tmp_path / "words.srt"
    srt.write_text("1\n00:00:03,500 --> 00:00:05,000\n<i>Hello</i> there\n\n"
                   "2\n00:00:00,500 --> 00:00:01,000\nin the silence\n\n"
                   "3\n00:00:05,500 --> 00:00:07,000\nSecond line\n")
    src = tmp_path / "master.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(head), "-i", str(srt), "-map", "0", "-map", "1",
                    "-c", "copy", "-c:s", "srt", "-metadata:s:s:0", "language=fra", str(src)], check=True)
    r = prep(src, tmp_path / "o.mp4", trim_silence=True)
    cut = r.source_time_at_output_zero
    assert cut > 2.5
    from tests.media.test_retext import cues

    codec, lang, got = cues(r.path)
    assert codec == "mov_text" and lang == "fra"
    assert [c[2] for c in got] == ["<i>Hello</i> there", "Second line"]
    _, _, was = cues(src)
    want = [t - cut for a, b, text in was if text != "in the silence" for t in (a, b)]
    assert [t for a, b, _ in got for t in (a, b)] == pytest.approx(want, abs=0.002)
    kinds = {c["kind"]: c for c in r.changes}
    assert kinds["subtitles"]["streams"] == [{"stream": 2, "from": "srt", "to": "mov_text", "cues": 2}]
