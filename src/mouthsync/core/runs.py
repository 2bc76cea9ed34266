"""Runs of True in a boolean mask: speech frames, digital silence, a still mouth.

One finder for every stage that turns per-frame or per-sample flags into stretches
(``audio.vad``, ``audio.silence``, ``sync.still``); each had its own copy.
"""

from __future__ import annotations

import numpy as np


def true_runs(mask: np.ndarray) -> np.ndarray:
    """(first, last + 1) index pairs of the runs where ``mask`` is True, in order, as an
    (n, 2) integer array (sample masks can hold millions of runs: no Python list)."""
    m = np.asarray(mask, dtype=bool).ravel()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], m.astype(np.int8), [0]])))
    return edges.reshape(-1, 2)
