"""Digital silence, one definition for trimming and for placing dropouts."""

from __future__ import annotations

import numpy as np

from mouthsync.audio.phones import trim_digital_silence
from mouthsync.audio.silence import DIGITAL_SILENCE, silent_runs


def test_blocks_of_zeros_are_found_and_a_quiet_pause_is_not() -> None:
    rate = 16000
    x = (0.05 * np.random.default_rng(1).standard_normal(4 * rate)).astype(np.float32)
    x[rate : rate + 3200] = 0.0  # 200 ms of zeros at 1.0 s
    x[2 * rate : 2 * rate + 3200] *= 0.002  # a quiet pause: not digital silence
    x[3 * rate : 3 * rate + 800] = 0.5 * DIGITAL_SILENCE  # 50 ms under the threshold: too short
    assert silent_runs(x, rate, 0.5, 0.1) == [(1.5, 1.7)]  # times from the given start
    assert [round(b - a, 3) for a, b in silent_runs(np.stack([x, x]), rate, 0.0, 0.04)] == [0.2, 0.05]
    # the trim at the ends uses the same threshold
    padded = np.r_[np.zeros(800, np.float32), x]
    assert trim_digital_silence(padded)[1] == 800


def test_first_audible_sample() -> None:
    from mouthsync.audio.silence import first_audible

    x = np.zeros(100, np.float32)
    assert first_audible(x) == 100
    x[37] = 0.01
    assert first_audible(x) == 37
