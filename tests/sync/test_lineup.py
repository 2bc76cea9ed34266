"""Lining up a recorder's sound with the camera's (dual-system sound), on real speech."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfilt

from mouthsync.media.decode import Audio, decode_audio
from mouthsync.sync.lineup import line_up

from ..conftest import CLIPS

FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
SPEECH = sorted((CLIPS[0].parent.parent / "speech").glob("*.wav"))
RATE = 16000


def recorder(camera: Audio, lead_s: float, rate: int, *, tail_s: float = 2.0) -> np.ndarray:
    """The camera's speech as a recorder heard it: another voice (talk before and after
    the take) around it, low-passed at 6 kHz (another microphone), quieter, with a noise floor."""
    room = decode_audio(SPEECH[2], rate=rate).samples
    lead, tail = int(round(lead_s * rate)), int(round(tail_s * rate))
    sos = butter(4, 6000, "low", fs=rate, output="sos")
    x = np.concatenate([0.2 * room[:lead], 0.6 * sosfilt(sos, camera.samples), 0.2 * room[lead : lead + tail]])
    return (x + 0.0003 * np.random.default_rng(0).standard_normal(x.size)).astype(np.float32)


@pytest.mark.parametrize("clip", CLIPS, ids=lambda p: p.stem)
def test_a_recorder_is_found_to_the_sample(clip: Path) -> None:
    cam = decode_audio(clip, rate=RATE)
    lu = line_up(cam, Audio(recorder(cam, 3.217, RATE), RATE, 0.0))
    # the 6 kHz low-pass itself delays the sound by ~0.07 ms
    assert lu.matched and lu.start_s == pytest.approx(cam.start - 3.217, abs=0.0005)
    late = Audio(cam.samples[2 * RATE :].copy(), RATE, 0.0)  # started 2 s after the camera
    lu = line_up(cam, late)
    assert lu.matched and lu.start_s == pytest.approx(cam.start + 2.0, abs=1 / RATE)


def test_different_recordings_are_not_lined_up() -> None:
    for clip in CLIPS:
        cam = decode_audio(clip, rate=RATE)
        for s in SPEECH:
            assert not line_up(cam, decode_audio(s, rate=RATE)).matched, (clip.name, s.name)


def test_check_lines_up_a_recorder_and_measures_lip_sync_there(tmp_path: Path) -> None:
    from mouthsync.sync.delay import check_sync

    rec = tmp_path / "recorder.wav"
    sf.write(rec, recorder(decode_audio(FACE2, rate=48000), 3.217, 48000), 48000, subtype="PCM_24")
    own = check_sync(FACE2)
    rep = check_sync(FACE2, audio_path=rec)
    lu = rep.details["lineup"]
    assert lu["matched"] and lu["start_s"] == pytest.approx(-3.217, abs=0.0005)
    assert rep.confidence >= 0.3 and abs(rep.audio_delay_ms - own.audio_delay_ms) <= 40.0
    assert any(f.check == "sync.lineup" and "lined up" in f.message for f in rep.findings)
    # another recording is not lined up, and says so
    other = check_sync(FACE2, audio_path=SPEECH[4])
    assert other.details["lineup"]["matched"] is False
    assert any(f.check == "sync.lineup" and "does not match" in f.message for f in other.findings)


def test_a_picture_without_sound_lays_the_file_on_the_first_frame(tmp_path: Path) -> None:
    import subprocess

    from mouthsync.sync.delay import check_sync

    mute = tmp_path / "mute.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(FACE2), "-an", "-c", "copy", str(mute)], check=True)
    rep = check_sync(mute, audio_path=FACE2)
    assert rep.details["lineup"] is None and abs(rep.audio_delay_ms - check_sync(FACE2).audio_delay_ms) < 1.0


@pytest.mark.parametrize(("suffix", "codec"), [(".mov", "pcm_s24le"), (".mp4", "aac")])
def test_fix_replaces_the_sound_with_the_recorder_lined_up(tmp_path: Path, suffix: str, codec: str) -> None:
    """The conform step of a dual-system shoot: the picture keeps its packets, the camera's
    sound is replaced by the recorder's, placed where it lines up and then moved by the
    delay to remove (here given: 40 ms late, so 40 ms earlier)."""
    import av

    from mouthsync.sync.correct import fix_sync

    from ..media.test_remux import audio_lag_samples, stream_packets

    rec = tmp_path / "recorder.wav"
    sf.write(rec, recorder(decode_audio(FACE2, rate=48000), 3.217, 48000), 48000, subtype="PCM_24")
    out = tmp_path / f"conformed{suffix}"
    r = fix_sync(FACE2, out, delay="40ms", sound=rec)
    assert r.plan.lineup is not None and r.plan.lineup["matched"]
    assert r.plan.sound_start_s == pytest.approx(-3.217, abs=0.0005)
    assert stream_packets(out, 0) == stream_packets(FACE2, 0)
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]
        a = c.streams.audio[0].codec_context
        assert (a.codec.canonical_name, a.sample_rate, a.channels) == (codec, 48000, 1)
    cam, got = decode_audio(FACE2, rate=16000), decode_audio(out, rate=16000)
    assert got.duration == pytest.approx(5.0, abs=0.03)  # spans the picture
    assert audio_lag_samples(cam, got, 4000) == pytest.approx(-0.040 * 16000, abs=2)
    side = json.loads(r.sidecar.read_text())
    assert side["sound"]["lineup"]["matched"] and side["sound"]["placed_at_s"] == pytest.approx(-3.217, abs=0.0005)


def test_fix_lays_a_dub_at_its_own_start(tmp_path: Path) -> None:
    from mouthsync.sync.correct import fix_sync

    r = fix_sync(FACE2, tmp_path / "dub.mkv", delay="0ms", sound=SPEECH[4])
    assert r.plan.lineup is not None and not r.plan.lineup["matched"] and r.plan.sound_start_s == 0.0
    dub = decode_audio(SPEECH[4], rate=16000)
    got = decode_audio(tmp_path / "dub.mkv", rate=16000)
    n = got.samples.size
    assert got.duration == pytest.approx(5.0, abs=0.03)
    assert np.corrcoef(got.samples[: n - 200], dub.samples[: n - 200])[0, 1] > 0.99


def test_cli_check_and_fix_with_a_recorder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mouthsync.cli import main

    rec = tmp_path / "recorder.wav"
    sf.write(rec, recorder(decode_audio(FACE2, rate=48000), 1.5, 48000), 48000, subtype="PCM_24")
    assert main(["check", str(FACE2), "--audio", str(rec)]) == 0
    said = capsys.readouterr().out
    assert "sound file    : lined up with the camera's sound (match" in said and "first sample at -1.50" in said
    out = tmp_path / "conformed.mov"
    assert main(["fix", str(FACE2), "--audio", str(rec), "-o", str(out), "--delay", "0ms", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["sound"]["lineup"]["matched"] and doc["sound"]["placed_at_s"] == pytest.approx(-1.5, abs=0.0005)
    assert [s["action"] for s in doc["streams"]] == ["copied", "dropped", "audio-reencoded"]


@pytest.fixture(scope="module")
def long_speech() -> np.ndarray:
    """Every shared clip's and recording's speech, twice over: 165 s at 16 kHz."""
    files = [*CLIPS, *sorted((CLIPS[0].parent.parent / "wild").glob("*.mp4")), *SPEECH]
    return np.concatenate([decode_audio(f, rate=RATE).samples for f in files] * 2)


def drifting(x: np.ndarray, lead_s: float, ppm: float, rate: int) -> np.ndarray:
    """A recorder whose clock runs ``ppm`` fast: its sample i holds ``x`` at
    (i / rate - lead_s) / (1 + ppm 1e-6) seconds; low-passed, with a noise floor."""
    from mouthsync.media.remux import resample_at

    speed = 1 + ppm * 1e-6
    n = int((x.size / rate * speed + lead_s + 1) * rate)
    y = resample_at(x[None, :].astype(np.float64), ((np.arange(n) / rate - lead_s) / speed) * rate)[0]
    y = 0.5 * sosfilt(butter(4, 3000, "low", fs=rate, output="sos"), y)
    return (y + 0.001 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("ppm", [0.0, 100.0, 1000.0, -300.0])
def test_a_recorder_clock_is_measured(long_speech: np.ndarray, ppm: float) -> None:
    """1000 ppm is NTSC's 1000/1001 against a recorder at the nominal rate: over the whole
    165 s the coarse peak landed 83 s away before it was taken from 30 s only."""
    lu = line_up(Audio(long_speech, RATE, 0.0), Audio(drifting(long_speech, 2.5, ppm, RATE), RATE, 0.0))
    assert lu.matched
    assert (lu.speed - 1) * 1e6 == pytest.approx(ppm, abs=max(1.0, 0.005 * abs(ppm)))
    assert lu.start_s == pytest.approx(-2.5 / (1 + ppm * 1e-6), abs=0.0005)


def test_fix_resamples_a_drifting_recorder_to_the_picture(tmp_path: Path, long_speech: np.ndarray) -> None:
    """A minute of footage and a recorder 1000 ppm fast: after the conform, the recorder's
    sound sits on the camera's at the start and at the end alike."""
    import subprocess

    from mouthsync.sync.correct import fix_sync

    from ..media.test_remux import audio_lag_samples

    # a minute of picture (FACE2 looped) under a minute of varied speech: a looped sound
    # would line up equally well at every repeat
    speech = tmp_path / "speech.wav"
    sf.write(speech, long_speech[: 61 * RATE], RATE)
    video = tmp_path / "minute.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-stream_loop", "11", "-i", str(FACE2), "-i", str(speech),
                    "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-t", "60", str(video)], check=True)
    cam = decode_audio(video, rate=48000)
    rec = tmp_path / "recorder.wav"
    sf.write(rec, drifting(cam.samples, 1.2, 1000.0, 48000), 48000, subtype="PCM_24")
    out = tmp_path / "conformed.mkv"
    r = fix_sync(video, out, delay="0ms", sound=rec)
    assert (r.plan.sound_speed - 1) * 1e6 == pytest.approx(1000.0, abs=5.0)
    a, b = decode_audio(video, rate=16000), decode_audio(out, rate=16000)
    for lo in (2.0, 50.0):  # a 5 s stretch near each end
        x = Audio(a.samples[int(lo * 16000): int((lo + 5) * 16000)], 16000, a.start + lo)
        y = Audio(b.samples[int(lo * 16000): int((lo + 5) * 16000)], 16000, b.start + lo)
        assert abs(audio_lag_samples(x, y, 2000)) <= 3  # within 0.2 ms (the low-pass's own delay)


