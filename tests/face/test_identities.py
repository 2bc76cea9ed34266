"""Which face is which (``face.identities``): the speaker is the primary face when two show."""

from __future__ import annotations

import subprocess

import numpy as np

from mouthsync.face.track import track_face
from tests.conftest import CLIPS


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


def test_a_face_meshed_twice_in_a_frame_stays_one_identity() -> None:
    """Asked for more faces than a crowded picture holds, Face Mesh may put a second mesh
    on one face (seen on a 3x2 gallery with --faces 6): it is dropped, not made a person of
    its own; two people whose faces overlap a little stay two."""
    from mouthsync.face.identities import follow_identities

    def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        a = np.zeros((478, 3), np.float32)
        a[:, 0] = np.linspace(x0, x1, 478)
        a[:, 1] = np.linspace(y0, y1, 478)
        return a

    left, right, again = box(0, 0, 100, 100), box(300, 10, 380, 90), box(305, 14, 384, 92)
    near = box(70, 0, 170, 100)  # overlaps ``left`` (IoU 0.18): another person beside it
    frames = [(i * 0.04, [again, left, right] if i % 2 else [right, again, left, near], 1.0,
               np.zeros((18, 32), np.uint8), 0) for i in range(20)]
    _, ids, *_ = follow_identities(iter(frames))
    assert len(ids) == 3
    assert sorted(len(d) for d in ids) == [10, 20, 20]
