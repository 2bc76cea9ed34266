"""The lips' quantiser sampled from a few stretches of the picture, for check."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from mouthsync.face.coding import (
    STRETCH_S,
    STRETCHES,
    MouthCoding,
    heavy_qp,
    mouth_coding,
    stretch_starts,
)
from mouthsync.face.track import track_face
from tests.conftest import CLIPS

FACE2 = next(c for c in CLIPS if c.stem == "retalking_face2")  # 844x844, 25 fps, 5 s


def _coded(tmp_path: Path, name: str, *video: str) -> Path:
    out = tmp_path / f"{name}.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(FACE2), "-an", *video, str(out)], check=True)
    return out


def test_heavy_line_scales_with_the_face() -> None:
    """45 for a face 200 px wide, 6 QP finer per halving, never above 48."""
    assert float(heavy_qp(200.0)) == pytest.approx(45.0)
    assert float(heavy_qp(100.0)) == pytest.approx(39.0)
    assert float(heavy_qp(800.0)) == pytest.approx(48.0)
    c = MouthCoding(qp=51.0, face_px=200.0, frames=30)
    assert c.over == pytest.approx(6.0) and c.steps_over == pytest.approx(1.0)


def test_stretches_start_at_keyframes_spread_over_the_track() -> None:
    keys = np.arange(0.0, 60.0, 2.0)
    starts = stretch_starts(keys, 0.0, 59.9, STRETCHES)
    assert len(starts) == STRETCHES and all(s in keys for s in starts)
    assert starts[0] < 20 < starts[1] < 40 < starts[2]
    # one keyframe (a single group of pictures): one stretch, from it
    assert stretch_starts(np.array([0.0]), 0.0, 5.0, STRETCHES) == [0.0]
    # keyframes closer than a stretch are not decoded twice
    dense = stretch_starts(np.arange(0.0, 1.0, 0.2), 0.0, 1.0, STRETCHES)
    assert np.all(np.diff(dense) >= STRETCH_S)


def test_mouth_coding_reads_the_encoders_quantiser_over_the_lips(tmp_path: Path) -> None:
    """A constant-QP encode reads that QP; the face's width comes from the track; a codec
    whose quantiser is not on H.264's scale gives None."""
    fixed = _coded(tmp_path, "qp40", "-c:v", "libx264", "-x264-params", "qp=40:ipratio=1:pbratio=1:keyint=25")
    tr = track_face(fixed)
    (c,) = mouth_coding(fixed, [tr])
    assert c is not None and c.qp == pytest.approx(40.0)
    assert c.frames >= 2 * 25  # more than one stretch was read (a keyframe every second)
    assert c.face_px == pytest.approx(float(np.median((tr.boxes[:, 2] - tr.boxes[:, 0])[tr.valid])))
    assert c.over == pytest.approx(40.0 - float(heavy_qp(c.face_px)))
    # MPEG-TS has no index: its seeks land among other frames (or on the next keyframe),
    # and each stretch still starts at a keyframe
    ts = tmp_path / "qp40.ts"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(fixed), "-c", "copy", str(ts)], check=True)
    (c_ts,) = mouth_coding(ts, [track_face(ts)])
    assert c_ts is not None and c_ts.qp == pytest.approx(40.0) and c_ts.frames >= 25
    mpeg4 = _coded(tmp_path, "mpeg4", "-c:v", "mpeg4", "-q:v", "20")
    assert mouth_coding(mpeg4, [track_face(mpeg4)]) == [None]
