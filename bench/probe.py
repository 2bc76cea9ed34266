"""Benchmark: ``probe`` throughput on the shared clips (run: ``.venv/bin/python bench/probe.py``).

Also prints one ``prep`` timing for scale.

Prints, per file and in total, wall time and media seconds probed per wall second for the
full probe (timestamps + picture repeats + audio quality) and the ``--fast`` probe
(timestamps and headers only), plus peak memory. Each file is probed once untimed first
so that disk cache and lazy imports do not count.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MOUTHSYNC_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO / "src"))

from mouthsync.media.probe import probe  # noqa: E402


def _media_seconds(info) -> float:
    ends = [s.end for s in (info.video, info.audio) if s is not None]
    starts = [s.start for s in (info.video, info.audio) if s is not None]
    return max(ends) - min(starts)


def main() -> int:
    files = sorted(
        p for sub in ("clips", "wild", "silent", "speech") for p in (DATA / sub).glob("*")
        if p.suffix in {".mp4", ".wav"}
    )
    if not files:
        print(f"no media under {DATA}")
        return 2
    print(f"probe throughput on {len(files)} files from {DATA}")
    print(f"{'file':28s} {'media s':>8s} {'full s':>8s} {'x real':>8s} {'fast s':>8s} {'x real':>8s}")
    tot_media = tot_full = tot_fast = 0.0
    for f in files:
        probe(f, use_cache=False)  # warm-up
        t = time.perf_counter()
        info = probe(f, use_cache=False)  # measure, never read the cache
        full = time.perf_counter() - t
        t = time.perf_counter()
        probe(f, audio_quality=False, pictures=False, use_cache=False)
        fast = time.perf_counter() - t
        media = _media_seconds(info)
        tot_media, tot_full, tot_fast = tot_media + media, tot_full + full, tot_fast + fast
        print(f"{f.name:28s} {media:8.2f} {full:8.3f} {media / full:8.1f} {fast:8.3f} {media / fast:8.1f}")
    print(f"{'TOTAL':28s} {tot_media:8.2f} {tot_full:8.3f} {tot_media / tot_full:8.1f} "
          f"{tot_fast:8.3f} {tot_media / tot_fast:8.1f}")
    # prep (the other media command) on the VFR clip, for scale: it re-encodes the picture.
    import tempfile

    from mouthsync.media.prep import prep

    vfr = DATA / "clips" / "retalking_face1.mp4"
    if vfr.exists():
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            r = prep(vfr, Path(d) / "prep.mp4")
            took = time.perf_counter() - t
        print(f"prep {vfr.name}: {took:.2f} s for {r.video_duration:.2f} s of media "
              f"({r.video_duration / took:.1f}x real time, {r.frame_count / took:.0f} frames/s)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak_mb:.0f} MB; cpu count {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
