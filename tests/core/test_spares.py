"""Spare workers (``core.spares``): started before their job, taken by the code that would
have started a worker, stopped when nobody takes them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mouthsync.core import spares
from tests.conftest import CLIPS, SPEECH


@pytest.fixture(autouse=True)
def _no_spares_left() -> None:
    yield
    spares.drop()


def test_a_dropped_spare_is_stopped_and_its_folder_removed() -> None:
    spares.start(spares.SPEECH_WORKER, progress_out=False)
    spare = spares.take(spares.SPEECH_WORKER)
    assert spare is not None and spare.proc.poll() is None
    folder = Path(spare.tmp.name)
    assert folder.is_dir()
    spare.stop()
    assert spare.proc.poll() is not None
    assert not folder.exists()
    assert spares.take(spares.SPEECH_WORKER) is None  # taken once only


def test_a_spare_dismissed_without_a_job_exits_cleanly() -> None:
    proc = subprocess.Popen([sys.executable, "-m", spares.TRACK_WORKER, spares.SPARE_ARG],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate("", timeout=120)
    assert proc.returncode == 0, err


def test_the_speech_timeline_runs_in_the_spare_with_the_same_result() -> None:
    from mouthsync.audio.timeline import speech_timeline_in_process
    from mouthsync.media.decode import decode_audio

    audio = decode_audio(SPEECH[0], rate=16000)
    audio = type(audio)(audio.samples[: 4 * audio.rate], audio.rate, audio.start)
    plain = speech_timeline_in_process(audio, use_cache=False, denoise=False).result(timeout=300)
    spares.start(spares.SPEECH_WORKER, progress_out=False)
    spare = spares.waiting(spares.SPEECH_WORKER)
    assert spare is not None
    got = speech_timeline_in_process(audio, use_cache=False, denoise=False).result(timeout=300)
    assert spares.take(spares.SPEECH_WORKER) is None  # it was taken
    assert spare.proc.wait(timeout=30) == 0
    assert not Path(spare.tmp.name).exists()
    assert [p.label for p in got.phones] == [p.label for p in plain.phones]


def test_the_tracking_chunks_run_in_the_spare(tmp_path: Path, long_clip: Path) -> None:
    import numpy as np

    from mouthsync.face.track import track_face

    clip = long_clip
    plain = track_face(clip, use_cache=False, workers=2)
    spares.start(spares.TRACK_WORKER, progress_out=True)
    spare = spares.waiting(spares.TRACK_WORKER)
    assert spare is not None
    got = track_face(clip, use_cache=False, workers=2)
    assert spare.proc.poll() == 0 and not Path(spare.tmp.name).exists()
    np.testing.assert_array_equal(got.valid, plain.valid)
    np.testing.assert_array_equal(got.landmarks, plain.landmarks)


def test_the_command_line_starts_spares_only_for_commands_that_measure(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    monkeypatch.setattr(spares, "start", lambda module, progress_out: started.append(module))
    for args, want in [
        (["check", "a.mp4"], [spares.TRACK_WORKER, spares.SPEECH_WORKER]),
        (["check", "a.mp4", "--faces", "2"], [spares.SPEECH_WORKER]),
        (["check", "--help"], []),
        (["check"], []),
        (["probe", "a.mp4"], []),
        (["track", "a.mp4"], [spares.TRACK_WORKER]),
        (["facecheck", "a.mp4"], [spares.TRACK_WORKER]),
        (["facecheck", "a.mp4", "--track", "a.npz"], []),
        (["fix", "a.mp4", "-o", "b.mp4"], [spares.TRACK_WORKER, spares.SPEECH_WORKER]),  # --delay auto
        (["fix", "a.mp4", "-o", "b.mp4", "--delay=steps"], [spares.TRACK_WORKER, spares.SPEECH_WORKER]),
        (["fix", "a.mp4", "-o", "b.mp4", "--delay", "-2f"], []),  # a nudge: nothing measured
        (["fix", "a.mp4", "-o", "b.mp4", "--delay", "40ms", "--drift", "auto"], [spares.TRACK_WORKER, spares.SPEECH_WORKER]),
        (["fix", "a.mp4", "-o", "b.mp4", "--report", "a.json"], []),  # the measurement is read
        ([], []),
    ]:
        started.clear()
        spares.start_for_command(args)
        assert started == want, args
    monkeypatch.setenv("MOUTHSYNC_SPARES", "0")
    started.clear()
    spares.start_for_command(["check", "a.mp4"])
    assert started == []


def test_check_through_the_command_line_leaves_no_spare_behind(tmp_path: Path) -> None:
    """A cached check takes no worker: both spares are stopped, their folders gone."""
    env = dict(os.environ, TMPDIR=str(tmp_path), MOUTHSYNC_NO_PROGRESS="1")
    for _ in range(2):  # the second run reads the cache
        run = subprocess.run([sys.executable, "-m", "mouthsync", "check", str(CLIPS[0]), "--json"],
                             capture_output=True, text=True, env=env, timeout=600)
        assert run.returncode == 0, run.stderr
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("mouthsync-spare-")]


def test_a_spare_that_died_before_its_job_is_replaced_by_a_fresh_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spare can die between being taken and being given its job (killed, out of
    memory): the job goes to a fresh worker instead, in the spare's folder."""
    from mouthsync.audio.timeline import speech_timeline_in_process
    from mouthsync.media.decode import decode_audio

    spares.start(spares.SPEECH_WORKER, progress_out=False)
    spare = spares.take(spares.SPEECH_WORKER)
    assert spare is not None
    spare.proc.kill()
    spare.proc.wait()
    monkeypatch.setattr(spares, "take", lambda module: spare)  # taken while still alive
    audio = decode_audio(SPEECH[0], rate=16000)
    audio = type(audio)(audio.samples[: 3 * audio.rate], audio.rate, audio.start)
    got = speech_timeline_in_process(audio, use_cache=False, denoise=False).result(timeout=300)
    assert got.phones
    assert not Path(spare.tmp.name).exists()  # the fresh worker's folder, removed after it
