"""Re-timing audio under an untouched picture: exact packets, exact samples, kept metadata."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from scipy.signal import correlate, resample_poly

from mouthsync.core.errors import BadOutput, NoAudio
from mouthsync.media.decode import Audio, decode_audio
from mouthsync.media.remux import plan_mode, retime_audio

from ..conftest import CLIPS, SILENT, WILD

FACE1 = next(p for p in CLIPS if p.name == "retalking_face1.mp4")  # VFR, title/comment tags
FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")


def packets(
    path: Path, kind: str = "video"
) -> list[tuple[Fraction | None, Fraction | None, bytes]]:
    """(pts seconds, dts seconds, payload) of every packet of the first stream of ``kind``."""
    out = []
    with av.open(str(path)) as c:
        s = c.streams.video[0] if kind == "video" else c.streams.audio[0]
        tb = Fraction(s.time_base)
        for p in c.demux(s):
            if p.size == 0:
                continue
            out.append(
                (
                    None if p.pts is None else p.pts * tb,
                    None if p.dts is None else p.dts * tb,
                    bytes(p),
                )
            )
    return out


def timeline(a: Audio) -> tuple[np.ndarray, int]:
    """Samples (mono) and the timeline index of the first one."""
    return a.mono.astype(np.float64), int(round(a.start * a.rate))


def audio_lag_samples(ref: Audio, moved: Audio, max_lag: int) -> int:
    """L such that ``moved(t) ~ ref(t - L)`` on the shared timeline, by cross-correlation.

    Both are placed by their start times, so a lag found here is a real move on the
    media timeline, not an artefact of where decoding began.
    """
    assert ref.rate == moved.rate
    x, x0 = timeline(ref)
    y, y0 = timeline(moved)
    lo = min(x0, y0)
    n = max(x0 + x.size, y0 + y.size) - lo
    xa = np.zeros(n)
    ya = np.zeros(n)
    xa[x0 - lo : x0 - lo + x.size] = x
    ya[y0 - lo : y0 - lo + y.size] = y
    c = correlate(ya, xa, mode="full", method="fft")
    lags = np.arange(-n + 1, n)
    keep = np.abs(lags) <= max_lag
    return int(lags[keep][np.argmax(c[keep])])


def native_rate(path: Path) -> int:
    with av.open(str(path)) as c:
        return c.streams.audio[0].codec_context.sample_rate


@pytest.fixture(scope="module")
def pcm_mkv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FACE2 with its audio as PCM in Matroska (lossless, no priming, 1 ms time base)."""
    out = tmp_path_factory.mktemp("remux") / "face2_pcm.mkv"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(FACE2),
            "-c:v",
            "copy",
            "-c:a",
            "pcm_s16le",
            str(out),
        ],
        check=True,
    )
    return out


