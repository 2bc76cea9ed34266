"""``make demo``: run the main job on a sample clip and say where the outputs went.

The steps are the workflow a user would follow: ``probe`` the clip, ``check`` its sync
(with the plot), make a copy whose sound is a few frames late and ``check`` it with the
HTML report, ``fix`` that copy with
``--delay auto``, and ``check`` the result again. Every step drives the real command line
(``mouthsync.cli.main``), so the demo shows exactly what a user would type and see. A
command that is not built yet is skipped with a note instead of failing the demo.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from mouthsync.cli import COMMANDS, main
from mouthsync.core.errors import MouthsyncError

#: How late (in frames) the demo makes the sound of its shifted copy.
DEMO_SHIFT_FRAMES = 4


def _available(name: str) -> bool:
    return name in COMMANDS and importlib.util.find_spec(f"mouthsync.commands.{name}") is not None


def _run(args: list[str]) -> int:
    print(f"\n$ mouthsync {' '.join(args)}", flush=True)
    rc = main(args)
    if rc not in (0, 1):
        print(f"(exit code {rc})", flush=True)
    return rc


def _skip(name: str) -> None:
    print(f"\n(skipping `mouthsync {name}`: not built yet)", flush=True)


def run_demo(video: Path, out: Path) -> int:
    """Run the demo on ``video``, writing into ``out``; return 0 when every step worked."""
    from mouthsync.media.remux import retime_audio
    from mouthsync.sync.correct import measured_fps, sidecar_path

    out.mkdir(parents=True, exist_ok=True)
    outputs: list[tuple[str, Path]] = []
    failed: list[str] = []

    def step(name: str, args: list[str]) -> bool:
        if not _available(name):
            _skip(name)
            return False
        ok = _run(args) in (0, 1)  # 1 = findings at --fail-on level, still a result
        if not ok:
            failed.append(" ".join(args[:2]))
        return ok

    step("probe", ["probe", str(video)])
    plot = out / "check.png"
    if step("check", ["check", str(video), "--plot", str(plot)]):
        outputs.append(("sync plot of the sample", plot))

    fps = measured_fps(video)
    shifted = out / f"shifted_plus{DEMO_SHIFT_FRAMES}f{video.suffix}"
    print(
        f"\n# Making a copy whose sound is {DEMO_SHIFT_FRAMES} frames late "
        f"({DEMO_SHIFT_FRAMES / fps * 1000:.0f} ms at {fps:.2f} fps; picture untouched):",
        flush=True,
    )
    retime_audio(video, shifted, shift_s=DEMO_SHIFT_FRAMES / fps)
    print(f"  {shifted}", flush=True)
    outputs.append((f"copy with the sound {DEMO_SHIFT_FRAMES} frames late", shifted))
    page = out / "check_shifted.html"
    marks = out / "check_shifted.srt"
    if step("check", ["check", str(shifted), "--html", str(page), "--markers", str(marks)]):
        outputs.append(("report on the late copy (open in a browser: the lips at each P/B/M, heard and seen)", page))
        outputs.append(("what check found as a subtitle track (play it beside the late copy; "
                        "--markers x.edl gives Resolve timeline markers)", marks))

    fixed = out / f"fixed{video.suffix}"
    if _available("check"):
        fix_args = ["fix", str(shifted), "-o", str(fixed), "--delay", "auto"]
    else:  # without check, show the manual nudge an editor would type
        fix_args = ["fix", str(shifted), "-o", str(fixed), "--delay", f"{DEMO_SHIFT_FRAMES}f"]
    if step("fix", fix_args):
        outputs.append(("fixed copy", fixed))
        outputs.append(("record of the fix", sidecar_path(fixed)))
        plot2 = out / "check_fixed.png"
        if step("check", ["check", str(fixed), "--plot", str(plot2)]):
            outputs.append(("sync plot of the fixed copy", plot2))

    print("\nOutputs:")
    for label, p in outputs:
        if p.exists():
            print(f"  {label}: {p.resolve()}")
    if failed:
        print(f"\nFailed steps: {', '.join(failed)}")
        return 1
    return 0


def _main() -> int:
    video = Path(os.environ.get("VIDEO", "../shared/data/clips/retalking_face2.mp4"))
    try:
        return run_demo(video, Path(os.environ.get("OUT", "out/demo")))
    except MouthsyncError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(_main())
