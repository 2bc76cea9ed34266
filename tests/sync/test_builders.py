"""The test builders themselves (``tests.sync.builders``): exact shifts and the SNR asked for."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.media.decode import Audio
from tests.sync.builders import mix_at_snr, pink_noise, shift_samples, shifted_audio


def test_shift_builder_is_exact_and_keeps_length() -> None:
    x = np.arange(1, 1601, dtype=np.float32)
    later = shift_samples(x, 16000, 0.005)  # 80 samples
    assert later.size == x.size and np.all(later[:80] == 0) and later[80] == 1
    earlier = shift_samples(x, 16000, -0.005)
    assert earlier[0] == 81 and np.all(earlier[-80:] == 0)
    a = shifted_audio(Audio(x, 16000, 0.25), 0.001)
    assert a.start == 0.25 and a.samples[16] == 1


def test_noise_mix_hits_the_requested_snr() -> None:
    rng = np.random.default_rng(1)
    speech = (0.3 * np.sin(np.arange(32000) / 7.0)).astype(np.float32)
    speech[16000:] *= 0.01  # half "pause": SNR is measured on the loud half
    noise = pink_noise(32000, seed=2)
    mixed = mix_at_snr(speech, noise, 10.0)
    added = mixed - speech  # noise power over the whole clip, speech power while talking
    snr = 10 * np.log10(np.mean(speech[:16000] ** 2) / np.mean(added**2))
    assert snr == pytest.approx(10.0, abs=0.5)
    del rng
