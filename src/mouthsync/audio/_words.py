"""Word-recognition worker: ``python -m mouthsync.audio._words IN.npy OFFSET OUT.json``.

Recognises the words of one half of a long sound (:mod:`mouthsync.audio.transcribe`) in a
process of its own, since PocketSphinx holds the GIL for a whole decode. The sound comes in
as a float32 ``.npy``; the words go out as ``[[start, end, text], ...]``.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from mouthsync.core.children import die_with_parent

    die_with_parent()
    import numpy as np

    from mouthsync.audio.phones import transcribe_words
    from mouthsync.core.atomic import write_text_atomic

    samples = np.load(argv[0])
    words = transcribe_words(samples, offset=float(argv[1]))
    write_text_atomic(argv[2], json.dumps([[w.start, w.end, w.text] for w in words]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
