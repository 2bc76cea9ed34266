"""The ``mouthsync`` program's entry point (console script and ``python -m mouthsync``).

Why a module of its own: the command line's imports (typer, rich, NumPy, PyAV) take ~0.3 s
of one core. Worker processes the command will need are started first, so that their own
imports run on the other core meanwhile (:mod:`mouthsync.core.spares`).
"""

from __future__ import annotations

import sys


def main() -> int:
    """Start the spare workers ``sys.argv`` asks for, then run the command line."""
    from mouthsync.core import spares

    spares.start_for_command(sys.argv[1:])
    try:
        from mouthsync.cli import main as cli_main

        return cli_main()
    finally:
        spares.drop()  # any the command did not take (a short clip, a cached track)
