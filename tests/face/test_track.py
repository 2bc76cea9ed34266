"""Tracking on the real shared clips: coverage, true timestamps, parallel ranges, the cache, failure modes."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from mouthsync.core.errors import NoFace
from mouthsync.face.facetrack import FaceTrack
from mouthsync.face.track import track_face
from mouthsync.media.decode import frame_times, keyframe_times, video_meta
from tests.conftest import CLIPS, SILENT, WILD


@pytest.mark.parametrize("path", [*CLIPS, *WILD], ids=lambda p: p.name)
def test_every_shared_clip_tracks_every_frame(tracks: dict[str, FaceTrack], path) -> None:
    tr = tracks[path.name]
    ft = frame_times(path)
    assert len(tr) == len(ft)
    assert tr.valid.all(), f"{path.name}: {int((~tr.valid).sum())} frames without a face"
    # true presentation times, not index x nominal rate (retalking_face1 is VFR)
    np.testing.assert_allclose(tr.times, ft, atol=1e-6)
    meta = video_meta(path)
    assert (tr.width, tr.height) == (meta.width, meta.height)
    assert tr.landmarks.shape == (len(ft), 478, 3)
    xy = tr.landmarks[..., :2]
    assert np.nanmin(xy[..., 0]) > -0.05 * meta.width and np.nanmax(xy[..., 0]) < 1.05 * meta.width
    b = tr.boxes
    assert np.all(b[:, 2] > b[:, 0]) and np.all(b[:, 3] > b[:, 1])
    for key in ("aperture", "width", "closure", "lip_teeth", "velocity"):
        assert tr.mouth[key].shape == (len(ft),)
    assert np.isfinite(tr.mouth["aperture"]).all()
    assert np.isfinite(tr.pose).all() and np.abs(tr.pose).max() < 90


def test_vfr_clip_fps_is_measured_not_declared(tracks: dict[str, FaceTrack]) -> None:
    tr = tracks["retalking_face1.mp4"]
    assert abs(tr.fps - 22.1) < 0.3  # declared 30, real average 22.13
    assert np.diff(tr.times).std() > 1e-3  # uneven spacing kept


def test_drawn_character_tracks_or_fails_clearly() -> None:
    yongen = next(p for p in SILENT if p.name == "musetalk_yongen.mp4")
    try:
        tr = track_face(yongen)
    except NoFace as exc:
        assert "no face" in str(exc)
        return
    assert tr.coverage > 0.5


def test_no_face_is_one_clear_error(tmp_path) -> None:
    blank = tmp_path / "blank.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=gray:s=320x240:d=1:r=25",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(blank)],
        check=True,
    )
    with pytest.raises(NoFace, match="no face found"):
        track_face(blank, use_cache=False)


def test_chunks_tracked_by_two_processes_equal_one_pass(long_clip: Path) -> None:
    """Whichever process tracks which chunk (and however many there are), every landmark
    is the same: tracking starts afresh at every chunk, after a seek or not."""
    from mouthsync.face.chunks import chunk_starts

    assert len(chunk_starts(frame_times(long_clip), keyframe_times(long_clip))) >= 3
    one = track_face(long_clip, use_cache=False, workers=1)
    two = track_face(long_clip, use_cache=False, workers=2)
    np.testing.assert_array_equal(one.times, two.times)
    np.testing.assert_allclose(one.times, frame_times(long_clip), atol=1e-6)
    assert two.valid.all()
    np.testing.assert_array_equal(one.landmarks, two.landmarks)
    np.testing.assert_array_equal(one.picture_change, two.picture_change)


def test_every_face_of_a_long_two_shot_is_tracked_in_chunks_as_in_one_pass(long_clip: Path, tmp_path: Path) -> None:
    """Two faces over 17 s (the long clip beside itself played backwards): tracked in two
    processes, each identity has the landmarks of one process's pass, and stays on its
    own side throughout (identities are followed across the chunks)."""
    from mouthsync.face.track import track_faces

    two_shot = tmp_path / "two.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(long_clip), "-filter_complex",
                    "[0:v]split[a][b];[b]reverse[r];[a][r]hstack=inputs=2[v]", "-map", "[v]", "-map", "0:a",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "50", "-c:a", "copy",
                    str(two_shot)], check=True)
    one = track_faces(two_shot, max_faces=2, use_cache=False, workers=1)
    two = track_faces(two_shot, max_faces=2, use_cache=False, workers=2)
    assert len(one) == len(two) == 2
    width = video_meta(two_shot).width
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a.valid, b.valid)
        np.testing.assert_array_equal(a.landmarks, b.landmarks)
        np.testing.assert_array_equal(a.picture_change, b.picture_change)
        assert b.coverage > 0.95
        cx = (b.boxes[b.valid, 0] + b.boxes[b.valid, 2]) / 2
        assert (cx < width / 2).all() or (cx > width / 2).all()


def test_a_short_clip_is_one_chunk_in_one_process(tmp_path, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    clip = next(p for p in CLIPS if p.name == "retalking_face4.mp4")
    tr = track_face(clip, use_cache=False, workers=2)
    assert len(tr) == len(frame_times(clip)) and tr.valid.all()
    assert list(tmp_path.iterdir()) == []  # no worker folder was made


def _live_track_workers() -> list[int]:
    """PIDs of running ``mouthsync.face._worker`` processes started by this process."""
    import os
    from pathlib import Path

    me = str(os.getpid())
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes()
                stat = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if b"mouthsync.face._worker" in cmd and stat[1] == me and stat[0] != "Z":
                found.append(int(d))
    return found


def test_started_track_runs_its_worker_at_once_and_cancel_stops_it(tmp_path, monkeypatch, long_clip) -> None:
    """``start_track_face`` starts the worker before ``result()`` (``check`` counts the faces
    meanwhile); leaving the block without a result stops it and leaves no temp folder."""
    import tempfile

    from mouthsync.face.track import start_track_face

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    clip = long_clip
    with start_track_face(clip, use_cache=False, workers=2) as job:
        # started by the time start_track_face returns; its command line shows once the
        # child has exec'd (until then /proc shows the parent's: seen on a loaded machine)
        deadline = time.monotonic() + 10.0
        while not _live_track_workers() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(_live_track_workers()) == 1
    assert _live_track_workers() == []
    assert list(tmp_path.iterdir()) == []
    with start_track_face(clip, use_cache=False, workers=2) as job:
        tr = job.result()
    assert len(tr) == len(frame_times(clip)) and tr.valid.all()
    assert list(tmp_path.iterdir()) == []


def test_a_file_with_only_its_audio_changed_shares_the_cached_track(tmp_path: Path, monkeypatch) -> None:
    """``fix`` copies the picture and rewrites the audio: checking its output must not track
    the same frames again (the cache is keyed by the picture, not the file)."""
    import subprocess

    from mouthsync.face import track as trk

    src = CLIPS[1]
    first = trk.track_face(src)
    other = tmp_path / "other_audio.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-c:v", "copy",
                    "-af", "adelay=120:all=1", "-c:a", "aac", str(other)], check=True)

    def no_tracking(*a, **k):
        raise AssertionError("tracked again")

    from mouthsync.face import chunks

    monkeypatch.setattr(chunks, "mesh_frames", no_tracking)
    again = trk.track_face(other)
    np.testing.assert_array_equal(again.landmarks, first.landmarks)
    assert again.source == str(other)
    assert again.settings["video_sha256"] == first.settings["video_sha256"]


def test_a_killed_worker_s_chunks_are_tracked_by_the_caller(long_clip: Path, tmp_path: Path, monkeypatch) -> None:
    """A worker that dies (killed, out of memory) leaves its claimed chunks untracked: the
    calling process tracks them, and the track is the same as one process's."""
    import os
    import signal
    import tempfile

    from mouthsync.face.chunks import chunk_starts
    from mouthsync.face.track import start_track_face

    one = track_face(long_clip, use_cache=False, workers=1)
    n = len(chunk_starts(frame_times(long_clip), keyframe_times(long_clip)))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with start_track_face(long_clip, use_cache=False, workers=2) as job:
        deadline = time.monotonic() + 30.0
        # the worker starts at the middle chunk: killed once it has claimed it
        while not list(tmp_path.glob(f"mouthsync-track-*/claims/chunk{n // 2}")) and time.monotonic() < deadline:
            time.sleep(0.01)
        pids = _live_track_workers()
        assert len(pids) == 1 and list(tmp_path.glob(f"mouthsync-track-*/claims/chunk{n // 2}"))
        os.kill(pids[0], signal.SIGKILL)
        got = job.result()
    np.testing.assert_array_equal(got.times, one.times)
    np.testing.assert_array_equal(got.landmarks, one.landmarks)
