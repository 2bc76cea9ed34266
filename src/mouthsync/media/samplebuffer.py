"""Decoded sound gathered into one array as it comes, without holding it twice.

Why: a decoder hands out a few thousand samples at a time. Keeping the pieces in a list and
joining them at the end holds the whole sound twice at the join: 10 minutes of 48 kHz
stereo is 230 MB of float32, an hour of 5.1 is 4 GB. Written into one array sized from the
stream's declared duration, it is held once; when the declaration is missing or short the
array grows by half again (the rare copy is the cost of a wrong guess).
"""

from __future__ import annotations

import numpy as np


class SampleBuffer:
    """Rows of float32 samples (channels, n), appended a block at a time."""

    def __init__(self, expected: int = 0) -> None:
        """``expected``: how many samples per channel the stream declares (0: unknown)."""
        self._expected = max(0, int(expected))
        self._data: np.ndarray | None = None
        self.n = 0

    def append(self, block: np.ndarray) -> None:
        """Add ``block`` (channels, m) after what is there; the channel count is fixed by
        the first block."""
        block = np.asarray(block)
        if block.ndim == 1:
            block = block[None, :]
        m = block.shape[1]
        if self._data is None:
            cap = max(m, self._expected, 1 << 14)
            self._data = np.empty((block.shape[0], cap), np.float32)
        elif block.shape[0] != self._data.shape[0]:
            raise ValueError(f"a block of {block.shape[0]} channels after {self._data.shape[0]}")
        if self.n + m > self._data.shape[1]:
            grown = np.empty((self._data.shape[0], max(self.n + m, int(self._data.shape[1] * 1.5))), np.float32)
            grown[:, : self.n] = self._data[:, : self.n]
            self._data = grown
        self._data[:, self.n : self.n + m] = block
        self.n += m

    def __bool__(self) -> bool:
        return self.n > 0

    def samples(self) -> np.ndarray:
        """The samples so far (channels, n): a view of the buffer, or a copy cut to size when
        more than a quarter of it would be left unused (a declared duration far too long)."""
        if self._data is None:
            return np.zeros((0, 0), np.float32)
        if self._data.shape[1] > self.n * 1.25 + 4096:
            return self._data[:, : self.n].copy()
        return self._data[:, : self.n]
