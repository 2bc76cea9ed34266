"""The speech timeline computed in a helper process equals the in-process one."""

from __future__ import annotations

import pytest

from mouthsync.audio.timeline import speech_timeline, speech_timeline_in_process
from mouthsync.core.errors import BadInput
from mouthsync.media.decode import decode_audio
from tests.conftest import SPEECH


def test_process_timeline_equals_in_process() -> None:
    audio = decode_audio(SPEECH[0], rate=16000)
    audio = type(audio)(samples=audio.samples[: 16000 * 4], rate=audio.rate, start=audio.start)
    fut = speech_timeline_in_process(audio, use_cache=False)
    here = speech_timeline(audio, use_cache=False)
    there = fut.result(timeout=120)
    assert there.to_dict() == here.to_dict()
    assert len(there.phones) > 5


def test_process_timeline_errors_like_in_process(tmp_path) -> None:
    with pytest.raises(BadInput):
        speech_timeline_in_process(tmp_path / "missing.wav").result(timeout=60)
    with pytest.raises(BadInput):
        speech_timeline_in_process(tmp_path / "missing.wav", use_cache=False).result(timeout=60)
