"""Face tracking speed and memory on 720p 25 fps footage (``.venv/bin/python bench/track.py``).

Builds 720p clips from the shared talking heads (scaled to 720 px high, padded to 1280x720,
concatenated and looped with ffmpeg in a temp folder), tracks them with ``track_face``
(no cache) and prints frames per second and peak resident memory of the whole process
tree (parent + tracking workers), sampled from /proc. Memory at two lengths shows whether
it stays flat; the 10-minute figure is measured with ``--minutes 10`` or extrapolated
linearly from the two lengths otherwise. It also prints how much the mouth aperture moves
when tracking at the default decode size instead of full resolution.

Targets (issue 4): >= 250 fps on 2 cores for 25 fps 720p (10x real time); a 10-minute
720p clip under 1 GiB resident.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MOUTHSYNC_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO / "src"))
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ["MOUTHSYNC_NO_PROGRESS"] = "1"

from mouthsync.face.track import track_face  # noqa: E402


def _build_base(folder: Path) -> Path:
    """~20 s of 1280x720 25 fps talking heads (four shared clips, scaled and padded)."""
    names = ["retalking_face2.mp4", "retalking_face3.mp4", "retalking_face5.mp4", "retalking_face4.mp4"]
    inputs: list[str] = []
    chains = []
    for i, n in enumerate(names):
        inputs += ["-i", str(DATA / "clips" / n)]
        chains.append(f"[{i}:v]scale=-2:720,pad=1280:720:(ow-iw)/2:0,setsar=1,fps=25[v{i}]")
    graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(len(names))) + f"concat=n={len(names)}:v=1:a=0[v]"
    out = folder / "base.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[v]",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "50", str(out)], check=True)
    return out


def _loop(base: Path, seconds: float, folder: Path) -> Path:
    out = folder / f"clip_{int(seconds)}s.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(base), "-t", str(seconds),
                    "-c", "copy", str(out)], check=True)
    return out


def _tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, in kB (from /proc)."""
    total = 0
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as fh:
                parts = fh.read().rsplit(")", 1)[1].split()
            ppid = int(parts[1])
            with open(f"/proc/{d}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        rss[int(d)] = int(line.split()[1])
                        break
            children.setdefault(ppid, []).append(int(d))
        except (OSError, ValueError, IndexError):
            continue
    stack = [root]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def _measure(path: Path, **kw: object) -> tuple[float, float, int, object]:
    """(seconds, fps, peak tree RSS kB, track) for one uncached tracking run."""
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(os.getpid()))
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    c0 = _cpu()
    t0 = time.perf_counter()
    tr = track_face(path, use_cache=False, **kw)
    dt = time.perf_counter() - t0
    cpu = _cpu() - c0
    stop.set()
    th.join()
    _CPU[0] = cpu
    return dt, len(tr) / dt, peak[0], tr


_CPU = [0.0]


def _cpu() -> float:
    """CPU seconds used by this process and its finished children (tracking workers)."""
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def _stages(path: Path, frames: int = 300) -> None:
    """CPU cost per frame of each stage alone, single thread of control: the ceiling."""
    import resource

    from mouthsync.face.frames import decode_range
    from mouthsync.face.mesh import MeshCall, import_mediapipe, landmark_array
    from mouthsync.face.track import DEFAULT_MAX_SIDE

    mp = import_mediapipe()

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    c0 = cpu()
    imgs = [img for _, (_, img, _) in zip(range(frames), decode_range(str(path), None, None, DEFAULT_MAX_SIDE), strict=False)]
    dec = (cpu() - c0) / len(imgs)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1, refine_landmarks=True) as fm:
        call = MeshCall(fm)  # frames into the graph as tracking feeds them
        call(imgs[0])
        c0 = cpu()
        for img in imgs:
            found = call(img)
            if found:
                landmark_array(found[0])
        inf = (cpu() - c0) / len(imgs)
    cores = os.cpu_count() or 1
    print(f"stages ({len(imgs)} frames): decode 720p + scale + RGB {1000 * dec:.2f} CPU-ms/frame, "
          f"Face Mesh + landmarks {1000 * inf:.2f} CPU-ms/frame -> ceiling "
          f"{cores / (dec + inf):.0f} fps on {cores} idle cores")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=0.0, help="also measure a clip this long (e.g. 10)")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (other work skews figures)")
    with tempfile.TemporaryDirectory(prefix="mouthsync-bench-track-") as tmp:
        folder = Path(tmp)
        base = _build_base(folder)
        c60 = _loop(base, 60, folder)
        c120 = _loop(base, 120, folder)
        results = {}
        for label, path, kw in [
            ("60 s 720p, 1 process", c60, {"workers": 1}),
            ("60 s 720p, 2 processes", c60, {"workers": 2}),
            ("120 s 720p, 2 processes", c120, {"workers": 2}),
        ]:
            dt, fps, rss, tr = _measure(path, **kw)
            results[label] = (dt, fps, rss, tr)
            cpu_ms = 1000 * _CPU[0] / len(tr)
            cores = os.cpu_count() or 1
            print(f"{label:26s}: {len(tr)} frames in {dt:6.1f} s = {fps:6.1f} fps "
                  f"({fps / 25:.1f}x real time), coverage {tr.coverage:.1%}, peak RSS {rss / 1024:.0f} MiB; "
                  f"{cpu_ms:.2f} CPU-ms/frame -> {1000 * cores / cpu_ms:.0f} fps if {cores} idle cores")
        r60 = results["60 s 720p, 2 processes"][2]
        r120 = results["120 s 720p, 2 processes"][2]
        per_min = (r120 - r60) / 1.0  # kB per extra minute
        est10 = r60 + per_min * 9.0
        print(f"memory growth: {per_min / 1024:.0f} MiB per minute of 720p; 10-minute estimate "
              f"{est10 / 1024:.0f} MiB (target < 1024 MiB)")
        if args.minutes:
            long = _loop(base, args.minutes * 60, folder)
            dt, fps, rss, tr = _measure(long)
            print(f"{args.minutes:g} min 720p measured: {fps:.1f} fps, peak RSS {rss / 1024:.0f} MiB")
        _stages(base)
        # accuracy of the default decode size against full resolution (20 s base clip)
        _, _, _, small = _measure(base, workers=1)
        _, _, _, full = _measure(base, workers=1, max_side=None)
        a, b = small.mouth["aperture"], full.mouth["aperture"]
        ok = np.isfinite(a) & np.isfinite(b)
        corr = float(np.corrcoef(a[ok], b[ok])[0, 1])
        print(f"aperture 640 px decode vs full 1280 px: median |diff| {np.median(np.abs(a[ok] - b[ok])):.4f} "
              f"(aperture p95 {np.percentile(b[ok], 95):.3f}), correlation {corr:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
