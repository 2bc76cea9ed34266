"""probe on real clips and on harder cases derived from them at test time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mouthsync.core.findings import Severity
from mouthsync.media.decode import decode_audio
from mouthsync.media.probe import probe
from mouthsync.media.write import write_audio

from ..conftest import CLIPS, SILENT, SPEECH
from .builders import (
    concat_copies,
    convert_rate_by_copying,
    delay_audio,
    drop_frames,
    restamp_video,
    set_h264_rate,
)

FACE1 = next(p for p in CLIPS if p.name == "retalking_face1.mp4")
FACE4 = next(p for p in CLIPS if p.name == "retalking_face4.mp4")


def _checks(info) -> set[str]:
    return {f.check for f in info.findings}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("probe")
    return {
        "ntsc": restamp_video(FACE4, d / "ntsc.mp4", factor=1.001),
        "late": delay_audio(FACE4, d / "late.mp4", 0.5),
    }


def test_vfr_clip_reports_measured_average() -> None:
    info = probe(FACE1)
    v = info.video
    assert v.vfr and v.declared_fps == pytest.approx(30.0)
    assert v.measured_fps == pytest.approx(22.13, abs=0.02)
    assert v.spacing_ms["min"] == pytest.approx(33.3, abs=0.1)
    assert v.spacing_ms["max"] == pytest.approx(66.7, abs=0.1)
    assert "video.vfr" in _checks(info)
    assert info.timing.drift_ms_per_min is None  # VFR is not a clock pair


def test_constant_rate_clip_is_clean() -> None:
    info = probe(CLIPS[1])  # retalking_face2: 25 fps, in step
    assert not info.video.vfr and info.video.measured_fps == pytest.approx(25.0, abs=1e-6)
    assert info.video.missing_frames == 0 and info.video.repeated_pictures == 0
    assert info.timing.start_offset_ms == pytest.approx(0.0, abs=0.5)
    assert {f.check for f in info.findings if f.severity.name != "INFO"} == set()


def test_ntsc_restamp_reports_drift_per_minute(built) -> None:
    info = probe(built["ntsc"])
    assert info.video.timestamp_fps == pytest.approx(30000 / 1001, rel=1e-6)
    assert info.video.bitstream_fps == pytest.approx(30.0)
    # 0.1 %: the sound runs 60 ms (1.8 frames at 30 fps) ahead of the picture per minute.
    assert info.timing.drift_ms_per_min == pytest.approx(-60.0, abs=0.5)
    assert info.timing.drift_frames_per_min == pytest.approx(-1.8, abs=0.02)
    assert "timing.drift" in _checks(info)
    # The untouched source has no drift.
    assert probe(FACE4, audio_quality=False, pictures=False).timing.drift_ms_per_min is None


def test_late_audio_start_is_reported(built) -> None:
    info = probe(built["late"], pictures=False)
    assert info.timing.start_offset_ms == pytest.approx(500.0, abs=1.0)
    assert info.video.start == pytest.approx(0.0, abs=1e-9)
    f = next(f for f in info.findings if f.check == "timing.start_offset")
    assert f.severity.name == "WARNING" and "after the picture" in f.message
    # Speech segments are on the media timeline: they move with the audio.
    src = probe(FACE4, pictures=False)
    s0, s1 = src.audio.quality.speech_segments[0][0], info.audio.quality.speech_segments[0][0]
    assert s1 - s0 == pytest.approx(0.5, abs=0.031)  # one 30 ms VAD frame


def test_silent_video_and_audio_only() -> None:
    info = probe(SILENT[0], pictures=False)
    assert info.audio is None and info.video is not None
    assert any(f.check == "streams" and f.severity.name == "ERROR" for f in info.findings)
    wav = probe(SPEECH[0])
    assert wav.video is None and wav.audio.sample_rate > 0
    assert wav.audio.quality.loudness_lufs is not None


@pytest.fixture(scope="module")
def speech48() -> np.ndarray:
    clip = next(p for p in SPEECH if p.name == "retalking_audio2.wav")
    return decode_audio(clip, rate=48000).samples


def _music(n: int, rate: int) -> np.ndarray:
    """Sustained harmonic chords changing every half second: a tonal bed."""
    t = np.arange(n) / rate
    rng = np.random.default_rng(0)
    y = np.zeros(n)
    step = rate // 2
    for k in range(0, n, step):
        f = rng.choice([220.0, 261.6, 329.6, 392.0, 440.0])
        for h in (1, 2, 3):
            y[k : k + step] += np.sin(2 * np.pi * f * h * t[k : k + step]) / h
    return (y / np.abs(y).max()).astype(np.float32)


def test_audio_quality_on_built_cases(tmp_path: Path, speech48: np.ndarray) -> None:
    rate = 48000
    x = speech48
    gap = np.zeros(rate, np.float32)
    lead = np.zeros(int(1.5 * rate), np.float32)
    paused = np.concatenate([lead, x[: 2 * rate], gap, x[2 * rate :]])
    q = probe(write_audio(tmp_path / "paused.wav", paused, rate)).audio.quality
    assert q.leading_silence_s == pytest.approx(1.5, abs=0.1)
    assert any(abs(s - 3.5) < 0.2 and abs(e - 4.5) < 0.1 for s, e in q.long_pauses)
    assert q.background == "none" and q.snr_db > 15

    music = probe(write_audio(tmp_path / "music.wav", x + 0.1 * _music(len(x), rate), rate))
    assert music.audio.quality.background == "tonal (music-like)"
    assert "audio.background" in _checks(music)

    noise = np.random.default_rng(1).normal(0, 0.03, len(x)).astype(np.float32)
    noisy = probe(write_audio(tmp_path / "noisy.wav", x + noise, rate))
    assert noisy.audio.quality.background == "broadband noise"
    assert "audio.noise" in _checks(noisy)

    hot = probe(write_audio(tmp_path / "hot.wav", np.clip(x * 8, -1, 1), rate))
    assert hot.audio.quality.clipped_ratio > 1e-3 and "audio.clipping" in _checks(hot)
    assert hot.audio.quality.true_peak_dbtp >= -0.1


def test_dropped_frames_are_counted_not_called_vfr(tmp_path: Path) -> None:
    info = probe(drop_frames(CLIPS[1], tmp_path / "drop.mp4", [10, 50, 51]), audio_quality=False)
    v = info.video
    assert v.missing_frames == 3 and not v.vfr
    assert v.timestamp_fps == pytest.approx(25.0, rel=1e-6)  # the grid rate, not 122/5 s
    assert "video.dropped" in _checks(info) and info.timing.drift_ms_per_min is None


def test_repeated_pictures_reveal_the_real_rate(tmp_path: Path) -> None:
    info = probe(convert_rate_by_copying(CLIPS[1], tmp_path / "r30.mp4", 30), audio_quality=False)
    v = info.video
    assert v.measured_fps == pytest.approx(30.0, abs=0.01)
    assert v.repeated_pictures == pytest.approx(25, abs=1)  # one in six
    assert v.picture_fps == pytest.approx(25.0, abs=0.3)
    assert "video.repeated" in _checks(info)


def test_cached_probe_equals_fresh(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MOUTHSYNC_CACHE", str(tmp_path / "cache"))
    first = probe(FACE1)
    assert len(list((tmp_path / "cache").glob("probe-*.json"))) == 1
    again = probe(FACE1)
    fresh = probe(FACE1, use_cache=False)
    assert again.to_dict() == fresh.to_dict() == first.to_dict()


def test_drift_from_lengths_when_the_picture_was_conformed_whole(tmp_path: Path) -> None:
    """80 s at 30 fps re-stamped to 29.97 *and* its VUI rewritten: only the audio length tells."""
    long30 = concat_copies(FACE4, tmp_path / "long30.mp4", 12)
    ntsc = restamp_video(long30, tmp_path / "ntsc.mp4", factor=1.001)
    conformed = set_h264_rate(ntsc, tmp_path / "conformed.mp4", "60000/1001")
    info = probe(conformed, audio_quality=False, pictures=False)
    assert info.video.bitstream_fps == pytest.approx(30000 / 1001, rel=1e-6)
    assert info.timing.drift_ms_per_min == pytest.approx(-60.0, abs=0.5)
    assert "audio is as long as" in info.timing.drift_basis
    # Not conformed: the bitstream still says 30; the join offsets are snapped away.
    assert probe(ntsc, audio_quality=False, pictures=False).timing.drift_ms_per_min == pytest.approx(-60.0, abs=0.5)
    # The untouched 80 s join: no drift.
    assert probe(long30, audio_quality=False, pictures=False).timing.drift_ms_per_min is None


def test_further_audio_streams_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A master with a second language track: probe names it and how to pick it."""
    import subprocess

    from mouthsync.cli import main

    out = tmp_path / "two_lang.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(CLIPS[1]), "-i", str(SPEECH[2]),
                    "-map", "0:v", "-map", "0:a", "-map", "1:a", "-c:v", "copy", "-c:a:0", "copy",
                    "-c:a:1", "aac", "-ac:a:1", "1", "-metadata:s:a:1", "language=deu", "-shortest", str(out)],
                   check=True)
    info = probe(out, use_cache=False)
    assert info.audio is not None and info.audio.channels == 2
    [other] = info.other_audio
    assert (other["audio_stream"], other["index"], other["language"], other["channels"]) == (1, 2, "deu", 1)
    assert probe(CLIPS[1], use_cache=False).other_audio == []
    assert main(["probe", str(out), "--fast"]) == 0
    assert "stream 1: aac" in capsys.readouterr().out


