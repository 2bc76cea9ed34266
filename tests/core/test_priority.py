"""Background work at lower CPU priority: the caller's own priority never changes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from mouthsync.core.priority import in_background


def _own_nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux")
def test_background_thread_and_its_children_run_nicer() -> None:
    before = _own_nice()

    def work() -> tuple[int, int]:
        child = subprocess.run([sys.executable, "-c", "import os; print(os.nice(0))"],
                               capture_output=True, text=True, check=True)
        return _own_nice(), int(child.stdout)

    mine, child = in_background(work, nice=5).result(timeout=30)
    assert mine == min(19, before + 5) and child == mine
    assert _own_nice() == before  # the caller's thread is untouched


def test_errors_reach_the_caller() -> None:
    def fail() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        in_background(fail).result(timeout=10)
