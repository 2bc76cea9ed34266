"""check_sync on real clips: follows injected shifts, confidence separates the right voice,
says why when there is no face or no speech, and the ``check`` command's JSON and plot."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mouthsync.cli import main
from mouthsync.face.track import track_face
from mouthsync.media.decode import Audio, decode_audio
from mouthsync.sync.delay import analyse, check_sync
from mouthsync.sync.sources import timelines_for
from tests.conftest import CLIPS, SILENT, SPEECH, WILD
from tests.sync.builders import noisy_audio, shifted_audio, write_shifted_clip, write_wav

RATE = 16000


def _raw(track, audio: Audio) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    rep = analyse(track, timelines_for(audio), audio, window_s=1e9, calibration_ms=0.0)
    assert rep.raw_delay_ms is not None
    return rep.raw_delay_ms, rep.confidence


def _clip(name: str) -> Path:
    return next(p for p in CLIPS + WILD if p.name == name)


@pytest.fixture(scope="module")
def face2():  # type: ignore[no-untyped-def]
    p = _clip("retalking_face2.mp4")
    return p, track_face(p), decode_audio(p, rate=RATE)


def test_follows_whole_frame_and_ms_shifts() -> None:
    """The protocol in small: 3 clips x 3 frame shifts x 2 ms shifts (the bench does all)."""
    frame_err, ms_err = [], []
    for name in ("retalking_face2.mp4", "retalking_face4.mp4", "voxceleb_00067.mp4"):
        p = _clip(name)
        tr = track_face(p)
        a = decode_audio(p, rate=RATE)
        fd = float(np.median(np.diff(tr.times))) * 1000.0
        e0, _ = _raw(tr, a)
        for k in (-9, 4, 12):
            e, _ = _raw(tr, shifted_audio(a, k * fd / 1000.0))
            frame_err.append(abs(e - e0 - k * fd) / fd)
        for ms in (-130.0, 60.0):
            e, _ = _raw(tr, shifted_audio(a, ms / 1000.0))
            ms_err.append(abs(e - e0 - ms))
    frame_err_a = np.array(frame_err)
    assert np.sum(frame_err_a > 1.0) <= 1 and frame_err_a.max() < 2.0, f"frame errors {np.round(frame_err_a, 2)}"
    assert np.median(ms_err) <= 10.0 and max(ms_err) < 40.0, f"ms errors {np.round(ms_err, 1)}"


def _other_voice(audio: Audio, i: int) -> Audio:
    x = decode_audio(SPEECH[i % len(SPEECH)], rate=RATE).samples
    n = audio.samples.size
    x = np.tile(x, int(np.ceil(n / x.size)))[:n]
    return Audio(samples=x.copy(), rate=RATE, start=audio.start)


# Clips where another recording fits the face as well as the clip's own voice (measured,
# docs/sync.md). Empty since two phone sources are averaged (retalking_face3 was here);
# in the benchmark, against all five recordings, retalking_face5 still ties one of them.
# Strict: a clip listed here that passes must leave the list.
_KNOWN_OVERLAP: set[str] = set()


@pytest.mark.slow
@pytest.mark.parametrize(
    "clip",
    [
        pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="other voice fits better (docs/sync.md)"))
        if p.stem in _KNOWN_OVERLAP
        else p
        for p in CLIPS + WILD
    ],
    ids=lambda p: p.stem,
)
def test_confidence_separates_the_right_voice(clip: Path) -> None:
    tr = track_face(clip)
    a = decode_audio(clip, rate=RATE)
    _, right = _raw(tr, a)
    wrong = max(_raw(tr, _other_voice(a, i))[1] for i in (0, 2))
    assert right > wrong, f"{clip.name}: right {right:.2f} vs other speaker {wrong:.2f}"


def test_silence_reads_no_confidence_and_says_why(face2, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p, tr, a = face2
    quiet = Audio(samples=(np.random.default_rng(0).standard_normal(a.samples.size) * 1e-4).astype(np.float32), rate=RATE, start=a.start)
    rep = analyse(tr, timelines_for(quiet), quiet)
    assert rep.confidence < 0.1
    assert rep.verdict["status"] in {"unknown", "uncertain"}
    assert "no speech" in rep.verdict["reason"]


def test_a_silent_track_is_not_blamed_on_its_coding(tmp_path: Path) -> None:
    """Silence codes to ~2 kbit/s of AAC: "no speech" is the reason, not the coding."""
    out = tmp_path / "silent.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(_clip("retalking_face2.mp4")), "-c:v", "copy",
                    "-af", "volume=0", "-c:a", "aac", str(out)], check=True)
    rep = check_sync(out)
    assert rep.audio_delay_ms is None and "no speech" in rep.verdict["reason"]
    assert not [f for f in rep.findings if f.check == "sync.audio"]


def test_a_silent_first_audio_stream_points_to_the_one_with_speech(tmp_path: Path) -> None:
    """A file whose first audio stream is empty and whose second holds the dialogue: the
    report says which stream to measure instead of only "no speech"."""
    out = tmp_path / "two_tracks.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(_clip("retalking_face2.mp4")), "-f", "lavfi",
                    "-t", "5", "-i", "anullsrc=r=48000:cl=stereo", "-map", "0:v", "-map", "1:a", "-map", "0:a",
                    "-c:v", "copy", "-c:a", "aac", str(out)], check=True)
    rep = check_sync(out)
    assert rep.audio_delay_ms is None
    hint = [f for f in rep.findings if f.check == "sync.audio_stream"]
    assert hint and "--audio-stream 1" in hint[0].advice
    assert check_sync(out, audio_stream=1).audio_delay_ms is not None


def test_sparse_mp3_says_why_the_confidence_is_low(tmp_path: Path) -> None:
    """retalking_face2 with its sound as MP3 at 32 kbit/s (an old web upload): the face
    plainly speaks, the confidence collapses (0.76 -> 0.02), and check names the coding
    as the reason beside the usual question about the speaker."""
    out = tmp_path / "web.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(_clip("retalking_face2.mp4")), "-c:v", "copy",
                    "-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k", str(out)], check=True)
    rep = check_sync(out)
    assert rep.confidence < 0.3
    coded = [f for f in rep.findings if f.check == "sync.audio"]
    assert len(coded) == 1 and "32 kbit/s" in coded[0].message


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_a_halls_echo_says_why_the_confidence_is_low(tmp_path: Path) -> None:
    """retalking_face2's voice in a hall (sox reverb 70 %: speech takes 1.2 s to die
    away): the confidence collapses (0.74 -> 0.26) and check names the echo; the clip as it
    is names none. (Until session 30 reverb 50 %, which now reads 0.30, the edge: its
    delay +55 ms, within a frame of the clip's +44.)"""
    dry, wet, out = tmp_path / "dry.wav", tmp_path / "wet.wav", tmp_path / "hall.mkv"
    clip = _clip("retalking_face2.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(clip), "-vn", "-ac", "1", str(dry)], check=True)
    subprocess.run(["sox", "-D", str(dry), str(wet), "reverb", "70", "50", "100"], check=True, capture_output=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(clip), "-i", str(wet), "-map", "0:v", "-map", "1:a",
                    "-c:v", "copy", "-c:a", "pcm_s16le", str(out)], check=True)
    rep = check_sync(out)
    assert rep.confidence < 0.3 and rep.details["echo_decay_s"] >= 0.7
    echo = [f for f in rep.findings if f.check == "sync.echo"]
    assert len(echo) == 1 and "reverberant" in echo[0].message
    plain = check_sync(clip)
    assert plain.details["echo_decay_s"] < 0.4 and not [f for f in plain.findings if f.check == "sync.echo"]


def test_clipped_sound_says_why_the_confidence_is_low(tmp_path: Path) -> None:
    """voxceleb_00067's sound raised 20 dB into hard clipping (a quarter of its samples at
    full scale) read 0.00 (0.94 as it is): check names the clipping beside a low
    confidence; the clip as it is names none."""
    out = tmp_path / "clipped.mkv"
    clip = _clip("voxceleb_00067.mp4")
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(clip), "-c:v", "copy",
                    "-af", "volume=20dB,asoftclip=type=hard", "-c:a", "pcm_s16le", str(out)], check=True)
    rep = check_sync(out)
    assert rep.details["clipped_share"] > 0.1
    named = [f for f in rep.findings if f.check == "sync.clipping"]
    assert len(named) == (rep.confidence < 0.3)
    assert all("full scale" in f.message for f in named)
    plain = check_sync(clip)
    assert plain.details["clipped_share"] == 0.0 and not [f for f in plain.findings if f.check == "sync.clipping"]


