"""The table of known clock mismatches: the nearest is named, and lengths tell the steep
ones only."""

from __future__ import annotations

from mouthsync.media.clocks import KNOWN_MISMATCHES, length_mismatch, nearest_mismatch


def test_nearest_mismatch_within_tolerance_and_cap() -> None:
    assert nearest_mismatch(58.0, 0.10).ratio == 1001 / 1000
    assert nearest_mismatch(50.0, 0.10) is None  # 17 % off
    assert nearest_mismatch(2560.0, 0.10).short == "23.976 fps picture played at 25"  # not 25/24
    assert nearest_mismatch(2530.0, 0.10, cap_ms_per_min=12.0) is None
    assert {round(m.ms_per_min) for m in KNOWN_MISMATCHES} >= {60, -60, 2500, -2400, 5306, -4875}


def test_lengths_name_steep_ratios_only() -> None:
    assert length_mismatch(125.0, 120.0).ratio == 25 / 24
    assert length_mismatch(120.0 * 44100 / 48000, 120.0).short == "44.1 kHz sound played as 48 kHz"
    assert length_mismatch(120.12, 120.0) is None  # 1000/1001 or a tail: lengths cannot tell
    assert length_mismatch(122.0, 120.0) is None  # 1.7 %: no known ratio
    assert length_mismatch(5.2, 5.0) is None  # 4 % but under a second
