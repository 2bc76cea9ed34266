"""Runs of True in a boolean mask (speech frames, digital silence, a still mouth), and
stretches of time with others taken out.

One finder for every stage that turns per-frame or per-sample flags into stretches
(``audio.vad``, ``audio.silence``, ``sync.still``); each had its own copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def true_runs(mask: np.ndarray) -> np.ndarray:
    """(first, last + 1) index pairs of the runs where ``mask`` is True, in order, as an
    (n, 2) integer array (sample masks can hold millions of runs: no Python list)."""
    m = np.asarray(mask, dtype=bool).ravel()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], m.astype(np.int8), [0]])))
    return edges.reshape(-1, 2)


def join_runs(runs: np.ndarray | Sequence[tuple[float, float]], max_gap: float) -> list[list[Any]]:
    """``(first, last + 1)`` runs (``true_runs``), or ``(start, end)`` segments in seconds,
    joined where at most ``max_gap`` separates one from the next: a stop closure inside a
    word, a melody's note change, a pause inside the talk."""
    joined: list[list[Any]] = []
    for s, e in np.asarray(runs).tolist():
        if joined and s - joined[-1][1] <= max_gap:
            joined[-1][1] = e
        else:
            joined.append([s, e])
    return joined


def without(segments: Sequence[tuple[float, float]], holes: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``segments`` with the parts inside ``holes`` taken out (in seconds): speech without
    its breaths (``audio.events``), speech activity without steady sound (``audio.timeline``)."""
    out: list[tuple[float, float]] = []
    for a, b in segments:
        pieces = [(a, b)]
        for h0, h1 in holes:
            if h1 <= a or h0 >= b:
                continue
            nxt: list[tuple[float, float]] = []
            for p0, p1 in pieces:
                if h1 <= p0 or h0 >= p1:
                    nxt.append((p0, p1))
                    continue
                if h0 > p0:
                    nxt.append((p0, h0))
                if h1 < p1:
                    nxt.append((h1, p1))
            pieces = nxt
        out.extend(pieces)
    return out