def test_a_stem_a_few_frames_off_is_measured_where_it_starts(tmp_path: Path) -> None:
    """The same recording 160 ms late is as often a delivered mix to check as a recorder:
    by default it is measured as laid (and reads 160 ms late); --line-up always places it
    by the camera's sound instead (and reads what the camera's own sound reads)."""
    from mouthsync.sync.delay import check_sync

    from .builders import shifted_audio

    stem = tmp_path / "stem.wav"
    a = shifted_audio(decode_audio(FACE2, rate=48000), 0.16)
    sf.write(stem, a.samples, 48000, subtype="PCM_24")
    own = check_sync(FACE2).audio_delay_ms
    laid = check_sync(FACE2, audio_path=stem)
    assert laid.details["lineup"]["matched"] and not laid.details["lineup"]["applied"]
    assert laid.details["lineup"]["offset_s"] == pytest.approx(-0.16, abs=0.0005)  # 160 ms later than the camera's
    assert laid.audio_delay_ms - own == pytest.approx(160.0, abs=40.0)
    assert any("measured where it starts" in f.message for f in laid.findings)
    placed = check_sync(FACE2, audio_path=stem, line_up="always")
    assert placed.details["lineup"]["applied"] and abs(placed.audio_delay_ms - own) <= 40.0
    with pytest.raises(Exception, match="line-up mode"):
        check_sync(FACE2, audio_path=stem, line_up="sometimes")


