"""The blind echo measure (``media.echo``): decays of known length read as that length,
real voices read dry, the same voices in a hall read reverberant, noise and music do not."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mouthsync.media.decode import decode_audio
from mouthsync.media.echo import NAMED_DECAY_S, decay_times, echo_decay
from mouthsync.media.write import write_audio

from ..conftest import CLIPS, SPEECH
from ..sync.builders import music_bed, pink_noise

RATE = 16000
needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")


def _bursts(decay_s: float | None, n: int = 8, seed: int = 0) -> np.ndarray:
    """``n`` bursts of noise 0.3 s long, swelling by 12 dB to their end (as a syllable
    peaks before it stops), each ending in an exponential tail that falls 60 dB in
    ``decay_s`` (None: cut dead), 2 s apart, over a faint noise floor."""
    rng = np.random.default_rng(seed)
    out = [1e-4 * rng.standard_normal(RATE // 2)]
    for _ in range(n):
        burst = rng.standard_normal(int(0.3 * RATE)) * np.logspace(-12 / 20, 0, int(0.3 * RATE))
        if decay_s is None:
            tail = np.zeros(RATE)
        else:
            t = np.arange(RATE) / RATE
            tail = rng.standard_normal(RATE) * 10 ** (-3 * t / decay_s)
        out += [burst, tail + 1e-4 * rng.standard_normal(RATE), 1e-4 * rng.standard_normal(RATE)]
    return (0.1 * np.concatenate(out)).astype(np.float32)


@pytest.mark.parametrize("decay_s", [0.3, 0.6, 0.9])
def test_a_known_decay_reads_as_itself(decay_s: float) -> None:
    # (the 20 dB fall is timed to the 10 ms frame, so the reading moves in 30 ms steps)
    assert echo_decay(_bursts(decay_s), RATE) == pytest.approx(decay_s, abs=0.06)


def test_a_dead_stop_reads_short_and_long_tails_are_capped() -> None:
    assert echo_decay(_bursts(None), RATE) < 0.15
    assert echo_decay(_bursts(3.0), RATE) == pytest.approx(1.2)  # 20 dB not reached in 0.4 s


def test_too_few_endings_or_silence_is_not_measured() -> None:
    assert echo_decay(_bursts(0.6, n=3), RATE) is None
    assert echo_decay(np.zeros(5 * RATE, dtype=np.float32), RATE) is None
    assert echo_decay(np.zeros(100, dtype=np.float32), RATE) is None
    assert decay_times(np.zeros(100, dtype=np.float32), RATE).size == 0


def test_the_rate_does_not_change_the_reading() -> None:
    x = _bursts(0.6)
    x48 = np.repeat(x, 3)  # (a crude 48 kHz copy: the band energy is what is timed)
    assert echo_decay(x48, 48000) == pytest.approx(echo_decay(x, RATE), abs=0.04)


def _voices() -> list[np.ndarray]:
    return [decode_audio(p, rate=RATE).samples for p in (*CLIPS, *SPEECH)]


def test_real_voices_read_dry_and_noise_or_music_does_not_read_as_echo() -> None:
    """The shared voices are close-miked: 0.15-0.35 s where measured. Pink noise and
    synthetic music 10-20 dB under them make clear endings rarer, never slower."""
    measured = 0
    for i, x in enumerate(_voices()):
        rms = float(np.sqrt(np.mean(x**2)))
        for under in (None, 20.0, 10.0):
            for bed in ("pink", "music") if under else ("none",):
                noise = (pink_noise(x.size, seed=i) if bed == "pink" else music_bed(x.size, RATE, seed=i)) if under else 0
                y = x + (noise * rms / 10 ** (under / 20) if under else 0)
                d = echo_decay(np.asarray(y, dtype=np.float32), RATE)
                assert d is None or d < 0.45, (i, bed, under, d)
                measured += d is not None
    assert measured >= 15  # most of them are measured at all


@needs_sox
def test_a_hall_is_named_and_a_small_room_is_not(tmp_path: Path) -> None:
    """sox's reverb (tails measured on an impulse: RT60 0.29 s "small room", 1.35 s
    "hall") on the retalking clips' voices."""
    for clip in CLIPS:
        dry = tmp_path / f"{clip.stem}.wav"
        write_audio(dry, decode_audio(clip, rate=RATE).samples, RATE)
        readings = {}
        for name, args in (("small", ["30", "50", "30"]), ("hall", ["50", "50", "100"])):
            wet = tmp_path / f"{clip.stem}-{name}.wav"
            subprocess.run(["sox", "-D", str(dry), str(wet), "reverb", *args], check=True, capture_output=True)
            readings[name] = echo_decay(decode_audio(wet, rate=RATE).samples, RATE)
        assert readings["small"] is not None and readings["small"] < NAMED_DECAY_S, (clip.name, readings)
        assert readings["hall"] is None or readings["hall"] > readings["small"], (clip.name, readings)
    # the hall's reading on retalking_face2 and face3 (0.83 and 0.93 s): named
    for stem in ("retalking_face2", "retalking_face3"):
        wet = tmp_path / f"{stem}-hall.wav"
        assert echo_decay(decode_audio(wet, rate=RATE).samples, RATE) >= NAMED_DECAY_S
