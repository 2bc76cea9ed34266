"""The machine transcript of long sound, in two halves at once.

Why: recognising words (PocketSphinx with its general language model) costs ~0.2 CPU-s per
second of sound on one thread, and ``check`` asks for it exactly where the sound is long
and the answer hard (a drift, an edit): on 10 minutes drifting 1000/1001 the transcript
ran alone on one core for over two minutes while the other idled. Sound of
:data:`SPLIT_S` or more is cut once, in a pause near its middle (:func:`halves_cut`), and
the second half is recognised in a worker process while this one recognises the first. The cut is a
property of the sound (never of the machine's cores), so a file always gets the same
words; at a pause the language model loses no sentence it was in.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile

import numpy as np

from mouthsync.audio.phones import RATE, transcribe_words
from mouthsync.audio.types import Word

# Sound at least this long is recognised in two halves (a worker's start-up, ~0.5 s, is
# then under 1 % of the work).
SPLIT_S = 240.0
# The cut lies in the longest pause whose middle is within _NEAR of the length either
# side of the middle (the halves take about as long), else in the pause nearest the middle
# within _REACH, else at the middle itself.
_NEAR = 0.05
_REACH = 0.15
WORKER = "mouthsync.audio._words"


def halves_cut(n_samples: int, offset: float, speech: list[tuple[float, float]]) -> int:
    """The sample index to cut ``n_samples`` of sound starting at ``offset`` s: the middle
    of a pause between ``speech`` segments near the middle (``_NEAR``, ``_REACH``)."""
    mid = n_samples / 2.0
    pauses = [(((a_end + b_start) / 2.0 - offset) * RATE, b_start - a_end)
              for (_, a_end), (b_start, _) in zip(speech, speech[1:], strict=False)]
    near = [(gap, centre) for centre, gap in pauses if abs(centre - mid) <= _NEAR * n_samples]
    if near:
        cut = max(near)[1]
    else:
        reach = [(abs(centre - mid), centre) for centre, _ in pauses if abs(centre - mid) <= _REACH * n_samples]
        cut = min(reach)[1] if reach else mid
    return max(1, min(n_samples - 1, int(round(cut))))


def transcribe(samples: np.ndarray, *, offset: float, speech: list[tuple[float, float]]) -> list[Word]:
    """Recognised words of ``samples`` (times from ``offset``), as
    :func:`~mouthsync.audio.phones.transcribe_words`; long sound in two halves at once.
    ``speech``: the speech segments on the same clock (where the pauses are)."""
    if samples.size < SPLIT_S * RATE:
        return transcribe_words(samples, offset=offset)
    cut = halves_cut(samples.size, offset, speech)
    with tempfile.TemporaryDirectory(prefix="mouthsync-words-") as tmp:
        proc = _start(samples[cut:], offset + cut / RATE, tmp)
        try:
            first = transcribe_words(samples[:cut], offset=offset)
        except BaseException:
            if proc is not None:
                _stop(proc)
            raise
        second = _result(proc, tmp)
    if second is None:  # the worker could not run: the second half here
        second = transcribe_words(samples[cut:], offset=offset + cut / RATE)
    return first + second


def _start(samples: np.ndarray, offset: float, tmp: str) -> subprocess.Popen[str] | None:
    """The worker recognising ``samples`` (None when it cannot be started)."""
    from mouthsync.core import spares

    npy = os.path.join(tmp, "half.npy")
    try:
        np.save(npy, np.ascontiguousarray(samples, dtype=np.float32))
        return spares.launch(WORKER, [npy, repr(float(offset)), os.path.join(tmp, "words.json")], tmp,
                             spare=None, progress_out=False, MOUTHSYNC_NO_PROGRESS="1")
    except OSError:
        return None


def _stop(proc: subprocess.Popen[str]) -> None:
    """End the worker (the caller failed or was interrupted: nobody will read its words)."""
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(OSError):
        proc.communicate()


def _result(proc: subprocess.Popen[str] | None, tmp: str) -> list[Word] | None:
    """The worker's words, or None when it failed (the caller recognises the half itself)."""
    if proc is None:
        return None
    proc.communicate()
    out = os.path.join(tmp, "words.json")
    if proc.returncode != 0 or not os.path.exists(out):
        return None
    with open(out, encoding="utf-8") as fh:
        return [Word(float(s), float(e), str(w), ()) for s, e, w in json.load(fh)]