@pytest.mark.parametrize(
    ("src_name", "suffix", "shift_s", "mode"),
    [
        ("face2", ".mp4", -0.080, "copy"),  # earlier: edit list trims the head, lossless
        ("face2", ".mp4", -0.3, "copy"),
        ("face2", ".mp4", 0.080, "encode"),  # later: AAC priming forbids a copy
        ("face2", ".mp4", 0.0123, "encode"),  # sub-frame, not a multiple of anything
        ("wild", ".mp4", -0.0471, "copy"),  # 16 kHz mono
        ("wild", ".mp4", 0.120, "encode"),
        ("face1", ".mov", -0.040, "copy"),  # VFR picture, MOV output
        ("pcm", ".mkv", 0.080, "encode"),  # PCM is rewritten: as lossless, and exact
        ("pcm", ".mkv", -0.0123, "encode"),  # Matroska cannot start audio before zero
    ],
)
def test_audio_moves_exactly_and_video_packets_are_untouched(
    tmp_path: Path, pcm_mkv: Path, src_name: str, suffix: str, shift_s: float, mode: str
) -> None:
    src = {"face2": FACE2, "face1": FACE1, "wild": WILD[0], "pcm": pcm_mkv}[src_name]
    out = tmp_path / f"out{suffix}"
    r = retime_audio(src, out, shift_s=shift_s)
    assert r.audio_mode == mode
    rate = native_rate(src)
    want = int(round(shift_s * rate))
    assert r.shift_samples == want
    # the picture: same bytes, same presentation and decode times, same count
    assert packets(out) == packets(src)
    assert r.video_packets == len(packets(src))
    # the sound: moved by exactly the requested number of samples
    a = decode_audio(src, rate=rate)
    b = decode_audio(out, rate=rate)
    assert audio_lag_samples(a, b, max_lag=abs(want) + rate // 10) == want
    if mode == "copy" or src_name == "pcm":
        # lossless paths: the overlapping samples are identical, bit for bit (not within a
        # tolerance: "PCM is rewritten losslessly" is a claim this test backs)
        x, x0 = timeline(a)
        y, y0 = timeline(b)
        off = y0 - want - x0  # y[j] == x[j + off]
        lo, hi = max(0, -off), min(y.size, x.size - off)
        assert hi - lo > rate  # more than a second overlaps
        np.testing.assert_array_equal(y[lo:hi], x[lo + off : hi + off])


def test_copy_keeps_audio_packets_bit_exact(tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    retime_audio(FACE2, out, shift_s=-0.040)
    src = {p[2] for p in packets(FACE2, "audio")}
    got = packets(out, "audio")
    assert got and all(p[2] in src for p in got)


def test_metadata_and_stream_tags_kept(tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    retime_audio(FACE1, out, shift_s=0.05)  # encode path: the audio stream is new
    with av.open(str(FACE1)) as a, av.open(str(out)) as b:
        for key in ("title", "comment"):
            assert b.metadata.get(key) == a.metadata[key]
        assert [s.type for s in b.streams] == [s.type for s in a.streams]
        for sa, sb in zip(a.streams, b.streams, strict=True):
            assert sb.metadata.get("language") == sa.metadata.get("language")
            assert sb.metadata.get("handler_name") == sa.metadata.get("handler_name")
        assert (
            b.streams.audio[0].codec_context.sample_rate
            == a.streams.audio[0].codec_context.sample_rate
        )
        assert (
            b.streams.audio[0].codec_context.channels == a.streams.audio[0].codec_context.channels
        )


@pytest.mark.parametrize("ratio", [(1001, 1000), (1000, 1001), (25, 24)])
def test_drift_resample_changes_duration_by_the_ratio(
    tmp_path: Path, pcm_mkv: Path, ratio: tuple[int, int]
) -> None:
    """Output(t) = input(speed * t), checked against SciPy's independent polyphase resampler."""
    speed = ratio[0] / ratio[1]
    out = tmp_path / "o.mkv"
    r = retime_audio(pcm_mkv, out, speed=speed)
    assert r.audio_mode == "encode" and r.speed == speed
    assert packets(out) == packets(pcm_mkv)
    rate = native_rate(pcm_mkv)
    x = decode_audio(pcm_mkv, rate=rate).mono.astype(np.float64)
    y = decode_audio(out, rate=rate).mono.astype(np.float64)
    assert y.size == x.size  # the sound keeps its span; the content inside it is rescaled
    ref = resample_poly(x, ratio[1], ratio[0])  # ref[m] = x(m * speed)
    # the content now ends at n / speed: silence after it (speed > 1), none missing before
    end = int(x.size / speed)
    m = min(end, ref.size, y.size) - 200
    if speed > 1:
        assert np.max(np.abs(y[end + 50 :])) < 1e-3
    err = y[200:m] - ref[200:m]
    rel = np.sqrt(np.mean(err**2) / np.mean(ref[200:m] ** 2))
    assert rel < 0.02
    # aligned to the sample at the end of the file too, where a wrong ratio shows most
    tail_y, tail_ref = y[m - rate : m], ref[m - rate : m]
    c = correlate(tail_y, tail_ref[50:-50], mode="valid")
    assert int(np.argmax(c)) - 50 == 0


def test_plan_mode_reasons() -> None:
    assert plan_mode(FACE2, "x.mp4", shift_s=-0.04, speed=1.0)[0] == "copy"
    assert plan_mode(FACE2, "x.mp4", shift_s=0.04, speed=1.0)[0] == "encode"
    assert plan_mode(FACE2, "x.mkv", shift_s=-0.04, speed=1.0)[0] == "encode"
    assert plan_mode(FACE2, "x.mp4", shift_s=0.0, speed=1.001)[0] == "encode"


def test_refusals_leave_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(BadOutput, match="overwrite the input"):
        retime_audio(FACE2, FACE2, shift_s=-0.04)
    with pytest.raises(BadOutput, match="suffix"):
        retime_audio(FACE2, tmp_path / "o.xyz", shift_s=-0.04)
    with pytest.raises(BadOutput, match="cannot copy"):
        retime_audio(FACE2, tmp_path / "o.mp4", shift_s=0.04, mode="copy")
    with pytest.raises(NoAudio):
        retime_audio(SILENT[0], tmp_path / "s.mp4", shift_s=0.04)
    assert list(tmp_path.iterdir()) == []


def decode_stream(path: Path, index: int) -> Audio:
    """Mono float samples of audio stream ``index`` at its own rate (any stream, not just the first)."""
    with av.open(str(path)) as c:
        s = c.streams[index]
        rate = s.codec_context.sample_rate
        rs = av.AudioResampler(format="fltp", layout="mono", rate=rate)
        chunks, start = [], None
        for f in c.decode(s):
            if start is None:
                start = float(f.time)
            chunks += [o.to_ndarray()[0] for o in rs.resample(f)]
        chunks += [o.to_ndarray()[0] for o in rs.resample(None)]
    return Audio(np.concatenate(chunks), rate, start or 0.0)


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FACE2 plus a second (German-tagged, mono) audio track and an English subtitle track."""
    d = tmp_path_factory.mktemp("multi")
    srt = d / "s.srt"
    srt.write_text(
        "1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> 00:00:04,000\nAgain\n"
    )
    out = d / "multi.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(FACE2),
            "-i",
            str(srt),
            "-map",
            "0:v",
            "-map",
            "0:a",
            "-map",
            "0:a",
            "-map",
            "1",
            "-c:v",
            "copy",
            "-c:a:0",
            "copy",
            "-c:a:1",
            "aac",
            "-ac:a:1",
            "1",
            "-c:s",
            "mov_text",
            "-metadata:s:a:1",
            "language=deu",
            "-metadata:s:s:0",
            "language=eng",
            "-metadata",
            "title=multi",
            str(out),
        ],
        check=True,
    )
    return out


def stream_packets(path: Path, index: int) -> list[tuple[Fraction | None, bytes]]:
    with av.open(str(path)) as c:
        s = c.streams[index]
        return [
            (None if p.pts is None else p.pts * Fraction(s.time_base), bytes(p))
            for p in c.demux(s)
            if p.size
        ]


@pytest.mark.parametrize("shift_s", [-0.040, 0.040])  # copy, encode
def test_every_stream_kept_in_order_and_every_audio_track_moved(
    tmp_path: Path, multi: Path, shift_s: float
) -> None:
    out = tmp_path / "o.mp4"
    r = retime_audio(multi, out, shift_s=shift_s)
    assert r.audio_mode == ("copy" if shift_s < 0 else "encode")
    with av.open(str(multi)) as a, av.open(str(out)) as b:
        assert b.metadata.get("title") == "multi"
        assert [(s.type, s.metadata.get("language")) for s in b.streams] == [
            (s.type, s.metadata.get("language")) for s in a.streams
        ]
    assert stream_packets(out, 0) == stream_packets(multi, 0)  # picture
    assert stream_packets(out, 3) == stream_packets(multi, 3)  # subtitles untouched
    for index in (1, 2):
        x, y = decode_stream(multi, index), decode_stream(out, index)
        want = int(round(shift_s * x.rate))
        assert audio_lag_samples(x, y, abs(want) + 2000) == want


@pytest.mark.parametrize("shift_s", [-0.040, 0.040])  # copy, encode
def test_only_the_chosen_audio_stream_moves(tmp_path: Path, multi: Path, shift_s: float) -> None:
    """A dub track off against a picture whose original track is right: move that one
    (audio stream 1, file stream 2) and copy the original's packets untouched."""
    out = tmp_path / "o.mp4"
    r = retime_audio(multi, out, shift_s=shift_s, audio_stream=1)
    actions = {s.index: s.action for s in r.streams}
    assert actions[1] == "copied" and actions[2] in ("audio-retimed", "audio-reencoded")
    for index in (0, 1, 3):  # picture, original sound, subtitles
        assert stream_packets(out, index) == stream_packets(multi, index)
    x, y = decode_stream(multi, 2), decode_stream(out, 2)
    want = int(round(shift_s * x.rate))
    assert audio_lag_samples(x, y, abs(want) + 2000) == want


def test_a_missing_audio_stream_is_named(tmp_path: Path, multi: Path) -> None:
    from mouthsync.core.errors import BadInput

    with pytest.raises(BadInput, match=r"has 2 audio streams \(0\.\.1\); there is no audio stream 2"):
        retime_audio(multi, tmp_path / "o.mp4", shift_s=0.04, audio_stream=2)
    assert not list(tmp_path.iterdir())
    assert decode_audio(multi, rate=16000, audio_stream=1).duration == pytest.approx(5.0, abs=0.05)


def test_map_pieces_moves_each_stretch_exactly_and_fades_at_the_switch() -> None:
    from mouthsync.media.remux import PIECE_FADE_S, map_pieces

    rate = 1000
    x = np.random.default_rng(3).standard_normal((2, 3000)).astype(np.float32)
    y, ks = map_pieces(x, rate, 0.5, [(0.0, 0.010), (1.5, -0.200), (2.5, 0.0)])
    assert ks == [10, -200, 0]
    half = int(round(PIECE_FADE_S * rate / 2)) or 1
    # away from the switches each stretch is the input moved by its own whole samples
    np.testing.assert_array_equal(y[:, 10 : 1000 - half], x[:, : 990 - half])  # out(j) = in(j - 10)
    np.testing.assert_array_equal(y[:, 1000 + half : 2000 - half], x[:, 1200 + half : 2200 - half])
    np.testing.assert_array_equal(y[:, 2000 + half :], x[:, 2000 + half :])
    assert not y[:, :10].any()  # nothing before the input's first sample
    # at a switch the two moved signals are mixed, never louder than both
    j = 1000
    a, b = x[:, j - 10], x[:, j + 200]
    assert np.all(np.abs(y[:, j]) <= np.maximum(np.abs(a), np.abs(b)) + 1e-6)


def test_sample_blocks_read_the_input_on_the_clock_line_a_block_at_a_time() -> None:
    """A drift correction reads in(speed * t - shift) at every output sample; the samples
    are made a block at a time (memory), so block edges must not show and the values must
    be those of the spline at the whole position array."""
    from mouthsync.media.remux import resample_at, sample_blocks

    rate, start, shift, speed = 8000, 0.25, 0.0123, 1.001
    t = np.arange(20000) / rate
    x = np.stack([np.sin(2 * np.pi * 440 * t), np.cos(2 * np.pi * 97 * t)]).astype(np.float32)
    blocks, k = sample_blocks(x, rate, start, shift, speed, block=3000)
    parts = list(blocks)
    assert [p.shape[1] for p in parts] == [3000] * 6 + [2000]
    y = np.concatenate(parts, axis=1)
    assert k == round(shift * rate) and y.shape == x.shape
    tt = start + np.arange(x.shape[-1]) / rate
    want = resample_at(x, (speed * tt - shift - start) * rate)
    np.testing.assert_allclose(y, want, atol=1e-6)
    # and the spline itself is the analytic signal, away from both ends
    u = speed * tt - shift - start
    ok = (u > 0.01) & (u < t[-1] - 0.01)
    np.testing.assert_allclose(y[0, ok], np.sin(2 * np.pi * 440 * u[ok]), atol=2e-3)


def test_sample_blocks_at_speed_one_are_the_input_moved_by_whole_samples() -> None:
    """Without drift the blocks copy the samples exactly, silence where nothing was, and
    agree with :func:`shift_exact` over the same span (the two exact paths are one)."""
    from mouthsync.media.remux import sample_blocks, shift_exact

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 10007)).astype(np.float32)
    for shift_s, want_k in ((0.0123, 98), (-0.0123, -98), (2.0, 16000)):
        blocks, k = sample_blocks(x, 8000, 0.0, shift_s, 1.0, block=1000)
        y = np.concatenate(list(blocks), axis=1)
        assert k == want_k
        np.testing.assert_array_equal(y, shift_exact(x, k))
        np.testing.assert_array_equal(y[1], shift_exact(x[1], k))  # one channel (split microphones)
        if 0 < k < x.shape[1]:
            np.testing.assert_array_equal(y[:, k:], x[:, : x.shape[1] - k])
            assert not y[:, :k].any()


def test_pieces_reencode_the_audio_and_copy_the_picture(tmp_path: Path, pcm_mkv: Path) -> None:
    out = tmp_path / "pieces.mkv"
    r = retime_audio(pcm_mkv, out, pieces=[(0.0, 0.0), (2.0, -0.120)])
    assert r.audio_mode == "encode" and "from 2.000 s" in next(s.note for s in r.streams if s.kind == "audio")
    assert packets(out) == packets(pcm_mkv)
    rate = native_rate(pcm_mkv)
    a = decode_audio(pcm_mkv, rate=rate)
    b = decode_audio(out, rate=rate)
    k = int(round(0.120 * rate))
    x, x0 = timeline(a)
    y, y0 = timeline(b)
    assert x0 == y0
    np.testing.assert_allclose(y[: rate], x[: rate], atol=1e-4)  # the first stretch is untouched
    np.testing.assert_allclose(y[3 * rate : 4 * rate], x[3 * rate + k : 4 * rate + k], atol=1e-4)  # 120 ms earlier
    with pytest.raises(BadOutput, match="own amount"):
        retime_audio(pcm_mkv, tmp_path / "copy.mkv", pieces=[(0.0, 0.0), (2.0, -0.1)], mode="copy")
    assert not (tmp_path / "copy.mkv").exists()


# ----------------------------------------------------------------- editors' formats


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def stream_facts(path: Path) -> list[tuple[str, str, str | None]]:
    """(type, codec tag, timecode tag) of every stream, as ffprobe reports them."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_tag_string:stream_tags=timecode",
         "-of", "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.strip().splitlines():
        f = line.split(",")
        rows.append((f[0], f[1], f[2] if len(f) > 2 and f[2] else None))
    return rows


@pytest.fixture(scope="module")
def prores_mov(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An editor's master: ProRes 422 (fourcc apcn), 24-bit PCM, a timecode track."""
    out = tmp_path_factory.mktemp("prores") / "master.mov"
    ffmpeg("-i", str(FACE2), "-t", "2", "-vf", "scale=320:320", "-c:v", "prores_ks", "-profile:v", "2",
           "-c:a", "pcm_s24le", "-timecode", "01:00:00:00", str(out))
    return out


@pytest.mark.parametrize("shift_s", [-0.040, 0.040])
def test_prores_master_keeps_its_fourcc_and_timecode(tmp_path: Path, prores_mov: Path, shift_s: float) -> None:
    """PyAV clears codec tags when copying a stream (the muxer then wrote apch, 422 HQ's
    fourcc, for this 422 file), and a copied timecode track failed the whole file at the
    trailer ("returned 22"): the fourcc is kept and the timecode track written again."""
    out = tmp_path / "fixed.mov"
    r = retime_audio(prores_mov, out, shift_s=shift_s)
    assert stream_facts(out) == stream_facts(prores_mov) == [
        ("video", "apcn", "01:00:00:00"), ("audio", "in24", None), ("data", "tmcd", "01:00:00:00")]
    assert [s.action for s in r.streams] == ["copied", "audio-reencoded", "rebuilt"]
    assert stream_packets(out, 0) == stream_packets(prores_mov, 0)
    x, y = decode_stream(prores_mov, 1), decode_stream(out, 1)
    assert audio_lag_samples(x, y, 4000) == int(round(shift_s * x.rate))


def test_hevc_style_tag_is_kept(tmp_path: Path) -> None:
    """The sample-entry tag is the input's (avc3 here; for phone HEVC it is hvc1, whose
    default replacement hev1 QuickTime and iOS refuse to play)."""
    src = tmp_path / "avc3.mp4"
    ffmpeg("-i", str(FACE2), "-c", "copy", "-tag:v", "avc3", str(src))
    for shift_s in (-0.04, 0.04):  # copy, encode
        out = tmp_path / f"o{shift_s}.mp4"
        retime_audio(src, out, shift_s=shift_s)
        assert stream_facts(out)[0][:2] == ("video", "avc3")
    out = tmp_path / "o.mkv"  # Matroska has no such tags: nothing is forced on it
    retime_audio(src, out, shift_s=0.04)
    assert stream_packets(out, 0) != [] and stream_facts(out)[0][0] == "video"


def test_a_picture_the_container_cannot_hold_is_refused(tmp_path: Path, prores_mov: Path) -> None:
    out = tmp_path / "o.mp4"
    with pytest.raises(BadOutput, match=r"o\.mp4: the mp4 container cannot hold this prores picture"):
        retime_audio(prores_mov, out, shift_s=0.04)
    assert not list(tmp_path.iterdir())


def test_a_container_refusing_the_streams_is_said_in_one_plain_line(tmp_path: Path) -> None:
    """FFmpeg's own words named the temp file and "Invalid data found when processing
    input", as if the source were damaged."""
    out = tmp_path / "o.avi"
    with pytest.raises(BadOutput, match=r"o\.avi: avi does not take this file's streams \(video h264, audio aac"):
        retime_audio(FACE2, out, shift_s=0.04)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("suffix", [".mxf", ".avi"])
@pytest.mark.parametrize("shift_s", [-0.040, 0.080])
def test_positional_containers_move_the_samples(tmp_path: Path, suffix: str, shift_s: float) -> None:
    """MXF and AVI muxers place audio by position, not by timestamp: a copied stream with
    moved timestamps played exactly where it was before. The samples move instead."""
    src = tmp_path / f"in{suffix}"
    ffmpeg("-i", str(FACE2), "-t", "3", "-vf", "scale=320:320", "-c:v", "mpeg2video", "-q:v", "5",
           "-ar", "48000", "-c:a", "pcm_s16le", str(src))
    out = tmp_path / f"out{suffix}"
    r = retime_audio(src, out, shift_s=shift_s)
    assert r.audio_mode == "encode" and r.audio_codec == "pcm_s16le"
    assert [p[2] for p in packets(out)] == [p[2] for p in packets(src)]
    x, y = decode_stream(src, 1), decode_stream(out, 1)
    assert audio_lag_samples(x, y, 8000) == int(round(shift_s * x.rate))


def test_reencoded_audio_keeps_its_codec_by_name(tmp_path: Path) -> None:
    """The decoder is called mp3float, the encoder libmp3lame: the codec (mp3) is kept,
    and reported by its own name, where PCM used to be written and "mp3float" reported."""
    src = tmp_path / "in.avi"
    ffmpeg("-i", str(FACE2), "-t", "3", "-c:v", "mpeg4", "-c:a", "libmp3lame", str(src))
    r = retime_audio(src, tmp_path / "out.avi", shift_s=0.04)
    assert r.audio_codec == "mp3" and [s.codec for s in r.streams] == ["mpeg4", "mp3"]
    with av.open(str(tmp_path / "out.avi")) as c:
        assert c.streams.audio[0].codec_context.codec.canonical_name == "mp3"


def chapters_of(path: Path) -> list[tuple[float, float, str]]:
    with av.open(str(path)) as c:
        return [(float(ch["start"] * ch["time_base"]), float(ch["end"] * ch["time_base"]), ch["metadata"].get("title"))
                for ch in c.chapters()]


def cover_of(path: Path) -> bytes | None:
    with av.open(str(path)) as c:
        art = [s for s in c.streams.video if s.disposition & av.stream.Disposition.attached_pic]
        if not art:
            return None
        return next(bytes(p) for p in c.demux(art[0]) if p.size)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
@pytest.mark.parametrize("shift_s", [-0.040, 0.040])
def test_chapters_and_cover_art_survive(tmp_path: Path, suffix: str, shift_s: float) -> None:
    """Stream copying alone lost a film's or a podcast's chapters; the cover art packet has
    no timestamps and was skipped, so the muxer left the cover out; MP4's own chapter track
    failed the whole file ("Invalid data found")."""
    meta = tmp_path / "chapters.txt"
    meta.write_text(";FFMETADATA1\ntitle=Chaptered\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\ntitle=Intro\n"
                    "[CHAPTER]\nTIMEBASE=1/1000\nSTART=2000\nEND=5000\ntitle=Main\n")
    art = tmp_path / "art.jpg"
    ffmpeg("-i", str(FACE2), "-frames:v", "1", "-vf", "scale=160:160", str(art))
    src = tmp_path / f"in{suffix}"
    if suffix == ".mp4":
        ffmpeg("-i", str(FACE2), "-i", str(meta), "-i", str(art), "-map", "0:v", "-map", "0:a", "-map", "2",
               "-map_metadata", "1", "-map_chapters", "1", "-c", "copy", "-disposition:v:1", "attached_pic", str(src))
    else:
        ffmpeg("-i", str(FACE2), "-i", str(meta), "-map", "0", "-map_metadata", "1", "-map_chapters", "1",
               "-c", "copy", str(src))
    out = tmp_path / f"out{suffix}"
    r = retime_audio(src, out, shift_s=shift_s)
    assert chapters_of(out) == chapters_of(src) == [(0.0, 2.0, "Intro"), (2.0, 5.0, "Main")]
    assert cover_of(out) == cover_of(src)
    if suffix == ".mp4":
        assert cover_of(src) is not None
        assert r.video_packets == 125  # the picture's packets, not the cover
    assert stream_packets(out, 0) == stream_packets(src, 0)


def test_mpegts_keeps_its_start_and_its_picture_times(tmp_path: Path) -> None:
    """In MPEG-TS every stream starts ~1.4 s in. The re-encoded sound used to be padded
    from zero: 1.48 s of silence before the picture, and every video timestamp moved by
    the AAC priming (23 ms) while the summary said "copied bit for bit"."""
    ts = tmp_path / "in.ts"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE2), "-c", "copy", str(ts)], check=True)
    out = tmp_path / "out.ts"
    r = retime_audio(ts, out, shift_s=-0.080)  # earlier: the samples are re-encoded
    assert r.audio_mode == "encode"
    assert packets(out) == packets(ts)
    rate = native_rate(ts)
    a, b = decode_audio(ts, rate=rate), decode_audio(out, rate=rate)
    assert audio_lag_samples(a, b, max_lag=rate // 5) == int(round(-0.080 * rate))
    with av.open(str(out)) as c:
        v0 = float(c.streams.video[0].start_time * c.streams.video[0].time_base)
    assert b.start >= v0 - 0.03, (b.start, v0)  # no silent lead-in before the picture


def test_pcm_into_mpeg_ts_is_encoded_as_sound_the_muxer_carries(tmp_path: Path, pcm_mkv: Path) -> None:
    """MPEG-TS accepts PCM and writes it as a private data stream no player decodes: the
    "fixed" file had no sound and the record said pcm_s16le."""
    out = tmp_path / "o.ts"
    r = retime_audio(pcm_mkv, out, shift_s=-0.040)
    assert r.audio_mode == "encode" and r.audio_codec != "pcm_s16le"
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        assert c.streams.audio[0].codec_context.name == r.audio_codec
    from mouthsync.media.decode import frame_times

    a, b = decode_audio(pcm_mkv, rate=16000), decode_audio(out, rate=16000)
    moved = float(frame_times(out)[0] - frame_times(pcm_mkv)[0])  # TS starts the picture later
    want = round((moved - 0.040) * 16000)  # 40 ms earlier against the picture
    assert abs(audio_lag_samples(a, b, 3000) - want) <= 1  # AAC: correlated, not equal


def test_a_sound_codec_tag_of_another_container_is_not_forced_on_mov(tmp_path: Path) -> None:
    """MP3 from MP4 carries the tag "mp4a", which MOV reads as AAC: kept, the file failed
    ("Invalid data found") where ``ffmpeg -c copy`` writes ".mp3"."""
    src = tmp_path / "mp3.mp4"
    ffmpeg("-i", str(FACE2), "-c:v", "copy", "-c:a", "libmp3lame", "-b:a", "128k", str(src))
    out = tmp_path / "o.mov"
    r = retime_audio(src, out, shift_s=-0.040)
    assert r.audio_mode == "copy"
    assert stream_facts(out)[:2] == [("video", "avc1", None), ("audio", ".mp3", None)]
    assert stream_packets(out, 0) == stream_packets(src, 0)


def test_a_timecode_track_into_matroska_becomes_the_picture_s_tag(tmp_path: Path, prores_mov: Path) -> None:
    """Matroska has no timecode track: a copied one failed the whole file; the timecode is
    kept as the picture's and the file's tag, as ``prep`` writes it."""
    out = tmp_path / "o.mkv"
    r = retime_audio(prores_mov, out, shift_s=0.040)
    assert [s.type for s in av.open(str(out)).streams] == ["video", "audio"]
    assert stream_facts(out)[0][2] == "01:00:00:00"
    assert [s.action for s in r.streams] == ["copied", "audio-reencoded", "rebuilt"]
    assert "timecode tag" in r.streams[2].note


def test_a_copy_moved_later_in_mov_starts_on_its_sample(tmp_path: Path) -> None:
    """The empty edit that starts a copied sound later counts in the movie's time scale,
    1/1000 s by default: 41.3 ms played at 41.0. The movie counts in samples now."""
    src = tmp_path / "alac.mov"
    ffmpeg("-i", str(FACE2), "-c:v", "copy", "-c:a", "alac", str(src))
    out = tmp_path / "o.mov"
    r = retime_audio(src, out, shift_s=0.0413)
    assert r.audio_mode == "copy" and r.shift_samples == 1821
    with av.open(str(out)) as c:
        first = next(f for f in c.decode(c.streams.audio[0]))
        assert first.time == pytest.approx(1821 / 44100, abs=0.5 / 44100)
