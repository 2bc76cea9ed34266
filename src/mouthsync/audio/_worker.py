"""Speech-timeline worker: ``python -m mouthsync.audio._worker ARGS_JSON OUT_JSON`` (or
``--spare``: the two arguments come later as one JSON line on stdin, ``core.spares``).

A plain subprocess (not ``multiprocessing``) so that a script calling ``check_sync`` or
``speech_timeline_in_process`` needs no ``if __name__ == "__main__"`` guard (``spawn``
re-imports the caller's main module, which then starts the work again). Decoded audio
comes in as a ``.npy`` file; the result, or the user error raised, goes out as JSON.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    os.environ["MOUTHSYNC_NO_PROGRESS"] = "1"  # the parent owns the terminal
    from mouthsync.core.children import die_with_parent

    die_with_parent()
    import pocketsphinx  # noqa: F401  (before the job: a spare's start-up overlaps its caller's)

    from mouthsync.audio.timeline import speech_timeline
    from mouthsync.core.spares import job_argv

    got = job_argv(argv)
    if got is None:
        return 0
    argv = got
    args = json.loads(argv[0])
    out = argv[1]
    if args.get("nice"):
        from mouthsync.core.priority import lower_this_thread

        lower_this_thread(int(args["nice"]))
    from mouthsync.core.atomic import write_text_atomic
    from mouthsync.core.errors import MouthsyncError
    from mouthsync.media.decode import Audio

    try:
        if args.get("audio_npy"):
            import numpy as np

            source: object = Audio(np.load(args["audio_npy"]), int(args["rate"]), float(args["start"]))
            # read once: gone now, so a parent killed outright (SIGKILL, no cleanup) leaves
            # at most an empty folder behind, not a copy of the audio
            os.remove(args["audio_npy"])
        else:
            source = args["source"]
        tl = speech_timeline(
            source,  # type: ignore[arg-type]
            transcript=args["transcript"],
            use_cache=bool(args["use_cache"]),
            language=args["language"],
            front_end=args["front_end"],
            denoise=bool(args.get("denoise", True)),
        )
        result = {"timeline": tl.to_dict()}
    except MouthsyncError as exc:
        result = {"error": type(exc).__name__, "message": str(exc)}
    write_text_atomic(out, json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
