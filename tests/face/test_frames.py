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


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_points_on_an_upright_picture_map_back_to_the_stored_one(turns: int) -> None:
    """``upright`` turns a picture, ``stored_fractions`` and ``upright_points`` carry points
    between the two: a marked pixel lands where the turned picture shows it."""
    h, w = 6, 10
    img = np.zeros((h, w, 3), np.uint8)
    x, y = 7, 2
    img[y, x] = 255
    up = frames.upright(img, turns)
    assert up.shape == ((h, w, 3) if turns % 2 == 0 else (w, h, 3))
    uy, ux = (int(v) for v in np.argwhere(up[:, :, 0] == 255)[0])
    # pixel centres as fractions of the turned picture, back to the stored picture's pixels
    fu, fv = frames.stored_fractions(np.array([(ux + 0.5) / up.shape[1]]), np.array([(uy + 0.5) / up.shape[0]]), turns)
    assert fu[0] * w - 0.5 == pytest.approx(x) and fv[0] * h - 0.5 == pytest.approx(y)
    there = frames.upright_points(np.array([[x + 0.5, y + 0.5, 3.0]]), turns, w, h)
    assert there[0, 0] - 0.5 == pytest.approx(ux) and there[0, 1] - 0.5 == pytest.approx(uy) and there[0, 2] == 3.0


@pytest.mark.slow
def test_phone_footage_is_tracked_upright(tmp_path: Path) -> None:
    """A clip stored upside down and flagged ``rotate=180`` (a phone held the other way),
    and one stored sideways with ``rotate=270`` (portrait): Face Mesh sees them upright,
    the landmarks land on the stored pictures where the face is, the head pose is the one
    people see, and check reads the clip's own delay. Before, the upside-down copy read no
    face on the keyframes and +773 ms at confidence 0 (the clip: +29.7 ms)."""
    from mouthsync.face.count import face_boxes
    from mouthsync.sync.delay import check_sync

    clip = next(p for p in CLIPS if p.name == "retalking_face3.mp4")
    ref = track_face(clip, use_cache=False)
    ref_box = face_boxes(clip, use_cache=False)[0][0]
    w, h = ref.width, ref.height
    for name, vf, flag, turns in (("ud", "hflip,vflip", "rotate=180", 2), ("side", "transpose=2", "rotate=270", 3)):
        stored, phone = tmp_path / f"{name}_stored.mp4", tmp_path / f"{name}.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip), "-vf", vf, "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "18", "-c:a", "copy", str(stored)], check=True)
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(stored), "-c", "copy",
                        "-metadata:s:v:0", flag, str(phone)], check=True)
        tr = track_face(phone, use_cache=False)
        assert tr.rotation == turns * 90 and tr.valid.mean() > 0.95
        # the stored landmarks turned upright sit on the original's (same pixels, re-encoded)
        shown = frames.upright_points(tr.landmarks[..., :2], turns, tr.width, tr.height)
        assert np.nanmedian(np.abs(shown - ref.landmarks[..., :2])) < 1.0
        assert np.nanmedian(np.abs(tr.pose - ref.pose)) < 1.0  # yaw is still yaw
        (box,) = face_boxes(phone, use_cache=False)[0]
        corners = frames.upright_points(np.array([[box[0] * tr.width, box[1] * tr.height],
                                                  [box[2] * tr.width, box[3] * tr.height]]), turns, tr.width, tr.height)
        shown_box = [corners[:, 0].min() / w, corners[:, 1].min() / h, corners[:, 0].max() / w, corners[:, 1].max() / h]
        assert np.allclose(shown_box, ref_box, atol=0.03)
    rep = check_sync(tmp_path / "ud.mp4", use_cache=False, transcript=None)
    own = check_sync(clip, use_cache=False, transcript=None)
    assert rep.confidence >= 0.3 and abs(rep.audio_delay_ms - own.audio_delay_ms) < 1000.0 / ref.fps


@pytest.mark.slow
def test_non_square_pixels_are_tracked_square(tmp_path: Path) -> None:
    """retalking_face2 stored 632 px wide with 4:3 pixels (shown 844 x 844, as an
    anamorphic master is): Face Mesh sees square pixels, landmarks stay in stored pixels,
    and the mouth measures and pose are those of the clip itself. In stored pixels the
    apertures read 38 % wider."""
    from mouthsync.face.count import face_boxes

    clip = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    squeezed = tmp_path / "anamorphic.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(clip), "-vf", "scale=632:844,setsar=4/3",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-an", str(squeezed)], check=True)
    ref, tr = track_face(clip, use_cache=False), track_face(squeezed, use_cache=False)
    assert tr.sar == pytest.approx(4 / 3) and tr.width == 632
    shown = tr.landmarks[..., :2] * np.array([ref.width / tr.width, 1.0])  # stored -> shown pixels
    assert np.nanmedian(np.abs(shown - ref.landmarks[..., :2])) < 1.0
    assert np.nanmedian(tr.mouth["aperture"]) / np.nanmedian(ref.mouth["aperture"]) == pytest.approx(1.0, abs=0.05)
    assert np.nanmedian(np.abs(tr.pose - ref.pose)) < 1.0
    assert np.allclose(face_boxes(squeezed, use_cache=False)[0][0], face_boxes(clip, use_cache=False)[0][0], atol=0.02)


def test_a_track_s_rotation_is_the_turn_most_frames_were_given() -> None:
    assert frames.rotation_of(np.array([2, 2, 2, 0], np.uint8)) == 180
    assert frames.rotation_of(np.array([3], np.uint8)) == 270
    assert frames.rotation_of(np.zeros(0, np.uint8)) == 0
