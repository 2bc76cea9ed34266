"""Speakers the picture shows small: each shared clip's whole picture scaled into a
1920x1080 frame (a speaker in a wide shot), and video calls' galleries.

    .venv/bin/python bench/small_faces.py [--no-galleries] [CLIP ...]

Wide shots: each clip at a half, a third and a quarter of its width, on black, a fifth
and half of the way across (faces of about 29-152 px). For each, whether the keyframe
face count found the face on the whole picture alone (``tiles off``: the count with its
tiles disabled) and with its tiles, then ``check`` cold: its delay and confidence against
the clip's own, within a frame or not, the face's width (``details.face_px``) and whether
the small face is named (``sync.face_size``).

Galleries: retalking_face2, face3, face4 and face5 in a 2x2 gallery of 426x360 tiles
(``tests/sync/builders.gallery``), each voice in turn: is the speaker's tile the face
check reports, at its own delay; and the four clips with face1 and voxceleb_00067 in a 3x2
gallery with face4's voice, by default (four faces measured, the others named) and with
``--faces 6``. First, what the tiles cost on a picture with no face at all. About five
minutes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import CLIPS, WILD  # noqa: E402
from tests.sync.builders import gallery, wide_shot  # noqa: E402

from mouthsync.face import count  # noqa: E402
from mouthsync.sync.delay import check_sync  # noqa: E402

SCALES = (1 / 2, 1 / 3, 1 / 4)
PLACES = (0.2, 0.5)
TILE_W, TILE_H = 426, 360


def _found(path: Path, tiles: bool) -> bool:
    """Whether the keyframe count finds a face on every keyframe (with or without tiles)."""
    boxes = count.face_boxes(path, use_cache=False, tiles=count.TILE_SIDES if tiles else ())
    return bool(boxes) and all(boxes)


def tile_cost(tmp: Path) -> None:
    """What the tiles cost where there is no face at all: a 30 s 1080p test pattern
    (keyframes every 2 s, so all 12 samples are looked at)."""
    import subprocess
    import time

    pattern = tmp / "pattern.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25:d=30",
                    "-c:v", "libx264", "-preset", "veryfast", "-g", "50", str(pattern)], check=True)
    count.face_boxes(pattern, use_cache=False, tiles=())  # MediaPipe's start-up out of the figures
    took = {}
    for name, tiles in (("whole picture only", ()), ("with tiles", count.TILE_SIDES)):
        t0 = time.perf_counter()
        count.face_boxes(pattern, use_cache=False, tiles=tiles)
        took[name] = time.perf_counter() - t0
    print("no face anywhere (30 s 1080p test pattern, 12 keyframes): counted in "
          + ", ".join(f"{t:.2f} s {n}" for n, t in took.items())
          + f" (tiles given up after {count.TILE_GIVE_UP} keyframes)\n")


def wide_shots(clips: list[Path], tmp: Path) -> None:
    print(f"{'clip':20s} {'scale':>5s} {'x':>4s} {'tiles off':>9s} {'tiles':>5s} {'delay ms':>9s} {'conf':>5s} "
          f"{'clip ms':>8s} {'<= 1 frame':>10s} {'face px':>7s} {'named':>6s}")
    n = found_whole = found = near = 0
    for clip in clips:
        own = check_sync(clip)
        for scale in SCALES:
            for x in PLACES:
                out = wide_shot(clip, scale, tmp / f"{clip.stem}-{scale:.2f}-{x}.mp4", x=x)
                whole, tiled = _found(out, False), _found(out, True)
                rep = check_sync(out, use_cache=False)
                d = rep.audio_delay_ms
                ok = d is not None and own.audio_delay_ms is not None and abs(d - own.audio_delay_ms) <= 1000.0 / own.fps
                px = rep.details.get("face_px")
                named = any(f.check == "sync.face_size" for f in rep.findings)
                n += 1
                found_whole += whole
                found += tiled
                near += ok
                print(f"{clip.stem:20s} {scale:5.2f} {x:4.1f} {'yes' if whole else 'no':>9s} {'yes' if tiled else 'no':>5s} "
                      f"{'-' if d is None else f'{d:+.1f}':>9s} {rep.confidence:5.2f} {own.audio_delay_ms:+8.1f} "
                      f"{'yes' if ok else 'NO':>10s} {'-' if px is None else f'{px:.0f}':>7s} {'yes' if named else '':>6s}",
                      flush=True)
    print(f"\nwide shots: face found on the whole picture {found_whole}/{n}, with tiles {found}/{n}; "
          f"check within a frame of the clip {near}/{n}\n")


def galleries(tmp: Path) -> None:
    by_name = {p.name: p for p in CLIPS + WILD}
    four = [by_name[f"retalking_face{i}.mp4"] for i in (2, 3, 4, 5)]
    right = 0
    for k, speaker in enumerate(four):
        rep = check_sync(gallery(four, k, tmp / f"gallery{k}.mp4"), use_cache=False)
        own = check_sync(speaker)
        faces = rep.details.get("faces") or []
        box = faces[rep.details["speaker_face"]]["box"] if faces else None
        tile = None if box is None else int((box[0] + box[2]) / 2 // TILE_W) + 2 * int((box[1] + box[3]) / 2 // TILE_H)
        d = rep.audio_delay_ms
        ok = tile == k and d is not None and abs(d - own.audio_delay_ms) <= 1000.0 / own.fps
        right += ok
        print(f"2x2 gallery, {speaker.stem:16s} speaking: {len(faces)} faces, speaker tile {tile} "
              f"(want {k}), {'-' if d is None else f'{d:+.1f}'} ms at {rep.confidence:.2f} (alone {own.audio_delay_ms:+.1f}) "
              f"{'yes' if ok else 'NO'}", flush=True)
    print(f"2x2 gallery: the speaker found at its own delay {right}/4")
    six = [*four, by_name["retalking_face1.mp4"], by_name["voxceleb_00067.mp4"]]
    path = gallery(six, 2, tmp / "six.mp4", columns=3)
    for faces in ("auto", 6):
        rep = check_sync(path, faces=faces, use_cache=False)
        named = [f.message for f in rep.findings if f.check == "sync.faces"]
        d = rep.audio_delay_ms
        print(f"3x2 gallery, face4 speaking, --faces {faces}: {len(rep.details.get('faces') or [])} faces measured, "
              f"{'-' if d is None else f'{d:+.1f}'} ms at {rep.confidence:.2f}; {named[0] if named else 'nothing named'}",
              flush=True)


def main() -> int:
    args = sys.argv[1:]
    with_galleries = "--no-galleries" not in args
    names = [a for a in args if not a.startswith("--")]
    clips = [p for p in CLIPS + WILD if not names or p.stem in names]
    with tempfile.TemporaryDirectory(prefix="mouthsync-bench-") as tmp:
        tile_cost(Path(tmp))
        wide_shots(clips, Path(tmp))
        if with_galleries:
            galleries(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
