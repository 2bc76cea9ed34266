"""MediaPipe is imported without matplotlib, and matplotlib still works afterwards."""

from __future__ import annotations

import subprocess
import sys

_PROG = """
import sys
from mouthsync.face.track import _import_mediapipe
mp = _import_mediapipe()
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
