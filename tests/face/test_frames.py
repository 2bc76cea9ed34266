"""Frames for the tracker (``face.frames``): interlaced pictures on their first field, deblocking skipped
only where the shrink hides it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mouthsync.face import frames, mesh
from mouthsync.face import track as trk
from mouthsync.face.facetrack import build_track
from mouthsync.face.identities import primary_face
from mouthsync.face.track import track_face
from mouthsync.media.decode import video_meta
from tests.conftest import CLIPS


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


def test_skipped_deblocking_keeps_aperture_on_720p(tmp_path: Path, monkeypatch) -> None:
    clip = tmp_path / "talk720.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(CLIPS[1]), "-t", "4",
         "-vf", "scale=-2:720,pad=1280:720:(ow-iw)/2:0,setsar=1", "-an",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", str(clip)],
        check=True,
    )
    meta = video_meta(clip)
    assert max(meta.width, meta.height) >= frames.SKIP_DEBLOCK_FACTOR * trk.DEFAULT_MAX_SIDE  # the fast path is taken

    def aperture() -> np.ndarray:
        p = primary_face(mesh.mesh_frames(str(clip), None, None, trk.DEFAULT_MAX_SIDE, 1, meta.width, meta.height))
        assert p["valid"].all()
        return build_track(p["times"], p["valid"], p["landmarks"], meta.width, meta.height).mouth["aperture"]

    fast = aperture()
    monkeypatch.setattr(frames, "SKIP_DEBLOCK_FACTOR", 1e9)  # deblocked, as before
    exact = aperture()
    assert len(fast) == len(exact) >= 90
    ok = np.isfinite(fast) & np.isfinite(exact)
    assert ok.mean() > 0.95
    assert np.corrcoef(fast[ok], exact[ok])[0, 1] >= 0.99
    assert not np.array_equal(fast, exact)  # the option really changed the decode
