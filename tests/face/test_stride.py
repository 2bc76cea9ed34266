"""Tracking every k-th frame of high-rate footage (``face.stride``, ``check --track-rate``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mouthsync.face.stride import keeper, kept, stride_for
from mouthsync.face.track import track_face
from mouthsync.media.decode import frame_times
from tests.conftest import CLIPS

FACE2 = next(p for p in CLIPS if p.name == "retalking_face2.mp4")


def _times(fps: float, seconds: float = 4.0) -> np.ndarray:
    return np.arange(int(fps * seconds)) / fps


def test_the_stride_keeps_about_the_rate_asked_for() -> None:
    assert [stride_for(_times(r), 30.0) for r in (24, 25, 30, 40, 48, 50, 60000 / 1001, 60, 120)] == [1, 1, 1, 1, 2, 2, 2, 2, 4]
    assert stride_for(_times(60), None) == 1 and stride_for(np.array([0.0]), 30.0) == 1
    ft = _times(50)
    keep = keeper(ft, 2)
    assert keep is not None and keeper(ft, 1) is None
    assert [keep(float(t)) for t in ft[:6]] == [True, False, True, False, True, False]
    assert kept(201, 2) == 101 and kept(200, 1) == 200


def _at_50(src: Path, out: Path) -> Path:
    """``src`` shown at 50 fps (each picture twice: the pictures kept at stride 2 are the
    clip's own)."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-vf", "fps=50", "-c:v", "libx264",
                    "-preset", "veryfast", "-crf", "18", "-g", "100", "-c:a", "copy", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def long_50(long_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _at_50(long_clip, tmp_path_factory.mktemp("hfr") / "long50.mkv")


def test_every_second_frame_of_50_fps_in_chunks_as_in_one_pass(long_50: Path) -> None:
    """The frames kept are fixed by their index in the file, so two processes tracking
    chunks keep the same ones as one; the track reads the file's rate."""
    ft = frame_times(long_50)
    one = track_face(long_50, use_cache=False, workers=1, max_rate=30.0)
    two = track_face(long_50, use_cache=False, workers=2, max_rate=30.0)
    np.testing.assert_allclose(one.times, ft[::2], atol=1e-6)
    np.testing.assert_array_equal(one.times, two.times)
    np.testing.assert_array_equal(one.landmarks, two.landmarks)
    np.testing.assert_array_equal(one.picture_change, two.picture_change)
    assert one.settings["every"] == 2 and one.valid.all()
    assert one.fps == pytest.approx(50.0, rel=1e-3)


def test_check_at_a_track_rate_reads_the_clip_at_its_own_rate(tmp_path: Path) -> None:
    """face2 shown at 50 fps and checked every second frame: the pictures tracked are the
    clip's own 25, and the delay is what the 25 fps clip reads; the report keeps 50 fps."""
    from mouthsync.sync.delay import check_sync

    clip50 = _at_50(FACE2, tmp_path / "face2_50.mp4")
    own = check_sync(FACE2)
    fast = check_sync(clip50, track_rate=30.0)
    assert fast.fps == pytest.approx(50.0, rel=1e-3)
    assert fast.details["frames"] == kept(len(frame_times(clip50)), 2)
    assert abs(fast.audio_delay_ms - own.audio_delay_ms) < 10.0
    assert fast.audio_delay_frames == pytest.approx(fast.audio_delay_ms / 20.0, abs=1e-6)


def test_the_track_rate_must_be_a_rate(tmp_path: Path) -> None:
    from mouthsync.cli import main

    assert main(["check", str(FACE2), "--track-rate", "0"]) != 0


def test_fix_at_a_track_rate_removes_a_shift_of_a_50_fps_clip(tmp_path: Path) -> None:
    """face2 at 50 fps made 12 frames (240 ms) late: ``fix --delay auto --track-rate 30
    --verify`` removes it (measured every second frame), and the output reads in sync."""
    import json

    from mouthsync.cli import main
    from mouthsync.sync.delay import check_sync
    from tests.sync.builders import write_shifted_clip

    clip50 = _at_50(FACE2, tmp_path / "face2_50.mkv")
    shifted = write_shifted_clip(clip50, tmp_path / "late.mkv", 0.24)
    base = check_sync(clip50, track_rate=30.0)
    fixed = tmp_path / "fixed.mkv"
    assert main(["fix", str(shifted), "-o", str(fixed), "--delay", "auto", "--track-rate", "30", "--verify"]) == 0
    side = json.loads(Path(str(fixed) + ".fix.json").read_text())
    # within a tracked frame (two of the file's 20 ms frames at this rate), as the shift
    # protocol reads at --track-rate 30 (docs/face.md, "High frame rates": within 24.6 ms)
    assert abs(side["audio_delay_removed_frames"] - (base.audio_delay_frames + 12)) <= 1.5
    assert abs(side["verified"]["audio_delay_frames"]) <= 1.5
    assert main(["fix", str(shifted), "-o", str(tmp_path / "no.mkv"), "--track-rate", "-2"]) != 0
