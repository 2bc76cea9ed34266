"""Digital silence: stretches of sound that are exactly nothing (padding, a muted edge, a
dropout a recorder or encoder filled with zeros), as opposed to a quiet pause.

One definition for the whole project: recognition trims it from the ends
(``audio.phones.trim_digital_silence``) and the steps of the delay are placed by the
blocks of it inside a take (``sync.steps``).
"""

from __future__ import annotations

import numpy as np

from mouthsync.core.runs import true_runs

# Below 1.5 LSB of 16-bit audio: digital silence (the decoder's own dither is +-1 LSB; a
# block of zeros through AAC stays under it but for a few ms at its edges).
DIGITAL_SILENCE = 1.5 / 32767.0


def first_audible(samples: np.ndarray) -> int:
    """Index of the first sample that is not digital silence (``len(samples)`` when none is)."""
    loud = np.abs(np.asarray(samples)) >= DIGITAL_SILENCE
    return int(np.argmax(loud)) if loud.any() else int(loud.size)


def audible_extent(samples: np.ndarray) -> tuple[int, int] | None:
    """``(first, end)``: the index of the first sample that is not digital silence and one
    past the last; None when every sample is."""
    loud = np.flatnonzero(np.abs(np.asarray(samples)) >= DIGITAL_SILENCE)
    return (int(loud[0]), int(loud[-1]) + 1) if loud.size else None


def silent_runs(samples: np.ndarray, rate: int, start: float, min_s: float) -> list[tuple[float, float]]:
    """Stretches of digital silence at least ``min_s`` long in ``samples`` (channels
    averaged), as (start, end) times with the first sample at ``start``."""
    x = np.asarray(samples)
    if x.ndim > 1:
        x = x.mean(axis=0)
    quiet = np.abs(x) < DIGITAL_SILENCE
    if not quiet.any():
        return []
    runs = true_runs(quiet)
    runs = runs[(runs[:, 1] - runs[:, 0]) >= int(min_s * rate)]
    return [(start + a / rate, start + b / rate) for a, b in runs.tolist()]
