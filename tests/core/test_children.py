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


def test_a_worker_dies_with_the_thread_that_started_it() -> None:
    """Why worker-starting threads must outlive their workers: the death signal that
    ``die_with_parent`` asks for follows the parent *thread*. A child started from a thread
    that returns once the child is set up is terminated then."""
    import subprocess
    import sys
    import threading
    import time

    prog = ("import sys, time\nfrom mouthsync.core.children import die_with_parent\n"
            "die_with_parent()\nprint('armed', flush=True)\ntime.sleep(20)\n")
    box: dict[str, subprocess.Popen[str]] = {}

    def starter() -> None:
        p = subprocess.Popen([sys.executable, "-c", prog], stdout=subprocess.PIPE, text=True)
        box["p"] = p
        assert p.stdout is not None and p.stdout.readline().strip() == "armed"
        # returns now: the thread ends, the child is still running

    th = threading.Thread(target=starter)
    th.start()
    th.join(timeout=60)
    p = box["p"]
    try:
        assert p.wait(timeout=10) == -15  # SIGTERM from the kernel, long before its 20 s
    finally:
        if p.poll() is None:
            p.kill()
    t0 = time.monotonic()
    q = subprocess.Popen([sys.executable, "-c", prog.replace("20", "1")], stdout=subprocess.PIPE, text=True)
    assert q.wait(timeout=30) == 0 and time.monotonic() - t0 >= 1.0  # from a thread that stays: runs to its end
