"""Look at the lips where the words say they must close: a picture for judging a clip's own
offset by eye, independently of ``check``'s correlation.

    .venv/bin/python bench/closure_strip.py [CLIP OUT.png] [--delay-ms D]

Without arguments (``make bench``): voxceleb_00473 into ``out/closure_strip.png``.

For every P, B and M of the aligned machine transcript (the lips are shut during the
closure of a bilabial, whoever speaks), one row of mouth crops from 0.3 s before to 0.2 s
after the closure heard in the audio. A red frame marks the video frames that fall inside
that closure if sound and picture are in sync; a blue frame marks them if the sound comes
``D`` ms after the picture (default: what ``check`` measures). The row whose lips are shut
under the blue marks and open under the red ones says the offset is real. The text prints
per closure the frame of smallest lip aperture relative to the closure heard.

Used for the wild/ clips whose measured offsets (+124 and +151 ms) no calibration constant
can bring within a frame of the other two (docs/sync.md, "Calibration").
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

BILABIALS = ("P", "B", "M")
BEFORE_S, AFTER_S = 0.3, 0.2
CELL = (120, 96)  # crop size in the picture (w, h)


def mouth_crop(img: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """The mouth and some chin, from the frame's landmarks, resized to ``CELL``."""
    import cv2

    from mouthsync.face.mouth import (
        LOWER_LIP_OUTER,
        MOUTH_CORNER_L,
        MOUTH_CORNER_R,
        UPPER_LIP_OUTER,
    )

    pts = marks[[MOUTH_CORNER_R, MOUTH_CORNER_L, UPPER_LIP_OUTER, LOWER_LIP_OUTER], :2]
    if not np.isfinite(pts).all():
        return np.zeros((CELL[1], CELL[0], 3), np.uint8)
    cx, cy = pts[:, 0].mean(), pts[:, 1].mean()
    half = 0.85 * float(pts[1, 0] - pts[0, 0])
    y0, y1 = int(max(0, cy - 0.8 * half)), int(max(1, cy + 0.8 * half))
    x0, x1 = int(max(0, cx - half)), int(max(1, cx + half))
    return cv2.resize(img[y0:y1, x0:x1], CELL, interpolation=cv2.INTER_CUBIC)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", type=Path, nargs="?", default=REPO.parent / "shared" / "data" / "wild" / "voxceleb_00473.mp4")
    ap.add_argument("out", type=Path, nargs="?", default=REPO / "out" / "closure_strip.png")
    ap.add_argument("--delay-ms", type=float, default=None, help="the offset to test (default: check's)")
    args = ap.parse_args()

    import av
    import cv2

    from mouthsync.audio.timeline import speech_timeline
    from mouthsync.face.track import track_face
    from mouthsync.media.decode import decode_audio
    from mouthsync.sync.delay import check_sync

    track = track_face(args.clip)
    timeline = speech_timeline(decode_audio(args.clip, rate=16000), transcript="auto")
    delay_ms = args.delay_ms
    if delay_ms is None:
        delay_ms = check_sync(args.clip, transcript="always").audio_delay_ms or 0.0
    d = delay_ms / 1000.0
    closures = [p for p in timeline.phones if p.label in BILABIALS]
    if not closures:
        print(f"{args.clip.name}: no P, B or M in the aligned transcript")
        return 1
    print(f"{args.clip.name}: words: {' '.join(w.text for w in timeline.words)}")
    def around(p) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Track indices of the frames shown for closure ``p``."""
        return np.where((track.times >= p.start - BEFORE_S) & (track.times <= p.end + AFTER_S))[0]

    # only the frames the strips show are kept (a long clip would not fit in memory)
    wanted = {int(k) for p in closures for k in around(p)}
    frames: dict[int, np.ndarray] = {}
    with av.open(str(args.clip)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i in wanted:
                frames[i] = fr.to_ndarray(format="bgr24")
    ap_ = track.mouth["aperture"]
    rows, lags = [], []
    for p in closures:
        idx = around(p)
        if idx.size == 0:
            continue
        cells = []
        for k in idx:
            t = track.times[k]
            cell = mouth_crop(frames[int(k)], track.landmarks[k])
            if p.start <= t < p.end:
                cv2.rectangle(cell, (0, 0), (CELL[0] - 1, CELL[1] - 1), (0, 0, 255), 3)
            if p.start - d <= t < p.end - d:
                cv2.rectangle(cell, (4, 4), (CELL[0] - 5, CELL[1] - 5), (255, 128, 0), 3)
            cv2.putText(cell, f"{t:.2f}", (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1)
            cells.append(cell)
        width = int(round((BEFORE_S + AFTER_S) * track.fps)) + 8
        cells += [np.zeros_like(cells[0])] * max(0, width - len(cells))
        label = np.zeros((CELL[1], 90, 3), np.uint8)
        cv2.putText(label, f"{p.label} {p.start:.2f}", (4, 52), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
        rows.append(np.hstack([label, *cells[:width]]))
        low = idx[np.nanargmin(ap_[idx])] if np.isfinite(ap_[idx]).any() else None
        if low is not None:
            lag = float(track.times[low] - 0.5 * (p.start + p.end))
            lags.append(lag)
            print(f"  {p.label} heard {p.start:.2f}-{p.end:.2f} s: lips least open at {track.times[low]:.2f} s "
                  f"({lag * 1000:+.0f} ms)")
    cv2.imwrite(str(args.out), np.vstack(rows))
    print(f"  median: lips least open {np.median(lags) * 1000:+.0f} ms from the closure heard; "
          f"check reads the sound {delay_ms:+.0f} ms after the picture (a shut mouth before the "
          f"closure heard means sound after picture)")
    print(f"  picture: {args.out} (red: closure if in sync; blue: closure at {delay_ms:+.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
