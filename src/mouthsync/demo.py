"""``make demo``: run the main job on a sample clip and say where the outputs went.

It drives the real command line (``mouthsync.cli.main``) so the demo shows exactly what a
user would type and see.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mouthsync.cli import COMMANDS, main


def _run(args: list[str]) -> int:
    print(f"\n$ mouthsync {' '.join(args)}", flush=True)
    return main(args)


def run_demo(video: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    outputs: list[Path] = []
    if _run(["probe", str(video)]) not in (0, 1):
        return 2
    if "check" in COMMANDS:
        plot = out / "check.png"
        if _run(["check", str(video), "--plot", str(plot)]) in (0, 1):
            outputs.append(plot)
    print("\nOutputs:")
    for p in outputs:
        if p.exists():
            print(f"  {p.resolve()}")
    return 0


if __name__ == "__main__":
    video = Path(os.environ.get("VIDEO", "../shared/data/clips/retalking_face2.mp4"))
    sys.exit(run_demo(video, Path(os.environ.get("OUT", "out/demo"))))
