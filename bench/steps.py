"""Steps of the delay inside a take: where check places them, and what fix --delay steps leaves.

    .venv/bin/python bench/steps.py [--no-fix] [CASE ...]

A 50 s take of nine shared-clip segments (each clip's own delay removed, so the take has
one delay) gets sound inserted as zeros (+, what a recorder or encoder writes into a
dropout) or dropped (-) at known times inside a shot. For each case the table prints
where ``check`` placed each step and how (the mouth, a picture cut, the block of zeros),
the delay it read on each side, and, unless ``--no-fix``, how many confident windows of
``check`` on the output of ``fix --delay steps`` read within a frame of the clean take.
A CASE is ``SECONDS:STEP_S`` or several joined by commas (``9.0:0.2,30.2:0.12``); the
default list is the table of docs/sync.md, item 11. About 15-30 s per case (cached face
track, speech recognised afresh for each new sound).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from tests.conftest import CLIPS, WILD  # noqa: E402
from tests.sync.builders import build_concatenation, ffmpeg, write_wav  # noqa: E402

from check_speed import own_offsets  # noqa: E402
from mouthsync.media.decode import decode_audio  # noqa: E402
from mouthsync.sync.correct import fix_sync  # noqa: E402
from mouthsync.sync.delay import check_sync  # noqa: E402

SOURCES = [p for p in CLIPS if p.name in {"retalking_face2.mp4", "retalking_face4.mp4"}] + [
    p for p in WILD if p.name in {"voxceleb_00067.mp4", "voxceleb_00473.mp4"}]
CASES = ["0:0", "3.2:0.2", "5.5:-0.12", "9.0:0.2", "13.7:-0.16", "18.2:0.24", "21.3:0.2", "26.0:-0.2",
         "30.2:0.12", "36.0:0.32", "41.0:0.16", "44.0:-0.24", "47.0:0.2", "1.5:0.12", "48.5:0.32",
         "9.0:0.2,30.2:0.12", "18.2:0.24,26.0:-0.2,41.0:0.16"]
RATE = 16000


def with_steps(samples: np.ndarray, case: str) -> np.ndarray:
    """``samples`` with each step of ``case`` made at its time (later ones first, so that
    every time is the clean take's): zeros inserted for +, samples dropped for -; the
    length is kept."""
    out = samples
    steps = sorted((tuple(map(float, part.split(":"))) for part in case.split(",")), reverse=True)
    for at_s, step_s in steps:
        i, n = int(at_s * RATE), int(round(abs(step_s) * RATE))
        if step_s > 0:
            out = np.concatenate([out[:i], np.zeros(n, np.float32), out[i:]])[: samples.size]
        elif step_s < 0:
            out = np.concatenate([out[:i], out[i + n :], np.zeros(n, np.float32)])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="*", default=CASES)
    ap.add_argument("--no-fix", action="store_true", help="only check: no fix and no check of its output")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mouthsync-steps-") as tmp:
        folder = Path(tmp)
        own = own_offsets(SOURCES)
        order = (SOURCES * 3)[:9]
        take, wav, segs = build_concatenation(order, [-own[p] for p in order], folder, name="take")
        clean = decode_audio(wav, rate=RATE).samples
        print(f"take: {segs[-1].end_s:.1f} s, picture cuts at " + ", ".join(f"{g.start_s:.2f}" for g in segs[1:]))
        print(f"{'case':28s} {'steps found: at s (placed by) ms before -> after':70s} after fix")
        for n, case in enumerate(args.cases):
            video = folder / f"case{n}.mkv"
            sound = write_wav(folder / f"case{n}.wav", with_steps(clean, case), RATE)
            ffmpeg("-i", str(take), "-i", str(sound), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
                    "-c:a", "pcm_s16le", str(video))
            t0 = time.perf_counter()
            rep = check_sync(video)
            found = "; ".join(f"{s.at_s:.2f} ({s.placed_by}) {s.before_ms:+.0f} -> {s.after_ms:+.0f}"
                              for s in rep.steps) or f"none (drift: {rep.drift.kind})"
            after = ""
            if rep.steps and not args.no_fix:
                res = fix_sync(video, folder / f"fixed{n}.mkv", delay="steps", report=rep, verify=True)
                assert res.after is not None
                good = [w for w in res.after["windows"] if not w["uncertain"]]
                ok = sum(abs(w["audio_delay_ms"] + rep.calibration_ms) <= 1000.0 / rep.fps for w in good)
                after = f"{ok}/{len(good)} windows within a frame, {len(res.after['steps'])} steps left"
            print(f"{case:28s} {found:70s} {after}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
