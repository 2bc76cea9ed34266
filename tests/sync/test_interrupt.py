"""An interrupted ``check`` exits 130 at once and leaves no worker process or temp folder.

The interrupt goes to the main process alone (a job runner, ``kill -INT``), the harder
case: a terminal's Ctrl-C also reaches the workers through the process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import CLIPS
from tests.processes import alive, children
from tests.sync.builders import build_concatenation


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_interrupt_stops_tracking_and_workers(tmp_path: Path) -> None:
    src = [p for p in CLIPS if "face1" not in p.name][:4]
    video, _, _ = build_concatenation(src, [0.0] * len(src), tmp_path, name="long")
    # a temp folder of its own: the shared one also holds the folders of tests running
    # beside this one (pytest -n), which a before/after listing would blame on this run
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, MOUTHSYNC_CACHE=str(tmp_path / "cache"), MOUTHSYNC_NO_PROGRESS="1",
               TMPDIR=str(scratch))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mouthsync", "check", str(video)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    workers: set[int] = set()
    deadline = time.time() + 60
    while time.time() < deadline and len(workers) < 3 and proc.poll() is None:
        time.sleep(0.2)
        workers |= children(proc.pid)
    assert proc.poll() is None and len(workers) >= 3, "check ended before its workers could be seen"
    time.sleep(1.0)  # tracking is under way in the background thread
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-500:]
    # exit code 130, not 0 or 1: the run was cut short, not finished (~0.1-0.4 s on an idle
    # machine; the bound leaves room for a loaded CI machine)
    assert time.time() - t0 < 15.0
    assert "terminate called" not in err and "Traceback" not in err
    time.sleep(0.5)
    assert not [p for p in workers if alive(p)]
    assert not list(scratch.iterdir())
