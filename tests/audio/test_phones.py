"""Decoder input handling in audio.phones: digital-silence ends and front-end settings."""

from __future__ import annotations

import numpy as np
import pytest

from mouthsync.audio.phones import _decoder, recognize_phones, trim_digital_silence
from mouthsync.audio.timeline import load_audio
from tests.conftest import SPEECH

ENGLISH = next(p for p in SPEECH if p.name == "RD_Radio31_000.wav")


def test_trim_cuts_only_runs_of_digital_silence() -> None:
    x = np.full(16000, 0.1, np.float32)
    padded = np.concatenate([np.zeros(4000, np.float32), x, np.zeros(800, np.float32)])
    out, head = trim_digital_silence(padded)
    assert head == 4000 and out.size == 16000
    # 10 ms of zeros (a codec's first samples) go too: a copy padded by more must come out
    # the same as the original, or the recogniser sees the two out of step
    short = np.concatenate([np.zeros(160, np.float32), x])
    out, head = trim_digital_silence(short)
    assert head == 160 and out.size == x.size
    out2, head2 = trim_digital_silence(np.concatenate([np.zeros(960, np.float32), short]))
    assert head2 == 1120 and np.array_equal(out, out2)
    silent = np.zeros(1000, np.float32)
    assert trim_digital_silence(silent)[0].size == 1000


def test_padding_with_silence_moves_phones_exactly() -> None:
    """A copy padded with digital silence (a shifted or edited soundtrack) decodes to the
    same phones, moved by the padding, to the sample; without the trim, batch
    normalisation over the padding changed phones everywhere."""
    x = load_audio(ENGLISH).samples[16000 : 16000 * 6]  # starts inside the recording
    assert trim_digital_silence(x)[1] == 0
    pad = 5920  # 370 ms: not a multiple of the 10 ms decoder frame
    padded = np.concatenate([np.zeros(pad, np.float32), x, np.zeros(8000, np.float32)])
    p0 = recognize_phones(x)
    p1 = recognize_phones(padded)
    speech0 = [(p.label, p.start) for p in p0 if p.label != "SIL"]
    speech1 = [(p.label, p.start - pad / 16000) for p in p1 if p.label != "SIL"]
    assert len(speech0) > 30
    assert [lab for lab, _ in speech0] == [lab for lab, _ in speech1]
    assert np.allclose([t for _, t in speech0], [t for _, t in speech1], atol=1e-6)


@pytest.mark.parametrize("cmn,noise", [("live", False), ("batch", True)])
def test_front_end_settings_take_effect(cmn: str, noise: bool) -> None:
    """The model's feat.params overrides constructor keys; the decoder must carry ours."""
    dec = _decoder("allphone", (("cmn", cmn), ("remove_noise", noise)))
    assert dec.config["cmn"] == cmn
    assert bool(dec.config["remove_noise"]) is noise


def test_word_split_handles_long_transcripts_without_recursion() -> None:
    """A 10-minute interview has thousands of words: the split must not recurse per word."""
    from mouthsync.audio.phones import _split_words

    words = ["a", "the"] * 1500
    prons = [[["AH"], ["EY"]] if w == "a" else [["DH", "AH"], ["DH", "IY"]] for w in words]
    labels = [q for i, w in enumerate(words) for q in (["EY"] if w == "a" and i % 4 == 0 else prons[i][0])]
    choice = _split_words(words, prons, labels)
    assert choice is not None and len(choice) == 3000
    assert choice[0] == 1 and choice[2] == 0
    # optional last word absent; an impossible labelling has no split
    assert _split_words(words + ["a"], prons + [[["AH"]]], labels, frozenset({3000})) is not None
    assert _split_words(words, prons, labels + ["ZH"]) is None
