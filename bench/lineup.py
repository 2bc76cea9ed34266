"""Lining up a recorder with the camera (dual-system sound): accuracy and cost on long takes.

    .venv/bin/python bench/lineup.py [--minutes 10]     # --minutes 60: an hour's take

A "camera" sound is built from the shared speech (every clip and recording, in a shuffled
order, repeated to length), and "recorders" from it: started 7.3 s before the camera,
low-passed at 3 kHz (another microphone), with a noise floor, their clocks 0, +20, +100
and +1000 ppm off (1000: NTSC's 1000/1001 against a nominal-rate recorder). For each it
prints the start and clock error, the time ``sync.lineup.line_up`` took and the peak
memory it added (tracemalloc).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
DATA = Path(os.environ.get("MOUTHSYNC_DATA", REPO.parent / "shared" / "data"))
RATE = 16000


def camera_sound(seconds: float) -> np.ndarray:
    from mouthsync.media.decode import decode_audio

    files = sorted((DATA / "clips").glob("*.mp4")) + sorted((DATA / "wild").glob("*.mp4")) + sorted(
        (DATA / "speech").glob("*.wav"))
    parts = [decode_audio(f, rate=RATE).samples for f in files]
    rng = np.random.default_rng(11)
    out: list[np.ndarray] = []
    n = 0
    while n < seconds * RATE:
        for i in rng.permutation(len(parts)):  # a new order each round: no exact repeats
            out.append(parts[i])
            n += parts[i].size
    return np.concatenate(out)[: int(seconds * RATE)].astype(np.float32)


def recorder(cam: np.ndarray, lead_s: float, ppm: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    from mouthsync.media.remux import resample_at

    speed = 1 + ppm * 1e-6
    n = int((cam.size / RATE * speed + lead_s + 1) * RATE)
    y = resample_at(cam[None, :].astype(np.float64), ((np.arange(n) / RATE - lead_s) / speed) * RATE)[0]
    y = 0.5 * sosfilt(butter(4, 3000, "low", fs=RATE, output="sos"), y)
    return (y + 0.001 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    args = ap.parse_args()
    from mouthsync.media.decode import Audio
    from mouthsync.sync.lineup import line_up

    cam = camera_sound(args.minutes * 60)
    ref = Audio(cam, RATE, 0.0)
    lead = 7.3
    print(f"camera sound {cam.size / RATE / 60:.1f} min at {RATE} Hz; recorder started {lead} s earlier")
    print(f"{'clock':>9s} {'start err':>10s} {'clock read':>11s} {'match':>6s} {'time':>7s} {'peak mem':>9s}")
    for ppm in (0.0, 20.0, 100.0, 1000.0):
        rec = Audio(recorder(cam, lead, ppm), RATE, 0.0)
        tracemalloc.start()
        t0 = time.perf_counter()
        lu = line_up(ref, rec)
        took = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        want = -lead / (1 + ppm * 1e-6)
        print(f"{ppm:+7.0f}ppm {1000 * (lu.start_s - want):+8.2f}ms {(lu.speed - 1) * 1e6:+9.2f}ppm "
              f"{lu.match:6.2f} {took:6.2f}s {peak / 2**20:7.0f}MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