def test_fix_audio_refusals(tmp_path: Path) -> None:
    from mouthsync.core.errors import BadInput
    from mouthsync.sync.correct import fix_sync

    for kw in ({"mode": "copy", "delay": "0ms"}, {"delay": "shots"}, {"delay": "channels"}):
        with pytest.raises(BadInput):
            fix_sync(FACE2, tmp_path / "o.mkv", sound=SPEECH[0], **kw)
    with pytest.raises(BadInput, match="line-up mode"):
        fix_sync(FACE2, tmp_path / "o.mkv", sound=SPEECH[0], delay="0ms", line_up="maybe")
    assert not list(tmp_path.iterdir())


def _bwf(path: Path, samples: np.ndarray, rate: int, start_of_day_s: float) -> Path:
    """A broadcast WAV whose first sample is stamped ``start_of_day_s`` after midnight."""
    import subprocess

    plain = path.with_suffix(".plain.wav")
    sf.write(plain, samples, rate, subtype="PCM_24")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(plain), "-c", "copy", "-write_bext", "1",
                    "-metadata", f"time_reference={int(round(start_of_day_s * rate))}", str(path)], check=True)
    return path


def test_a_camera_without_sound_places_the_recorder_by_timecode(tmp_path: Path) -> None:
    """No scratch sound to listen to: the camera's timecode and the recorder's bext time
    reference place it; check measures the lips there, fix puts it in."""
    import subprocess

    from mouthsync.sync.correct import fix_sync
    from mouthsync.sync.delay import check_sync

    from ..media.test_remux import audio_lag_samples

    mos = tmp_path / "mos.mov"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(FACE2), "-an", "-c", "copy", "-timecode",
                    "10:00:00:00", str(mos)], check=True)
    rec = _bwf(tmp_path / "rec.wav", recorder(decode_audio(FACE2, rate=48000), 3.217, 48000), 48000, 36000 - 3.217)
    rep = check_sync(mos, audio_path=rec)
    assert rep.details["placed_by"] == "timecode" and rep.details["lineup"] is None
    assert rep.details["timecode_start_s"] == pytest.approx(-3.217, abs=1e-4)
    assert rep.confidence >= 0.3 and abs(rep.audio_delay_ms - check_sync(FACE2).audio_delay_ms) <= 40.0
    out = tmp_path / "conformed.mov"
    r = fix_sync(mos, out, delay="0ms", sound=rec)
    assert r.plan.placed_by == "timecode"
    assert audio_lag_samples(decode_audio(FACE2, rate=16000), decode_audio(out, rate=16000), 4000) == pytest.approx(
        0, abs=2)


