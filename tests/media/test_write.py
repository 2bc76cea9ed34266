from pathlib import Path

import numpy as np
import pytest

from mouthsync.core.errors import BadOutput
from mouthsync.media.decode import Audio, decode_audio, frame_times
from mouthsync.media.write import open_output, remux, write_audio

from ..conftest import CLIPS

RATE = 48000


def _click(n_s: float = 2.0, at_s: float = 1.0) -> np.ndarray:
    x = np.zeros(int(n_s * RATE), np.float32)
    i = int(at_s * RATE)
    x[i], x[i + 1] = 0.9, -0.9
    return x


def _click_time(path: Path) -> float:
    a = decode_audio(path, rate=RATE)
    return a.start + int(np.argmax(np.abs(a.samples))) / RATE


@pytest.mark.parametrize("suffix", [".wav", ".m4a", ".mkv"])
def test_write_audio_keeps_sample_timing(tmp_path: Path, suffix: str) -> None:
    out = write_audio(tmp_path / f"click{suffix}", _click(), RATE)
    # AAC priming must be hidden by the container: the click stays within a sample.
    assert _click_time(out) == pytest.approx(1.0, abs=1.5 / RATE)


def test_remux_copies_video_and_places_new_audio(tmp_path: Path) -> None:
    src = CLIPS[1]
    out = tmp_path / "moved.mp4"
    res = remux(src, out, audio=Audio(_click(3.0), RATE, 0.5))
    assert res.video_packets == 125 and res.audio_encoded_samples > 0
    np.testing.assert_allclose(frame_times(out), frame_times(src), atol=1e-6)  # picture untouched
    assert _click_time(out) == pytest.approx(1.5, abs=1.5 / RATE)


def test_remux_stream_copy_offset(tmp_path: Path) -> None:
    src = CLIPS[1]
    out = remux(src, tmp_path / "late.mp4", audio_offset=0.25).path
    a, b = decode_audio(src, rate=RATE), decode_audio(out, rate=RATE)
    n = 2 * RATE
    corr = np.correlate(b.samples[: n + RATE], a.samples[:n], "valid")
    assert b.start + np.argmax(corr) / RATE == pytest.approx(0.25, abs=0.001)


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    with pytest.raises(RuntimeError), open_output(out) as c:
        c.add_stream("aac", rate=RATE)
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_output_equal_to_input_refused() -> None:
    with pytest.raises(BadOutput, match="overwrite the input"):
        remux(CLIPS[1], CLIPS[1])
