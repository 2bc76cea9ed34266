"""The machine transcript of long sound: one pass against two halves at once.

    .venv/bin/python bench/transcribe_halves.py [SECONDS]

The speech benchmark's 60 s one-take (``check_speed.build_clip``) has its sound looped to
SECONDS (default 300; at least ``audio.transcribe.SPLIT_S``), then its words are recognised
in one pass (``phones.transcribe_words``) and in two halves at once
(``audio.transcribe.transcribe``, the second half in a worker process). Printed: wall and
CPU seconds of each, where the cut fell, and the share of words the two agree on per
minute, beside the one pass's agreement with itself from one loop of the minute to the
next (the recogniser's own variation).
"""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MOUTHSYNC_NO_PROGRESS", "1")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

import check_speed  # noqa: E402
from mouthsync.audio.phones import RATE, transcribe_words  # noqa: E402
from mouthsync.audio.transcribe import SPLIT_S, halves_cut, transcribe  # noqa: E402
from mouthsync.audio.vad import speech_segments  # noqa: E402
from mouthsync.media.decode import decode_audio  # noqa: E402


def _minute(words: list, k: int) -> list[str]:  # type: ignore[type-arg]
    return [w.text for w in words if 60 * k + 3 <= w.start < 60 * k + 57]


def _same(a: list[str], b: list[str]) -> float:
    return difflib.SequenceMatcher(a=a, b=b, autojunk=False).ratio()


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300.0
    if seconds < SPLIT_S:
        raise SystemExit(f"at least {SPLIT_S:.0f} s: shorter sound is recognised in one pass")
    with tempfile.TemporaryDirectory(prefix="mouthsync-halves-") as tmp:
        one = decode_audio(check_speed.build_clip(Path(tmp) / "one.mp4"), rate=RATE).samples
    x = np.tile(one, int(np.ceil(seconds * RATE / one.size)))[: int(seconds * RATE)]
    speech = speech_segments(x, rate=RATE, offset=0.0)
    w0, c0 = time.perf_counter(), time.process_time()
    whole = transcribe_words(x)
    w1, c1 = time.perf_counter(), time.process_time()
    halves = transcribe(x, offset=0.0, speech=speech)
    w2, c2 = time.perf_counter(), time.process_time()
    print(f"{seconds:.0f} s of speech, cut at {halves_cut(x.size, 0.0, speech) / RATE:.1f} s")
    print(f"  one pass : {w1 - w0:6.1f} s wall, {c1 - c0:6.1f} CPU-s, {len(whole)} words")
    print(f"  halves   : {w2 - w1:6.1f} s wall, {c2 - c1:6.1f} CPU-s in this process "
          f"(the worker's not counted), {len(halves)} words")
    minutes = int(seconds // 60)
    agree = [_same(_minute(whole, k), _minute(halves, k)) for k in range(minutes)]
    itself = [_same(_minute(whole, 0), _minute(whole, k)) for k in range(1, minutes)]
    print(f"  words the same per minute, halves vs one pass: {min(agree):.2f}-{max(agree):.2f}; "
          f"the one pass's later minutes vs its first: {min(itself):.2f}-{max(itself):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
