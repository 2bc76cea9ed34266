"""Speech activity with the WebRTC VAD (model compiled into ``webrtcvad-wheels``).

Why WebRTC's VAD and not an energy gate: it is language-independent, ships its model,
and ignores steady noise, so speech segments stay right for German or noisy footage where
the phone recogniser is unreliable. Decisions are made every 10 ms and then cleaned with
a short hangover so that stop closures inside words do not split a segment.
"""

from __future__ import annotations

import numpy as np

from mouthsync.core.runs import join_runs, true_runs

VAD_RATE = 16000
VAD_FRAME_S = 0.01


def speech_frames(samples: np.ndarray, *, rate: int = VAD_RATE, aggressiveness: int = 2) -> np.ndarray:
    """Per-10-ms speech decisions (bool array) for mono float samples at 8/16/32/48 kHz."""
    import webrtcvad

    vad = webrtcvad.Vad(int(aggressiveness))
    n = int(rate * VAD_FRAME_S)
    x = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    pcm = (x * 32767.0).astype("<i2")
    count = len(pcm) // n
    out = np.zeros(count, dtype=bool)
    buf = pcm[: count * n].tobytes()
    step = 2 * n
    for i in range(count):
        out[i] = vad.is_speech(buf[i * step : (i + 1) * step], rate)
    return out


def speech_segments(
    samples: np.ndarray,
    *,
    rate: int = VAD_RATE,
    offset: float = 0.0,
    aggressiveness: int = 2,
    min_speech_s: float = 0.08,
    bridge_s: float = 0.12,
) -> list[tuple[float, float]]:
    """Speech segments (start, end) in seconds from ``offset``.

    Gaps shorter than ``bridge_s`` are bridged (stop closures, short dips) and segments
    shorter than ``min_speech_s`` dropped (clicks). A pause therefore means at least
    ``bridge_s`` of non-speech.
    """
    flags = speech_frames(samples, rate=rate, aggressiveness=aggressiveness)
    merged = join_runs(true_runs(flags), int(round(bridge_s / VAD_FRAME_S)))
    min_len = int(round(min_speech_s / VAD_FRAME_S))
    return [
        (round(offset + s * VAD_FRAME_S, 6), round(offset + e * VAD_FRAME_S, 6))
        for s, e in merged
        if e - s >= min_len
    ]
