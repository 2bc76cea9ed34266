"""Plain given words (a script, no times) on long sound: one alignment pass against
placing the words on recognised phones and aligning them in pieces (``audio.placement``).

    .venv/bin/python bench/plain_words.py [MINUTES ...]     (default: 1 2 5)

The speed benchmark's 60 s clip and its machine transcript, repeated to each length:
prints the CPU of the one pass (the aligner alone), of the whole timeline with the words
placed, and how far the placed words' starts are from the one pass's.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import numpy as np  # noqa: E402

from check_speed import build_clip  # noqa: E402
from mouthsync.audio.phones import align_transcript  # noqa: E402
from mouthsync.audio.timeline import compute_timeline, speech_timeline  # noqa: E402
from mouthsync.media.decode import Audio, decode_audio  # noqa: E402


def main() -> int:
    minutes = [int(a) for a in sys.argv[1:]] or [1, 2, 5]
    with tempfile.TemporaryDirectory() as tmp:
        clip = build_clip(Path(tmp) / "talk.mp4", seconds=60.0)
        text = " ".join(w.text for w in speech_timeline(clip, transcript="auto").words)
        x = decode_audio(clip, rate=16000).mono
    for m in minutes:
        audio = Audio(samples=np.tile(x, m), rate=16000, start=0.0)
        words = " ".join([text] * m)
        t = time.process_time()
        placed = compute_timeline(audio, transcript=words, use_cache=False)
        t_placed = time.process_time() - t
        t = time.process_time()
        one, _, _ = align_transcript(audio.samples, words)
        t_one = time.process_time() - t
        line = f"{m * 60:5d} s, {len(one)} words: one pass {t_one:6.1f} CPU-s (aligner alone); placed {t_placed:6.1f} CPU-s (whole timeline)"
        if len(placed.words) == len(one):
            d = np.abs([a.start - b.start for a, b in zip(placed.words, one, strict=True)])
            line += f"; word starts apart: median {np.median(d) * 1000:.0f} ms, p95 {np.percentile(d, 95) * 1000:.0f} ms"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
