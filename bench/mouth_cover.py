"""facecheck's lip detail (``face.quality.FLAT_MOUTH``): the lips' structure against the
eyes' and nose's on every shared clip, and on retalking_face2 with its mouth covered or
blurred out for the whole clip (what the shot-relative occlusion measures cannot see).

    .venv/bin/python bench/mouth_cover.py

Prints, per file, the minimum and median of the 1 s lip detail and the share of frames
flagged occluded. About a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MOUTHSYNC_DATA", REPO.parent / "shared" / "data"))


def main() -> int:
    import numpy as np

    from mouthsync.face.mouth import MOUTH_REGION
    from mouthsync.face.quality import FLAT_MOUTH, check_footage
    from mouthsync.face.track import track_face

    files = sorted((DATA / "clips").glob("*.mp4")) + sorted((DATA / "wild").glob("*.mp4"))
    files += sorted((DATA / "silent").glob("*.mp4"))
    face2 = DATA / "clips" / "retalking_face2.mp4"
    p = track_face(face2).landmarks[:, list(MOUTH_REGION), :2]
    x, y = int(np.nanmin(p[..., 0])) - 12, int(np.nanmin(p[..., 1])) - 12
    w, h = int(np.nanmax(p[..., 0])) + 12 - x, int(np.nanmax(p[..., 1])) + 12 - y
    covers = {
        "black box": f"drawbox=x={x}:y={y}:w={w}:h={h}:color=black:t=fill",
        "skin-coloured box": f"drawbox=x={x}:y={y}:w={w}:h={h}:color=0x855F4E:t=fill",
        "blurred out": f"split[a][b];[b]crop={w}:{h}:{x}:{y},boxblur=20:3[m];[a][m]overlay={x}:{y}",
        "whole picture blurry (not a cover)": "scale=iw/3:-2,scale=844:844",
    }
    print(f"lip detail (1 s median) against the eyes and nose; occluded below {FLAT_MOUTH}")
    with tempfile.TemporaryDirectory() as tmp:
        made = []
        for name, vf in covers.items():
            out = Path(tmp) / (name.split()[0] + ".mp4")
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(face2), "-filter_complex", vf,
                            "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-an", str(out)], check=True)
            made.append((f"face2, {name}", out))
        for label, f in [(f.name, f) for f in files] + made:
            rep = check_footage(f)
            d = rep.metrics["mouth_structure"]
            print(f"  {label:44s} min {np.nanmin(d):5.2f}  median {np.nanmedian(d):5.2f}  "
                  f"occluded {100 * rep.flags['occluded'].mean():5.1f} % of frames")
    return 0


if __name__ == "__main__":
    sys.exit(main())
