"""A long take whose sound drifts by a clock ratio: check, fix --drift auto, check again.

    .venv/bin/python bench/long_drift.py [MINUTES] [RATIO]
    (defaults 30 and 1001/1000: 0 to +1.8 s over the file; `60` is session 20's hour,
    `2 25/24` its two minutes of a 24 fps picture played at 25, `10 1/1` ten minutes in
    sync, which must read no drift: session 31 found it read +2.0 ms/min)

The speed benchmark's 60 s 720p one-take (``check_speed.build_clip``) is given PCM sound,
looped MINUTES times (stream copy), and its sound resampled by RATIO (the sound's length
over the picture's). Over 30 minutes the
delay runs past the +-800 ms lip-sync search (docs/sync.md, Method 15). Printed for the
drifting file and for the fixed one: the headline delay, where it was read, confidence,
drift, the confident windows within a frame of the drift line (or of the whole file), the
uncertain ones, the wall time and each command's peak memory (its process and its
workers). Cold runs (a fresh cache folder), then the drifting check again with its track
and timelines cached: the analysis alone. About 16 minutes at 30 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check_speed  # noqa: E402


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """``mouthsync ARGS``: wall seconds, the command's own peak resident MiB (its process and
    the workers it waited for, from ``wait4``) and its stdout."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, "-m", "mouthsync", *args], env=env, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        wall = time.perf_counter() - t0
        if proc.returncode not in (0, 1):  # 1: check's findings (out of sync)
            raise SystemExit(f"mouthsync {args[0]} failed with exit code {proc.returncode}")
        out.seek(0)
        return wall, usage.ru_maxrss / 1024.0, out.read()


def _summary(report: dict) -> str:  # type: ignore[type-arg]
    """Headline, drift and how the confident windows lie against the file's line."""
    frame = 1000.0 / report["fps"]
    d, dr, at = report["audio_delay_ms"], report["drift"], report["details"].get("delay_at_s")
    slope = dr["ms_per_min"] if dr["kind"] == "drift" and at is not None else 0.0
    on = off = unsure = 0
    for w in report["windows"]:
        if w["uncertain"] or w["audio_delay_ms"] is None or d is None:
            unsure += 1
            continue
        want = d + slope / 60.0 * (0.5 * (w["start_s"] + w["end_s"]) - (at or 0.0))
        on, off = (on + 1, off) if abs(w["audio_delay_ms"] - want) <= frame else (on, off + 1)
    where = f" at {at:.0f} s" if at is not None else ""
    drift = f"{dr['ms_per_min']:+.1f} ms/min ({dr['kind']})" if dr["ms_per_min"] is not None else dr["kind"]
    return (f"delay {d:+.1f} ms{where}, confidence {report['confidence']:.2f}, drift {drift}; windows: "
            f"{on} confident within a frame of the line, {off} further, {unsure} uncertain")


def main() -> int:
    minutes = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    num, den = (int(x) for x in (sys.argv[2] if len(sys.argv) > 2 else "1001/1000").split("/"))
    with tempfile.TemporaryDirectory(prefix="mouthsync-drift-") as tmp:
        t = Path(tmp)
        one = check_speed.build_clip(t / "one.mp4")
        _ffmpeg("-i", str(one), "-c:v", "copy", "-c:a", "pcm_s16le", "-t", "60", str(t / "one.mkv"))
        _ffmpeg("-stream_loop", str(minutes - 1), "-i", str(t / "one.mkv"), "-c", "copy", str(t / "loop.mkv"))
        drifting = t / "drift.mkv"
        _ffmpeg("-i", str(t / "loop.mkv"), "-map", "0:v", "-map", "0:a", "-c:v", "copy",
                "-af", f"asetrate=48000*{den}/{num},aresample=48000", "-c:a", "pcm_s16le", str(drifting))
        env = dict(os.environ, MOUTHSYNC_CACHE=str(t / "cache"))
        print(f"{minutes} min 720p, sound resampled {num}/{den} (true drift {(num / den - 1) * 60000:+.2f} ms/min)",
              flush=True)
        for label, path in (("drifting", drifting), ("fixed", t / "fixed.mkv")):
            if label == "fixed":
                # check's reading, not measured again
                secs, peak, _ = _run(["fix", str(drifting), "-o", str(path), "--drift", "auto",
                                      "--report", str(t / "drift.check.json")], env)
                print(f"  fix --drift auto --report: {secs:.0f} s, peak {peak:.0f} MiB", flush=True)
            wall, peak, out = _run(["check", str(path), "--json"], env)
            if label == "drifting":
                (t / "drift.check.json").write_text(out)
            print(f"  {label:8s}: {_summary(json.loads(out))}; {wall:.0f} s "
                  f"({minutes * 60 / wall:.1f}x real time), peak {peak:.0f} MiB", flush=True)
            if label == "drifting":
                # the face track and the speech timelines are cached now: the analysis alone
                warm, _, _ = _run(["check", str(path), "--json"], env)
                print(f"  drifting again, cached (the analysis): {warm:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
