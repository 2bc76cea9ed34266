"""check on a video call's gallery where people speak in turns, each heard at their own
delay (``sync.turns``), and ``fix --delay turns`` on it.

    .venv/bin/python bench/meetings.py [--shifts MS,MS,MS,MS] [--sway]

Each gallery is four shared clips in a 2x2 grid (``tests/sync/builders.meeting``): every
tile speaks its clip's first 4.8 s in turn while the others hold still, 19.2 s in all.
It is built twice: as it is (each speaker at their clip's own delay) and with each
speaker's sound moved by its own amount (default +200, 0, -80, +120 ms). The table
prints, per speaker, the delay read on the plain gallery, on the shifted one (it must
follow the shift within a frame) and after ``fix --delay turns`` on the shifted one (it
must then read within a frame of nothing), whether check counted the speaker
among those who talk in turns, and the verdict. ``--sway``: the listeners nod, sway and
lean while they listen (mouths closed) instead of holding perfectly still. About 25 s
per gallery.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import CLIPS, WILD  # noqa: E402
from tests.sync.builders import meeting  # noqa: E402

from mouthsync.core.errors import BadInput  # noqa: E402
from mouthsync.sync.correct import fix_sync  # noqa: E402
from mouthsync.sync.delay import check_sync  # noqa: E402

TILE_W, TILE_H = 426, 360


def _named(*stems: str) -> list[Path]:
    return [next(p for p in CLIPS + WILD if p.stem == s) for s in stems]


GALLERIES = {
    "studio": _named("retalking_face2", "retalking_face3", "retalking_face4", "retalking_face5"),
    "web": _named("voxceleb_00067", "voxceleb_00473", "voxceleb_517600055", "voxceleb_620900105"),
    "mixed": _named("retalking_face1", "voxceleb_00067", "retalking_face4", "voxceleb_620900105"),
}


def by_tile(rep) -> dict[int, tuple[float | None, float, bool]]:  # type: ignore[no-untyped-def]
    """Each face's (delay, confidence, counted among the speakers), keyed by its tile."""
    talking = set(rep.details.get("speaking_faces") or [rep.details.get("speaker_face")])
    out = {}
    for f in rep.details.get("faces") or []:
        x, y = 0.5 * (f["box"][0] + f["box"][2]), 0.5 * (f["box"][1] + f["box"][3])
        out[int(y // TILE_H) * 2 + int(x // TILE_W)] = (f["audio_delay_ms"], f["confidence"], f["face"] in talking)
    return out


def main() -> int:
    args = sys.argv[1:]
    shifts_ms = [200.0, 0.0, -80.0, 120.0]
    sway = "--sway" in args
    if "--shifts" in args:
        shifts_ms = [float(x) for x in args[args.index("--shifts") + 1].split(",")]
    print(f"{'gallery':8s} {'tile':4s} {'clip':20s} {'shift':>6s} {'plain ms':>9s} {'conf':>4s} {'shifted':>8s} {'conf':>4s} "
          f"{'follows':>7s} {'found':>5s} {'fixed':>8s} {'back':>5s}")
    follows = back = found = total = 0
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="mouthsync-meet-") as tmp:
        for name, sources in GALLERIES.items():
            t0 = time.time()
            plain = meeting(sources, [0, 1, 2, 3], Path(tmp) / f"{name}.mp4", sway=sway)
            late = meeting(sources, [0, 1, 2, 3], Path(tmp) / f"{name}-late.mp4", shifts_s=[s / 1000 for s in shifts_ms],
                           sway=sway)
            p, r = check_sync(plain), check_sync(late)
            out = Path(tmp) / f"{name}-fixed.mp4"
            try:
                fix_sync(late, out, delay="turns", report=r)
                a = check_sync(out)
                ba = by_tile(a)
            except BadInput as e:  # no turns found: nothing moved turn by turn
                print(f"{name}: fix --delay turns refused: {e}")
                a, ba = None, {}
            bp, br = by_tile(p), by_tile(r)
            frame_ms = 1000.0 / r.fps
            for i, src in enumerate(sources):
                d0, d1, d2 = bp.get(i, (None,))[0], br.get(i, (None,))[0], ba.get(i, (None,))[0]
                ok1 = d0 is not None and d1 is not None and abs(d1 - d0 - shifts_ms[i]) <= frame_ms
                # fix removes each speaker's whole reading: each then reads about nothing
                ok2 = d2 is not None and abs(d2) <= frame_ms
                got = bool(br.get(i, (None, 0.0, False))[2])
                follows += ok1
                back += ok2
                found += got
                total += 1

                def ms(v: float | None) -> str:
                    return "n/a" if v is None else f"{v:+.1f}"

                c0, c1 = bp.get(i, (None, 0.0))[1], br.get(i, (None, 0.0))[1]
                print(f"{name:8s} {i:4d} {src.stem:20s} {shifts_ms[i]:+6.0f} {ms(d0):>9s} {c0:4.2f} {ms(d1):>8s} {c1:4.2f} "
                      f"{'yes' if ok1 else 'NO':>7s} {'yes' if got else 'NO':>5s} {ms(d2):>8s} {'yes' if ok2 else 'NO':>5s}")
            verdicts.append(f"{name}: plain {p.verdict['status']}, shifted {r.verdict['status']} "
                            f"({len(r.verdict.get('sections', []))} sections), fixed {'-' if a is None else a.verdict['status']}; "
                            f"{time.time() - t0:.0f} s")
    print(f"\nspeakers counted as talking in turns: {found}/{total}; the shift followed within a frame: "
          f"{follows}/{total}; within a frame of nothing after fix --delay turns: {back}/{total}")
    for v in verdicts:
        print("  " + v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
