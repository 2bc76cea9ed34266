"""``check`` with words that are not quite what is said: each shared clip's machine
transcript condensed two ways (every third word left out; only the first half kept), as
subtitles condense speech. Prints, per clip and condensing, the automatic reading, the
reading with the words given, and whether the words were kept or set aside; an answer
more than a frame from the automatic one is marked (docs/sync.md, "Words users already
have").

    .venv/bin/python bench/given_words.py

About 2-4 min with cached tracks and timelines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MOUTHSYNC_DATA", REPO.parent / "shared" / "data"))


def main() -> int:
    from mouthsync.audio.timeline import speech_timeline
    from mouthsync.sync.delay import check_sync

    clips = sorted((DATA / "clips").glob("*.mp4")) + sorted((DATA / "wild").glob("*.mp4"))
    off = kept = 0
    for c in clips:
        auto = check_sync(c)
        words = speech_timeline(c, transcript="auto").settings["machine_transcript"].split()
        for name, part in (("every 3rd left out", [w for i, w in enumerate(words) if i % 3 != 2]),
                           ("first half only", words[: len(words) // 2])):
            rep = check_sync(c, transcript=" ".join(part))
            frame_ms = 1000.0 / rep.fps if rep.fps else 40.0
            wrong = rep.audio_delay_ms is None or abs(rep.audio_delay_ms - (auto.audio_delay_ms or 0.0)) > frame_ms
            off += wrong
            kept += rep.details.get("transcript") == "given"
            print(f"{c.name:26s} {name:18s} auto {auto.audio_delay_ms:+7.1f} ms / {auto.confidence:.2f}   words "
                  f"{rep.audio_delay_ms:+7.1f} ms / {rep.confidence:.2f}   {rep.details.get('transcript'):17s}"
                  + ("  MORE THAN A FRAME OFF" if wrong else ""), flush=True)
    n = 2 * len(clips)
    print(f"\n{n} condensed transcripts: words kept {kept}, set aside {n - kept}; "
          f"more than a frame from the automatic reading: {off}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