def test_timecode_that_disagrees_with_the_sound_is_reported(tmp_path: Path) -> None:
    """With scratch sound and timecode both, the sound places the file (exact to the
    sample) and the timecodes' disagreement is said: here the recorder's stamp is two
    frames late, as an unsynced recorder's would be."""
    import subprocess

    from mouthsync.sync.delay import check_sync

    cam = tmp_path / "cam.mov"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(FACE2), "-c", "copy", "-timecode", "10:00:00:00",
                    str(cam)], check=True)
    rec = _bwf(tmp_path / "rec.wav", recorder(decode_audio(FACE2, rate=48000), 3.217, 48000), 48000,
               36000 - 3.217 + 0.080)
    rep = check_sync(cam, audio_path=rec)
    assert rep.details["placed_by"] == "sound"
    said = [f for f in rep.findings if f.check == "sync.timecode"]
    assert len(said) == 1 and said[0].value == pytest.approx(80.0, abs=1.0)


def test_the_html_report_says_where_the_sound_file_went(tmp_path: Path) -> None:
    from mouthsync.sync.delay import check_sync
    from mouthsync.sync.html_report import render_html

    rec = tmp_path / "recorder.wav"
    sf.write(rec, recorder(decode_audio(FACE2, rate=48000), 3.217, 48000), 48000, subtype="PCM_24")
    page = render_html(check_sync(FACE2, audio_path=rec))
    assert "<h2>Sound file</h2>" in page and "by the camera's own sound" in page and "-3.2171 s" in page
    page = render_html(check_sync(FACE2, audio_path=SPEECH[4]))
    assert "where it starts" in page and "another recording" in page
    assert "<h2>Sound file</h2>" not in render_html(check_sync(FACE2))


@pytest.mark.slow
def test_an_hour_long_take_is_lined_up_with_its_clock(long_speech: np.ndarray) -> None:
    """On an hour the clock search reaches +-7.2 s: the chunks once searched a reference
    cut at the chunk itself, nothing was left to correlate, and the clock read 0 ppm."""
    rng = np.random.default_rng(4)
    pieces = np.array_split(long_speech, 33)
    hour = np.concatenate([pieces[i] for _ in range(22) for i in rng.permutation(33)])[: 3600 * RATE]
    lu = line_up(Audio(hour, RATE, 0.0), Audio(drifting(hour, 7.3, 1000.0, RATE), RATE, 0.0))
    assert lu.matched and (lu.speed - 1) * 1e6 == pytest.approx(1000.0, abs=2.0)
    assert lu.start_s == pytest.approx(-7.3 / 1.001, abs=0.0005)
