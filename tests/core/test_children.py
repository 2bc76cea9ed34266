"""Adopted worker processes are terminated by ``reap`` (which runs at exit)."""

from __future__ import annotations

import subprocess
import sys

from mouthsync.core.children import adopt, reap


def test_reap_terminates_running_workers_only() -> None:
    done = adopt(subprocess.Popen([sys.executable, "-c", "pass"], text=True))
    done.wait(timeout=30)
    sleeper = adopt(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], text=True))
    assert reap(timeout_s=5.0) == 1
    assert sleeper.wait(timeout=5) != 0
    assert reap() == 0
