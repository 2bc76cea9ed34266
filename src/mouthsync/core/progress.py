"""Progress reporting: a bar on a terminal, silence when piped or under ``--json``.

Stages call :func:`progress` with a total and advance it; they never print directly, so
that library use stays quiet and the command line decides how to show work.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Protocol

_ENABLED: bool | None = None


def set_enabled(enabled: bool | None) -> None:
    """Force progress on/off (``None``: automatic, on only when stderr is a terminal)."""
    global _ENABLED
    _ENABLED = enabled


def _enabled() -> bool:
    if _ENABLED is not None:
        return _ENABLED
    if os.environ.get("MOUTHSYNC_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


class Advance(Protocol):
    def __call__(self, n: float = 1) -> None: ...


@contextlib.contextmanager
def progress(description: str, total: float | None) -> Iterator[Advance]:
    """Context manager yielding an ``advance(n)`` callable."""
    if not _enabled():
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