@pytest.mark.slow
def test_a_small_face_says_why_the_confidence_is_low(tmp_path: Path) -> None:
    """voxceleb_620900105 at a quarter of its 224 px in a 1080p frame (a face of about
    31 px, found on the keyframe in tiles) read confidence 0.00: check names the face's
    size beside it; the clip as it is names none."""
    from tests.sync.builders import wide_shot

    clip = _clip("voxceleb_620900105.mp4")
    rep = check_sync(wide_shot(clip, 0.25, tmp_path / "wide.mp4"))
    assert 25 <= rep.details["face_px"] < 40
    named = [f for f in rep.findings if f.check == "sync.face_size"]
    assert len(named) == (rep.confidence < 0.3) and all("px wide" in f.message for f in named)
    plain = check_sync(clip)
    assert plain.details["face_px"] > 100 and not [f for f in plain.findings if f.check == "sync.face_size"]


@pytest.mark.slow
def test_lips_coded_past_reading_hold_the_confidence_and_say_why(tmp_path: Path) -> None:
    """retalking_face1's picture coded again at CRF 51 (its sound copied): the lips'
    quantiser is 51, 6 over the line for its face, and the reading there is noise (shifted
    copies read up to 12 frames off at confidence 0.67 before it was held). check holds
    every confidence down, the verdict is uncertain and says why; the clip as it is keeps
    its own."""
    clip = _clip("retalking_face1.mp4")
    out = tmp_path / "crf51.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(clip), "-c:v", "libx264", "-crf", "51",
                    "-c:a", "copy", str(out)], check=True)
    rep = check_sync(out)
    pic = rep.details["picture"]
    assert pic["mouth_qp"] >= 50 and pic["confidence_kept"] <= 0.1
    assert rep.confidence < 0.3 and rep.verdict["status"] == "uncertain"
    assert all(w.confidence < 0.3 and w.uncertain for w in rep.windows)
    held = [f for f in rep.findings if f.check == "sync.picture"]
    assert len(held) == 1 and "quantiser 51" in held[0].message
    plain = check_sync(clip)
    assert plain.details["picture"]["confidence_kept"] == 1.0 and plain.details["picture"]["mouth_qp"] < 30
    assert plain.confidence >= 0.3 and not [f for f in plain.findings if f.check == "sync.picture"]