def test_timecode_and_subtitles_survive_the_cache(tmp_path: Path, monkeypatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A file with a start timecode and a text subtitle stream: the cached probe holds both
    (the timecode used to be lost on the second probe), and the summary names the
    subtitles and what check can do with them."""
    import subprocess

    from mouthsync.cli import main
    from tests.media.test_subtitles import SRT

    srt = tmp_path / "talk.srt"
    srt.write_text(SRT, encoding="utf-8")
    out = tmp_path / "subs.mov"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(CLIPS[1]), "-i", str(srt), "-map", "0",
                    "-map", "1", "-c", "copy", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng",
                    "-timecode", "01:00:00:00", str(out)], check=True)
    monkeypatch.setenv("MOUTHSYNC_CACHE", str(tmp_path / "cache"))
    first = probe(out)
    again = probe(out)  # from the cache
    assert again.to_dict() == first.to_dict() == probe(out, use_cache=False).to_dict()
    assert again.timecode is not None and again.timecode["picture_start_of_day_clock"] == "01:00:00.000"
    assert [(s["codec"], s["language"], s["text"]) for s in again.subtitles] == [("mov_text", "eng", True)]
    assert main(["probe", str(out)]) == 0
    assert "check --transcript subtitles" in capsys.readouterr().out


def test_channels_in_opposite_polarity_are_named_and_their_speech_measured(tmp_path: Path) -> None:
    """One channel's polarity reversed: the mono mix holds no speech (the probe said "no
    speech detected"); it now names the fault and measures the speech on the difference."""
    import subprocess

    face2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    flipped = tmp_path / "flipped.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(face2), "-af", "pan=stereo|c0=c0|c1=-1*c0",
                    "-c:v", "copy", "-c:a", "pcm_s16le", str(flipped)], check=True)
    info = probe(flipped, use_cache=False)
    checks = {f.check for f in info.findings}
    assert "audio.polarity" in checks and "audio.no_speech" not in checks
    assert info.audio.quality.channel_correlation < -0.9 and info.audio.quality.speech_ratio > 0.5
    plain = probe(face2, use_cache=False)
    assert "audio.polarity" not in {f.check for f in plain.findings}
    assert plain.audio.quality.channel_correlation is None or plain.audio.quality.channel_correlation > 0.5


