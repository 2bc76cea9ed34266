"""The blind echo measure (``media.echo``) on every shared voice, dry and in rooms.

    .venv/bin/python bench/echo.py

Each voice of ``clips/``, ``wild/`` and ``speech/`` is decoded to 16 kHz mono and put in
three rooms with sox's ``reverb`` (tails measured on an impulse: RT60 0.29 s "small",
1.35 s "hall", 4.3 s "large"), and under pink noise and synthetic music 10 and 20 dB down
(the dry voice). The table prints each reading in seconds ("-": too few clear speech
endings to measure) and the summary the range per column, and how many readings reach
``NAMED_DECAY_S`` (where probe and check name the echo). A few seconds.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import CLIPS, SPEECH, WILD  # noqa: E402
from tests.sync.builders import music_bed, pink_noise  # noqa: E402

from mouthsync.media.decode import decode_audio  # noqa: E402
from mouthsync.media.echo import NAMED_DECAY_S, echo_decay  # noqa: E402
from mouthsync.media.write import write_audio  # noqa: E402

RATE = 16000
ROOMS = {"small": ["30", "50", "30"], "hall": ["50", "50", "100"], "large": ["80", "50", "100"]}
BEDS = ("pink 20", "pink 10", "music 20", "music 10")


def readings(src: Path, folder: Path, seed: int) -> dict[str, float | None]:
    """The echo decay of one voice dry, in each room and under each bed."""
    x = decode_audio(src, rate=RATE).samples
    dry = folder / f"{src.stem}.wav"
    write_audio(dry, x, RATE)
    out: dict[str, float | None] = {"dry": echo_decay(x, RATE)}
    for room, args in ROOMS.items():
        wet = folder / f"{src.stem}-{room}.wav"
        # no dither: sox dithers at random
        subprocess.run(["sox", "-D", str(dry), str(wet), "reverb", *args], check=True, capture_output=True)
        out[room] = echo_decay(decode_audio(wet, rate=RATE).samples, RATE)
    rms = float(np.sqrt(np.mean(x**2)))
    for bed in BEDS:
        kind, under = bed.split()
        noise = pink_noise(x.size, seed) if kind == "pink" else music_bed(x.size, RATE, seed)
        out[bed] = echo_decay((x + noise * rms / 10 ** (float(under) / 20)).astype(np.float32), RATE)
    return out


def main() -> int:
    cols = ["dry", *ROOMS, *BEDS]
    print(f"{'voice':22s}" + "".join(f"{c:>9s}" for c in cols))
    table: dict[str, list[float | None]] = {c: [] for c in cols}
    with tempfile.TemporaryDirectory(prefix="mouthsync-echo-") as tmp:
        for i, src in enumerate([*CLIPS, *WILD, *SPEECH]):
            r = readings(src, Path(tmp), i)
            print(f"{src.stem[:22]:22s}" + "".join(f"{'-' if r[c] is None else f'{r[c]:.2f}':>9s}" for c in cols),
                  flush=True)
            for c in cols:
                table[c].append(r[c])
    print(f"\nrange (s) and named (>= {NAMED_DECAY_S} s) per column:")
    for c in cols:
        got = [v for v in table[c] if v is not None]
        span = f"{min(got):.2f}-{max(got):.2f}" if got else "-"
        named = sum(v >= NAMED_DECAY_S for v in got)
        print(f"  {c:9s} {span:>10s}  measured {len(got):2d}/{len(table[c])}  named {named}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
