"""Small faces: the crop Face Mesh tracks a medium or wide shot in (``face.region``), and
tracking and check on a real clip placed small in a 1080p frame."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mouthsync.core.errors import NoFace
from mouthsync.face.region import MIN_FACE_PX, track_region
from mouthsync.face.track import track_face
from mouthsync.sync.delay import check_sync
from tests.conftest import CLIPS

FACE = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
TILE = (320, 1100, 300)  # the clip scaled to 320 px, placed at x=1100, y=300 of 1920x1080


@pytest.fixture(scope="module")
def wide_shot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wide") / "wide.mp4"
    w, x, y = TILE
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE), "-filter_complex",
                    f"[0:v]scale={w}:-2[f];color=c=0x556677:s=1920x1080:r=25:d=5[bg];"
                    f"[bg][f]overlay=x={x}:y={y}:shortest=1[v]",
                    "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
                    "-c:a", "copy", str(out)], check=True)
    return out


def test_region_only_for_one_small_face() -> None:
    w, h = 1920, 1080
    small = [[[0.62, 0.37, 0.68, 0.48]]] * 6  # a face 115 px wide: 38 px at 640
    crop = track_region(small, w, h, 640)
    assert crop is not None
    x0, y0, cw, ch = crop
    assert all(v % 2 == 0 for v in crop) and x0 >= 0 and y0 >= 0 and x0 + cw <= w and y0 + ch <= h
    face = np.array(small[0][0]) * [w, h, w, h]
    assert x0 < face[0] - 100 and x0 + cw > face[2] + 100 and y0 < face[1] and y0 + ch > face[3] + 100
    large = [[[0.3, 0.2, 0.7, 0.8]]] * 6
    assert track_region(large, w, h, 640) is None
    at_limit = MIN_FACE_PX * 3 / w  # 80 px at 640 from a 1920 px frame
    assert track_region([[[0.5, 0.4, 0.5 + at_limit, 0.6]]] * 6, w, h, 640) is None
    two = [[[0.1, 0.4, 0.15, 0.5], [0.8, 0.4, 0.85, 0.5]]] * 6
    assert track_region(two, w, h, 640) is None
    assert track_region([[]] * 6, w, h, 640) is None
    assert track_region([], w, h, 640) is None


def test_a_small_face_is_tracked_in_a_crop(wide_shot: Path) -> None:
    with pytest.raises(NoFace):  # why: the whole 1080p picture shrunk to 640 px loses it
        track_face(wide_shot, crop=None, use_cache=False)
    tr = track_face(wide_shot)
    assert tr.settings.get("crop") is not None
    assert tr.coverage > 0.95
    w, x, y = TILE
    cx = (tr.boxes[tr.valid, 0] + tr.boxes[tr.valid, 2]) / 2
    cy = (tr.boxes[tr.valid, 1] + tr.boxes[tr.valid, 3]) / 2
    assert ((cx > x) & (cx < x + w)).all() and ((cy > y) & (cy < y + w)).all()  # landmarks in source pixels


@pytest.mark.parametrize("faces", ["auto", 1])
def test_check_measures_a_wide_shot(wide_shot: Path, faces: str | int) -> None:
    base = check_sync(FACE)
    rep = check_sync(wide_shot, faces=faces)
    assert rep.confidence >= 0.3
    assert abs(rep.audio_delay_ms - base.audio_delay_ms) <= 40.0
