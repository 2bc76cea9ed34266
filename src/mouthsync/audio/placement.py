"""Rough times for plain words: where in the sound each word of an untimed transcript is
said, from the phones the sound was heard as.

Why: a transcript without times (a script, plain text) was force-aligned in one pass,
and one pass grows faster than the sound (60 s of speech with its words: 2.5 CPU-s,
120 s: 7.4, 300 s: 38.7; a 30-minute episode would take the best part of half an hour).
Aligned piece by piece it grows with the sound, but a piece needs to know which words it
holds. Subtitles say so with their times; plain words do not. Here the words' expected
phones (the dictionary's first pronunciation) are lined up with phonetic recognition's
phones of the same sound by a global alignment (edit distance with partial credit for a
phone of the same kind), and each word takes the times of the recognised phones its own
phones were lined up with. Recognition gets many phones wrong, but over a long run of
them the line-up holds to within a word or two, and the pieces are cut in pauses, where a
word that lands on the wrong side costs only itself (the aligner lets a piece's first and
last word be absent).

The alignment is a dynamic programme over (expected phone, recognised phone). Up to
``FULL_CELLS`` cells it is solved whole; beyond that it is solved in a band around the
diagonal (expected and recognised phones advance together), as wide as the cell budget
allows: for 30 minutes of speech about 70 s of drift either way, which a long stretch of
unspoken sound that recognition fills with phones could exceed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mouthsync.audio.types import Phone, Word

# A rough partition of the phone set by manner: recognition confuses phones of a kind
# (P with B, S with Z, one vowel with another) far more often than across kinds.
_KINDS = {
    **dict.fromkeys(["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"], 0),
    **dict.fromkeys(["P", "B", "T", "D", "K", "G"], 1),
    **dict.fromkeys(["F", "V", "TH", "DH", "S", "Z", "SH", "ZH", "HH", "CH", "JH"], 2),
    **dict.fromkeys(["M", "N", "NG"], 3),
    **dict.fromkeys(["L", "R", "W", "Y"], 4),
}
MATCH, SAME_KIND, MISMATCH, GAP = 2.0, 0.5, -1.0, -1.0
#: Cells of the alignment solved whole (one byte of back-pointer each): ~9 minutes of
#: speech either way. Longer sound is solved in a band of this many cells.
FULL_CELLS = 40_000_000
_DIAG, _UP, _LEFT = 0, 1, 2  # took both, an expected phone alone, a recognised phone alone
_NEG = -1e18


def _from_row(row: np.ndarray, row_lo: int, cols: np.ndarray) -> np.ndarray:
    """A solved row's values at ``cols`` (the row holds columns ``row_lo`` on), minus
    infinity outside what it holds."""
    k = cols - row_lo
    ok = (k >= 0) & (k < row.size)
    return np.where(ok, row[np.clip(k, 0, row.size - 1)], _NEG)


def _codes(labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    ids = {p: i for i, p in enumerate(sorted(_KINDS))}
    return (np.array([ids.get(p, -1) for p in labels], dtype=np.int16),
            np.array([_KINDS.get(p, -1) for p in labels], dtype=np.int16))


def line_up(expected: Sequence[str], heard: Sequence[str]) -> np.ndarray:
    """For each expected phone, the index of the heard phone it was lined up with, or -1
    where the line-up skipped it. Global alignment (both sequences used whole)."""
    n, m = len(expected), len(heard)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or m == 0:
        return out
    ec, ek = _codes(expected)
    hc, hk = _codes(heard)
    # the band: expected phone i lines up near heard phone i * m / n
    half = m if n * (m + 1) <= FULL_CELLS else max(50, FULL_CELLS // (2 * n))
    centre = np.rint(np.arange(n + 1) * (m / n)).astype(np.int64)
    lo = np.clip(centre - half, 0, m)
    hi = np.clip(centre + half, 0, m)  # columns lo..hi (inclusive) of row i are solved
    width = int((hi - lo).max()) + 1
    back = np.zeros((n + 1, width), dtype=np.uint8)
    # row 0: heard phones skipped before the first expected one
    prev_lo, prev = int(lo[0]), GAP * np.arange(lo[0], hi[0] + 1, dtype=np.float64)
    back[0, : prev.size] = _LEFT
    for i in range(1, n + 1):
        a, b = int(lo[i]), int(hi[i])
        cols = np.arange(a, b + 1)
        j1 = np.maximum(cols - 1, 0)
        sub = np.where(hc[j1] == ec[i - 1], MATCH, np.where(hk[j1] == ek[i - 1], SAME_KIND, MISMATCH))
        diag = np.where(cols >= 1, _from_row(prev, prev_lo, cols - 1) + sub, _NEG)
        up = _from_row(prev, prev_lo, cols) + GAP
        best = np.maximum(diag, up)
        step = np.where(diag >= up, _DIAG, _UP).astype(np.uint8)
        # skipping heard phones within the row: a running maximum of (score - GAP * j)
        run = best - GAP * cols
        acc = np.maximum.accumulate(run)
        left = acc + GAP * cols
        take_left = left > best + 1e-9
        row = np.where(take_left, left, best)
        step = np.where(take_left, _LEFT, step)
        back[i, : row.size] = step
        prev, prev_lo = row, a
    # trace back from (n, m)
    i, j = n, m
    if not (lo[n] <= m <= hi[n]):
        j = int(hi[n])
    while i > 0:
        s = back[i, j - lo[i]]
        if s == _DIAG:
            out[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif s == _UP:
            i -= 1
        else:
            # a run of skipped heard phones: the row's left moves end where the running
            # maximum was set, found by walking left to the cell that did not move left
            j -= 1
            while j > lo[i] and back[i, j - lo[i]] == _LEFT:
                j -= 1
        if j < lo[i] or j > hi[i]:
            j = int(np.clip(j, lo[i], hi[i]))
    return out


def place_words(words: Sequence[str], prons: Sequence[Sequence[str]], heard: Sequence[Phone]) -> list[Word]:
    """Rough times of ``words`` (each spoken as its ``prons`` entry) in sound that phonetic
    recognition heard as ``heard`` (silences included; they are left out here).

    Every word gets a start and an end: from the heard phones its own phones were lined up
    with, or, for a word none of whose phones were, the time between its neighbours'.
    Times never go backwards."""
    said = [p for p in heard if p.label != "SIL"]
    expected: list[str] = []
    owner: list[int] = []
    for k, pr in enumerate(prons):
        expected += list(pr)
        owner += [k] * len(pr)
    got = line_up(expected, [p.label for p in said])
    owner_a = np.asarray(owner, dtype=np.int64)
    n = len(words)
    start = np.full(n, np.nan)
    end = np.full(n, np.nan)
    for k in range(n):
        idx = got[(owner_a == k) & (got >= 0)]
        if idx.size:
            start[k], end[k] = said[int(idx.min())].start, said[int(idx.max())].end
    if np.all(np.isnan(start)):
        t0 = heard[0].start if heard else 0.0
        t1 = heard[-1].end if heard else 0.0
        edges = np.linspace(t0, t1, n + 1)
        return [Word(float(edges[k]), float(edges[k + 1]), words[k]) for k in range(n)]
    # words lined up with nothing: between their neighbours
    known = np.flatnonzero(~np.isnan(start))
    mids = np.interp(np.arange(n), known, (start[known] + end[known]) / 2)
    start = np.where(np.isnan(start), mids, start)
    end = np.where(np.isnan(end), mids, end)
    out: list[Word] = []
    last = -np.inf
    for k in range(n):
        s = max(float(start[k]), last)
        e = max(float(end[k]), s)
        out.append(Word(round(s, 3), round(e, 3), words[k]))
        last = e
    return out
