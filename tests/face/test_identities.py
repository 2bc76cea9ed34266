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
