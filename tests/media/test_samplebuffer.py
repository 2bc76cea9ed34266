"""The decoded-sound buffer: one array, whatever the declared size says."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.media.samplebuffer import SampleBuffer


@pytest.mark.parametrize("expected", [0, 100, 5000, 50_000, 10_000_000])
def test_blocks_come_out_joined_whatever_the_declared_size(expected: int) -> None:
    rng = np.random.default_rng(expected)
    blocks = [rng.standard_normal((2, m)).astype(np.float32) for m in (1024, 3000, 1, 20000, 777) * 3]
    buf = SampleBuffer(expected)
    assert not buf
    for b in blocks:
        buf.append(b)
    got = buf.samples()
    np.testing.assert_array_equal(got, np.concatenate(blocks, axis=1))
    assert got.dtype == np.float32 and buf.n == got.shape[1]
    # a declared size far too long is not kept alive behind a small result
    assert got.base is None or got.base.shape[1] <= 1.25 * got.shape[1] + 4096


def test_a_right_declaration_is_filled_in_place() -> None:
    buf = SampleBuffer(48_000)
    for _ in range(46):  # 47 104 samples of the 48 000 declared
        buf.append(np.ones((2, 1024), np.float32))
    got = buf.samples()
    assert got.base is not None and got.base.shape == (2, 48_000)  # no copy was made


def test_mono_blocks_and_a_changed_channel_count() -> None:
    buf = SampleBuffer()
    buf.append(np.arange(5, dtype=np.float32))
    assert buf.samples().shape == (1, 5)
    with pytest.raises(ValueError):
        buf.append(np.zeros((2, 3), np.float32))
    assert SampleBuffer().samples().shape == (0, 0)
