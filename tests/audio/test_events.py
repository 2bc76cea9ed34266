"""Pauses, breaths, speech rate and lip events on cases built from real speech."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from mouthsync.audio import events as ev
from mouthsync.audio.timeline import compute_timeline, load_audio
from mouthsync.audio.types import Phone
from mouthsync.media.decode import Audio
from tests.conftest import SPEECH

RADIO = next(p for p in SPEECH if p.name == "RD_Radio34_002.wav")


def _room_tone(x: np.ndarray, seconds: float) -> np.ndarray:
    """The recording's own quietest 0.2 s, tiled: realistic silence for cut-ins."""
    n = 160
    e = np.sqrt(np.mean(x[: len(x) // n * n].reshape(-1, n) ** 2, axis=1))
    i = int(np.argmin(np.convolve(e, np.ones(20), "valid")))
    tone = x[i * n : (i + 20) * n]
    return np.tile(tone, int(seconds * 16000 / tone.size) + 1)[: int(seconds * 16000)].copy()


@pytest.fixture(scope="module")
def radio() -> np.ndarray:
    return load_audio(RADIO).samples


def test_inserted_pause_and_breath(radio: np.ndarray) -> None:
    at, gap_s = 3.0, 1.0
    gap = _room_tone(radio, gap_s)
    rng = np.random.default_rng(11)
    sos = butter(4, [1500, 6000], btype="band", fs=16000, output="sos")
    br = sosfilt(sos, rng.standard_normal(int(0.3 * 16000)))
    br = (br / np.abs(br).max() * 0.03 * np.hanning(br.size)).astype(np.float32)
    b0 = int(0.35 * 16000)
    gap[b0 : b0 + br.size] += br
    cut = int(at * 16000)
    x = np.concatenate([radio[:cut], gap, radio[cut:]])
    base = compute_timeline(Audio(radio, 16000, 0.0))
    tl = compute_timeline(Audio(x, 16000, 0.0))
    # the new pause: starts near the cut (the VAD hangs on ~0.1 s), ends at the cut's end
    new = [p for p in tl.pauses if p[0] < at + 0.3 and p[1] > at + gap_s - 0.3]
    assert len(new) == 1, tl.pauses
    assert new[0][0] == pytest.approx(at, abs=0.15)
    assert new[0][1] == pytest.approx(at + gap_s, abs=0.1)
    assert len(tl.pauses) == len(base.pauses) + 1
    # the breath is found inside it, not called speech
    assert len(tl.breaths) == 1 and not base.breaths
    s, e = tl.breaths[0]
    assert at + 0.3 <= s and e <= at + 0.7
    kinds = {(x.kind, round(x.time, 2)) for x in tl.events}
    assert ("breath", round(s, 2)) in kinds and ("pause", round(new[0][0], 2)) in kinds
    # no lip events inside the pause
    assert not [x for x in tl.events if x.kind == "bilabial_closure" and new[0][0] < x.time < new[0][1]]


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox not installed")
def test_faster_speech_raises_rate(tmp_path, radio: np.ndarray) -> None:
    rates = []
    for tempo in (1.0, 1.8, 2.2):
        out = tmp_path / f"t{tempo}.wav"
        subprocess.run(
            ["sox", str(RADIO), "-c", "1", "-r", "16000", str(out), "tempo", "-s", str(tempo)],
            check=True, capture_output=True,
        )  # fmt: skip
        rates.append(compute_timeline(load_audio(out)).rate)
    normal, faster, fastest = rates
    # phonetic recognition under-counts fast speech, but the rate must still climb
    assert normal.phones_per_s < faster.phones_per_s < fastest.phones_per_s
    assert faster.phones_per_s > 1.25 * normal.phones_per_s
    assert not normal.fast_segments
    assert fastest.fast_segments


def test_lip_events_from_phones() -> None:
    phones = [Phone(0.0, 0.1, "SIL"), Phone(0.1, 0.2, "M"), Phone(0.2, 0.3, "AA"),
              Phone(0.3, 0.36, "P"), Phone(0.36, 0.45, "F"), Phone(0.45, 0.5, "T")]  # fmt: skip
    e = ev.lip_events(phones)
    closures = [x for x in e if x.kind == "bilabial_closure"]
    assert [(x.phone, x.time) for x in closures] == [("M", 0.15), ("P", 0.33)]
    rel = [(x.phone, x.time) for x in e if x.kind == "plosive_release"]
    assert rel == [("P", 0.36), ("T", 0.5)]
    assert [(x.phone, x.time) for x in e if x.kind == "labiodental"] == [("F", 0.405)]
