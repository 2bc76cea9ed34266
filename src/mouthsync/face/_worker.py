"""Worker process for parallel tracking: ``python -m mouthsync.face._worker ARGS_JSON OUT_NPZ``
(or ``--spare``: the two arguments come later as one JSON line on stdin, ``core.spares``).

A plain subprocess (not ``multiprocessing``) so that callers need no ``if __name__ ==
"__main__"`` guard and the parent's threads or loaded MediaPipe graph are never forked.
Progress goes to stdout as one integer (frames done since last line) per line.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    from mouthsync.core.children import die_with_parent

    die_with_parent()
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import cv2
    import numpy as np

    from mouthsync.core.spares import job_argv
    from mouthsync.face.chunks import Claims, track_chunks
    from mouthsync.face.mesh import import_mediapipe

    import_mediapipe()  # before the job: a spare's start-up overlaps its caller's (core.spares)
    got = job_argv(argv)
    if got is None:
        return 0
    argv = got

    # This process only tracks, beside the parent's range on the other core: OpenCV's own
    # resize/colour threads would just compete for the same cores (0.62 vs 0.43 CPU-ms per
    # 720p frame for the pixel conversion with one thread).
    cv2.setNumThreads(1)

    args = json.loads(argv[0])
    out = argv[1]
    if args.get("nice"):
        from mouthsync.core.priority import lower_this_thread

        lower_this_thread(int(args["nice"]))

    def report(n: int) -> None:
        sys.stdout.write(f"{n}\n")
        sys.stdout.flush()

    starts = [float(t) for t in args["starts"]]
    parts = track_chunks(
        args["path"], starts, int(args["first"]), Claims(len(starts), args["claims"]),
        (args["max_side"], args["max_faces"], args["width"], args["height"]), report=report,
        crop=tuple(args["crop"]) if args.get("crop") else None, sar=float(args.get("sar", 1.0)),
        every_face=bool(args.get("every_face")), every=int(args.get("every", 1)),
    )
    with open(out, "wb") as fh:
        np.savez(fh, **{f"c{c}_{name}": v for c, part in parts.items() for name, v in part.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
