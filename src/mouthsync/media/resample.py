"""One rational-ratio resampler for every stage (VAD at 16 kHz, RNNoise at 48 kHz, the
recogniser at 16 kHz).

``scipy.signal`` is imported only when a rate really changes: it costs ~1 s of CPU to
import, paid by every speech worker process when it was imported at module level.
"""

from __future__ import annotations

import math

import numpy as np


def resample(x: np.ndarray, rate: int, target: int) -> np.ndarray:
    """``x`` (1-D float) from ``rate`` to ``target`` Hz by polyphase filtering, as float32;
    ``x`` itself when the rates are equal."""
    if rate == target:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(rate, target)
    return resample_poly(np.asarray(x, dtype=np.float64), target // g, rate // g).astype(np.float32)
