"""MediaPipe Face Mesh glue (``face.mesh``): imported without matplotlib, fed straight into its graph, its
landmarks parsed fast, all with the results of the slow way."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from mouthsync.face import frames, mesh
from mouthsync.face import track as trk
from mouthsync.face.mesh import import_mediapipe
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


def test_direct_mesh_call_gives_process_landmarks() -> None:
    """Feeding the solution's graph directly (``face.mesh.MeshCall``) is taken on the pinned
    MediaPipe and returns exactly what ``FaceMesh.process`` returns, frame for frame,
    faces and no faces alike."""
    mp = import_mediapipe()
    pictures = [img for _, img, _ in frames.decode_range(str(CLIPS[1]), None, 1.2, trk.DEFAULT_MAX_SIDE)]
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