@pytest.mark.skipif(__import__("shutil").which("sox") is None, reason="sox not installed")
def test_a_halls_echo_is_named(tmp_path: Path) -> None:
    """retalking_face2's voice in a hall (sox reverb, RT60 1.35 s) reads reverberant; as
    it is, it reads dry and nothing is named."""
    import subprocess

    face2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    dry, wet = tmp_path / "dry.wav", tmp_path / "hall.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(face2), "-vn", "-ac", "1", str(dry)], check=True)
    subprocess.run(["sox", "-D", str(dry), str(wet), "reverb", "50", "50", "100"], check=True, capture_output=True)
    info = probe(wet, use_cache=False)
    echo = [f for f in info.findings if f.check == "audio.echo"]
    assert len(echo) == 1 and info.audio.quality.echo_decay_s >= 0.7
    plain = probe(face2, use_cache=False)
    assert plain.audio.quality.echo_decay_s < 0.4 and "audio.echo" not in {f.check for f in plain.findings}


def test_lengths_in_a_steep_clock_ratio_are_named(tmp_path: Path) -> None:
    """80 s whose sound was made 4 % longer (a 24 fps picture played at 25 without its
    sound): the lengths differ by 3.3 s in the ratio 25/24, which probe names and sends to
    check and fix; the untouched join has no such finding."""
    import subprocess

    long30 = concat_copies(FACE4, tmp_path / "long30.mp4", 12)
    slow = tmp_path / "slow.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(long30), "-map", "0:v", "-map", "0:a",
                    "-c:v", "copy", "-af", "asetrate=44100*24/25,aresample=44100", "-c:a", "pcm_s16le", str(slow)],
                   check=True)
    info = probe(slow, audio_quality=False, pictures=False, use_cache=False)
    [f] = [f for f in info.findings if f.check == "timing.duration_mismatch"]
    assert f.severity == Severity.WARNING and f.extra["clock_ratio"] == 25 / 24
    assert "24 fps picture played at 25" in f.message and "--drift auto" in f.advice
    plain = probe(long30, audio_quality=False, pictures=False, use_cache=False)
    assert all("clock_ratio" not in f.extra for f in plain.findings)
