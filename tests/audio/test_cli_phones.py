"""The ``mouthsync phones`` command: summary, JSON, Rhubarb output, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from mouthsync.audio import rhubarb
from mouthsync.cli import main
from tests.conftest import CLIPS, SILENT, SPEECH
from tests.processes import alive, children


def test_json_summary(capsys) -> None:
    assert main(["phones", str(CLIPS[1]), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mode"] == "allphone" and d["phones"] and d["speech"]
    assert {"bilabial_closure", "plosive_release"} <= set(d["event_counts"])
    vis = d["visemes"]
    assert vis[0][0] == d["phones"][0][0] and vis[-1][1] == d["phones"][-1][1]
    assert all(a[2] != b[2] for a, b in zip(vis[:-1], vis[1:], strict=True))
    assert "bilabial" in {v[2] for v in vis}


def test_transcript_from_file_and_human(tmp_path, capsys) -> None:
    t = tmp_path / "words.txt"
    t.write_text("the heart of my california congressional district right chase my own dreams growing up\n")
    assert main(["phones", str(CLIPS[1]), "--transcript", str(t)]) == 0
    out = capsys.readouterr().out
    assert "align" in out and "california@" in out


def test_rhubarb_to_file_atomic(tmp_path, capsys) -> None:
    out = tmp_path / "cues.json"
    assert main(["phones", str(CLIPS[1]), "-f", "json", "-o", str(out), "--extended-shapes", ""]) == 0
    cues = rhubarb.read_json(out.read_text())
    assert cues and {c.shape for c in cues} <= set("ABCDEF")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_errors_are_one_line(tmp_path, capsys) -> None:
    assert main(["phones", str(SILENT[0])]) == 2
    assert main(["phones", str(tmp_path / "missing.wav")]) == 2
    assert main(["phones", str(SPEECH[0]), "-f", "srt"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("mouthsync: error:") == 3


def test_noisy_audio_says_it_was_denoised(tmp_path, capsys) -> None:
    from mouthsync.media.decode import decode_audio
    from tests.sync.builders import noisy_audio, write_wav

    wav = write_wav(tmp_path / "noisy.wav", noisy_audio(decode_audio(CLIPS[1], rate=16000), 10.0, seed=3))
    assert main(["phones", str(wav), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["denoised"] is True
    assert main(["phones", str(wav)]) == 0
    assert "background noise" in capsys.readouterr().out
    assert main(["phones", str(CLIPS[1])]) == 0
    assert "background noise" not in capsys.readouterr().out


def test_a_second_audio_stream_is_read_when_asked(tmp_path, capsys) -> None:
    """A master with a dub track: --audio-stream 1 gives the dub's phones, not the original's."""
    import subprocess

    out = tmp_path / "two.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(CLIPS[1]), "-i", str(SPEECH[0]),
                    "-map", "0:v", "-map", "0:a", "-map", "1:a", "-c:v", "copy", "-c:a", "flac", str(out)],
                   check=True)
    assert main(["phones", str(out), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["phones", str(out), "--audio-stream", "1", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert abs(first["duration"] - 5.0) < 0.1 and abs(second["duration"] - 8.0) < 0.1
    assert main(["phones", str(out), "--audio-stream", "2"]) == 2
    assert "no audio stream 2" in capsys.readouterr().err


def test_rhubarb_cues_of_sound_that_starts_late_begin_at_zero(tmp_path, capsys) -> None:
    """Rhubarb's cues start at 0 and its duration is where they end: with the sound 0.5 s
    after the picture the document said 5.01 s while its cues ran to 5.51."""
    import subprocess

    late = tmp_path / "late.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(CLIPS[1]), "-itsoffset", "0.5",
                    "-i", str(CLIPS[1]), "-map", "0:v", "-map", "1:a", "-c", "copy", str(late)], check=True)
    assert main(["phones", str(late), "-f", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    cues = doc["mouthCues"]
    assert cues[0]["start"] == 0.0 and cues[0]["value"] == "X" and cues[0]["end"] >= 0.5
    assert doc["metadata"]["duration"] == cues[-1]["end"]


def test_a_dat_frame_rate_must_be_a_rate(capsys) -> None:
    for rate in ("0", "-5"):
        assert main(["phones", str(CLIPS[1]), "-f", "dat", "--dat-frame-rate", rate]) == 2
    err = capsys.readouterr().err
    assert err.count("must be a frame rate") == 2


def test_silence_says_no_speech(tmp_path, capsys) -> None:
    import numpy as np

    from tests.sync.builders import write_wav

    wav = write_wav(tmp_path / "quiet.wav", np.zeros(16000 * 3, np.float32), 16000)
    assert main(["phones", str(wav)]) == 0
    assert "no speech found" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_an_interrupt_stops_at_once_and_leaves_no_worker(tmp_path) -> None:
    """Recognising words in two minutes of speech, interrupted: exit 130 at once, no worker
    left. (Recognised in the command's own process, an interrupt waited for PocketSphinx
    to finish its decode: 21 s on four minutes.)"""
    sound = tmp_path / "long.wav"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-stream_loop", "-1", "-i", str(SPEECH[0]), "-t", "120",
                    "-ac", "1", str(sound)], check=True)
    env = dict(os.environ, MOUTHSYNC_CACHE=str(tmp_path / "cache"), MOUTHSYNC_NO_PROGRESS="1")
    proc = subprocess.Popen([sys.executable, "-m", "mouthsync", "phones", str(sound), "--transcript", "auto"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    workers: set[int] = set()
    deadline = time.time() + 30
    while time.time() < deadline and not workers and proc.poll() is None:
        time.sleep(0.2)
        workers |= children(proc.pid)
    assert proc.poll() is None and workers, "phones ended before its worker could be seen"
    time.sleep(2.0)  # the recogniser is under way
    workers |= children(proc.pid)
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-500:]
    assert time.time() - t0 < 5.0  # ~0.1 s on an idle machine
    time.sleep(0.5)
    assert not [p for p in workers if alive(p)]
