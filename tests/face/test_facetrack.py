"""The face track's file (``face.facetrack``): saved and loaded as plain NumPy, other files refused."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.core.errors import BadInput
from mouthsync.face.facetrack import SCHEMA_VERSION, FaceTrack


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