@pytest.mark.slow
def test_a_soft_coarsely_coded_face_reads_as_the_clip(tmp_path: Path) -> None:
    """voxceleb_517600055's picture at a third or half its size and back, coded again at
    CRF 40 (a heavy web re-encode; the sound copied). The mesh stops parting the blurred
    lips, and the inner-lip aperture alone read both copies confidently wrong (321 and
    293 ms early at 0.43 and 0.62). The lower lip's drop below the nose survives the blur,
    and the reading stays within a frame of the clip's. (retalking_face1 at a third still
    reads 47 ms early at 0.66: docs/sync.md, "The lower lip's drop".)"""
    from mouthsync.media.decode import video_meta

    clip = _clip("voxceleb_517600055.mp4")
    meta = video_meta(clip)
    own = check_sync(clip)
    assert own.audio_delay_ms is not None and own.confidence >= 0.5
    for k in (2, 3):
        out = tmp_path / f"soft{k}.mkv"
        small = f"scale={meta.width // k // 2 * 2}:-2,scale={meta.width}:{meta.height}"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(clip), "-vf", small, "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "40", "-c:a", "copy", str(out)], check=True)
        rep = check_sync(out)
        assert rep.audio_delay_ms is not None
        assert abs(rep.audio_delay_ms - own.audio_delay_ms) <= 1000.0 / rep.fps, (k, rep.audio_delay_ms, rep.confidence)


def test_faceless_video_reads_no_face(tmp_path: Path) -> None:
    out = tmp_path / "bars.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4",
         "-i", str(SPEECH[0]), "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", str(out)],
        check=True,
    )
    rep = check_sync(out)
    assert rep.confidence == 0.0
    assert rep.audio_delay_ms is None
    assert rep.verdict["status"] == "no_face"


