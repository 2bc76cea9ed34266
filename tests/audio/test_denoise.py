"""RNNoise before recognition: timing kept to the sample, noise removed, speech kept."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.audio.denoise import denoise
from mouthsync.audio.timeline import load_audio
from tests.conftest import CLIPS, WILD
from tests.sync.builders import mix_at_snr, pink_noise

RATE = 16000


def _lag(y: np.ndarray, x: np.ndarray, span: int = 200) -> int:
    """Samples by which ``y`` lags ``x`` (the cross-correlation peak)."""
    s = slice(span + RATE // 2, x.size - span - RATE // 2)
    return max(range(-span, span + 1), key=lambda k: float(np.dot(y[s], x[s.start - k : s.stop - k])))


@pytest.mark.parametrize("clip", [CLIPS[1], WILD[1]], ids=lambda p: p.stem)
def test_denoised_speech_is_not_moved(clip) -> None:  # type: ignore[no-untyped-def]
    """The filter's own lag (two 10 ms frames) is removed: a lag left here would move every
    phone and so every delay ``check`` reads."""
    x = load_audio(clip).samples
    y = denoise(x, RATE)
    assert y.shape == x.shape and y.dtype == np.float32
    assert _lag(y, x) == 0
    # clean speech passes nearly unchanged
    assert 0.85 < float(np.std(y) / np.std(x)) < 1.1


def test_pink_noise_is_removed_and_speech_kept() -> None:
    x = load_audio(CLIPS[1]).samples
    noisy = mix_at_snr(x, pink_noise(x.size, seed=3), 10.0).astype(np.float32)
    y = denoise(noisy, RATE)
    frame = RATE // 50
    n = x.size // frame
    energy = (x[: n * frame].reshape(n, frame) ** 2).mean(axis=1)
    pauses = energy < np.percentile(energy, 15)  # the quietest 20 ms blocks of the clean voice
    talk = energy > np.percentile(energy, 60)

    def level(sig: np.ndarray, m: np.ndarray) -> float:
        return float(10 * np.log10((sig[: n * frame].reshape(n, frame) ** 2).mean(axis=1)[m].mean() + 1e-12))

    # noise in the pauses drops by more than 10 dB, the speech itself by less than 4 dB
    assert level(noisy, pauses) - level(y, pauses) > 10.0
    assert level(noisy, talk) - level(y, talk) < 4.0
    # and the result is closer to the clean voice than the noisy input was
    assert np.mean((y - x) ** 2) < 0.5 * np.mean((noisy - x) ** 2)


def test_empty_and_other_rates() -> None:
    assert denoise(np.zeros(0, np.float32), RATE).size == 0
    x = load_audio(CLIPS[2]).samples[: RATE * 2]
    from scipy.signal import resample_poly

    x44 = resample_poly(x, 441, 160).astype(np.float32)
    y44 = denoise(x44, 44100)
    assert y44.shape == x44.shape
    assert _lag(resample_poly(y44, 160, 441).astype(np.float32)[: x.size], x) == 0


def test_gate_denoises_a_noise_bed_not_clean_speech_or_a_second_voice() -> None:
    """Only a flat, stationary bed is removed: the clip's own room tone and a competing
    voice are left as they are (RNNoise keeps a voice and blurs the speaker's onsets)."""
    from mouthsync.audio.denoise import for_recognition
    from tests.conftest import SPEECH

    x = load_audio(CLIPS[1]).samples
    clean, info = for_recognition(x, RATE)
    assert not info["denoised"] and clean is x
    pink = mix_at_snr(x, pink_noise(x.size, seed=5), 10.0).astype(np.float32)
    out, info = for_recognition(pink, RATE)
    assert info["denoised"] and info["noise_flatness"] >= 0.15
    assert not np.array_equal(out, pink)
    other = load_audio(SPEECH[3]).samples
    voice = mix_at_snr(x, np.tile(other, 2)[: x.size], 10.0).astype(np.float32)
    assert not for_recognition(voice, RATE)[1]["denoised"]
    # padding (a shifted soundtrack) neither changes the decision nor stops being silence
    padded = np.concatenate([np.zeros(6000, np.float32), pink[:-6000]])
    out, info = for_recognition(padded, RATE)
    assert info["denoised"]
    assert not out[:6000].any()


def test_timeline_can_be_asked_never_to_denoise() -> None:
    """``denoise=False`` recognises the audio as it is (and caches it apart)."""
    from mouthsync.audio.timeline import speech_timeline
    from mouthsync.media.decode import Audio

    x = load_audio(CLIPS[1]).samples
    pink = Audio(mix_at_snr(x, pink_noise(x.size, seed=5), 10.0).astype(np.float32), RATE, 0.0)
    on = speech_timeline(pink, use_cache=False)
    off = speech_timeline(pink, use_cache=False, denoise=False)
    assert on.settings["denoised"] is True and on.settings["denoise"].startswith("rnnoise")
    assert off.settings["denoised"] is False and off.settings["denoise"] == "off"
    assert [p.label for p in on.phones] != [p.label for p in off.phones]


def test_denoised_audio_is_computed_once_and_reused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``check``'s three speech workers read one cached denoised copy (RNNoise costs
    ~3.3 CPU-s per minute): ``prepare`` writes it, later calls load it bit for bit."""
    from mouthsync.audio import denoise as dn

    monkeypatch.setenv("MOUTHSYNC_CACHE", str(tmp_path))
    x = load_audio(CLIPS[1]).samples
    pink = mix_at_snr(x, pink_noise(x.size, seed=5), 10.0).astype(np.float32)
    assert dn.prepare(pink, RATE) and not dn.prepare(x, RATE)
    assert len(list(tmp_path.glob("denoised-*.npy"))) == 1
    calls = []
    monkeypatch.setattr(dn, "denoise", lambda *a: calls.append(1) or np.zeros(1, np.float32))
    again, info = dn.for_recognition(pink, RATE)
    assert info["denoised"] and not calls
    monkeypatch.undo()
    np.testing.assert_array_equal(again, dn.for_recognition(pink, RATE, use_cache=False)[0])
