"""Tracking on the real shared clips: coverage, true timestamps, file format, failure modes."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from mouthsync.core.errors import BadInput, NoFace
from mouthsync.face.facetrack import SCHEMA_VERSION, FaceTrack
from mouthsync.face.track import track_face
from mouthsync.media.decode import frame_times, video_meta
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


def test_save_load_roundtrip_and_plain_numpy(tracks: dict[str, FaceTrack], tmp_path) -> None:
    tr = tracks["retalking_face3.mp4"]
    out = tr.save(tmp_path / "t.npz")
    back = FaceTrack.load(out)
    np.testing.assert_array_equal(back.times, tr.times)
    np.testing.assert_array_equal(back.landmarks, tr.landmarks)
    np.testing.assert_array_equal(back.mouth["aperture"], tr.mouth["aperture"])
    assert back.fps == pytest.approx(tr.fps)
    with np.load(out) as z:  # no mouthsync needed to read it
        assert int(z["schema_version"]) == SCHEMA_VERSION
        assert z["landmarks"].shape[1:] == (478, 3)
        assert "mouth_aperture" in z.files


def test_load_rejects_other_files(tmp_path) -> None:
    bad = tmp_path / "x.npz"
    np.savez(bad, a=np.zeros(3))
    with pytest.raises(BadInput):
        FaceTrack.load(bad)


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


def test_parallel_ranges_match_single_process(tmp_path) -> None:
    """Two worker processes, each seeking to its range, give the same frames as one pass."""
    clip = next(p for p in CLIPS if p.name == "retalking_face4.mp4")
    one = track_face(clip, use_cache=False, workers=1)
    two = track_face(clip, use_cache=False, workers=2)
    np.testing.assert_array_equal(one.times, two.times)
    assert two.valid.all()
    # tracking restarts at the cut, so landmarks agree closely but not bit-for-bit
    d = np.nanmedian(np.abs(one.mouth["aperture"] - two.mouth["aperture"]))
    assert d < 0.01


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


def test_started_track_runs_its_worker_at_once_and_cancel_stops_it(tmp_path, monkeypatch) -> None:
    """``start_track_face`` starts the worker before ``result()`` (``check`` counts the faces
    meanwhile); leaving the block without a result stops it and leaves no temp folder."""
    import tempfile

    from mouthsync.face.track import start_track_face

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    clip = next(p for p in CLIPS if p.name == "retalking_face4.mp4")
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


def test_fast_landmark_parse_matches_protobuf_fields() -> None:
    from mediapipe.framework.formats import landmark_pb2

    from mouthsync.face.mesh import landmark_array

    rng = np.random.default_rng(0)
    pts = rng.normal(size=(478, 3)).astype(np.float32)
    msg = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in pts:
        msg.landmark.add(x=float(x), y=float(y), z=float(z))
    np.testing.assert_array_equal(landmark_array(msg), pts)
    msg.landmark[5].visibility = 0.5  # another layout: the slow path must take over
    np.testing.assert_array_equal(landmark_array(msg), pts)


def test_primary_face_is_the_speaker_when_two_faces_show(tmp_path) -> None:
    """Two talking heads side by side (the second at half size): the big one is kept."""
    big = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    small = next(p for p in CLIPS if p.name == "retalking_face3.mp4")
    both = tmp_path / "two.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-i", str(big), "-i", str(small), "-filter_complex",
         "[1:v]scale=422:422,pad=422:844:0:211,setsar=1[b];[0:v]setsar=1[a];[a][b]hstack=shortest=1",
         "-c:v", "libx264", "-crf", "20", "-an", str(both)],
        check=True,
    )
    tr = track_face(both, use_cache=False, max_faces=2)
    assert tr.coverage == 1.0
    cx = (tr.boxes[:, 0] + tr.boxes[:, 2]) / 2
    assert np.all(cx < 844), "switched to the small face"


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

    monkeypatch.setattr(trk, "mesh_frames", no_tracking)
    again = trk.track_face(other)
    np.testing.assert_array_equal(again.landmarks, first.landmarks)
    assert again.source == str(other)
    assert again.settings["video_sha256"] == first.settings["video_sha256"]


def _lag_frames(ref: np.ndarray, other: np.ndarray) -> float:
    """How many frames ``other`` is later than ``ref`` (least squares on the slope)."""
    d = np.gradient(ref)
    return float(-np.sum((other - ref) * d) / np.sum(d * d))


def test_interlaced_pictures_are_tracked_on_their_first_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PAL interlaced footage (720x576, 50 fields/s of real motion) against the progressive
    copy made from the same 50 fps pictures: with both fields blended the mouth read 0.37
    frames (15 ms) early; the field shown first is the frame's own instant."""
    import mouthsync.face.frames as ft

    clip = next(p for p in CLIPS if p.name == "retalking_face4.mp4")
    inter, prog = tmp_path / "i.mp4", tmp_path / "p.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(clip), "-filter_complex",
         "[0:v]framerate=fps=50,scale=720:576,split[a][b];[a]tinterlace=mode=interleave_top,setfield=tff[i];"
         "[b]fps=25[p]", "-map", "[i]", "-c:v", "libx264", "-flags", "+ildct+ilme", "-x264-params", "tff=1",
         "-crf", "18", str(inter), "-map", "[p]", "-c:v", "libx264", "-crf", "18", str(prog)], check=True)
    a = track_face(prog, use_cache=False).mouth["aperture"]
    b = track_face(inter, use_cache=False).mouth["aperture"]
    assert a.size == b.size == 166
    assert np.corrcoef(a, b)[0, 1] > 0.985 and abs(_lag_frames(a, b)) < 0.15
    monkeypatch.setattr(ft, "first_field", lambda frame, order: None)  # the blended picture
    blended = track_face(inter, use_cache=False).mouth["aperture"]
    assert _lag_frames(a, blended) < -0.25


def test_first_field_follows_the_field_order() -> None:
    from types import SimpleNamespace

    from mouthsync.face.frames import first_field

    inter, prog = SimpleNamespace(interlaced_frame=True), SimpleNamespace(interlaced_frame=False)
    assert first_field(prog, 2) is None
    assert [first_field(inter, o) for o in (0, 2, 3, 4, 5)] == [0, 0, 1, 1, 0]
