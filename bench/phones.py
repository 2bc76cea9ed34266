"""Throughput of the speech timeline: 60 s of real speech must take at most 6 s (10x real time).

The 60 s are the English recordings and clip soundtracks from ../shared/data concatenated
(repeated as needed); timed without cache, once for phonetic recognition (allphone, what
``check`` uses) and once for forced alignment of a 60 s espeak-ng passage with its text.
Run alone: ``.venv/bin/python bench/phones.py``.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MOUTHSYNC_DATA", REPO.parent / "shared" / "data"))
sys.path.insert(0, str(REPO))
os.environ["MOUTHSYNC_CACHE"] = "off"

TARGET_S = 6.0
LENGTH_S = 60.0


def speech_60s():  # type: ignore[no-untyped-def]
    from mouthsync.audio.timeline import load_audio
    from mouthsync.media.decode import Audio

    files = [p for p in sorted((DATA / "speech").glob("*.wav")) if p.name != "deyu.wav"]
    files += sorted((DATA / "clips").glob("*.mp4"))
    parts = [load_audio(p).samples for p in files]
    x = np.concatenate(parts)
    while x.size < LENGTH_S * 16000:
        x = np.concatenate([x, x])
    return Audio(x[: int(LENGTH_S * 16000)], 16000, 0.0)


def main() -> int:
    from mouthsync.audio.phones import recognize_phones
    from mouthsync.audio.timeline import compute_timeline

    audio = speech_60s()
    recognize_phones(audio.samples[:16000])  # load the model outside the timing
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    tl = compute_timeline(audio)
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    n = sum(p.label != "SIL" for p in tl.phones)
    # The decoder is single-threaded: CPU time is what it costs; wall time also counts
    # waiting for other processes when the machine is shared (load average printed).
    print(f"allphone timeline: {audio.duration:.0f} s of speech: {cpu:.2f} s CPU, {dt:.2f} s wall "
          f"({audio.duration / cpu:.1f}x real time on CPU), {n} phones, {len(tl.events)} events; "
          f"load average {load:.1f} on {os.cpu_count()} cores; "
          f"target <= {TARGET_S:.0f} s: {'PASS' if cpu <= TARGET_S else 'FAIL'}")
    ok = cpu <= TARGET_S

    t, c = time.perf_counter(), time.process_time()
    tl = compute_timeline(audio, transcript="auto")
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"auto transcript + alignment: {audio.duration:.0f} s: {cpu:.2f} s CPU, {dt:.2f} s wall "
          f"({audio.duration / cpu:.1f}x real time on CPU), {len(tl.words)} words (optional mode)")

    try:
        from scipy.signal import resample_poly
        from tests.audio.espeak_truth import Espeak
        from tests.audio.test_align_espeak import SENTENCES
    except (ImportError, OSError) as exc:
        print(f"alignment: skipped ({exc})")
        return 0 if ok else 1
    from mouthsync.media.decode import Audio

    es = Espeak()
    texts: list[str] = []
    chunks: list[np.ndarray] = []
    total = 0.0
    while total < LENGTH_S:
        for s in SENTENCES:
            sp = es.say(s)
            y = resample_poly(sp.samples, 320, 441).astype(np.float32)
            chunks += [y, np.zeros(4000, np.float32)]
            texts.append(s)
            total += y.size / 16000 + 0.25
            if total >= LENGTH_S:
                break
    x = np.concatenate(chunks)
    x += (3e-4 * np.random.default_rng(0).standard_normal(x.size)).astype(np.float32)
    t, c = time.perf_counter(), time.process_time()
    tl = compute_timeline(Audio(x, 16000, 0.0), transcript=" ".join(texts))
    dt, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"forced alignment: {x.size / 16000:.0f} s, {len(tl.words)} words: {cpu:.2f} s CPU, "
          f"{dt:.2f} s wall ({x.size / 16000 / cpu:.1f}x real time on CPU)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
