"""Clock mismatches real workflows produce, as one table: check names a measured drift
after them (``sync.drift``), searches the steep ones directly (``sync.search.clock_scan``),
fix snaps a drift to them (``sync.correct``), and probe recognises one in the streams'
lengths. A media fact, so it lives with the media layer, which every stage may read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClockMismatch:
    """A clock mismatch real workflows produce. ``ratio``: the sound's length over the
    picture's for the same moment (> 1: the sound falls further behind; the drift in ms/min
    is ``(ratio - 1) * 60000``); ``short``: a name for fix's note; ``description``: what
    check says."""

    ratio: float
    short: str
    description: str

    @property
    def ms_per_min(self) -> float:
        return (self.ratio - 1.0) * 60000.0

    @property
    def steep(self) -> bool:
        """Further from 1 than ``STEEP``: 25 vs 24 fps (4 %) moves the delay 208 ms inside
        one 5 s window, 1000/1001 (0.1 %) a frame or two a minute."""
        return abs(self.ratio - 1.0) >= STEEP


STEEP = 0.01
_FILM = 24000 / 1001  # 23.976 fps
KNOWN_MISMATCHES: tuple[ClockMismatch, ...] = (
    ClockMismatch(1001 / 1000, "NTSC 1000/1001 (sound clock slow)",
                  "NTSC 1000/1001 pull-down (sound 0.1 % slow: +60 ms/min, 3.6 s/hour)"),
    ClockMismatch(1000 / 1001, "NTSC 1001/1000 (sound clock fast)",
                  "NTSC 1000/1001 pull-up (sound 0.1 % fast: -60 ms/min)"),
    ClockMismatch(25 / 24, "24 fps picture played at 25",
                  "24 fps picture played at 25 fps without its sound (PAL speed-up: +2.5 s/min)"),
    ClockMismatch(24 / 25, "25 fps picture played at 24",
                  "25 fps picture played at 24 fps without its sound (PAL slow-down: -2.4 s/min)"),
    ClockMismatch(25 / _FILM, "23.976 fps picture played at 25",
                  "23.976 fps picture played at 25 fps without its sound (PAL speed-up: +2.56 s/min)"),
    ClockMismatch(_FILM / 25, "25 fps picture played at 23.976",
                  "25 fps picture played at 23.976 fps without its sound (PAL slow-down: -2.46 s/min)"),
    ClockMismatch(48000 / 44100, "48 kHz sound played as 44.1 kHz",
                  "48 kHz sound played as 44.1 kHz (8.8 % long, low in pitch: +5.3 s/min)"),
    ClockMismatch(44100 / 48000, "44.1 kHz sound played as 48 kHz",
                  "44.1 kHz sound played as 48 kHz (8.1 % short, high in pitch: -4.9 s/min)"),
)


def nearest_mismatch(ms_per_min: float, tolerance: float, cap_ms_per_min: float = float("inf")) -> ClockMismatch | None:
    """The known mismatch nearest to this drift, when within ``tolerance`` of its own
    drift (relative) and ``cap_ms_per_min``; else None."""
    best = min(KNOWN_MISMATCHES, key=lambda m: abs(ms_per_min - m.ms_per_min))
    off = abs(ms_per_min - best.ms_per_min)
    return best if off <= min(tolerance * abs(best.ms_per_min), cap_ms_per_min) else None


# How close the streams' length ratio must come to a steep mismatch for probe to name it
# (the sound's padding or a trimmed tail moves it; 0.1 % of a minute is 60 ms). Only steep
# ones are told by lengths (1000/1001 is a frame or two per minute, as an ordinary tail is).
_LENGTH_TOLERANCE = 0.001


def length_mismatch(audio_s: float, video_s: float) -> ClockMismatch | None:
    """The steep known mismatch whose ratio the streams' lengths show (sound over picture),
    when they differ by a second or more; else None. A hint: a sound a few seconds longer
    can also be a tail of room tone."""
    if video_s <= 0 or abs(audio_s - video_s) < 1.0:
        return None
    ratio = audio_s / video_s
    for m in KNOWN_MISMATCHES:
        if m.steep and abs(ratio / m.ratio - 1.0) <= _LENGTH_TOLERANCE:
            return m
    return None
