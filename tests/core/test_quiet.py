"""Native log lines silenced while Python's own stderr goes on (``core.quiet``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CLIPS

_PROBE = r"""
import os, sys
from mouthsync.core.quiet import native_stderr_silenced
with native_stderr_silenced():
    os.write(2, b"native chatter\n")
    with native_stderr_silenced():
        os.write(2, b"nested chatter\n")
        print("python inside", file=sys.stderr)
    print("python after nesting", file=sys.stderr)
os.write(2, b"native after\n")
print("python after", file=sys.stderr)
"""


def test_fd_2_is_silenced_and_python_stderr_is_not() -> None:
    r = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == ["python inside", "python after nesting", "native after", "python after"]


def test_a_face_that_appears_late_prints_nothing(tmp_path: Path) -> None:
    """MediaPipe's landmark calculators log a warning when the first face comes through;
    after a second of grey picture that was long after the graph's quiet start, and the
    line reached the user."""
    clip = next(p for p in CLIPS if p.name == "retalking_face2.mp4")
    late = tmp_path / "late.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=844x844:r=25:d=1",
                    "-i", str(clip), "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-map", "1:a",
                    "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", str(late)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("GLOG_minloglevel", "TF_CPP_MIN_LOG_LEVEL")}
    r = subprocess.run([sys.executable, "-m", "mouthsync", "track", str(late), "-o", str(tmp_path / "t.npz"),
                        "--no-cache"], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "", r.stderr[:2000]