def test_cli_json_keys_plot_and_audio_option(face2, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    p, tr, a = face2
    shifted = shifted_audio(decode_audio(p, rate=48000), 0.16)
    wav = write_wav(tmp_path / "late.wav", shifted)
    png = tmp_path / "sync.png"
    assert main(["check", str(p), "--json"]) == 0
    d0 = json.loads(capsys.readouterr().out)
    for key in ("audio_delay_ms", "audio_delay_frames", "fps", "confidence", "drift_ms_per_min", "windows", "verdict"):
        assert key in d0
    for key in ("start_s", "end_s", "audio_delay_ms", "confidence"):
        assert key in d0["windows"][0]
    assert d0["fps"] == pytest.approx(25.0, abs=0.01)
    assert d0["audio_delay_frames"] == pytest.approx(d0["audio_delay_ms"] / 40.0, abs=0.01)
    assert main(["check", str(p), "--audio", str(wav), "--json", "--plot", str(png), "--standard", "r37"]) in (0, 1)
    d1 = json.loads(capsys.readouterr().out)
    assert d1["audio_delay_ms"] - d0["audio_delay_ms"] == pytest.approx(160.0, abs=40.0)
    assert d1["verdict"]["standard"] == "r37"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the readable summary names the delay and the verdict
    assert main(["check", str(p)]) == 0
    text = capsys.readouterr().out
    assert "audio delay" in text and "verdict" in text


def test_cli_shifted_file_and_bad_input(face2, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    p, tr, a = face2
    late = write_shifted_clip(p, tmp_path / "late.mkv", 0.2)
    assert main(["check", str(late), "--json", "--fail-on", "never"]) == 0
    d = json.loads(capsys.readouterr().out)
    base = check_sync(p).audio_delay_ms
    assert d["audio_delay_ms"] - base == pytest.approx(200.0, abs=40.0)
    assert main(["check", str(SILENT[0])]) == 2  # no audio stream
    assert "no audio" in capsys.readouterr().err
    assert main(["check", str(p), "--standard", "smpte"]) == 2
    assert main(["check", str(tmp_path / "missing.mp4")]) == 2


def test_steady_noise_is_removed_and_said(face2, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """Pink noise 10 dB under a copy 4 frames late: check denoises before recognition, says
    so, and still reads the shift within a frame of the clean estimate."""
    p, tr, a = face2
    clean = check_sync(p)
    assert clean.details["denoised"] is False
    noisy = shifted_audio(noisy_audio(decode_audio(p, rate=48000), 10.0, seed=7), 0.16)
    wav = write_wav(tmp_path / "noisy_late.wav", noisy)
    assert main(["check", str(p), "--audio", str(wav), "--json", "--fail-on", "never"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["details"]["denoised"] is True and d["details"]["noise_flatness"] >= 0.15
    assert d["audio_delay_ms"] - clean.audio_delay_ms == pytest.approx(160.0, abs=40.0)
    assert main(["check", str(p), "--audio", str(wav), "--fail-on", "never"]) == 0
    assert "background noise" in capsys.readouterr().out


def test_phone_footage_stored_sideways_reads_like_the_original(face2, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Phone video stores the sensor's picture turned a quarter with a display-rotation flag:
    the face is sideways in the decoded pixels. The delay must read as on the upright
    original (the tracker turns each picture upright first; upside down in
    tests/face/test_frames.py)."""
    p, tr, a = face2
    side = tmp_path / "side.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(p), "-vf", "transpose=2", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "18", "-c:a", "copy", str(side)], check=True)
    phone = tmp_path / "phone.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(side), "-c", "copy",
                    "-metadata:s:v:0", "rotate=270", str(phone)], check=True)
    base, turned = check_sync(p), check_sync(phone)
    assert turned.confidence >= 0.3
    assert abs(turned.audio_delay_ms - base.audio_delay_ms) <= 40.0


def test_cli_checks_several_files_and_sums_them_up(face2, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """A delivery of several files: each is checked, a bad one is named and skipped (exit 2
    at the end), and --plot / --html / --markers name folders with one file per input."""
    p, tr, a = face2
    other = _clip("retalking_face4.mp4")
    twin = tmp_path / "b"
    twin.mkdir()
    same_name = write_shifted_clip(p, twin / p.name.replace(".mp4", ".mkv"), 0.2)  # same stem as p
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    plots, pages, marks = tmp_path / "plots", tmp_path / "pages", tmp_path / "marks"
    plots.mkdir()
    pages.mkdir()
    marks.mkdir()
    rc = main(["check", str(p), str(other), str(same_name), "--json", "--plot", str(plots), "--html", str(pages),
               "--markers", str(marks), "--fail-on", "never"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["checked"] == 3 and d["failed"] == 0
    assert [r["source"] for r in d["files"]] == [str(p), str(other), str(same_name)]
    assert d["files"][2]["audio_delay_ms"] - d["files"][0]["audio_delay_ms"] == pytest.approx(200.0, abs=40.0)
    stem = p.stem
    assert sorted(x.name for x in plots.iterdir()) == sorted([f"{stem}.check.png", f"{stem}-2.check.png", f"{other.stem}.check.png"])
    assert sorted(x.name for x in pages.iterdir()) == sorted([f"{stem}.check.html", f"{stem}-2.check.html", f"{other.stem}.check.html"])
    assert d["files"][2]["html"] == str(pages / f"{stem}-2.check.html")
    assert sorted(x.name for x in marks.iterdir()) == sorted([f"{stem}.check.edl", f"{stem}-2.check.edl", f"{other.stem}.check.edl"])
    assert (marks / f"{stem}-2.check.edl").read_text().startswith("TITLE: mouthsync check ")
    # a bad file among good ones: named on stderr and in the table, the rest still checked
    rc = main(["check", str(p), str(bad), str(other)])
    out, err = capsys.readouterr()
    assert rc == 2 and "notes.mp4" in err and "Traceback" not in err
    assert "3 files: 2 checked, 1 could not be" in out and str(other) in out
    # options that only make sense for one file
    assert main(["check", str(p), str(other), "--audio", str(p)]) == 2
    assert "--audio goes with one FILE" in capsys.readouterr().err
    assert main(["check", str(p), str(other), "--plot", str(tmp_path / "x.png")]) == 2
    assert "names an existing folder" in capsys.readouterr().err


def test_surround_master_is_measured_on_its_centre_channel(face2, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A 5.0 master: the voice in the centre, a loud noise bed in the four other channels.
    check measures the centre alone and reads the clean clip's delay; mixed to mono, the
    bed buries the voice."""
    p, tr, a = face2
    five = tmp_path / "five.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(p), "-f", "lavfi", "-i",
                    "anoisesrc=color=pink:amplitude=0.1:sample_rate=48000:seed=3", "-filter_complex",
                    "[0:a]aresample=48000,pan=mono|c0=c0[v];[1:a]asplit=4[a][b][c][d];"
                    "[a][b][v][c][d]join=inputs=5:channel_layout=5.0:map=0.0-FL|1.0-FR|2.0-FC|3.0-BL|4.0-BR[o]",
                    "-map", "0:v", "-map", "[o]", "-c:v", "copy", "-c:a", "flac", "-shortest", str(five)],
                   check=True)
    base = check_sync(p)
    rep = check_sync(five)
    assert rep.details.get("audio_channel") == "FC"
    assert rep.confidence >= 0.3
    assert abs(rep.audio_delay_ms - base.audio_delay_ms) <= 40.0
    mixed = decode_audio(five, rate=RATE)
    raw, conf = _raw(tr, mixed)
    assert conf < 0.3 or abs(raw - base.raw_delay_ms) > 40.0  # why the centre is taken


@pytest.mark.slow
def test_a_title_with_a_tone_before_the_talk_reads_like_the_clip(face2, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """3 s of a title card over a low 220 Hz tone, then the clip: a common opening. The tone
    entered the recognisers' normalisation and the machine transcript, and check read +61
    ms at confidence 0.06 (the clip alone: +28 ms at 0.76). The recognisers now hear the
    speech with half a second either side."""
    p, _, _ = face2
    out = tmp_path / "titled.mkv"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=navy:s=844x844:r=25:d=3",
         "-f", "lavfi", "-i", "sine=f=220:d=3:sample_rate=44100", "-i", str(p), "-filter_complex",
         "[0:v]format=yuv420p,setsar=1[v0];[1:a]volume=0.05,aformat=sample_rates=44100:channel_layouts=mono[a0];"
         "[2:v]setsar=1[v2];[2:a]aformat=sample_rates=44100:channel_layouts=mono[a2];"
         "[v0][a0][v2][a2]concat=n=2:v=1:a=1[v][a]",
         "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "pcm_s16le",
         str(out)], check=True)
    base, titled = check_sync(p), check_sync(out)
    assert titled.confidence >= 0.3
    assert abs(titled.audio_delay_ms - base.audio_delay_ms) <= 40.0
