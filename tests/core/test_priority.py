"""Background work at lower CPU priority: the caller's own priority never changes."""

from __future__ import annotations

import os
import signal
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


_INTERRUPTED = """
import os, signal, threading, time
from mouthsync.core.priority import raise_if_stopped, run_in_background
cleaned = threading.Event()
def loop():
    try:
        while True:
            raise_if_stopped()
            time.sleep(0.01)
    finally:
        cleaned.set()
# a real signal: _thread.interrupt_main does not wake a thread blocked on a lock
threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    run_in_background(loop)
except KeyboardInterrupt:
    print("interrupted", cleaned.wait(5.0))
raise_if_stopped()  # the caller's own thread is never stopped
print("caller fine")
"""


def test_interrupted_caller_stops_the_work_at_its_next_check_point() -> None:
    """``run_in_background`` asks the work to stop when the waiting caller is interrupted,
    and the work unwinds through its own clean-up (a MediaPipe graph closes in order).
    Run in a child interpreter: pytest treats a KeyboardInterrupt as its own."""
    out = subprocess.run([sys.executable, "-c", _INTERRUPTED], capture_output=True, text=True, timeout=60,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["interrupted True", "caller fine"]
