"""Work off the critical path runs at lower CPU priority; the caller's own never changes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from mouthsync.core.priority import lower_this_thread


def _nice_of(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux")
def test_lowering_a_thread_leaves_the_others_and_reaches_its_children() -> None:
    main_tid = threading.get_native_id()
    before = _nice_of(main_tid)
    seen: dict[str, int] = {}

    def work() -> None:
        lower_this_thread(5)
        seen["thread"] = _nice_of(threading.get_native_id())
        child = subprocess.run([sys.executable, "-c", "import os; print(os.nice(0))"],
                               capture_output=True, text=True, check=True)
        seen["child"] = int(child.stdout)

    th = threading.Thread(target=work)
    th.start()
    th.join(30)
    assert seen["thread"] == min(19, before + 5) and seen["child"] == seen["thread"]
    assert _nice_of(main_tid) == before
