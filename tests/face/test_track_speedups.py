"""Speed-ups of face tracking keep its results: MediaPipe import without matplotlib, and
decoding without the deblocking filter when the picture is shrunk >= 2x."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from mouthsync.face import frames, mesh
from mouthsync.face import track as trk
from mouthsync.face.facetrack import build_track
from mouthsync.face.identities import primary_face
from mouthsync.face.mesh import import_mediapipe
from mouthsync.media.decode import video_meta
from tests.conftest import CLIPS

_PROG = """
import sys
from mouthsync.face.mesh import import_mediapipe
mp = import_mediapipe()
assert "matplotlib" not in sys.modules and "matplotlib.pyplot" not in sys.modules, "stand-ins left behind"
assert callable(mp.solutions.face_mesh.FaceMesh)
import matplotlib.pyplot as plt
assert callable(plt.plot), "a later matplotlib import must get the real module"
print("ok")
"""


def test_mediapipe_import_skips_matplotlib_and_leaves_no_stand_in() -> None:
    out = subprocess.run([sys.executable, "-c", _PROG], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


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


def test_direct_mesh_call_gives_process_landmarks() -> None:
    """Feeding the solution's graph directly (``face.mesh.MeshCall``) is taken on the pinned
    MediaPipe and returns exactly what ``FaceMesh.process`` returns, frame for frame,
    faces and no faces alike."""
    mp = import_mediapipe()
    pictures = [img for _, img in frames.decode_range(str(CLIPS[1]), None, 1.2, trk.DEFAULT_MAX_SIDE)]
    pictures.append(np.zeros_like(pictures[0]))  # no face
    kw = dict(static_image_mode=False, max_num_faces=1, refine_landmarks=True)
    with mp.solutions.face_mesh.FaceMesh(**kw) as a, mp.solutions.face_mesh.FaceMesh(**kw) as b:
        call = mesh.MeshCall(b)
        assert call._direct, "the direct path must be taken on the pinned MediaPipe"
        for img in pictures:
            want = [mesh.landmark_array(f) for f in a.process(img).multi_face_landmarks or []]
            got = [mesh.landmark_array(f) for f in call(img)]
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert g.shape == (trk.N_LANDMARKS, 3)
                np.testing.assert_array_equal(g, w)
    assert want == [], "the blank picture has no face"
